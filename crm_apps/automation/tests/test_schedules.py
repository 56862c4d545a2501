"""Schedule triggers: every N minutes, daily, weekly, monthly (a day or the last day) and 5-field cron, on the
workspace's clock across changes of daylight saving time; field errors in the API; once per tick across
schedulers; two workspaces in different zones fire at their own local times; the workspace time zone
setting (tenant admins only, validated, audited)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.automation import scheduling, services
from crm_apps.automation.models import ScheduleTick, Workflow, WorkflowRun, WorkflowVersion
from crm_apps.automation.schedules import latest_tick
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from tenants.models import Tenant

RIGA = zoneinfo.ZoneInfo("Europe/Riga")  # EET/EEST: clocks 03:00 -> 04:00 on 2026-03-29, 04:00 -> 03:00 on 2026-10-25
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC
COMMENT = [{"id": "c", "type": "add_comment", "body": "scheduled"}]


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def _tick(trigger: dict[str, Any], now: dt.datetime, zone: dt.tzinfo = RIGA) -> dt.datetime | None:
    return latest_tick(trigger=trigger, zone=zone, now=now)


# --- tick computation (no database) --------------------------------------------------------------------


def test_daily_keeps_local_time_across_both_changes_of_clocks():
    daily = {"daily_at": "09:00"}
    # Winter (UTC+2) then summer (UTC+3): 09:00 in Riga is 07:00 UTC, then 06:00 UTC.
    assert _tick(daily, _utc(2026, 3, 28, 12)) == _utc(2026, 3, 28, 7)
    assert _tick(daily, _utc(2026, 3, 29, 12)) == _utc(2026, 3, 29, 6)
    assert _tick(daily, _utc(2026, 10, 24, 12)) == _utc(2026, 10, 24, 6)
    assert _tick(daily, _utc(2026, 10, 25, 12)) == _utc(2026, 10, 25, 7)
    # Just before 09:00 local the latest tick is yesterday's.
    assert _tick(daily, _utc(2026, 3, 29, 5, 59)) == _utc(2026, 3, 28, 7)


def test_a_time_the_spring_change_skips_fires_by_the_old_clock_and_a_repeated_time_fires_once():
    at_0330 = {"daily_at": "03:30"}  # 03:30 does not exist in Riga on 2026-03-29 and happens twice on 2026-10-25
    assert _tick(at_0330, _utc(2026, 3, 29, 1, 29)) == _utc(2026, 3, 28, 1, 30)
    assert _tick(at_0330, _utc(2026, 3, 29, 1, 30)) == _utc(2026, 3, 29, 1, 30)  # 03:30 EET = 04:30 EEST
    first = _utc(2026, 10, 25, 0, 30)  # 03:30 EEST, the first 03:30
    assert _tick(at_0330, _utc(2026, 10, 25, 0, 30)) == first
    # During the second 03:00-04:00 and after it, the latest tick is still the first 03:30: no second firing.
    for now in (_utc(2026, 10, 25, 1, 10), _utc(2026, 10, 25, 1, 30), _utc(2026, 10, 25, 1, 45), _utc(2026, 10, 25, 9)):
        assert _tick(at_0330, now) == first


def test_weekly_days_and_time():
    weekly = {"weekly": {"days": ["tue", "fri"], "at": "18:15"}}
    # Saturday 2026-12-05: the latest is Friday 18:15 Riga (16:15 UTC).
    assert _tick(weekly, _utc(2026, 12, 5, 10)) == _utc(2026, 12, 4, 16, 15)
    # Tuesday 2026-12-08 before and after 18:15 local.
    assert _tick(weekly, _utc(2026, 12, 8, 16, 14)) == _utc(2026, 12, 4, 16, 15)
    assert _tick(weekly, _utc(2026, 12, 8, 16, 15)) == _utc(2026, 12, 8, 16, 15)
    # Across the spring change the local time holds: Tuesday 2026-03-31 18:15 EEST is 15:15 UTC.
    assert _tick(weekly, _utc(2026, 3, 31, 20)) == _utc(2026, 3, 31, 15, 15)


def test_monthly_on_a_day_and_on_the_last_day():
    first = {"monthly": {"day": 1, "at": "08:00"}}
    assert _tick(first, _utc(2026, 12, 5)) == _utc(2026, 12, 1, 6)
    last = {"monthly": {"day": "last", "at": "23:30"}}
    assert _tick(last, _utc(2026, 3, 1, 12)) == _utc(2026, 2, 28, 21, 30)  # February 2026 has 28 days
    assert _tick(last, _utc(2028, 3, 1, 12)) == _utc(2028, 2, 29, 21, 30)  # 2028 is a leap year
    assert _tick(last, _utc(2026, 5, 1, 12)) == _utc(2026, 4, 30, 20, 30)  # EEST
    day_31 = {"monthly": {"day": 31, "at": "08:00"}}
    assert _tick(day_31, _utc(2026, 5, 15)) == _utc(2026, 3, 31, 5)  # April has no 31st: skipped


def test_cron_in_the_workspace_zone():
    weekdays = {"cron": "30 8 * * 1-5"}
    assert _tick(weekdays, _utc(2026, 12, 5, 12)) == _utc(2026, 12, 4, 6, 30)  # Saturday -> Friday 08:30 EET
    assert _tick(weekdays, _utc(2026, 12, 5, 12), zone=NEW_YORK) == _utc(2026, 12, 4, 13, 30)
    every_quarter = {"cron": "*/15 * * * *"}
    assert _tick(every_quarter, _utc(2026, 12, 5, 12, 44)) == _utc(2026, 12, 5, 12, 30)
    minutes = {"every_minutes": 60}  # aligned on UTC whatever the zone
    assert _tick(minutes, _utc(2026, 3, 29, 1, 59), zone=RIGA) == _utc(2026, 3, 29, 1)


# --- API validation ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("trigger", "path"),
    [
        ({"weekly": {"days": [], "at": "09:00"}}, "definition.trigger.weekly.days"),
        ({"weekly": {"days": ["monday"], "at": "09:00"}}, "definition.trigger.weekly.days"),
        ({"weekly": {"days": ["mon"], "at": "9am"}}, "definition.trigger.weekly.at"),
        ({"weekly": "mon"}, "definition.trigger.weekly"),
        ({"monthly": {"day": 32, "at": "09:00"}}, "definition.trigger.monthly.day"),
        ({"monthly": {"day": "first", "at": "09:00"}}, "definition.trigger.monthly.day"),
        ({"monthly": {"day": 1, "at": "24:00"}}, "definition.trigger.monthly.at"),
        ({"cron": "61 * * * *"}, "definition.trigger.cron"),
        ({"cron": "0 9 * * * *"}, "definition.trigger.cron"),
        ({"cron": "* * * * *"}, "definition.trigger.cron"),
        ({"cron": "0 0 31 2 *"}, "definition.trigger.cron"),
        ({"cron": 5}, "definition.trigger.cron"),
        ({"cron": "0 9 * * 1", "daily_at": "09:00"}, "definition.trigger.cron"),
        ({"daily_at": "09:00", "timezone": "Mars/Olympus"}, "definition.trigger.timezone"),
        ({}, "definition.trigger.every_minutes"),
    ],
)
def test_bad_schedules_are_400s_with_the_field_named_and_nothing_saved(client_for, tenant_a, admin_of, trigger, path):
    api = client_for(tenant_a, admin_of(tenant_a))
    response = api.post(
        "/api/v1/workflows/",
        {
            "name": "S",
            "module": "deals",
            "definition": {"trigger": {"type": "schedule", **trigger}, "actions": COMMENT},
        },
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert path in response.json(), response.json()
    with tenant_context(tenant_a):
        assert not Workflow.objects.filter(name="S").exists()


@pytest.mark.django_db
def test_each_kind_round_trips_through_the_api(client_for, tenant_a, admin_of):
    api = client_for(tenant_a, admin_of(tenant_a))
    for trigger in (
        {"every_minutes": 30},
        {"daily_at": "07:45"},
        {"weekly": {"days": ["mon", "sun"], "at": "09:00"}},
        {"monthly": {"day": "last", "at": "17:00"}, "filter": "amount > 10"},
        {"cron": "0 9 1-7 * 1"},
    ):
        definition = {"trigger": {"type": "schedule", **trigger}, "actions": COMMENT}
        created = api.post(
            "/api/v1/workflows/",
            {"name": "K", "module": "deals", "definition": definition},
            content_type="application/json",
        )
        assert created.status_code == 201, created.content
        assert api.get(f"/api/v1/workflows/{created.json()['id']}/").json()["definition"] == definition


# --- firing ----------------------------------------------------------------------------------------------


def _deal(actor: Any) -> Any:
    return record_create(
        spec=registry.get("deals"),
        actor=actor,
        data={"name": "Deal", "amount": "100", "close_date": timezone.localdate().isoformat()},
    )


@pytest.mark.django_db
def test_a_cron_schedule_fires_once_per_tick_across_two_schedulers_and_a_dst_change(
    tenant_a, admin_of, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tenant_a, "timezone", "Europe/Riga")
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        with django_capture_on_commit_callbacks(execute=True):
            _deal(admin)
        workflow = services.workflow_create(
            actor=admin,
            name="Nightly",
            module="deals",
            definition={"trigger": {"type": "schedule", "cron": "30 3 * * *"}, "actions": COMMENT},
        )
        # Published the day before (a schedule never fires for a moment before its version existed).
        WorkflowVersion.objects.filter(workflow=workflow).update(created_at=_utc(2030, 10, 26, 12))
        # Around the autumn change 03:30 happens twice; two schedulers call every minute through it.
        minutes = [_utc(2030, 10, 27, 0, 0) + dt.timedelta(minutes=m) for m in range(0, 120)]
        fired: list[int] = []
        with django_capture_on_commit_callbacks(execute=True):
            for now in minutes:
                fired += scheduling.schedules_fire(now)  # scheduler 1
                fired += scheduling.schedules_fire(now + dt.timedelta(seconds=20))  # scheduler 2
        assert fired == [workflow.pk]
        assert list(ScheduleTick.objects.filter(workflow=workflow).values_list("tick", flat=True)) == [
            _utc(2030, 10, 27, 0, 30)
        ]
        assert WorkflowRun.objects.filter(workflow=workflow, trigger="schedule").count() == 1


@pytest.mark.django_db
def test_two_workspaces_in_different_zones_fire_at_their_own_local_times(
    tenant_a, tenant_b, admin_of, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tenant_a, "timezone", "Europe/Riga")
    monkeypatch.setattr(tenant_b, "timezone", "America/New_York")
    workflows = {}
    for tenant in (tenant_a, tenant_b):
        admin = admin_of(tenant)
        with tenant_context(tenant):
            with django_capture_on_commit_callbacks(execute=True):
                _deal(admin)
            workflows[tenant.pk] = workflow = services.workflow_create(
                actor=admin,
                name="Morning",
                module="deals",
                definition={
                    "trigger": {"type": "schedule", "weekly": {"days": ["mon"], "at": "09:00"}},
                    "actions": COMMENT,
                },
            )
            # Published on Monday 2030-01-07 at 00:00 UTC: the Monday before is not fired.
            WorkflowVersion.objects.filter(workflow=workflow).update(created_at=_utc(2030, 1, 7))

    def fire(tenant: Tenant, now: dt.datetime) -> list[int]:
        with tenant_context(tenant), django_capture_on_commit_callbacks(execute=True):
            return scheduling.schedules_fire(now)

    monday_riga_9 = _utc(2030, 1, 7, 7)  # 09:00 EET
    monday_ny_9 = _utc(2030, 1, 7, 14)  # 09:00 EST
    # Before 09:00 local, each has only last week's Monday, which came before the workflow: nothing.
    assert fire(tenant_a, monday_riga_9 - dt.timedelta(minutes=1)) == []
    assert fire(tenant_b, monday_riga_9) == []  # 02:00 in New York
    assert fire(tenant_a, monday_riga_9) == [workflows[tenant_a.pk].pk]
    assert fire(tenant_b, monday_ny_9 - dt.timedelta(minutes=1)) == []
    assert fire(tenant_b, monday_ny_9) == [workflows[tenant_b.pk].pk]
    assert fire(tenant_a, monday_ny_9) == []  # Riga's tick of that Monday is already claimed
    for tenant, expected in ((tenant_a, monday_riga_9), (tenant_b, monday_ny_9)):
        with tenant_context(tenant):
            # Each workspace sees only its own workflow, tick and run.
            assert list(ScheduleTick.objects.values_list("workflow_id", "tick")) == [
                (workflows[tenant.pk].pk, expected)
            ]
            assert list(WorkflowRun.objects.values_list("workflow_id", flat=True)) == [workflows[tenant.pk].pk]


# --- the workspace time zone setting ------------------------------------------------------------------------


@pytest.mark.django_db
def test_tenant_admins_set_the_workspace_time_zone_on_the_company_page(
    client_for, tenant_a, tenant_b, admin_of, member
):
    from crm_apps.audit.models import AuditEvent

    page = client_for(tenant_a, admin_of(tenant_a))
    assert Tenant.objects.get(pk=tenant_a.pk).timezone == "UTC"
    shown = page.get("/settings/finance/company/")
    assert shown.status_code == 200 and b'<option value="UTC" selected>' in shown.content
    bad = page.post("/settings/finance/company/", {"form": "timezone", "timezone": "Mars/Olympus"})
    assert bad.status_code == 400 and "Choose a time zone from the list" in bad.content.decode()
    assert Tenant.objects.get(pk=tenant_a.pk).timezone == "UTC"
    assert page.post("/settings/finance/company/", {"form": "timezone", "timezone": "Europe/Riga"}).status_code == 302
    assert Tenant.objects.get(pk=tenant_a.pk).timezone == "Europe/Riga"
    with tenant_context(tenant_a):
        event = AuditEvent.objects.filter(details__setting="timezone").get()
        assert event.details == {"setting": "timezone", "from": "UTC", "to": "Europe/Riga"}
    # A member without the settings privilege is refused and changes nothing; the other workspace keeps UTC.
    refused = client_for(tenant_a, member(tenant_a)).post(
        "/settings/finance/company/", {"form": "timezone", "timezone": "Asia/Tokyo"}
    )
    assert refused.status_code == 403
    assert Tenant.objects.get(pk=tenant_a.pk).timezone == "Europe/Riga"
    assert Tenant.objects.get(pk=tenant_b.pk).timezone == "UTC"


def test_the_service_refuses_members_who_are_not_administrators(tenant_a, member, db):
    from django.core.exceptions import PermissionDenied

    from crm_apps.access.services import workspace_timezone_set

    someone = member(tenant_a)
    with tenant_context(tenant_a), pytest.raises(PermissionDenied):
        workspace_timezone_set(actor=someone, tenant=tenant_a, name="Asia/Tokyo")
    assert Tenant.objects.get(pk=tenant_a.pk).timezone == "UTC"


def test_a_version_published_within_the_ticks_minute_still_fires_for_it():
    """Published at 09:00:30.123: the 09:00 tick counts (the whole minute is allowed, microseconds too)."""
    version = WorkflowVersion(created_at=dt.datetime(2030, 1, 7, 9, 0, 30, 123000, tzinfo=dt.UTC))
    workflow = Workflow(current=version)
    trigger = {"type": "schedule", "daily_at": "09:00", "timezone": "UTC"}
    now = _utc(2030, 1, 7, 9, 1)
    assert scheduling._schedule_tick(workflow, trigger, now) == _utc(2030, 1, 7, 9, 0)
    version.created_at = dt.datetime(2030, 1, 7, 9, 1, 0, 1, tzinfo=dt.UTC)  # the next minute: 09:00 is past
    assert scheduling._schedule_tick(workflow, trigger, now) is None


@pytest.mark.django_db
def test_the_migration_pins_existing_daily_schedules_to_their_owners_zone(tenant_a, tenant_b, admin_of, member):
    """0007: a daily schedule that ran in its owner's zone keeps running there after the move to the
    workspace zone; schedules with a zone of their own, other kinds, UTC owners and the other workspace
    are left as they are."""
    import importlib

    from crm_apps.access.models import Member

    migration = importlib.import_module("crm_apps.automation.migrations.0007_daily_schedules_keep_owner_zone")
    daily = {"type": "schedule", "daily_at": "09:00"}
    cases = {
        "riga": ("Europe/Riga", daily, "Europe/Riga"),
        "own zone": ("Europe/Riga", {**daily, "timezone": "Asia/Tokyo"}, "Asia/Tokyo"),
        "utc owner": ("UTC", daily, None),
        "bad owner zone": ("Mars/Olympus", daily, None),
        "cron": ("Europe/Riga", {"type": "schedule", "cron": "0 9 * * *"}, None),
        "event": ("Europe/Riga", {"type": "created"}, None),
    }
    with tenant_context(tenant_b):
        other = Workflow.objects.create(name="B", module="deals", owner=admin_of(tenant_b), trigger_type="schedule")
        Member.objects.filter(pk=admin_of(tenant_b).pk).update(timezone="Europe/Riga")
        WorkflowVersion.objects.create(workflow=other, number=1, definition={"trigger": daily, "actions": []})
    with tenant_context(tenant_a):
        versions = {}
        for key, (zone, trigger, _expected) in cases.items():
            owner = member(tenant_a)
            Member.objects.filter(pk=owner.pk).update(timezone=zone)
            workflow = Workflow.objects.create(name=key, module="deals", owner=owner, trigger_type=trigger["type"])
            for number in (1, 2):  # every version, not only the current one
                versions[key, number] = WorkflowVersion.objects.create(
                    workflow=workflow, number=number, definition={"trigger": dict(trigger), "actions": []}
                ).pk
        assert migration.daily_schedules_pin_owner_zone(Workflow, WorkflowVersion) == 2
        for (key, _number), pk in versions.items():
            zone, trigger, expected = cases[key]
            got = WorkflowVersion.objects.get(pk=pk).definition["trigger"]
            assert got == ({**trigger, "timezone": expected} if expected else trigger), key
        assert migration.daily_schedules_pin_owner_zone(Workflow, WorkflowVersion) == 0  # idempotent
    with tenant_context(tenant_b):
        assert "timezone" not in WorkflowVersion.objects.get(workflow=other).definition["trigger"]
