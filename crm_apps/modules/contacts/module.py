from django.utils.translation import gettext_lazy as _

from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleSpec, Related
from crm_apps.modules.common import LEAD_SOURCE, SALUTATION
from crm_apps.modules.contacts.models import Contact
from crm_apps.modules.contacts.sample import contacts_sample

DEFAULT_PICKLISTS = {"salutation": SALUTATION, "lead_source": LEAD_SOURCE}

SPEC = register(
    ModuleSpec(
        key="contacts",
        sharing_parent="organization",
        sharing_follows_parent=True,
        model=Contact,
        label=_("Contact"),
        label_plural=_("Contacts"),
        icon="person",
        default_picklists=DEFAULT_PICKLISTS,
        example={
            "first_name": "Hank",
            "last_name": "Scorpio",
            "email": "hank@globex.example",
            "phone": "+1 555 0101",
            "title": "CEO",
        },
        number_prefix="CON",
        title_fields=("first_name", "last_name"),
        blocks=(
            Block(
                "main",
                _("Contact"),
                (
                    "salutation",
                    "first_name",
                    "last_name",
                    "organization",
                    "title",
                    "department",
                    "email",
                    "secondary_email",
                    "phone",
                    "mobile",
                    "home_phone",
                    "other_phone",
                    "fax",
                    "assistant",
                    "assistant_phone",
                    "birthday",
                    "lead_source",
                    "reports_to",
                    "do_not_call",
                    "email_opt_out",
                    "reference",
                    "notify_owner",
                    "source_lead",
                ),
            ),
            Block(
                "mailing",
                _("Mailing address"),
                (
                    "mailing_street",
                    "mailing_city",
                    "mailing_state",
                    "mailing_postal_code",
                    "mailing_country",
                ),
            ),
            Block(
                "other",
                _("Other address"),
                (
                    "other_street",
                    "other_city",
                    "other_state",
                    "other_postal_code",
                    "other_country",
                ),
            ),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("last_name", "first_name", "organization", "email", "phone", "owner"),
        search_fields=("first_name", "last_name", "email", "secondary_email", "phone", "mobile"),
        filter_fields=(
            "organization",
            "lead_source",
            "mailing_city",
            "mailing_country",
            "email_opt_out",
            "do_not_call",
            "reports_to",
        ),
        picklists={"salutation": "salutation", "lead_source": "lead_source"},
        related=(
            Related("deals", via="contact", label=_("Deals")),
            Related("contacts", via="reports_to", label=_("Direct reports")),
        ),
        duplicate_rules=(("email",), ("phone",), ("mobile",), ("first_name", "last_name", "organization")),
        readonly_fields=("source_lead",),
        default_ordering=("-created_at",),
        menu=Menu(group="sales", position=30),
        sample_data=contacts_sample,
        sample_data_after=("organizations",),
    )
)
