"""A line's taxes in the edit form: one list per row with "the item's taxes", "no tax" and each active
tax of the workspace; a line saved with another combination (several taxes, a product's own percentage,
set through the API) keeps it as a choice of its own. The form's value is a string the services' list is
rebuilt from, so nothing is lost when the form comes back with an error:

    "item"              -> None (the product's or service's tax classes, recomputed)
    "none"              -> []
    "t:3" / "t:3@18,5"  -> [{"tax": 3}] / [{"tax": 3, "percent": "18"}, {"tax": 5}]
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from crm_apps.engine.spec import RowField

ITEM = "item"
NONE = "none"
PREFIX = "t:"


def _prepare(actor: Any) -> dict[int, tuple[str, Decimal, bool]]:
    """Every tax of the workspace: id -> (name, percent, active); one query per table."""
    from crm_apps.finance.models import Tax

    return {tax.pk: (tax.display_name, tax.percent, tax.active) for tax in Tax.objects.order_by("position", "id")}


def _short(percent: Any) -> str:
    return format(Decimal(str(percent)).normalize(), "f")


def _parse(value: str) -> list[dict[str, Any]] | None:
    """The list a "t:..." value stands for; None when it is not one."""
    if not value.startswith(PREFIX) or len(value) > 500:
        return None
    items = []
    for part in value[len(PREFIX) :].split(","):
        tax, _at, percent = part.partition("@")
        if not tax.strip().isdigit():
            return None
        item: dict[str, Any] = {"tax": int(tax)}
        if percent:
            try:
                item["percent"] = _short(percent)
            except InvalidOperation:
                return None
        items.append(item)
    return items


def _to_form(taxes: dict[int, tuple[str, Decimal, bool]], stored: Any) -> str:
    if stored is None:
        return ITEM
    if not stored:
        return NONE
    parts = []
    for item in stored:
        tax_id = int(item.get("tax"))
        percent = item.get("percent")
        own = taxes.get(tax_id, ("", None, False))[1]
        same = percent in (None, "") or (own is not None and Decimal(str(percent)) == own)
        parts.append(str(tax_id) if same else f"{tax_id}@{_short(percent)}")
    return PREFIX + ",".join(parts)


def _label(taxes: dict[int, tuple[str, Decimal, bool]], items: list[dict[str, Any]]) -> str:
    names = []
    for item in items:
        name, own, _active = taxes.get(item["tax"], (_("Unknown tax"), Decimal(0), False))
        names.append(f"{name} {_short(item.get('percent', own))} %")
    return " + ".join(names)


def _field(taxes: dict[int, tuple[str, Decimal, bool]], value: str) -> forms.Field:
    choices = [(ITEM, _("Item's taxes")), (NONE, _("No tax"))]
    choices += [
        (f"{PREFIX}{pk}", f"{name} {_short(percent)} %") for pk, (name, percent, active) in taxes.items() if active
    ]
    offered = {choice for choice, _label_text in choices}
    items = _parse(value)
    if value and value not in offered and items is not None:
        choices.append((value, _label(taxes, items)))
    return forms.ChoiceField(choices=choices, initial=ITEM)


def _to_service(value: str) -> tuple[bool, Any]:
    if value == "":
        return False, None  # not posted: the row keeps its taxes
    if value == ITEM:
        return True, None
    if value == NONE:
        return True, []
    items = _parse(value)
    # Anything else goes to the services as it came, which refuse it on the row's taxes cell.
    return True, items if items is not None else value


def _display(taxes: dict[int, tuple[str, Decimal, bool]], stored: Any) -> str:
    if not stored:
        return _("No tax")
    return _label(
        taxes, [{"tax": int(i["tax"]), **({"percent": i["percent"]} if i.get("percent") else {})} for i in stored]
    )


LINE_TAXES = RowField(prepare=_prepare, field=_field, to_form=_to_form, to_service=_to_service, display=_display)
