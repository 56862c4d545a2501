from django.utils.translation import gettext_lazy as _

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Action, Block, Menu, ModuleSpec, SettingsPage
from crm_apps.modules.common import INDUSTRY, LEAD_SOURCE, LEAD_STATUS, RATING, SALUTATION
from crm_apps.modules.leads.models import Lead
from crm_apps.modules.leads.sample import leads_sample


def _install_mapping() -> None:
    from crm_apps.modules.leads.services import conversion_mapping_install

    conversion_mapping_install()


def _not_converted(lead: Lead) -> bool:
    return not lead.converted


DEFAULT_PICKLISTS = {
    "salutation": SALUTATION,
    "lead_source": LEAD_SOURCE,
    "lead_status": LEAD_STATUS,
    "industry": INDUSTRY,
    "rating": RATING,
}

SPEC = register(
    ModuleSpec(
        key="leads",
        vtiger_module="Leads",
        vtiger_fields={
            "number": "lead_no",
            "salutation": "salutationtype",
            "first_name": "firstname",
            "last_name": "lastname",
            "company": "company",
            "designation": "designation",
            "email": "email",
            "secondary_email": "secondaryemail",
            "phone": "phone",
            "mobile": "mobile",
            "fax": "fax",
            "website": "website",
            "source": "leadsource",
            "status": "leadstatus",
            "industry": "industry",
            "rating": "rating",
            "annual_revenue": "annualrevenue",
            "employees": "noofemployees",
            "email_opt_out": "emailoptout",
            "street": "lane",
            "city": "city",
            "state": "state",
            "postal_code": "code",
            "country": "country",
            "description": "description",
            "converted": "converted",
        },
        model=Lead,
        label=_("Lead"),
        label_plural=_("Leads"),
        icon="funnel",
        default_picklists=DEFAULT_PICKLISTS,
        example={
            "first_name": "Lisa",
            "last_name": "Simpson",
            "company": "Little Lisa Recycling",
            "email": "lisa@recycle.example",
            "phone": "+1 555 0102",
            "status": "Hot",
            "source": "Web Site",
        },
        number_prefix="LEA",
        title_fields=("first_name", "last_name"),
        blocks=(
            Block(
                "main",
                _("Lead"),
                (
                    "salutation",
                    "first_name",
                    "last_name",
                    "company",
                    "designation",
                    "email",
                    "secondary_email",
                    "phone",
                    "mobile",
                    "fax",
                    "website",
                    "source",
                    "status",
                    "industry",
                    "rating",
                    "annual_revenue",
                    "employees",
                    "email_opt_out",
                ),
            ),
            Block("address", _("Address"), ("street", "city", "state", "postal_code", "country")),
            Block("description", _("Description"), ("description",)),
            Block(
                "conversion",
                _("Conversion"),
                (
                    "converted",
                    "converted_at",
                    "converted_organization",
                    "converted_contact",
                    "converted_deal",
                ),
            ),
        ),
        list_columns=("last_name", "first_name", "company", "email", "phone", "status", "owner"),
        search_fields=("first_name", "last_name", "company", "email", "phone", "mobile"),
        filter_fields=("status", "source", "industry", "rating", "city", "country", "converted"),
        picklists={
            "salutation": "salutation",
            "source": "lead_source",
            "status": "lead_status",
            "industry": "industry",
            "rating": "rating",
        },
        duplicate_rules=(("email",), ("phone",), ("mobile",), ("first_name", "last_name", "company")),
        readonly_fields=(
            "converted",
            "converted_at",
            "converted_organization",
            "converted_contact",
            "converted_deal",
        ),
        default_list_filter={"converted": False},
        install_defaults=_install_mapping,
        menu=Menu(group="sales", position=10),
        urls="crm_apps.modules.leads.urls",
        api_urls="crm_apps.modules.leads.api_urls",
        record_actions=(
            Action(
                key="convert",
                label=_("Convert lead"),
                url_name="leads:convert",
                requires="edit",
                condition=_not_converted,
                primary=True,
            ),
        ),
        settings_pages=(
            SettingsPage(
                key="conversion",
                label=_("Conversion"),
                url_name="leads:conversion_settings",
                description=_("Which lead field fills each field of the organisation, contact and deal."),
            ),
        ),
        sample_data=leads_sample,
    )
)


# vtiger's default conversion mapping: lead field -> (target module, target field).
DEFAULT_MAPPING = [
    ("company", "organizations", "name"),
    ("email", "organizations", "email"),
    ("phone", "organizations", "phone"),
    ("fax", "organizations", "fax"),
    ("website", "organizations", "website"),
    ("industry", "organizations", "industry"),
    ("rating", "organizations", "rating"),
    ("employees", "organizations", "employees"),
    ("annual_revenue", "organizations", "annual_revenue"),
    ("street", "organizations", "billing_street"),
    ("city", "organizations", "billing_city"),
    ("state", "organizations", "billing_state"),
    ("postal_code", "organizations", "billing_postal_code"),
    ("country", "organizations", "billing_country"),
    ("street", "organizations", "shipping_street"),
    ("city", "organizations", "shipping_city"),
    ("state", "organizations", "shipping_state"),
    ("postal_code", "organizations", "shipping_postal_code"),
    ("country", "organizations", "shipping_country"),
    ("description", "organizations", "description"),
    ("salutation", "contacts", "salutation"),
    ("first_name", "contacts", "first_name"),
    ("last_name", "contacts", "last_name"),
    ("email", "contacts", "email"),
    ("secondary_email", "contacts", "secondary_email"),
    ("phone", "contacts", "phone"),
    ("mobile", "contacts", "mobile"),
    ("fax", "contacts", "fax"),
    ("designation", "contacts", "title"),
    ("source", "contacts", "lead_source"),
    ("email_opt_out", "contacts", "email_opt_out"),
    ("street", "contacts", "mailing_street"),
    ("city", "contacts", "mailing_city"),
    ("state", "contacts", "mailing_state"),
    ("postal_code", "contacts", "mailing_postal_code"),
    ("country", "contacts", "mailing_country"),
    ("description", "contacts", "description"),
    ("company", "deals", "name"),
    ("source", "deals", "lead_source"),
    ("description", "deals", "description"),
]


# Scoped extension tokens: converting writes the lead and creates an organisation, a contact and (if
# asked) a deal.
route_scopes_register("api-lead-convert", write=["leads:write", "organizations:write", "contacts:write", "deals:write"])
