"""What products add to their record page: stock state, tax classes and bundle items, pictures, and the
price books listing the product (ModuleSpec.panels). Reads go through the selectors; the forms post to the
module's own views, which call the services (rights are checked there, and `can_edit` hides the forms)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.finance import selectors as finance
from crm_apps.modules.pricebooks.selectors import price_books_for
from crm_apps.modules.products.models import Product, ProductBundleItem, ProductImage, ProductTax


def stock_panel(product: Product, member: Member, request: HttpRequest) -> dict[str, Any]:
    """Whether the product is at or under its reorder level (shown only then)."""
    return {"low": product.below_reorder_level, "product": product}


def catalogue_panel(product: Product, member: Member, request: HttpRequest) -> dict[str, Any]:
    """The taxes that apply (and every tax that could), the bundle's products, the price books."""
    applied = {row.tax_id: row for row in ProductTax.objects.filter(product=product).select_related("tax")}
    taxes = finance.taxes(include_inactive=True)
    return {
        "taxes": [
            {"tax": t, "applied": t.pk in applied, "percent": applied[t.pk].percent if t.pk in applied else t.percent}
            for t in taxes
            if t.active or t.pk in applied
        ],
        "bundle": list(
            ProductBundleItem.objects.filter(bundle=product).select_related("product").order_by("position", "id")
        ),
        "price_books": price_books_for(actor=member, item=product),
        "can_manage": visibility.has_privilege(actor=member, privilege=Privilege.MANAGE_SETTINGS),
    }


def images_panel(product: Product, member: Member, request: HttpRequest) -> dict[str, Any]:
    return {"images": list(ProductImage.objects.filter(product=product).order_by("position", "id"))}
