from django.utils.translation import gettext_lazy as _

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleSpec, Panel
from crm_apps.modules.pricebooks.models import PriceBook
from crm_apps.modules.pricebooks.panels import prices_panel
from crm_apps.modules.pricebooks.sample import price_books_sample

# The key is the API path (/api/v1/price-books/) and the list's (/m/price-books/).
SPEC = register(
    ModuleSpec(
        key="price-books",
        model=PriceBook,
        label=_("Price book"),
        label_plural=_("Price books"),
        icon="tag",
        number_prefix="PB",
        title_fields=("name",),
        example={"name": "Wholesale 2027", "currency": "USD", "active": True},
        blocks=(
            Block("main", _("Price book"), ("name", "currency", "active")),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "currency", "active", "owner"),
        search_fields=("name",),
        filter_fields=("currency", "active"),
        duplicate_rules=(("name",),),
        default_ordering=("name",),
        menu=Menu(group="inventory", position=40),
        urls="crm_apps.modules.pricebooks.urls",
        api_urls="crm_apps.modules.pricebooks.api_urls",
        panels=(Panel(key="prices", template="price-books/_prices_panel.html", context=prices_panel, slot="main"),),
        sample_data=price_books_sample,
        sample_data_after=("products", "services"),
        vtiger_module="PriceBooks",
        vtiger_fields={
            "name": "bookname",
            "number": "pricebook_no",
            "currency": "currency_id",
            "active": "active",
            "description": "description",
        },
    )
)

route_scopes_register("api-price-book-prices", read=["price-books:read"], write=["price-books:write"])
route_scopes_register("api-price-book-add", write=["price-books:write"])
