"""When a `schedule` trigger fires: its kinds, their validation and the latest tick at or before a moment.

Kinds (one per trigger; the first two keep their original keys):

    {"every_minutes": 60}                              every N minutes (5..10080), aligned on UTC
    {"daily_at": "09:00"}                              every day at a local time
    {"weekly": {"days": ["mon", "thu"], "at": "09:00"}}
    {"monthly": {"day": 1 | ... | 31 | "last", "at": "08:30"}}
    {"cron": "30 8 * * 1-5"}                           5 fields: minute hour day-of-month month day-of-week

Every kind but every_minutes is local time in the workspace's time zone (`tenants.selectors.workspace_zone`;
a trigger's own "timezone" overrides it). Daylight saving time: a local time that happens twice (autumn)
fires once, at its first occurrence; a local time that does not happen (spring) fires when it would have,
by the clock before the change (02:30 becomes 03:30). A monthly day 29-31 is skipped in shorter months
("last" is the last day of every month). Each kind is turned into a cron expression, expanded by croniter
over wall-clock times; the time zone is applied here, so croniter's own DST handling is never relied on.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from typing import Any

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter
from django.utils.translation import gettext_lazy as _

from saas.timezones import time_zone_names

KINDS = ("every_minutes", "daily_at", "weekly", "monthly", "cron")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron's numbering: 0 = Sunday
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
MIN_GAP_MINUTES = 5


def _time_ok(value: Any) -> bool:
    return isinstance(value, str) and bool(_TIME.fullmatch(value))


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _cron_errors(source: Any) -> str | None:
    if not isinstance(source, str) or len(source.split()) != 5 or len(source) > 200:
        return str(_("Five fields: minute hour day-of-month month day-of-week (such as 30 8 * * 1-5)."))
    try:
        parsed = croniter(source, dt.datetime(2026, 1, 1))
        parsed.get_next(dt.datetime)
    except CroniterBadDateError:  # a ValueError too: caught first
        return str(_("This expression never fires."))
    except (CroniterBadCronError, CroniterNotAlphaError, ValueError, KeyError, TypeError):
        return str(_("Not a cron expression: five fields such as 30 8 * * 1-5."))
    if parsed.expanded[0] == ["*"]:
        return str(_("At most once every %(n)d minutes.") % {"n": MIN_GAP_MINUTES})
    minutes = sorted(int(m) for m in parsed.expanded[0])
    hours = parsed.expanded[1]
    gaps = [b - a for a, b in itertools.pairwise(minutes)]
    if len(hours) == 24 or hours == ["*"]:
        gaps.append(minutes[0] + 60 - minutes[-1])
    if any(gap < MIN_GAP_MINUTES for gap in gaps):
        return str(_("At most once every %(n)d minutes.") % {"n": MIN_GAP_MINUTES})
    return None


def schedule_errors(trigger: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(path under "trigger.", message) for each wrong setting of a schedule trigger."""
    every = trigger.get("every_minutes")
    if every is not None and (not _whole(every) or not MIN_GAP_MINUTES <= every <= 10080):
        yield "every_minutes", _("Between 5 and 10080 minutes.")
    if trigger.get("daily_at") is not None and not _time_ok(trigger["daily_at"]):
        yield "daily_at", _("A time as HH:MM.")
    weekly = trigger.get("weekly")
    if weekly is not None:
        if not isinstance(weekly, dict):
            yield "weekly", _('Weekly is {"days": ["mon", ...], "at": "HH:MM"}.')
        else:
            days = weekly.get("days")
            if not isinstance(days, list) or not days or not all(d in DAYS for d in days) or len(set(days)) < len(days):
                yield "weekly.days", _("Choose one or more days: mon, tue, wed, thu, fri, sat, sun.")
            if not _time_ok(weekly.get("at")):
                yield "weekly.at", _("A time as HH:MM.")
    monthly = trigger.get("monthly")
    if monthly is not None:
        if not isinstance(monthly, dict):
            yield "monthly", _('Monthly is {"day": 1-31 or "last", "at": "HH:MM"}.')
        else:
            day = monthly.get("day")
            if not (day == "last" or (isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 31)):
                yield "monthly.day", _('A day of the month from 1 to 31, or "last".')
            if not _time_ok(monthly.get("at")):
                yield "monthly.at", _("A time as HH:MM.")
    if trigger.get("cron") is not None:
        message = _cron_errors(trigger["cron"])
        if message:
            yield "cron", message
    if "timezone" in trigger and (
        not isinstance(trigger["timezone"], str) or trigger["timezone"] not in time_zone_names()
    ):
        yield "timezone", _("Unknown time zone.")


def cron_of(trigger: dict[str, Any]) -> str | None:
    """The cron expression of a wall-clock kind; None for every_minutes (or nothing valid)."""
    if trigger.get("cron"):
        return str(trigger["cron"])
    for key in ("weekly", "monthly"):
        if isinstance(trigger.get(key), dict):
            hour, minute = (int(p) for p in trigger[key]["at"].split(":"))
            if key == "weekly":
                days = ",".join(str(DAYS.index(d)) for d in trigger[key]["days"])
                return f"{minute} {hour} * * {days}"
            day = trigger[key]["day"]
            return f"{minute} {hour} {'L' if day == 'last' else int(day)} * *"
    if trigger.get("daily_at"):
        hour, minute = (int(p) for p in trigger["daily_at"].split(":"))
        return f"{minute} {hour} * * *"
    return None


def latest_tick(*, trigger: dict[str, Any], zone: dt.tzinfo, now: dt.datetime) -> dt.datetime | None:
    """The latest moment (UTC) at or before `now` at which the schedule fires."""
    every = trigger.get("every_minutes")
    if every:
        step = int(every) * 60
        return dt.datetime.fromtimestamp(int(now.timestamp()) // step * step, tz=dt.UTC)
    expression = cron_of(trigger)
    if expression is None:
        return None
    # Walk back over local wall-clock times (naive: croniter never sees a time zone), from a few hours
    # ahead of the wall clock, since around a change of clocks wall-clock order and time order differ.
    # fold=0 gives a repeated time its first instant, and a skipped one the instant the old offset names.
    wall = now.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    best: dt.datetime | None = None
    try:
        candidates = croniter(expression, wall + _SLACK)
        for _attempt in range(2000):
            candidate = candidates.get_prev(dt.datetime)
            moment = candidate.replace(tzinfo=zone, fold=0)
            if moment <= now and (best is None or moment > best):
                best = moment
            if best is not None and candidate < wall - _SLACK:
                break
    except (CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, ValueError):
        return None
    return best.astimezone(dt.UTC) if best is not None else None


_SLACK = dt.timedelta(hours=3)  # more than any change of clocks
