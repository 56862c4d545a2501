"""The IANA time zone names, read once per process.

`zoneinfo.available_timezones()` walks the tz database on disk (some 600 files) on every call; the set
does not change while a process runs (a tzdata upgrade needs a restart anyway), so validators and
time zone pickers use these cached copies.
"""

from __future__ import annotations

import functools
import zoneinfo


@functools.cache
def time_zone_names() -> frozenset[str]:
    """Every valid IANA time zone name (for membership tests)."""
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def time_zones_sorted() -> tuple[str, ...]:
    """The same names in alphabetical order (for pickers)."""
    return tuple(sorted(time_zone_names()))
