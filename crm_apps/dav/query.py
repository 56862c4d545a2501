"""The filters of addressbook-query (RFC 6352 10.5) and calendar-query (RFC 4791 9.7), evaluated on the
serialised resources: prop-filter with text-match (contains, equals, starts-with, ends-with; negation;
anyof/allof) and comp-filter with a time-range. Recurring events are kept whenever their first occurrence
starts before the range ends (a superset: clients then expand them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import vobject

from crm_apps.dav.xml import CAL, CARD, q


@dataclass
class TextMatch:
    prop: str
    text: str
    match_type: str = "contains"
    negate: bool = False
    defined: bool = True  # False: <is-not-defined/>


@dataclass
class CardFilter:
    anyof: bool = True
    tests: list[TextMatch] = field(default_factory=list)


def addressbook_filter(root: Any) -> CardFilter:
    found = CardFilter()
    if root is None:
        return found
    found.anyof = root.get("test", "anyof") != "allof"
    for prop in root.findall(q(CARD, "prop-filter")):
        name = (prop.get("name") or "").upper()
        if prop.find(q(CARD, "is-not-defined")) is not None:
            found.tests.append(TextMatch(prop=name, text="", defined=False))
            continue
        matches = prop.findall(q(CARD, "text-match"))
        if not matches:
            found.tests.append(TextMatch(prop=name, text=""))
        for match in matches:
            found.tests.append(
                TextMatch(
                    prop=name,
                    text=(match.text or "").strip().casefold(),
                    match_type=match.get("match-type", "contains"),
                    negate=match.get("negate-condition", "no") == "yes",
                )
            )
    return found


def _text_ok(values: list[str], test: TextMatch) -> bool:
    if not test.defined:
        return not values
    if not test.text:
        return bool(values)

    def one(value: str) -> bool:
        value = value.casefold()
        return {
            "equals": value == test.text,
            "starts-with": value.startswith(test.text),
            "ends-with": value.endswith(test.text),
        }.get(test.match_type, test.text in value)

    hit = any(one(v) for v in values)
    return not hit if test.negate else hit


def card_matches(body: str, wanted: CardFilter) -> bool:
    if not wanted.tests:
        return True
    card = vobject.readOne(body)
    results = []
    for test in wanted.tests:
        values = [
            " ".join(str(x) for x in p.value) if isinstance(p.value, list) else str(p.value)
            for p in card.contents.get(test.prop.lower(), [])
        ]
        results.append(_text_ok(values, test))
    return any(results) if wanted.anyof else all(results)


def utc_from_caldav(value: str | None) -> datetime | None:
    """A CalDAV time-range bound ("20260101T000000Z")."""
    if not value:
        return None
    try:
        return datetime.strptime(value.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def calendar_filter(root: Any) -> tuple[str | None, datetime | None, datetime | None]:
    """(component, start, end) of a calendar-query filter: VCALENDAR > VEVENT|VTODO [> time-range]."""
    if root is None:
        return None, None, None
    outer = root.find(q(CAL, "comp-filter"))
    inner = outer.find(q(CAL, "comp-filter")) if outer is not None else None
    if inner is None:
        return None, None, None
    span = inner.find(q(CAL, "time-range"))
    if span is None:
        return inner.get("name"), None, None
    return inner.get("name"), utc_from_caldav(span.get("start")), utc_from_caldav(span.get("end"))


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def component_span(component: Any) -> tuple[datetime | None, datetime | None]:
    """When a VEVENT/VTODO happens: (start, end); a task by its due time (or start) alone."""
    start = _utc(component.get("DTSTART").dt) if component.get("DTSTART") else None
    if component.name == "VTODO":
        due = _utc(component.get("DUE").dt) if component.get("DUE") else None
        return start or due, due or start
    end = _utc(component.get("DTEND").dt) if component.get("DTEND") else None
    if end is None and start is not None:
        duration = component.get("DURATION")
        end = start + (duration.dt if duration else timedelta(0))
    return start, end


def calendar_matches(body: str, component: str | None, start: datetime | None, end: datetime | None) -> bool:
    calendar = icalendar.Calendar.from_ical(body)
    for comp in calendar.walk():
        if comp.name not in ("VEVENT", "VTODO") or (component and comp.name != component):
            continue
        if start is None and end is None:
            return True
        first, last = component_span(comp)
        if first is None:
            return comp.name == "VTODO"  # an undated task overlaps every range (RFC 4791 9.9)
        if comp.get("RRULE") is not None:
            if end is None or first < end:
                return True
            continue
        last = last or first
        if (end is None or first < end) and (start is None or last > start or (last == first and first >= start)):
            return True
    return False
