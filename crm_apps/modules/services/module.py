from django.utils.translation import gettext_lazy as _

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleSpec, Panel
from crm_apps.modules.services.models import Service
from crm_apps.modules.services.panels import taxes_panel
from crm_apps.modules.services.picklists import SERVICE_CATEGORY, SERVICE_USAGE_UNIT
from crm_apps.modules.services.sample import services_sample

DEFAULT_PICKLISTS = {"service_category": SERVICE_CATEGORY, "service_usage_unit": SERVICE_USAGE_UNIT}

SPEC = register(
    ModuleSpec(
        key="services",
        model=Service,
        label=_("Service"),
        label_plural=_("Services"),
        icon="wrench",
        number_prefix="SER",
        title_fields=("name",),
        default_picklists=DEFAULT_PICKLISTS,
        example={
            "name": "On-site installation",
            "code": "SRV-INST",
            "category": "Installation",
            "usage_unit": "Hours",
            "unit_price": "85.00",
            "currency": "USD",
        },
        blocks=(
            Block(
                "main",
                _("Service"),
                (
                    "name",
                    "code",
                    "active",
                    "category",
                    "website",
                    "sales_start_date",
                    "sales_end_date",
                    "support_start_date",
                    "support_expiry_date",
                ),
            ),
            Block("pricing", _("Pricing"), ("unit_price", "currency", "usage_unit", "qty_per_unit", "commission_rate")),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "code", "category", "usage_unit", "unit_price", "active", "owner"),
        search_fields=("name", "code"),
        filter_fields=("category", "usage_unit", "active", "unit_price"),
        picklists={"category": "service_category", "usage_unit": "service_usage_unit"},
        duplicate_rules=(("code",), ("name",)),
        default_ordering=("name",),
        menu=Menu(group="inventory", position=30),
        urls="crm_apps.modules.services.urls",
        api_urls="crm_apps.modules.services.api_urls",
        panels=(Panel(key="taxes", template="services/_taxes_panel.html", context=taxes_panel, slot="main"),),
        sample_data=services_sample,
        sample_data_after=("products",),
        vtiger_module="Services",
        vtiger_fields={
            "name": "servicename",
            "number": "service_no",
            "active": "discontinued",
            "category": "servicecategory",
            "website": "website",
            "sales_start_date": "sales_start_date",
            "sales_end_date": "sales_end_date",
            "support_start_date": "start_date",
            "support_expiry_date": "expiry_date",
            "unit_price": "unit_price",
            "currency": "currency_id",
            "usage_unit": "service_usageunit",
            "qty_per_unit": "qty_per_unit",
            "commission_rate": "commissionrate",
            "description": "description",
        },
    )
)

route_scopes_register("api-service-taxes", read=["services:read"], write=["services:write"])
