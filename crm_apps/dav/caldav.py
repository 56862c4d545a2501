"""CalDAV collections over engine modules: one calendar per registered backend (events as VEVENT, tasks as
VTODO; RFC 4791). The protocol is in views.py; this file turns records into iCalendar objects and back
through two functions the calendar module provides, so wiring a module is one registration:

    collection_register(RecordCalendar(
        key="events", module="events", component="VEVENT",
        render=ical.event_to_ical,            # (record, uid, hidden) -> "BEGIN:VCALENDAR..." (the UID given,
                                              #   the member's hidden fields left out)
        to_data=ical.event_data_from_ical,    # (calendar, actor=..., record=...) -> field values
        span_filter=lambda qs, start, end: ...,  # optional: the time-range in SQL
        write=None,                           # optional: the module's own create/update service
        remove=None,                          # optional: the module's own delete service (actor, record)
    ))

Reads go through the visibility filter and writes through the engine's services (or `write`), as for
contacts (records.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import icalendar
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.dav.collections import CALENDAR, UnsupportedData
from crm_apps.dav.records import DeleteFunction, RecordCollection, WriteFunction

Render = Callable[[Any, str, set[str]], str]
ToData = Callable[..., dict[str, Any]]
SpanFilter = Callable[[Any, Any, Any], Any]


def calendar_parse(body: str, component: str) -> icalendar.Calendar:
    """A VCALENDAR holding at least one `component`, or UnsupportedData saying why not."""
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except Exception as exc:  # icalendar raises ValueError and others for bad input
        raise UnsupportedData(_("The body is not a valid iCalendar object.")) from exc
    if calendar.name != "VCALENDAR" or not any(c.name == component for c in calendar.walk()):
        raise UnsupportedData(_("This calendar takes %(component)s objects only.") % {"component": component})
    return calendar


def main_component(calendar: icalendar.Calendar, component: str) -> Any:
    """The master VEVENT/VTODO (the one without RECURRENCE-ID)."""
    found = [c for c in calendar.walk() if c.name == component]
    return next((c for c in found if c.get("RECURRENCE-ID") is None), found[0])


class RecordCalendar(RecordCollection):
    kind = CALENDAR
    extension = ".ics"
    content_type = "text/calendar; charset=utf-8"

    def __init__(
        self,
        *,
        key: str,
        module: str,
        component: str,
        render: Render,
        to_data: ToData,
        span_filter: SpanFilter | None = None,
        write: WriteFunction | None = None,
        remove: DeleteFunction | None = None,
        select_related: tuple[str, ...] = (),
        prefetch_related: tuple[str, ...] = (),
        default_uid: Callable[[Any], str] | None = None,
        display_name: Callable[[], str] | None = None,
    ) -> None:
        self.key = key
        self.module = module
        self.components = (component,)
        self._render = render
        self._to_data = to_data
        self._span_filter = span_filter
        self.write = write
        self.remove = remove
        self.select_related = select_related
        self.prefetch_related = prefetch_related
        self._default_uid = default_uid
        self._display_name = display_name

    def default_uid(self, record: Any) -> str:
        return self._default_uid(record) if self._default_uid else super().default_uid(record)

    def display_name(self) -> str:
        return self._display_name() if self._display_name else super().display_name()

    def render(self, record: Any, *, uid: str, hidden: set[str]) -> str:
        body = self._render(record, uid, hidden)
        return body.decode() if isinstance(body, bytes) else body

    def parse(self, body: str) -> Any:
        return calendar_parse(body, self.components[0])

    def uid_of(self, parsed: Any) -> str | None:
        uid = main_component(parsed, self.components[0]).get("UID")
        return None if uid is None else str(uid)

    def to_data(self, parsed: Any, *, actor: Member, hidden: set[str], record: Any) -> dict[str, Any]:
        data = self._to_data(parsed, actor=actor, record=record)
        return {k: v for k, v in data.items() if k not in hidden}

    def span_filter(self, queryset: Any, start: Any, end: Any) -> Any | None:
        return None if self._span_filter is None else self._span_filter(queryset, start, end)
