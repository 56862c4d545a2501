from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop as N_

from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleSpec, Related
from crm_apps.modules.assets.models import Asset
from crm_apps.modules.assets.sample import assets_sample

ASSET_STATUS = [N_("In Service"), N_("Out-of-service")]

SPEC = register(
    ModuleSpec(
        key="assets",
        model=Asset,
        label=_("Asset"),
        label_plural=_("Assets"),
        icon="box",
        number_prefix="ASSET",
        title_fields=("name",),
        default_picklists={"asset_status": ASSET_STATUS},
        picklists={"status": "asset_status"},
        example={
            "name": "Laser printer LP-200",
            "serial_number": "LP200-0001",
            "status": "In Service",
            "date_sold": "2026-01-15",
            "warranty_end": "2028-01-15",
        },
        blocks=(
            Block(
                "main",
                _("Asset"),
                ("name", "serial_number", "product", "status", "organization", "contact", "invoice", "tag_number"),
            ),
            Block(
                "dates",
                _("Dates and shipping"),
                ("date_sold", "date_in_service", "warranty_end", "shipping_method", "tracking_number"),
            ),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "serial_number", "product", "organization", "status", "warranty_end", "owner"),
        search_fields=("name", "serial_number", "tag_number"),
        filter_fields=("status", "product", "organization", "contact", "warranty_end", "date_sold"),
        related=(Related("tickets", via="asset", label=_("Tickets")),),
        duplicate_rules=(("serial_number",),),
        default_ordering=("name",),
        menu=Menu(group="support", position=40),
        sample_data=assets_sample,
        sample_data_after=("organizations", "contacts", "products"),
        vtiger_module="Assets",
        vtiger_fields={
            "number": "asset_no",
            "name": "assetname",
            "serial_number": "serialnumber",
            "product": "product",
            "organization": "account",
            "contact": "contact",
            "invoice": "invoiceid",
            "status": "assetstatus",
            "date_sold": "datesold",
            "date_in_service": "dateinservice",
            "warranty_end": "warranty_end",
            "tag_number": "tagnumber",
            "shipping_method": "shippingmethod",
            "tracking_number": "shippingtrackingnumber",
            "description": "description",
        },
    )
)
