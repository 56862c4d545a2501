from django.utils.translation import gettext_lazy as _

from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleSpec
from crm_apps.modules.common import VENDOR_CATEGORY
from crm_apps.modules.vendors.models import Vendor
from crm_apps.modules.vendors.sample import vendors_sample

DEFAULT_PICKLISTS = {"vendor_category": VENDOR_CATEGORY}

SPEC = register(
    ModuleSpec(
        key="vendors",
        vtiger_module="Vendors",
        vtiger_fields={
            "number": "vendor_no",
            "name": "vendorname",
            "phone": "phone",
            "email": "email",
            "website": "website",
            "gl_account": "glacct",
            "category": "category",
            "street": "street",
            "city": "city",
            "state": "state",
            "postal_code": "postalcode",
            "country": "country",
            "po_box": "pobox",
            "description": "description",
        },
        model=Vendor,
        label=_("Vendor"),
        label_plural=_("Vendors"),
        icon="truck",
        default_picklists=DEFAULT_PICKLISTS,
        example={
            "name": "Acme Supplies",
            "email": "orders@acme.example",
            "phone": "+1 555 0103",
            "category": "Distributor",
            "city": "Albuquerque",
        },
        number_prefix="VEN",
        title_fields=("name",),
        blocks=(
            Block("main", _("Vendor"), ("name", "phone", "email", "website", "gl_account", "category")),
            Block("address", _("Address"), ("street", "city", "state", "postal_code", "country", "po_box")),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "phone", "email", "category", "city", "owner"),
        search_fields=("name", "email", "phone"),
        filter_fields=("category", "city", "country"),
        picklists={"category": "vendor_category"},
        duplicate_rules=(("name",), ("email",)),
        menu=Menu(group="inventory", position=10),
        sample_data=vendors_sample,
    )
)
