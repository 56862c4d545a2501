from django.utils.translation import gettext_lazy as _

from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleSpec
from crm_apps.modules.pricebooks.models import PriceBook

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
