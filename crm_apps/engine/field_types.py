"""Custom field types: one class per type knows how to clean, store (JSON), filter, show, export, edit
(form field) and describe (serializer field, hence its OpenAPI type) a value. A new type is one class here
and one `FieldType` choice.

Values are stored in `custom_data` as JSON: numbers as strings for decimals (no float rounding),
dates as ISO strings, references as ids.

`clean_value`, `filter_q` and `display_value` are the module's long-standing entry points; they dispatch
to the type's class (`kind_for`).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import DateField, DateTimeField, DecimalField, Field, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from rest_framework import serializers

from crm_apps.engine.models import CustomField, FieldType

if TYPE_CHECKING:
    from crm_apps.access.models import Member

PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{3,40}$")
TEXT_MAX = 255
TEXTAREA_MAX = 10_000
# Range filters (`gte`/`lte`) exist for the ordered types; `eq` for all.
RANGE_LOOKUPS = {"eq": "", "gte": "__gte", "lte": "__lte"}

Filter = tuple[Q, dict[str, Any]]


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


def _choice(value: Any, picklist_values: set[str] | None) -> str:
    choice = _text(value, 100)
    if picklist_values is not None and choice not in picklist_values:
        raise ValidationError(_("“%(value)s” is not one of the choices.") % {"value": choice})
    return choice


def _cast(field: CustomField, target: Field[Any, Any]) -> tuple[str, dict[str, Any]]:
    """An alias and the annotation casting the field's JSON text to `target` (so ranges compare as values)."""
    alias = f"_cf_{field.key}"
    return alias, {alias: Cast(KeyTextTransform(field.key, "custom_data"), target)}


class FieldKind:
    """What one custom field type does. Subclasses override what differs; values reaching `display`
    and `export` are stored (cleaned) values, never None."""

    type: ClassVar[str]

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        """Validate and normalise a non-empty value for storage."""
        raise NotImplementedError

    def filter(self, field: CustomField, raw: str, *, op: str) -> Filter:
        """A Q (and the annotations it needs) matching records whose value equals `raw` (empty: no value)."""
        return Q(**{f"custom_data__{field.key}": clean_value(field, raw)}), {}

    def display(self, field: CustomField, value: Any) -> str:
        """Plain text for detail pages and lists."""
        return str(value)

    def export(self, field: CustomField, value: Any) -> str:
        """The CSV/XLSX cell (before `exports.safe_cell`): the displayed text unless a type says otherwise."""
        return self.display(field, value)

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        """The DRF field documenting the value; drf-spectacular derives the OpenAPI type from it."""
        return serializers.CharField()

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        """The edit form's field (label, required and help text in `common`)."""
        return forms.CharField(**common)


class TextKind(FieldKind):
    type = FieldType.TEXT

    def max_length(self, field: CustomField) -> int:
        return int(field.options.get("max_length", TEXT_MAX))

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        return _text(value, self.max_length(field))

    def filter(self, field: CustomField, raw: str, *, op: str) -> Filter:
        return Q(**{f"custom_data__{field.key}__icontains": _text(raw, 255)}), {}


class TextareaKind(TextKind):
    type = FieldType.TEXTAREA

    def max_length(self, field: CustomField) -> int:
        return TEXTAREA_MAX

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)


class EmailKind(TextKind):
    type = FieldType.EMAIL

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        email = _text(value, 254).lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValidationError(_("Enter a valid email address.")) from exc
        return email

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.EmailField()

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        return forms.EmailField(**common)


class PhoneKind(TextKind):
    type = FieldType.PHONE

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        phone = _text(value, 40)
        if not PHONE_RE.match(phone) or sum(c.isdigit() for c in phone) < 3:
            raise ValidationError(_("Enter a valid phone number."))
        return phone


class UrlKind(TextKind):
    type = FieldType.URL

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        url = _text(value, 500)
        if "://" not in url:
            url = "https://" + url
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise ValidationError(_("Enter a valid URL.")) from exc
        return url

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.URLField()


class _NumberKind(FieldKind):
    """Numbers compare as numbers: the JSON text is cast to a decimal, so ranges work across types."""

    def filter(self, field: CustomField, raw: str, *, op: str) -> Filter:
        alias, annotation = _cast(field, DecimalField(max_digits=30, decimal_places=4))
        return Q(**{f"{alias}{RANGE_LOOKUPS[op]}": Decimal(_decimal(raw))}), annotation


class IntegerKind(_NumberKind):
    type = FieldType.INTEGER

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        if isinstance(value, bool):
            raise ValidationError(_("Enter a whole number."))
        try:
            number = int(str(value).strip())
        except ValueError as exc:
            raise ValidationError(_("Enter a whole number.")) from exc
        if abs(number) > 2**53:  # beyond this a JSON number loses digits in JavaScript clients
            raise ValidationError(_("Enter a whole number."))
        return number

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.IntegerField()

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        return forms.IntegerField(**common)


class DecimalKind(_NumberKind):
    type = FieldType.DECIMAL

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        return _decimal(value)

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.DecimalField(max_digits=19, decimal_places=4)

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        return forms.DecimalField(max_digits=19, decimal_places=4, **common)


class CurrencyKind(DecimalKind):
    type = FieldType.CURRENCY


class PercentKind(DecimalKind):
    type = FieldType.PERCENT

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        decimal_text = _decimal(value)
        if not (Decimal(0) <= Decimal(decimal_text) <= Decimal(100)):
            raise ValidationError(_("Enter a percentage between 0 and 100."))
        return decimal_text

    def display(self, field: CustomField, value: Any) -> str:
        return f"{value}%"

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.DecimalField(max_digits=7, decimal_places=4)


class DateKind(FieldKind):
    type = FieldType.DATE

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        parsed: dt.date | None = value if isinstance(value, dt.date) else None
        if isinstance(value, str):
            try:
                parsed = parse_date(value.strip())
            except ValueError:  # well-formed but impossible, e.g. 30 February
                parsed = None
        if parsed is None:
            raise ValidationError(_("Enter a valid date (YYYY-MM-DD)."))
        return parsed.isoformat()

    def cast_target(self) -> Field[Any, Any]:
        return DateField()

    def filter(self, field: CustomField, raw: str, *, op: str) -> Filter:
        alias, annotation = _cast(field, self.cast_target())
        return Q(**{f"{alias}{RANGE_LOOKUPS[op]}": clean_value(field, raw)}), annotation

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.DateField()

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        return forms.DateField(widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}), **common)


class DateTimeKind(DateKind):
    type = FieldType.DATETIME

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        parsed: dt.datetime | None
        try:
            parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value).strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(_("Enter a valid date and time."))
        return parsed.isoformat()

    def cast_target(self) -> Field[Any, Any]:
        return DateTimeField()

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.DateTimeField()

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        widget = forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"})
        return forms.DateTimeField(widget=widget, **common)


class CheckboxKind(FieldKind):
    type = FieldType.CHECKBOX
    TRUE = frozenset({"true", "1", "on", "yes"})
    FALSE = frozenset({"false", "0", "off", "no"})

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        if isinstance(value, bool):
            return value
        if str(value).lower() in self.TRUE:
            return True
        if str(value).lower() in self.FALSE:
            return False
        raise ValidationError(_("Enter true or false."))

    def display(self, field: CustomField, value: Any) -> str:
        return _("Yes") if value else _("No")

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.BooleanField()

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        return forms.BooleanField(**{**common, "required": False})  # unticked is a value, not a missing one


class PicklistKind(FieldKind):
    type = FieldType.PICKLIST

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        return _choice(value, picklist_values)

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        from crm_apps.engine import metadata

        choices = [("", "—")] + [
            (v.value, v.label)
            for v in metadata.picklist_values(field.picklist_name, include_retired=True)
            if not v.retired or v.value == current  # a retired value stays on the records that hold it
        ]
        return forms.ChoiceField(choices=choices, widget=forms.Select(attrs={"data-ui": "select"}), **common)


class MultiPicklistKind(FieldKind):
    type = FieldType.MULTIPICKLIST

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        items = value if isinstance(value, list) else [v for v in str(value).split(",")]
        cleaned: list[str] = []
        for item in items:
            choice = _choice(item, picklist_values)
            if choice and choice not in cleaned:
                cleaned.append(choice)
        return cleaned or None

    def filter(self, field: CustomField, raw: str, *, op: str) -> Filter:
        return Q(**{f"custom_data__{field.key}__contains": [raw]}), {}

    def display(self, field: CustomField, value: Any) -> str:
        return ", ".join(value)

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.ListField(child=serializers.CharField())

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        from crm_apps.engine import metadata

        held = set(current or []) if isinstance(current, list) else set()
        values = metadata.picklist_values(field.picklist_name, include_retired=True)
        choices = [(v.value, v.label) for v in values if not v.retired or v.value in held]
        # A searchable multi-select (forms.js), never a list that needs Ctrl-click or a wall of checkboxes.
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.SelectMultiple(attrs={"data-ui": "multiselect"}), **common
        )


class MemberKind(FieldKind):
    type = FieldType.MEMBER

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        try:
            return int(str(value))
        except ValueError as exc:
            raise ValidationError(_("Choose a member.")) from exc

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.IntegerField()

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        from crm_apps.access.models import Member

        members = [("", "—")] + [
            (str(m.pk), m.user.name) for m in Member.objects.filter(active=True).select_related("user")
        ]
        return forms.ChoiceField(choices=members, widget=forms.Select(attrs={"data-ui": "select"}), **common)


class RecordKind(FieldKind):
    type = FieldType.RECORD

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        try:
            return str(uuid.UUID(str(value)))
        except ValueError as exc:
            raise ValidationError(_("Choose a record.")) from exc

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.UUIDField()

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        from crm_apps.engine.forms import ReferenceWidget

        return forms.CharField(widget=ReferenceWidget(field.options.get("target", ""), actor), **common)


PART_TYPES = ("text", "decimal", "integer", "boolean")
PART_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
DISPLAY_PART_RE = re.compile(r"\{([a-z][a-z0-9_]{0,19})\}")
MAX_PARTS = 12
MAX_UNKNOWN_REPORTED = 5  # a value with many unknown parts: name the first few, count the rest


def structure_problems(options: dict[str, Any]) -> list[str]:
    """Why `options` do not describe a structured field: `parts` (1-12 of key, label, type in PART_TYPES,
    optional required, max_length for text, min/max for numbers) and an optional `display` template naming
    parts in braces. Empty when they do."""
    parts = options.get("parts")
    if not isinstance(parts, list) or not 1 <= len(parts) <= MAX_PARTS:
        return [_("Give 1 to %(n)d parts.") % {"n": MAX_PARTS}]
    problems: list[str] = []
    seen: set[str] = set()
    for index, part in enumerate(parts):
        if not isinstance(part, dict) or not PART_KEY_RE.match(str(part.get("key", ""))):
            problems.append(_("Part %(n)d needs a key of lowercase letters, digits and underscores.") % {"n": index})
            continue
        key = part["key"]
        allowed = {"key", "label", "type", "required", "max_length", "min", "max"}
        if key in seen:
            problems.append(_("The part “%(key)s” appears twice.") % {"key": key})
        seen.add(key)
        if part.get("type") not in PART_TYPES:
            problems.append(_("The part “%(key)s” has an unknown type.") % {"key": key})
        label = part.get("label")
        if not isinstance(label, str) or not 1 <= len(label) <= 60:
            problems.append(_("The part “%(key)s” needs a label of 1-60 characters.") % {"key": key})
        if set(part) - allowed:
            problems.append(_("The part “%(key)s” has an unknown option.") % {"key": key})
        limit = part.get("max_length")
        if limit is not None and (
            part.get("type") != "text" or not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 500
        ):
            problems.append(_("Only text parts have a maximum length (1-500).") + f" ({key})")
        for bound in ("min", "max"):
            if bound in part and (
                part.get("type") not in ("decimal", "integer")
                or not isinstance(part[bound], int | float)
                or isinstance(part[bound], bool)
            ):
                problems.append(_("Only number parts have a minimum or maximum.") + f" ({key})")
        low, high = part.get("min"), part.get("max")
        if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
            problems.append(_("The minimum is above the maximum.") + f" ({key})")
        if "required" in part and not isinstance(part["required"], bool):
            problems.append(_("“required” is true or false.") + f" ({key})")
    return problems + display_template_problems(options.get("display", ""), seen)


def display_template_problems(display: Any, part_keys: set[str]) -> list[str]:
    """Why `display` is not a template of at most 200 characters naming only `part_keys` in braces."""
    if not isinstance(display, str) or len(display) > 200:
        return [_("The display template is text of at most 200 characters.")]
    return [
        _("The display template names “%(key)s”, which is not a part.") % {"key": name}
        for name in DISPLAY_PART_RE.findall(display)
        if name not in part_keys
    ]


def _part_value(part: dict[str, Any], raw: Any) -> Any:
    """One part's value, cleaned by its declared type and bounds."""
    kind = part["type"]
    if kind == "boolean":
        return CheckboxKind().clean(None, raw, picklist_values=None)  # type: ignore[arg-type]
    if kind == "text":
        return _text(raw, int(part.get("max_length", TEXT_MAX)))
    if kind == "integer":
        number: Any = IntegerKind().clean(None, raw, picklist_values=None)  # type: ignore[arg-type]
        compared = Decimal(number)
    else:
        number = _decimal(raw)
        compared = Decimal(number)
    if "min" in part and compared < Decimal(str(part["min"])):
        raise ValidationError(_("Must be at least %(n)s.") % {"n": part["min"]})
    if "max" in part and compared > Decimal(str(part["max"])):
        raise ValidationError(_("Must be at most %(n)s.") % {"n": part["max"]})
    return number


class StructuredWidget(forms.MultiWidget):
    """One input per part, each labelled (aria-label) with the part's label."""

    def __init__(self, parts: list[dict[str, Any]]) -> None:
        self.parts = parts
        widgets = [
            forms.CheckboxInput(attrs={"aria-label": p["label"]})
            if p["type"] == "boolean"
            else forms.TextInput(
                attrs={"aria-label": p["label"], "placeholder": p["label"]}
                | ({"inputmode": "decimal"} if p["type"] != "text" else {})
            )
            for p in parts
        ]
        super().__init__(widgets)

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [value.get(p["key"]) for p in self.parts]
        return [None for _p in self.parts]


class StructuredFormField(forms.MultiValueField):
    def __init__(self, parts: list[dict[str, Any]], **common: Any) -> None:
        self.parts = parts
        fields = [
            forms.BooleanField(required=False) if p["type"] == "boolean" else forms.CharField(required=False)
            for p in parts
        ]
        super().__init__(fields, widget=StructuredWidget(parts), require_all_fields=False, **common)

    def compress(self, data_list: list[Any]) -> Any:
        # False is a value ("no"), kept; but a form left empty (only unticked boxes) stores nothing,
        # unless a boolean part is required (its "no" is then the answer).
        values = {p["key"]: v for p, v in zip(self.parts, data_list or [], strict=False) if v is not None and v != ""}
        answered = any(v is not False for v in values.values()) or any(
            p["type"] == "boolean" and p.get("required") for p in self.parts
        )
        return values if values and answered else None


def _part_text(value: Any) -> str:
    """A part's value as shown: booleans as a translated Yes / No."""
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    return "" if value is None else str(value)


class StructuredKind(FieldKind):
    """A value of named parts (options["parts"]), stored as one JSON object; each part cleaned by its type.
    Shown in lists and exports through `options["display"]` ("{street}, {city}"), else the parts joined."""

    type = FieldType.STRUCTURED

    def clean(self, field: CustomField, value: Any, *, picklist_values: set[str] | None) -> Any:
        import json

        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if not isinstance(value, dict):
            raise ValidationError(_("Send an object of the value's parts."))
        parts = {p["key"]: p for p in field.options.get("parts") or []}
        unknown = [key for key in value if key not in parts]
        problems = [_("Unknown part “%(key)s”.") % {"key": str(key)[:40]} for key in unknown[:MAX_UNKNOWN_REPORTED]]
        if len(unknown) > MAX_UNKNOWN_REPORTED:
            problems.append(_("… and %(n)d more unknown parts.") % {"n": len(unknown) - MAX_UNKNOWN_REPORTED})
        cleaned: dict[str, Any] = {}
        for key, part in parts.items():
            raw = value.get(key)
            if raw is None or raw == "":
                if part.get("required"):
                    problems.append(_("%(part)s: this part is required.") % {"part": part["label"]})
                continue
            try:
                cleaned[key] = _part_value(part, raw)
            except ValidationError as exc:
                problems.append(f"{part['label']}: {' '.join(exc.messages)}")
        if problems:
            raise ValidationError(problems)
        return cleaned or None

    def filter(self, field: CustomField, raw: str, *, op: str) -> Filter:
        return Q(**{f"custom_data__{field.key}__icontains": _text(raw, 255)}), {}

    def display(self, field: CustomField, value: Any) -> str:
        if not isinstance(value, dict):
            return str(value)
        template = field.options.get("display") or ""
        if not template:
            return ", ".join(_part_text(v) for v in value.values() if v is not None and v != "")
        text = DISPLAY_PART_RE.sub(lambda m: _part_text(value.get(m.group(1), "")), template)
        return re.sub(r"\s+", " ", re.sub(r"(,\s*)+(?=,|$)", "", text)).strip(" ,")

    def serializer_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.DictField()

    def form_field(self, field: CustomField, *, current: Any, actor: Member, common: dict[str, Any]) -> forms.Field:
        return StructuredFormField(list(field.options.get("parts") or []), **common)


KINDS: dict[str, FieldKind] = {
    kind.type: kind
    for kind in (
        TextKind(),
        TextareaKind(),
        IntegerKind(),
        DecimalKind(),
        CurrencyKind(),
        PercentKind(),
        DateKind(),
        DateTimeKind(),
        CheckboxKind(),
        EmailKind(),
        PhoneKind(),
        UrlKind(),
        PicklistKind(),
        MultiPicklistKind(),
        MemberKind(),
        RecordKind(),
        StructuredKind(),
    )
}


class UnknownFieldType(ValidationError):
    def __init__(self) -> None:
        super().__init__(_("Unknown field type."))


def kind_for(field_type: str) -> FieldKind:
    """The class of one custom field type; UnknownFieldType (a ValidationError) for a type no class handles."""
    try:
        return KINDS[field_type]
    except KeyError:
        raise UnknownFieldType from None


def clean_value(field: CustomField, value: Any, *, picklist_values: set[str] | None = None) -> Any:
    """Validate and normalise one custom field value for storage; None means empty."""
    if value is None or value == "" or value == []:
        return None
    return kind_for(field.type).clean(field, value, picklist_values=picklist_values)


@dataclass(frozen=True)
class FilterSpec:
    """How a filter value applies to one custom field."""

    key: str
    type: str


def filter_q(field: CustomField, raw: str, *, op: str = "eq") -> tuple[Q, dict[str, Any]]:
    """A Q (and annotations it needs) filtering records on a custom field value."""
    return kind_for(field.type).filter(field, raw, op=op)


def display_value(field: CustomField, value: Any) -> str:
    """Plain text for detail pages and exports."""
    if value is None:
        return ""
    kind = KINDS.get(field.type)
    return str(value) if kind is None else kind.display(field, value)


def export_value(field: CustomField, value: Any) -> str:
    """The export cell of one custom field value (empty for None)."""
    if value is None:
        return ""
    kind = KINDS.get(field.type)
    return str(value) if kind is None else kind.export(field, value)
