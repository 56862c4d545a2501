"""The calendar's screen forms: what the generic record form cannot hold — invitees, several reminders,
the related record and contacts, a recurrence builder, the "this / following / all" choice — turned into
the arguments of `services.event_create/update/event_occurrence_update` and `task_create/update`.

The recurrence builder is plain fields (frequency, interval, weekdays, monthly by day or weekday, end by
date or count) that `rrule_build` turns into an RFC 5545 RRULE; `builder_from_rrule` reads a stored rule
back (a rule the builder cannot show, such as one synced from a phone, stays as "custom" text), and
`rrule_summary` says it in words ("Every 2 weeks on Monday and Wednesday, 10 times").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.forms import enhance_field
from crm_apps.modules.calendar import recurrence
from crm_apps.modules.calendar.services import MAX_REMINDER_MINUTES, MAX_REMINDERS

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
UNITS = {"minutes": 1, "hours": 60, "days": 1440}
SCOPES = ("this", "following", "all")


def weekday_labels() -> dict[str, str]:
    return {
        "MO": _("Monday"),
        "TU": _("Tuesday"),
        "WE": _("Wednesday"),
        "TH": _("Thursday"),
        "FR": _("Friday"),
        "SA": _("Saturday"),
        "SU": _("Sunday"),
    }


def _ordinal(n: int) -> str:
    return {
        1: _("first"),
        2: _("second"),
        3: _("third"),
        4: _("fourth"),
        5: _("fifth"),
        -1: _("last"),
    }.get(n, str(n))


def _nth_weekday(day: dt.date) -> tuple[int, str]:
    """(1..5, "TU"): the third Tuesday of its month is (3, "TU")."""
    return (day.day - 1) // 7 + 1, WEEKDAYS[day.weekday()]


def _is_last_weekday(day: dt.date) -> bool:
    return (day + dt.timedelta(days=7)).month != day.month


# --- the recurrence builder ------------------------------------------------------------------------


def rrule_build(values: Any, *, start: dt.date | None) -> str:
    """An RRULE from the builder's fields (`values`: a QueryDict or dict); "" for "does not repeat".
    A bad combination is a ValidationError (one message)."""

    def get(name: str, default: str = "") -> str:
        return str(values.get(name, default) or default).strip()

    freq = get("repeat_freq").upper()
    if freq == "":
        return ""
    if freq == "CUSTOM":
        text = recurrence.normalize_rrule(get("repeat_custom"))
        if not text:
            raise ValidationError(_("Enter the recurrence rule."))
        recurrence.validate_rrule(text)
        return text
    if freq not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        raise ValidationError(_("Choose how often the event repeats."))
    parts: dict[str, str] = {"FREQ": freq}
    interval = get("repeat_interval", "1")
    if not interval.isdigit() or not 1 <= int(interval) <= 999:
        raise ValidationError(_("Repeat every 1 to 999 days, weeks, months or years."))
    if int(interval) > 1:
        parts["INTERVAL"] = interval
    if freq == "WEEKLY":
        days = values.getlist("repeat_byday") if hasattr(values, "getlist") else values.get("repeat_byday", [])
        chosen = [d for d in WEEKDAYS if d in {str(x).upper() for x in days}]
        if chosen:
            parts["BYDAY"] = ",".join(chosen)
    if freq == "MONTHLY" and start is not None:
        mode = get("repeat_monthly", "day")
        if mode == "weekday":
            n, day = _nth_weekday(start)
            parts["BYDAY"] = f"{n}{day}"
        elif mode == "last_weekday":
            parts["BYDAY"] = f"-1{WEEKDAYS[start.weekday()]}"
        else:
            parts["BYMONTHDAY"] = str(start.day)
    ends = get("repeat_ends", "never")
    if ends == "count":
        count = get("repeat_count")
        if not count.isdigit() or not 1 <= int(count) <= 1000:
            raise ValidationError(_("Repeat 1 to 1000 times."))
        parts["COUNT"] = count
    elif ends == "until":
        try:
            until = dt.date.fromisoformat(get("repeat_until"))
        except ValueError:
            raise ValidationError(_("Enter the date the series ends.")) from None
        if start is not None and until < start:
            raise ValidationError(_("The series ends before its first occurrence."))
        parts["UNTIL"] = until.strftime("%Y%m%d")
    text = recurrence.normalize_rrule(";".join(f"{k}={v}" for k, v in parts.items()))
    recurrence.validate_rrule(text)
    return text


def builder_from_rrule(rrule: str, *, start: dt.date | None) -> dict[str, Any]:
    """The builder's initial values for a stored rule; a rule it cannot show becomes "custom"."""
    initial: dict[str, Any] = {
        "repeat_freq": "",
        "repeat_interval": 1,
        "repeat_byday": [WEEKDAYS[start.weekday()]] if start else [],
        "repeat_monthly": "day",
        "repeat_ends": "never",
        "repeat_until": "",
        "repeat_count": "",
        "repeat_custom": rrule,
    }
    if not rrule:
        return initial
    try:
        parts = recurrence._parts(rrule)
    except ValidationError:
        return {**initial, "repeat_freq": "CUSTOM"}
    custom = {**initial, "repeat_freq": "CUSTOM"}
    freq = parts.get("FREQ", "")
    if set(parts) - {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY"}:
        return custom
    initial["repeat_freq"] = freq
    initial["repeat_interval"] = int(parts.get("INTERVAL", "1") or 1)
    if "COUNT" in parts:
        initial["repeat_ends"], initial["repeat_count"] = "count", parts["COUNT"]
    if "UNTIL" in parts:
        try:
            until = recurrence.rrule_until(rrule)
        except ValueError:
            return custom
        initial["repeat_ends"] = "until"
        initial["repeat_until"] = until.date().isoformat() if until else ""
        if len(parts["UNTIL"]) != 8:  # a UTC time of day: keep it exact, as text
            return custom
    byday = parts.get("BYDAY", "")
    if freq == "WEEKLY":
        days = byday.split(",") if byday else []
        if "BYMONTHDAY" in parts or any(d not in WEEKDAYS for d in days):
            return custom
        if days:
            initial["repeat_byday"] = days
    elif freq == "MONTHLY" and start is not None:
        if "BYMONTHDAY" in parts and not byday and parts["BYMONTHDAY"] == str(start.day):
            initial["repeat_monthly"] = "day"
        elif byday and "BYMONTHDAY" not in parts and byday == f"-1{WEEKDAYS[start.weekday()]}":
            initial["repeat_monthly"] = "last_weekday"
        elif byday and "BYMONTHDAY" not in parts and byday == "{}{}".format(*_nth_weekday(start)):
            initial["repeat_monthly"] = "weekday"
        elif byday or "BYMONTHDAY" in parts:
            return custom
    elif byday or "BYMONTHDAY" in parts or freq not in ("DAILY", "YEARLY"):
        return custom
    return initial


def _every(n: int, one: str, many: str) -> str:
    """ "Every week" for 1, else the plural sentence with the number ("Every 2 weeks")."""
    return one if n == 1 else many % {"n": n}


def rrule_summary(rrule: str, *, start: dt.date | None = None) -> str:
    """The rule in words, in the active language; "" for a single event."""
    if not rrule:
        return ""
    try:
        parts = recurrence._parts(rrule)
    except ValidationError:
        return rrule
    interval = int(parts.get("INTERVAL", "1") or 1) if parts.get("INTERVAL", "1").isdigit() else 1
    freq = parts.get("FREQ", "")
    names = weekday_labels()
    if freq == "DAILY":
        text = _every(interval, _("Every day"), ngettext("Every %(n)d day", "Every %(n)d days", interval))
    elif freq == "WEEKLY":
        text = _every(interval, _("Every week"), ngettext("Every %(n)d week", "Every %(n)d weeks", interval))
        days = [d for d in parts.get("BYDAY", "").split(",") if d in names]
        if days:
            text += " " + _("on %(days)s") % {"days": ", ".join(names[d] for d in days)}
    elif freq == "MONTHLY":
        text = _every(interval, _("Every month"), ngettext("Every %(n)d month", "Every %(n)d months", interval))
        byday = parts.get("BYDAY", "")
        if parts.get("BYMONTHDAY"):
            text += " " + _("on day %(day)s") % {"day": parts["BYMONTHDAY"]}
        elif byday and byday[-2:] in names and byday[:-2].lstrip("+-").isdigit():
            text += " " + _("on the %(nth)s %(weekday)s") % {
                "nth": _ordinal(int(byday[:-2])),
                "weekday": names[byday[-2:]],
            }
    elif freq == "YEARLY":
        text = _every(interval, _("Every year"), ngettext("Every %(n)d year", "Every %(n)d years", interval))
        if start is not None:
            text += " " + _("on %(date)s") % {"date": formats.date_format(start, "MONTH_DAY_FORMAT")}
    else:
        return rrule
    if "COUNT" in parts and parts["COUNT"].isdigit():
        count = int(parts["COUNT"])
        text += ", " + _every(count, _("once"), ngettext("%(n)d time", "%(n)d times", count))
    elif "UNTIL" in parts:
        try:
            until = recurrence.rrule_until(rrule)
        except ValueError:
            until = None
        if until is not None:
            text += ", " + _("until %(date)s") % {"date": formats.date_format(until.date(), "SHORT_DATE_FORMAT")}
    return text


# --- reminders --------------------------------------------------------------------------------------


def reminders_from_post(data: Any) -> tuple[list[int], list[str]]:
    """Minutes from the form's reminder rows (`reminder_amount` + `reminder_unit`, empty rows skipped)."""
    amounts = data.getlist("reminder_amount") if hasattr(data, "getlist") else data.get("reminder_amount", [])
    units = data.getlist("reminder_unit") if hasattr(data, "getlist") else data.get("reminder_unit", [])
    minutes: list[int] = []
    errors: list[str] = []
    for index, raw in enumerate(amounts):
        text = str(raw).strip()
        if not text:
            continue
        unit = units[index] if index < len(units) else "minutes"
        if not text.isdigit() or unit not in UNITS or int(text) * UNITS[unit] > MAX_REMINDER_MINUTES:
            errors.append(_("A reminder is a whole number of minutes, hours or days, up to 4 weeks."))
            continue
        minutes.append(int(text) * UNITS[unit])
    minutes = sorted(set(minutes))
    if len(minutes) > MAX_REMINDERS:
        errors.append(_("At most %(max)d reminders.") % {"max": MAX_REMINDERS})
    return minutes, errors


def reminder_rows(minutes: list[int]) -> list[dict[str, Any]]:
    """Each reminder as (amount, unit) in the largest whole unit, for the form's rows."""
    rows = []
    for value in minutes:
        unit = next(u for u in ("days", "hours", "minutes") if value % UNITS[u] == 0 or u == "minutes")
        rows.append({"amount": value // UNITS[unit], "unit": unit})
    return rows


def reminder_label(minutes: int) -> str:
    """ "15 minutes before", "2 hours before", "1 day before", in the active language."""
    row = reminder_rows([minutes])[0]
    n = row["amount"]
    if row["unit"] == "days":
        return ngettext("%(n)d day before", "%(n)d days before", n) % {"n": n}
    if row["unit"] == "hours":
        return ngettext("%(n)d hour before", "%(n)d hours before", n) % {"n": n}
    return ngettext("%(n)d minute before", "%(n)d minutes before", n) % {"n": n}


def unit_choices() -> list[tuple[str, str]]:
    return [
        ("minutes", _("minutes before")),
        ("hours", _("hours before")),
        ("days", _("days before")),
    ]


# --- the extras form --------------------------------------------------------------------------------


def related_modules(actor: Member) -> list[tuple[str, str]]:
    """Modules an activity may be about, that the member may view (every module but events and tasks)."""
    found = []
    for spec in registry.all_specs():
        if spec.key in ("events", "tasks"):
            continue
        if visibility.can_view_module(actor=actor, spec=spec):
            found.append((spec.key, str(spec.label)))
    return sorted(found, key=lambda pair: pair[1].lower())


def member_choices() -> list[tuple[str, str]]:
    return [
        (str(m.pk), m.user.get_full_name() or m.user.email)
        for m in Member.objects.filter(active=True).select_related("user").order_by("user__email")[:500]
    ]


class ActivityExtrasForm(forms.Form):
    """Related record, contacts and reminders of an event or task; invitees and recurrence for events."""

    related_module = forms.ChoiceField(label=gettext_lazy("Module"), required=False)
    related_id = forms.CharField(label=gettext_lazy("Record"), required=False, max_length=64)

    def __init__(self, *args: Any, actor: Member, event: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.is_event = event
        self.fields["related_module"].choices = [("", "—"), *related_modules(actor)]  # type: ignore[attr-defined]
        if event:
            self.fields["invitees"] = forms.MultipleChoiceField(
                label=_("Invitees"),
                required=False,
                choices=member_choices(),
                help_text=_("They get an email invitation with the .ics file and can answer from the CRM."),
            )
        for field in self.fields.values():
            enhance_field(field)
        self.fields["related_module"].widget.attrs["data-related-module"] = ""

    def related_to(self) -> dict[str, str] | None:
        module = str(self.data.get("related_module", "")).strip()
        record = str(self.data.get("related_id", "")).strip()
        if not module and not record:
            return None
        return {"module": module, "id": record}

    def contacts(self) -> list[str]:
        raw = self.data.getlist("contacts") if hasattr(self.data, "getlist") else self.data.get("contacts", [])
        return [str(v) for v in raw if str(v).strip()]

    def invitees(self) -> list[str]:
        raw = self.data.getlist("invitees") if hasattr(self.data, "getlist") else self.data.get("invitees", [])
        return [str(v) for v in raw if str(v).strip()]
