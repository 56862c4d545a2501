"""A test calendar over the deals module (each deal an all-day VEVENT on its close date, or a VTODO due
then), registered the way the events and tasks modules register theirs: the protocol is exercised on real
records, rights, services and audit, without depending on the calendar module's branch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import icalendar
import pytest

from crm_apps.dav.caldav import RecordCalendar, main_component
from crm_apps.dav.collections import CALENDAR, collection_get, collection_register, collection_unregister


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def render(component: str) -> Any:
    def make(deal: Any, uid: str, hidden: set[str]) -> str:
        calendar = icalendar.Calendar()
        calendar.add("prodid", "-//CRM test//EN")
        calendar.add("version", "2.0")
        item = icalendar.Event() if component == "VEVENT" else icalendar.Todo()
        item.add("uid", uid)
        item.add("summary", deal.name)
        item.add("dtstamp", deal.updated_at)
        if component == "VEVENT":
            item.add("dtstart", deal.close_date)
        else:
            item.add("due", deal.close_date)
        if deal.description:
            item.add("description", deal.description)
        calendar.add_component(item)
        return calendar.to_ical().decode()

    return make


def to_data(component: str) -> Any:
    def parse(calendar: Any, *, actor: Any, record: Any) -> dict[str, Any]:
        item = main_component(calendar, component)
        when = item.get("DTSTART" if component == "VEVENT" else "DUE")
        return {
            "name": str(item.get("SUMMARY", "")),
            "close_date": _day(when.dt).isoformat() if when else None,
            "description": str(item.get("DESCRIPTION", "")),
        }

    return parse


def close_date_between(queryset: Any, start: Any, end: Any) -> Any:
    if start is not None:
        queryset = queryset.filter(close_date__gte=start.date())
    if end is not None:
        queryset = queryset.filter(close_date__lt=end.date())
    return queryset


@pytest.fixture
def deal_calendars() -> Iterator[None]:
    """Stand in for the events and tasks calendars during a test; the real ones (if any) come back after."""
    before = {key: collection_get(CALENDAR, key) for key in ("events", "tasks")}
    collection_register(
        RecordCalendar(
            key="events",
            module="deals",
            component="VEVENT",
            render=render("VEVENT"),
            to_data=to_data("VEVENT"),
            span_filter=close_date_between,
        )
    )
    collection_register(
        RecordCalendar(key="tasks", module="deals", component="VTODO", render=render("VTODO"), to_data=to_data("VTODO"))
    )
    yield
    for key, backend in before.items():
        if backend is None:
            collection_unregister(kind=CALENDAR, key=key)
        else:
            collection_register(backend)
