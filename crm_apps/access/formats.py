"""Per-member date, time and number formats (Member.date_format / time_format / number_format).

Django takes every format (DATE_FORMAT, SHORT_DATETIME_FORMAT, DATE_INPUT_FORMATS, DECIMAL_SEPARATOR...)
from `django.utils.formats.get_format`, which reads the active language's format module through a
module-level cache keyed by `(format_type, language)`. Django has no public per-request hook there, and
`get_format_lazy` (the form fields' input formats) is bound to the original function at import time, so
wrapping `get_format` would miss form parsing. What every path does share is the cache lookup
`_format_cache[(format_type, lang)]`: we install a dict subclass as that cache which, while a member's
preferences are active (a ContextVar: per thread and per asyncio task), answers the overridden format
types from the member's choices and everything else from the ordinary cache. Nothing overridden is ever
stored in the shared cache, so one member's choice cannot leak into another request. Non-localised
calls (`use_l10n=False`, key language None: the API, ISO output) are never overridden.

`formats_activate(member)` / `formats_deactivate(token)` wrap each request (access.middleware);
`formats_override(member)` wraps rendering for someone else (emails and notifications to a recipient).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, getcontext
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaultfilters import floatformat
from django.utils import formats, numberformat, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

DEFAULT = ""  # "language default": the active language's format module decides

DATE_CHOICES: list[tuple[str, Any]] = [
    (DEFAULT, _("Language default")),
    ("dmy_dot", "DD.MM.YYYY"),
    ("dmy_slash", "DD/MM/YYYY"),
    ("mdy_slash", "MM/DD/YYYY"),
    ("iso", "YYYY-MM-DD"),
]
TIME_CHOICES: list[tuple[str, Any]] = [(DEFAULT, _("Language default")), ("24h", _("24-hour")), ("12h", _("12-hour"))]
NUMBER_CHOICES: list[tuple[str, Any]] = [
    (DEFAULT, _("Language default")),
    ("comma_dot", "1,234.56"),
    ("space_comma", "1 234,56"),
    ("dot_comma", "1.234,56"),
]

# choice -> (display format for `date`, strptime input formats)
_DATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "dmy_dot": ("d.m.Y", ("%d.%m.%Y", "%d.%m.%y")),
    "dmy_slash": ("d/m/Y", ("%d/%m/%Y", "%d/%m/%y")),
    "mdy_slash": ("m/d/Y", ("%m/%d/%Y", "%m/%d/%y")),
    "iso": ("Y-m-d", ("%Y-%m-%d",)),
}
_TIMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "24h": ("H:i", ("%H:%M", "%H:%M:%S")),
    "12h": ("g:i A", ("%I:%M %p", "%I:%M:%S %p", "%H:%M", "%H:%M:%S")),
}
# (decimal separator, thousand separator); a no-break space groups digits in "1 234,56"
_NUMBERS: dict[str, tuple[str, str]] = {
    "comma_dot": (".", ","),
    "space_comma": (",", "\xa0"),
    "dot_comma": (",", "."),
}
ISO_DATE_INPUTS = ("%Y-%m-%d",)
ISO_DATETIME_INPUTS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M", "%Y-%m-%d")
ISO_TIME_INPUTS = ("%H:%M:%S", "%H:%M:%S.%f", "%H:%M")

DATE_TYPES = frozenset({"DATE_FORMAT", "SHORT_DATE_FORMAT", "DATE_INPUT_FORMATS"})
TIME_TYPES = frozenset({"TIME_FORMAT", "TIME_INPUT_FORMATS"})
DATETIME_TYPES = frozenset({"DATETIME_FORMAT", "SHORT_DATETIME_FORMAT", "DATETIME_INPUT_FORMATS"})
NUMBER_TYPES = frozenset({"DECIMAL_SEPARATOR", "THOUSAND_SEPARATOR", "NUMBER_GROUPING"})


@dataclass(frozen=True)
class FormatPrefs:
    date: str = DEFAULT
    time: str = DEFAULT
    number: str = DEFAULT

    def overrides(self, format_type: str) -> bool:
        if format_type in DATE_TYPES:
            return self.date in _DATES
        if format_type in TIME_TYPES:
            return self.time in _TIMES
        if format_type in DATETIME_TYPES:
            return self.date in _DATES or self.time in _TIMES
        if format_type in NUMBER_TYPES:
            return self.number in _NUMBERS
        return False


_active: ContextVar[FormatPrefs | None] = ContextVar("member_formats", default=None)


def prefs_of(member: Any) -> FormatPrefs | None:
    """The member's choices, or None when everything follows the language."""
    if member is None:
        return None
    prefs = FormatPrefs(
        date=getattr(member, "date_format", DEFAULT) or DEFAULT,
        time=getattr(member, "time_format", DEFAULT) or DEFAULT,
        number=getattr(member, "number_format", DEFAULT) or DEFAULT,
    )
    return None if prefs == FormatPrefs() else prefs


def _language_default(format_type: str, lang: str) -> Any:
    """What Django would answer for this language, read without the (overridden) cache."""
    for module in formats.get_format_modules(lang):
        value = getattr(module, format_type, None)
        if value is not None:
            return value
    return getattr(settings, format_type)


def _strip_seconds(time_format: str) -> str:
    return time_format.replace(":s", "")


@functools.lru_cache(maxsize=512)
def resolve(prefs: FormatPrefs, format_type: str, lang: str) -> Any:
    """The value of `format_type` for these preferences in this language."""
    date = _DATES.get(prefs.date)
    time = _TIMES.get(prefs.time)
    if format_type in ("DATE_FORMAT", "SHORT_DATE_FORMAT") and date:
        return date[0]
    if format_type == "DATE_INPUT_FORMATS" and date:
        return tuple(dict.fromkeys((*date[1], *ISO_DATE_INPUTS)))
    if format_type == "TIME_FORMAT" and time:
        return time[0]
    if format_type == "TIME_INPUT_FORMATS" and time:
        return tuple(dict.fromkeys((*time[1], *ISO_TIME_INPUTS)))
    if format_type in ("DATETIME_FORMAT", "SHORT_DATETIME_FORMAT"):
        date_part = date[0] if date else _language_default(format_type.replace("DATETIME", "DATE"), lang)
        time_part = time[0] if time else _strip_seconds(_language_default("TIME_FORMAT", lang))
        return f"{date_part} {time_part}"
    if format_type == "DATETIME_INPUT_FORMATS":
        dates = date[1] if date else tuple(_language_default("DATE_INPUT_FORMATS", lang))
        times = time[1] if time else ("%H:%M", "%H:%M:%S")
        combined = tuple(f"{d} {t}" for d in dates for t in times)
        return tuple(dict.fromkeys((*combined, *dates, *ISO_DATETIME_INPUTS)))
    number = _NUMBERS.get(prefs.number)
    if number:
        if format_type == "DECIMAL_SEPARATOR":
            return number[0]
        if format_type == "THOUSAND_SEPARATOR":
            return number[1]
        if format_type == "NUMBER_GROUPING":
            return 3
    raise KeyError(format_type)


class MemberFormatCache(dict[tuple[str, str | None], Any]):
    """Django's format cache, answering overridden format types from the active member's preferences."""

    def __getitem__(self, key: tuple[str, str | None]) -> Any:
        prefs = _active.get()
        if prefs is not None:
            format_type, lang = key
            if lang is not None and prefs.overrides(format_type):
                return resolve(prefs, format_type, lang)
        return super().__getitem__(key)


def install() -> None:
    """Put the member-aware cache in place (again after Django's reset_format_cache, e.g. in tests)."""
    current = getattr(formats, "_format_cache", None)  # private to Django, see the module docstring
    if isinstance(current, dict) and not isinstance(current, MemberFormatCache):
        setattr(formats, "_format_cache", MemberFormatCache(current))  # noqa: B010


def formats_active() -> FormatPrefs | None:
    """The preferences active in this request or task (None: the language's formats)."""
    return _active.get()


def formats_activate(member: Any) -> Token[FormatPrefs | None]:
    """Use the member's formats in this thread/task until `formats_deactivate(token)`."""
    install()
    return _active.set(prefs_of(member))


def formats_deactivate(token: Token[FormatPrefs | None]) -> None:
    _active.reset(token)


@contextlib.contextmanager
def formats_override(member: Any) -> Iterator[None]:
    """Render for `member` (an email or notification to them), whatever the current request uses."""
    token = formats_activate(member)
    try:
        yield
    finally:
        formats_deactivate(token)


def choice_valid(*, kind: str, value: str) -> bool:
    choices = {"date": DATE_CHOICES, "time": TIME_CHOICES, "number": NUMBER_CHOICES}[kind]
    return value in {key for key, _label in choices}


# (language, member preferences) -> (decimal separator, grouping, thousand separator). A few entries at most
# (languages x number choices); emptied when a test changes the settings the formats come from.
_separators: dict[tuple[str | None, FormatPrefs | None], tuple[str, Any, str]] = {}


@receiver(setting_changed)
def _forget_separators(**_kwargs: Any) -> None:
    _separators.clear()


def number_separators() -> tuple[str, Any, str]:
    """(decimal separator, grouping, thousand separator) in the active language and member preferences, as
    `django.utils.formats.number_format` reads them (three format look-ups there on every number)."""
    key = (translation.get_language(), _active.get())
    found = _separators.get(key)
    if found is None:
        lang = key[0]
        found = (
            formats.get_format("DECIMAL_SEPARATOR", lang, use_l10n=True),
            formats.get_format("NUMBER_GROUPING", lang, use_l10n=True),
            formats.get_format("THOUSAND_SEPARATOR", lang, use_l10n=True),
        )
        _separators[key] = found
    return found


_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(7)}


def grouped(value: Any, places: int) -> str:
    """`value|floatformat:"<places>g"` (rounded half up to `places` decimals, digits grouped, in the member's
    number format) for the many amounts of one page: a board's cards and column totals called floatformat
    about 500 times, each reading three formats (issue 25). Decimals and integers only; anything else (floats,
    text, None) goes to floatformat itself. The same (safe) text as floatformat: access/tests/test_formats.py."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return floatformat(value, f"{places}g")
    number = value if isinstance(value, Decimal) else Decimal(value)
    if not number.is_finite():
        return floatformat(value, f"{places}g")
    quantum = _QUANTA.get(places) or Decimal(1).scaleb(-places)
    needed = max(number.adjusted(), 0) + places + 2  # digits of the rounded number, one spare for a carry
    if needed <= getcontext().prec:
        rounded = number.quantize(quantum, rounding=ROUND_HALF_UP)
    else:
        rounded = number.quantize(quantum, rounding=ROUND_HALF_UP, context=Context(prec=needed))
    decimal_separator, grouping, thousand_separator = number_separators()
    if grouping == 3:  # the usual grouping: Python's own thousands separator, then the format's characters
        text = f"{rounded:,f}"
        if text.startswith("-") and not rounded:  # -0.001 shows as 0.00, as floatformat does
            text = text[1:]
        return mark_safe(text.translate({44: thousand_separator, 46: decimal_separator}))  # noqa: S308 - digits
    text = f"{rounded:f}"
    if text.startswith("-") and not rounded:
        text = text[1:]
    return mark_safe(  # noqa: S308 - digits and the format's separators
        numberformat.format(
            text,
            decimal_separator,
            places,
            grouping,
            thousand_separator,
            force_grouping=True,
            use_l10n=True,
        )
    )
