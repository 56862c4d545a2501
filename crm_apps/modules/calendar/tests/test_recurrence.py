"""RRULE expansion against the reference (an iCalendar VEVENT parsed by `icalendar`, expanded by
dateutil's own rrulestr), across DST changes and time zones. No database."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import icalendar
import pytest
from dateutil import rrule as du_rrule
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_apps.modules.calendar.recurrence import (
    normalize_rrule,
    occurrence_starts,
    rrule_end_before,
    validate_rrule,
)

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", "America/Santiago"]
RULES = [
    "FREQ=DAILY;COUNT=40",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=30",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYDAY=2TU;COUNT=12",
    "FREQ=YEARLY;BYMONTH=3;BYDAY=SU;BYSETPOS=-1",
    "FREQ=DAILY;UNTIL=20270601T000000Z",
]


def reference(
    zone: str, local_start: dt.datetime, rule: str, window: tuple[dt.datetime, dt.datetime]
) -> list[dt.datetime]:
    """Parse a VEVENT with icalendar, expand it with dateutil from its DTSTART (with TZID)."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:x\r\n"
        f"DTSTART;TZID={zone}:{local_start:%Y%m%dT%H%M%S}\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    vevent = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    dtstart = vevent.decoded("dtstart")
    raw = vevent["rrule"].to_ical()
    rrule_text = raw.decode() if isinstance(raw, bytes) else raw
    starts = du_rrule.rrulestr(rrule_text, dtstart=dtstart)
    return [s.astimezone(dt.UTC) for s in starts.between(window[0], window[1], inc=True) if s < window[1]]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    rule=st.sampled_from(RULES),
    day=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31)),
    hour=st.integers(min_value=0, max_value=23),
    offset_days=st.integers(min_value=0, max_value=300),
    span_days=st.integers(min_value=1, max_value=120),
)
def test_expansion_matches_the_reference(zone, rule, day, hour, offset_days, span_days):
    tz = zoneinfo.ZoneInfo(zone)
    local_start = dt.datetime.combine(day, dt.time(hour, 30))
    start = local_start.replace(tzinfo=tz)
    window_start = start.astimezone(dt.UTC) + dt.timedelta(days=offset_days)
    window = (window_start, window_start + dt.timedelta(days=span_days))

    ours = occurrence_starts(
        start=start,
        end=start,
        time_zone=zone,
        rrule=rule,
        window_start=window[0],
        window_end=window[1],
    )

    assert ours == reference(zone, local_start, rule, window)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney"])
def test_a_weekly_meeting_keeps_its_wall_clock_time_across_dst(zone):
    tz = zoneinfo.ZoneInfo(zone)
    start = dt.datetime(2027, 1, 4, 9, 0, tzinfo=tz)

    found = occurrence_starts(
        start=start,
        end=start + dt.timedelta(hours=1),
        time_zone=zone,
        rrule="FREQ=WEEKLY;BYDAY=MO",
        window_start=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        window_end=dt.datetime(2028, 1, 1, tzinfo=dt.UTC),
    )

    assert len(found) == 52
    assert {o.astimezone(tz).time() for o in found} == {dt.time(9, 0)}
    assert len({o.utcoffset() for o in found}) == 1  # all UTC...
    assert len({o.astimezone(tz).utcoffset() for o in found}) == 2  # ...but two local offsets: DST changed


def test_exdates_and_overlap_at_the_window_edge():
    start = dt.datetime(2027, 3, 1, 23, 0, tzinfo=dt.UTC)
    found = occurrence_starts(
        start=start,
        end=start + dt.timedelta(hours=2),
        time_zone="UTC",
        rrule="FREQ=DAILY;COUNT=5",
        exdates=[dt.datetime(2027, 3, 3, 23, 0, tzinfo=dt.UTC)],
        window_start=dt.datetime(2027, 3, 3, 0, 30, tzinfo=dt.UTC),  # inside the 2 March occurrence
        window_end=dt.datetime(2027, 3, 5, 0, 0, tzinfo=dt.UTC),
    )

    assert found == [dt.datetime(2027, 3, 2, 23, 0, tzinfo=dt.UTC), dt.datetime(2027, 3, 4, 23, 0, tzinfo=dt.UTC)]


def test_date_until_includes_its_whole_day_in_the_event_zone():
    start = dt.datetime(2027, 3, 1, 22, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    found = occurrence_starts(
        start=start,
        end=start,
        time_zone="America/New_York",
        rrule="FREQ=DAILY;UNTIL=20270303",
        window_start=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        window_end=dt.datetime(2028, 1, 1, tzinfo=dt.UTC),
    )

    assert [o.astimezone(start.tzinfo).date() for o in found] == [dt.date(2027, 3, d) for d in (1, 2, 3)]


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY",
        "FREQ=DAILY;COUNT=2;UNTIL=20270101",
        "FREQ=WEEKLY;BYDAY=XX",
        "BYDAY=MO",
        "FREQ=DAILY;FOO=1",
        "junk",
    ],
)
def test_invalid_rules_are_refused(rule):
    with pytest.raises(ValidationError):
        validate_rrule(rule)


def test_normalize_and_cut():
    assert normalize_rrule("rrule:byday=mo,we;freq=weekly") == "FREQ=WEEKLY;BYDAY=MO,WE"
    cut = rrule_end_before("FREQ=DAILY;COUNT=10", dt.datetime(2027, 3, 6, 9, 0, tzinfo=dt.UTC))
    assert cut == "FREQ=DAILY;UNTIL=20270306T085959Z"


@pytest.mark.parametrize(
    "rule", ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=WEEKLY;INTERVAL=3;BYDAY=SU", "FREQ=DAILY;INTERVAL=5"]
)
@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_an_old_series_expands_from_near_the_window_with_the_same_occurrences(rule, zone, monkeypatch):
    from crm_apps.modules.calendar import recurrence

    tz = zoneinfo.ZoneInfo(zone)
    start = dt.datetime(1901, 3, 4, 9, 30, tzinfo=tz)
    window_start = dt.datetime(2027, 3, 20, tzinfo=dt.UTC)
    window_end = window_start + dt.timedelta(days=21)
    naive = [
        s.astimezone(dt.UTC)
        for s in du_rrule.rrulestr(rule, dtstart=start).between(window_start, window_end, inc=True)
        if s < window_end
    ]
    anchors: list[dt.datetime] = []
    real_build = recurrence.build_rule

    def build(text, *, start, time_zone):
        anchors.append(start)
        return real_build(text, start=start, time_zone=time_zone)

    monkeypatch.setattr(recurrence, "build_rule", build)

    found = occurrence_starts(
        start=start,
        end=start + dt.timedelta(minutes=30),
        time_zone=zone,
        rrule=rule,
        window_start=window_start,
        window_end=window_end,
    )

    assert found == naive
    assert naive
    assert window_start - dt.timedelta(days=50) <= anchors[0] <= window_start


def test_an_event_starting_outside_1900_to_2200_is_refused(client_for, tenant_a, admin_of):
    from django_tenants.utils import tenant_context

    from crm_apps.modules.calendar.models import Event

    api = client_for(tenant_a, admin_of(tenant_a))
    answers = [
        api.post(
            "/api/v1/events/",
            {"subject": "Ancient", "start": start, "end": "2027-01-01T10:00:00Z", "rrule": "FREQ=DAILY"},
            content_type="application/json",
        )
        for start in ("0001-01-01T09:00:00Z", "1899-12-31T09:00:00Z")
    ]

    assert [a.status_code for a in answers] == [400, 400]
    assert all("start" in str(a.json()) for a in answers)
    with tenant_context(tenant_a):
        assert not Event.objects.exists()
