"""The time zone names are read from disk once per process."""

from __future__ import annotations

import zoneinfo

from saas import timezones


def test_the_names_are_read_once_and_match_zoneinfo(monkeypatch):
    timezones.time_zone_names.cache_clear()
    timezones.time_zones_sorted.cache_clear()
    calls: list[int] = []
    real = zoneinfo.available_timezones

    def counting() -> set[str]:
        calls.append(1)
        return real()

    monkeypatch.setattr(zoneinfo, "available_timezones", counting)
    try:
        for _ in range(3):
            assert "Europe/Riga" in timezones.time_zone_names() and "Mars/Olympus" not in timezones.time_zone_names()
            assert list(timezones.time_zones_sorted()) == sorted(real())
        assert calls == [1]
    finally:
        timezones.time_zone_names.cache_clear()
        timezones.time_zones_sorted.cache_clear()


def test_the_validators_and_the_schedule_check_use_the_cached_names(monkeypatch):
    import pytest
    from django.core.exceptions import ValidationError

    from crm_apps.access.models import validate_timezone
    from crm_apps.automation.schedules import schedule_errors
    from tenants.models import validate_timezone_name

    timezones.time_zone_names()  # warm
    monkeypatch.setattr(zoneinfo, "available_timezones", lambda: pytest.fail("read the tz database again"))
    validate_timezone("Europe/Riga")
    validate_timezone_name("America/New_York")
    with pytest.raises(ValidationError):
        validate_timezone_name("Mars/Olympus")
    assert [path for path, _m in schedule_errors({"daily_at": "09:00", "timezone": "Mars/Olympus"})] == ["timezone"]
    assert list(schedule_errors({"daily_at": "09:00", "timezone": "Asia/Tokyo"})) == []
