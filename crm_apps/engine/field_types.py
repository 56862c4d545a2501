"""Custom field types: one place that knows how to clean, store (JSON), filter, show and export each.

Values are stored in `custom_data` as JSON: numbers as strings for decimals (no float rounding),
dates as ISO strings, references as ids.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import DateField, DateTimeField, DecimalField, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from crm_apps.engine.models import CustomField, FieldType

PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{3,40}$")
TEXT_MAX = 255
TEXTAREA_MAX = 10_000


def _text(value: Any, max_length: int) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValidationError(_("Enter text."))
    text = str(value).strip()
    if "\x00" in text:
        raise ValidationError(_("Null characters are not allowed."))
    if len(text) > max_length:
        raise ValidationError(_("Ensure this value has at most %(max)d characters.") % {"max": max_length})
    return text


def _decimal(value: Any) -> str:
    if isinstance(value, bool):
        raise ValidationError(_("Enter a number."))
    try:
        number = Decimal(str(value).strip().replace(" ", ""))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(_("Enter a number.")) from exc
    if not number.is_finite() or abs(number) >= Decimal("1e15"):
        raise ValidationError(_("Enter a number."))
    return format(number.quantize(Decimal("0.0001")).normalize(), "f")


def clean_value(field: CustomField, value: Any, *, picklist_values: set[str] | None = None) -> Any:
    """Validate and normalise one custom field value for storage; None means empty."""
    if value is None or value == "" or value == []:
        return None
    kind = field.type
    if kind == FieldType.TEXT:
        return _text(value, int(field.options.get("max_length", TEXT_MAX)))
    if kind == FieldType.TEXTAREA:
        return _text(value, TEXTAREA_MAX)
    if kind == FieldType.INTEGER:
        if isinstance(value, bool):
            raise ValidationError(_("Enter a whole number."))
        try:
            number = int(str(value).strip())
        except ValueError as exc:
            raise ValidationError(_("Enter a whole number.")) from exc
        if abs(number) > 2**53:
            raise ValidationError(_("Enter a whole number."))
        return number
    if kind in (FieldType.DECIMAL, FieldType.CURRENCY, FieldType.PERCENT):
        decimal_text = _decimal(value)
        if kind == FieldType.PERCENT and not (Decimal(0) <= Decimal(decimal_text) <= Decimal(100)):
            raise ValidationError(_("Enter a percentage between 0 and 100."))
        return decimal_text
    if kind == FieldType.DATE:
        parsed: dt.date | None = value if isinstance(value, dt.date) else None
        if isinstance(value, str):
            try:
                parsed = parse_date(value.strip())
            except ValueError:  # well-formed but impossible, e.g. 30 February
                parsed = None
        if parsed is None:
            raise ValidationError(_("Enter a valid date (YYYY-MM-DD)."))
        return parsed.isoformat()
    if kind == FieldType.DATETIME:
        parsed_dt: dt.datetime | None
        try:
            parsed_dt = value if isinstance(value, dt.datetime) else parse_datetime(str(value).strip())
        except ValueError:
            parsed_dt = None
        if parsed_dt is None:
            raise ValidationError(_("Enter a valid date and time."))
        return parsed_dt.isoformat()
    if kind == FieldType.CHECKBOX:
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"true", "1", "on", "yes"}:
            return True
        if str(value).lower() in {"false", "0", "off", "no"}:
            return False
        raise ValidationError(_("Enter true or false."))
    if kind == FieldType.EMAIL:
        email = _text(value, 254).lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValidationError(_("Enter a valid email address.")) from exc
        return email
    if kind == FieldType.PHONE:
        phone = _text(value, 40)
        if not PHONE_RE.match(phone) or sum(c.isdigit() for c in phone) < 3:
            raise ValidationError(_("Enter a valid phone number."))
        return phone
    if kind == FieldType.URL:
        url = _text(value, 500)
        if "://" not in url:
            url = "https://" + url
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise ValidationError(_("Enter a valid URL.")) from exc
        return url
    if kind == FieldType.PICKLIST:
        choice = _text(value, 100)
        if picklist_values is not None and choice not in picklist_values:
            raise ValidationError(_("“%(value)s” is not one of the choices.") % {"value": choice})
        return choice
    if kind == FieldType.MULTIPICKLIST:
        items = value if isinstance(value, list) else [v for v in str(value).split(",")]
        cleaned = []
        for item in items:
            choice = _text(item, 100)
            if picklist_values is not None and choice not in picklist_values:
                raise ValidationError(_("“%(value)s” is not one of the choices.") % {"value": choice})
            if choice and choice not in cleaned:
                cleaned.append(choice)
        return cleaned or None
    if kind == FieldType.MEMBER:
        try:
            return int(str(value))
        except ValueError as exc:
            raise ValidationError(_("Choose a member.")) from exc
    if kind == FieldType.RECORD:
        try:
            return str(uuid.UUID(str(value)))
        except ValueError as exc:
            raise ValidationError(_("Choose a record.")) from exc
    raise ValidationError(_("Unknown field type."))


@dataclass(frozen=True)
class FilterSpec:
    """How a filter value applies to one custom field."""

    key: str
    type: str


def filter_q(field: CustomField, raw: str, *, op: str = "eq") -> tuple[Q, dict[str, Any]]:
    """A Q (and annotations it needs) filtering records on a custom field value."""
    path = f"custom_data__{field.key}"
    if field.type == FieldType.MULTIPICKLIST:
        return Q(**{f"{path}__contains": [raw]}), {}
    if field.type in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.CURRENCY, FieldType.PERCENT):
        alias = f"_cf_{field.key}"
        value = Decimal(_decimal(raw))
        annotation = {
            alias: Cast(KeyTextTransform(field.key, "custom_data"), DecimalField(max_digits=30, decimal_places=4))
        }
        lookup = {"eq": "", "gte": "__gte", "lte": "__lte"}[op]
        return Q(**{f"{alias}{lookup}": value}), annotation
    if field.type in (FieldType.DATE, FieldType.DATETIME):
        alias = f"_cf_{field.key}"
        target = DateField() if field.type == FieldType.DATE else DateTimeField()
        annotation = {alias: Cast(KeyTextTransform(field.key, "custom_data"), target)}
        cleaned = clean_value(field, raw)
        lookup = {"eq": "", "gte": "__gte", "lte": "__lte"}[op]
        return Q(**{f"{alias}{lookup}": cleaned}), annotation
    if field.type == FieldType.CHECKBOX:
        return Q(**{path: clean_value(field, raw)}), {}
    if field.type in (FieldType.TEXT, FieldType.TEXTAREA, FieldType.EMAIL, FieldType.PHONE, FieldType.URL):
        return Q(**{f"{path}__icontains": _text(raw, 255)}), {}
    return Q(**{path: clean_value(field, raw)}), {}


def display_value(field: CustomField, value: Any) -> str:
    """Plain text for detail pages and exports."""
    if value is None:
        return ""
    if field.type == FieldType.CHECKBOX:
        return _("Yes") if value else _("No")
    if field.type == FieldType.MULTIPICKLIST:
        return ", ".join(value)
    if field.type == FieldType.PERCENT:
        return f"{value}%"
    return str(value)
