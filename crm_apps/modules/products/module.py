from django.utils.translation import gettext_lazy as _

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Action, Block, Menu, ModuleSpec, Panel
from crm_apps.modules.products.models import Product
from crm_apps.modules.products.panels import catalogue_panel, images_panel, stock_panel
from crm_apps.modules.products.picklists import MANUFACTURER, PRODUCT_CATEGORY, USAGE_UNIT
from crm_apps.modules.products.sample import products_sample

DEFAULT_PICKLISTS = {
    "product_category": PRODUCT_CATEGORY,
    "product_manufacturer": MANUFACTURER,
    "usage_unit": USAGE_UNIT,
}


SPEC = register(
    ModuleSpec(
        key="products",
        model=Product,
        label=_("Product"),
        label_plural=_("Products"),
        icon="package",
        number_prefix="PRO",
        title_fields=("name",),
        default_picklists=DEFAULT_PICKLISTS,
        example={
            "name": "Ergonomic office chair",
            "code": "CHAIR-ERG-01",
            "category": "Hardware",
            "unit_price": "249.00",
            "currency": "USD",
            "usage_unit": "Each",
            "qty_in_stock": "40.000",
            "reorder_level": "10.000",
        },
        blocks=(
            Block(
                "main",
                _("Product"),
                (
                    "name",
                    "code",
                    "active",
                    "category",
                    "manufacturer",
                    "vendor",
                    "vendor_part_number",
                    "manufacturer_part_number",
                    "serial_number",
                    "website",
                    "gl_account",
                    "sales_start_date",
                    "sales_end_date",
                    "support_start_date",
                    "support_expiry_date",
                ),
            ),
            Block("pricing", _("Pricing"), ("unit_price", "currency", "commission_rate")),
            Block(
                "stock",
                _("Stock"),
                ("usage_unit", "qty_per_unit", "qty_in_stock", "reorder_level", "qty_in_demand", "handler"),
            ),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "code", "category", "unit_price", "qty_in_stock", "active", "owner"),
        search_fields=("name", "code"),
        filter_fields=("category", "manufacturer", "vendor", "active", "usage_unit", "unit_price", "qty_in_stock"),
        picklists={"category": "product_category", "manufacturer": "product_manufacturer", "usage_unit": "usage_unit"},
        duplicate_rules=(("code",), ("name",)),
        default_ordering=("name",),
        list_actions=(
            Action(
                key="add_to_price_book",
                label=_("Add to price book"),
                url_name="products:add_to_price_book",
                requires="view",
            ),
        ),
        menu=Menu(group="inventory", position=20),
        urls="crm_apps.modules.products.urls",
        api_urls="crm_apps.modules.products.api_urls",
        panels=(
            Panel(key="stock", template="products/_stock_panel.html", context=stock_panel, slot="top"),
            Panel(key="catalogue", template="products/_catalogue_panel.html", context=catalogue_panel, slot="main"),
            Panel(key="images", template="products/_images_panel.html", context=images_panel, slot="side"),
        ),
        sample_data=products_sample,
        sample_data_after=("vendors",),
        vtiger_module="Products",
        vtiger_fields={
            "name": "productname",
            "code": "productcode",
            "active": "discontinued",
            "category": "productcategory",
            "manufacturer": "manufacturer",
            "vendor": "vendor_id",
            "vendor_part_number": "vendor_part_no",
            "manufacturer_part_number": "mfr_part_no",
            "serial_number": "serial_no",
            "website": "website",
            "gl_account": "glacct",
            "sales_start_date": "sales_start_date",
            "sales_end_date": "sales_end_date",
            "support_start_date": "start_date",
            "support_expiry_date": "expiry_date",
            "unit_price": "unit_price",
            "currency": "currency_id",
            "commission_rate": "commissionrate",
            "usage_unit": "usageunit",
            "qty_per_unit": "qty_per_unit",
            "qty_in_stock": "qtyinstock",
            "reorder_level": "reorderlevel",
            "qty_in_demand": "qtyindemand",
            "handler": "assigned_user_id",
            "description": "description",
            "number": "product_no",
        },
    )
)

# Scoped extension tokens: the tax classes, bundle, pictures and price books of a product go with products.
for _name in (
    "api-product-taxes",
    "api-product-bundle",
    "api-product-images",
    "api-product-image",
    "api-product-price-books",
):
    route_scopes_register(_name, read=["products:read"], write=["products:write"])
