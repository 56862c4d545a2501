"""Board settings (a column's rotting threshold) and the workspace's currencies, both tenant-admin data."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine.board import board_fields
from crm_apps.engine.models import BoardColumnSetting, Currency
from crm_apps.engine.spec import ModuleSpec

CODE_RE = re.compile(r"^[A-Z]{3}$")


def _require_settings(actor: Member) -> None:
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied


@transaction.atomic
def board_column_setting_set(
    *, spec: ModuleSpec, actor: Member, field: str, value: str, rotting_days: Any
) -> BoardColumnSetting | None:
    """Set (or clear, with an empty value) after how many days a card in this column is rotting."""
    _require_settings(actor)
    if field not in board_fields(spec):
        raise ValidationError({"field": [_("This field has no board.")]})
    value = str(value or "")
    if not value or len(value) > 200 or "\x00" in value:
        raise ValidationError({"value": [_("Choose a column.")]})
    raw = str(rotting_days or "").strip()
    if raw == "":
        BoardColumnSetting.objects.filter(module=spec.key, field=field, value=value).delete()
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 3650:
        raise ValidationError({"rotting_days": [_("Enter a number of days from 1 to 3650.")]})
    setting, _created = BoardColumnSetting.objects.update_or_create(
        module=spec.key, field=field, value=value, defaults={"rotting_days": int(raw)}
    )
    return setting


@transaction.atomic
def currency_save(*, actor: Member, code: str, rate: Any, is_base: bool = False) -> Currency:
    """Add or change a currency and its rate to the base currency; making one the base sets its rate to 1
    and leaves the other rates as they are (the admin re-enters them against the new base)."""
    _require_settings(actor)
    code = str(code or "").strip().upper()
    errors: dict[str, list[str]] = {}
    if not CODE_RE.match(code):
        errors["code"] = [_("Use a 3-letter ISO code.")]
    try:
        value = Decimal(1) if is_base else Decimal(str(rate).strip().replace(",", "."))
        if not value.is_finite() or value <= 0 or value >= Decimal(10) ** 10:
            raise InvalidOperation
        value = value.quantize(Decimal("0.0000000001"))
    except (InvalidOperation, ValueError):
        errors["rate"] = [_("Enter a positive rate, for example 1.0850.")]
        value = Decimal(1)
    if errors:
        raise ValidationError(errors)
    if is_base:
        Currency.objects.select_for_update().filter(is_base=True).exclude(code=code).update(is_base=False)
    currency, _created = Currency.objects.update_or_create(
        code=code, defaults={"rate": value, "is_base": is_base, "updated_at": timezone.now()}
    )
    return currency


@transaction.atomic
def currency_delete(*, actor: Member, code: str) -> None:
    """Remove a currency's rate (the base currency stays until another one becomes the base)."""
    _require_settings(actor)
    found = Currency.objects.filter(code=str(code).upper()).first()
    if found is None:
        return
    if found.is_base:
        raise ValidationError({"code": [_("Choose another base currency first.")]})
    found.delete()
