from django.utils.translation import gettext_lazy as _

from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleSpec, Related
from crm_apps.modules.common import ACCOUNT_TYPE, INDUSTRY, RATING
from crm_apps.modules.organizations.models import Organization
from crm_apps.modules.organizations.sample import organizations_sample

DEFAULT_PICKLISTS = {"industry": INDUSTRY, "account_type": ACCOUNT_TYPE, "rating": RATING}

SPEC = register(
    ModuleSpec(
        key="organizations",
        model=Organization,
        label=_("Organisation"),
        label_plural=_("Organisations"),
        icon="building",
        default_picklists=DEFAULT_PICKLISTS,
        example={
            "name": "Globex Corporation",
            "website": "https://globex.example",
            "phone": "+1 555 0100",
            "industry": "Technology",
            "billing_city": "Springfield",
        },
        number_prefix="ACC",
        title_fields=("name",),
        blocks=(
            Block(
                "main",
                _("Organisation"),
                (
                    "name",
                    "parent",
                    "website",
                    "phone",
                    "other_phone",
                    "fax",
                    "email",
                    "secondary_email",
                    "industry",
                    "type",
                    "rating",
                    "employees",
                    "annual_revenue",
                    "ownership",
                    "sic_code",
                    "ticker_symbol",
                    "email_opt_out",
                    "notify_owner",
                    "source_lead",
                ),
            ),
            Block(
                "billing",
                _("Billing address"),
                (
                    "billing_street",
                    "billing_city",
                    "billing_state",
                    "billing_postal_code",
                    "billing_country",
                ),
            ),
            Block(
                "shipping",
                _("Shipping address"),
                (
                    "shipping_street",
                    "shipping_city",
                    "shipping_state",
                    "shipping_postal_code",
                    "shipping_country",
                ),
            ),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "phone", "website", "industry", "billing_city", "owner"),
        search_fields=("name", "email", "phone", "website"),
        filter_fields=("industry", "type", "rating", "billing_city", "billing_country", "parent"),
        picklists={"industry": "industry", "type": "account_type", "rating": "rating"},
        related=(
            Related("contacts", via="organization", label=_("Contacts")),
            Related("deals", via="organization", label=_("Deals")),
            Related("organizations", via="parent", label=_("Member organisations")),
        ),
        duplicate_rules=(("name",), ("email",), ("phone",)),
        readonly_fields=("source_lead",),
        menu=Menu(group="sales", position=20),
        sample_data=organizations_sample,
    )
)
