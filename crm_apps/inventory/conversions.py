"""Conversions between documents: deal -> quote, quote -> sales order, sales order -> invoice, sales
order -> purchase orders (one per vendor of its products). Each copies the header and the lines through
`record_create` (so rights, validation, numbering, audit and timeline apply), links back to its source
and writes a "converted" entry on the source's timeline. Converting needs the edit right on the source
and the create right on the target."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create

# source module -> {"to" of the API: (target module, the target's link to the source)}
TARGETS: dict[str, dict[str, tuple[str, str]]] = {
    "deals": {"quote": ("quotes", "deal")},
    "quotes": {"sales_order": ("sales-orders", "quote")},
    "sales-orders": {"invoice": ("invoices", "sales_order"), "purchase_order": ("purchase-orders", "sales_order")},
}

HEADER = (
    "subject",
    "organization",
    "contact",
    "deal",
    "carrier",
    "currency",
    "price_book",
    "tax_mode",
    "discount_percent",
    "discount_amount",
    "shipping",
    "shipping_tax_percent",
    "adjustment",
    "terms_conditions",
    "description",
    *(
        f"{w}_{p}"
        for w in ("billing", "shipping")
        for p in ("street", "po_box", "city", "state", "postal_code", "country")
    ),
)
LINE = ("product", "service", "description", "quantity", "list_price", "discount_percent", "discount_amount")


def _value(record: Any, name: str) -> Any:
    """A field's value as a payload carries it: ids and decimals as strings."""
    field: Any = record._meta.get_field(name)
    value = getattr(record, field.attname) if field.is_relation else getattr(record, name)
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def _header(source: Any, target_spec: Any) -> dict[str, Any]:
    """The header fields the target module has (a purchase order has no organisation)."""
    names = set(target_spec.form_fields)
    data = {}
    for name in HEADER:
        if name in names and hasattr(source, name):
            value = _value(source, name)
            if value not in (None, ""):
                data[name] = value
    return data


def _lines(source: Any) -> list[dict[str, Any]]:
    rows = []
    for line in source.lines.all().order_by("position", "pk"):
        row = {name: _value(line, name) for name in LINE}
        row = {k: v for k, v in row.items() if v is not None}
        row["taxes"] = [{"tax": t["tax"], "percent": t.get("percent")} for t in (line.taxes or [])]
        rows.append(row)
    return rows


def _doc_taxes(source: Any) -> list[dict[str, Any]]:
    return [
        {"tax": t.tax_id, "name": t.name, "percent": str(t.percent)}
        for t in source.taxes.all().order_by("position", "pk")
    ]


def document_convert(*, actor: Member, source_module: str, source: Any, to: str) -> list[Any]:
    """Create the target document(s) of a conversion; returns them (several for purchase orders)."""
    targets = TARGETS.get(source_module, {})
    if to not in targets:
        raise ValidationError({"to": [_("Choose one of: %(choices)s.") % {"choices": ", ".join(sorted(targets))}]})
    source_spec = registry.get(source_module)
    if not visibility.can_edit(actor=actor, spec=source_spec, record=source):
        raise PermissionDenied
    target_key, link = targets[to]
    target_spec = registry.get(target_key)
    if not visibility.can_create(actor=actor, spec=target_spec):
        raise PermissionDenied
    with transaction.atomic():
        if source_module == "deals":
            created = [_from_deal(actor, target_spec, source)]
        elif to == "purchase_order":
            created = _purchase_orders(actor, target_spec, source)
        else:
            data = _header(source, target_spec)
            data[link] = str(source.pk)
            children = {"lines": _lines(source), "taxes": _doc_taxes(source)}
            created = [record_create(spec=target_spec, actor=actor, data=data, children=children)]
        for record in created:
            TimelineEntry.objects.create(
                module=source_module,
                record_id=source.pk,
                kind=TimelineEntry.Kind.CONVERTED,
                actor=actor,
                data={"module": target_key, "id": str(record.pk), "number": record.number, "label": str(record)},
            )
        audit.audit_log(
            action=audit.RECORD_UPDATED,
            actor=actor,
            module=source_module,
            record_id=source.pk,
            record_label=str(source),
            details={"converted_to": [{"module": target_key, "id": str(r.pk), "number": r.number} for r in created]},
        )
    return created


def _from_deal(actor: Member, spec: Any, deal: Any) -> Any:
    """A quote prefilled from a deal: its name, organisation, contact and currency (addresses follow)."""
    data = {
        "subject": deal.name[:200],
        "deal": str(deal.pk),
        "currency": deal.currency,
    }
    if deal.organization_id:
        data["organization"] = str(deal.organization_id)
    if deal.contact_id:
        data["contact"] = str(deal.contact_id)
    return record_create(spec=spec, actor=actor, data=data, children={"lines": []})


def _purchase_orders(actor: Member, spec: Any, order: Any) -> list[Any]:
    """One purchase order per vendor of the order's products, with those products' lines."""
    by_vendor: OrderedDict[Any, list[dict[str, Any]]] = OrderedDict()
    lines = list(order.lines.select_related("product").order_by("position", "pk"))
    for line, row in zip(lines, _lines(order), strict=True):
        vendor = getattr(line.product, "vendor_id", None) if line.product_id else None
        if vendor is None:
            continue
        by_vendor.setdefault(vendor, []).append(row)
    if not by_vendor:
        raise ValidationError({"to": [_("No product on this order has a vendor to order from.")]})
    created = []
    for vendor, rows in by_vendor.items():
        data = _header(order, spec)
        data.update({"sales_order": str(order.pk), "vendor": str(vendor)})
        for name in ("discount_percent", "discount_amount", "adjustment", "shipping"):
            data.pop(name, None)  # the customer's discount and charges are not the vendor's
        created.append(
            record_create(spec=spec, actor=actor, data=data, children={"lines": rows, "taxes": _doc_taxes(order)})
        )
    return created
