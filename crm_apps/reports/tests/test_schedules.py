"""Scheduled reports: due moments in the workspace's time zone (daily, weekly on days, monthly on a day), each tick
sent exactly once however often (or after however many restarts) the scheduler runs, with the owner's rights,
and logged; bad schedules are field errors; another tenant cannot see or schedule a report."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, role_create, sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.reports.models import Report, ReportSchedule, ScheduleRun
from crm_apps.reports.schedules import latest_tick, schedules_run
from crm_apps.reports.tests.test_api import api_for, post

pytestmark = pytest.mark.django_db
UTC = dt.UTC
SUMMARY = {
    "module": "deals",
    "type": "summary",
    "group_by": ["stage"],
    "aggregates": [{"field": "amount", "op": "sum"}],
}


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


def make(**kw):
    return ReportSchedule(at=dt.time(8, 0), **kw)


def test_latest_tick_daily_weekly_monthly_in_a_zone():
    import zoneinfo

    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    now = dt.datetime(2027, 3, 1, 6, 30, tzinfo=UTC)  # Monday 07:30 in Berlin
    assert latest_tick(make(frequency="daily"), now, berlin) == dt.datetime(2027, 2, 28, 7, 0, tzinfo=UTC)
    assert latest_tick(make(frequency="weekly", weekdays=[0, 4]), now, berlin) == dt.datetime(
        2027, 2, 26, 7, 0, tzinfo=UTC
    )
    later = dt.datetime(2027, 3, 1, 7, 1, tzinfo=UTC)
    assert latest_tick(make(frequency="weekly", weekdays=[0]), later, berlin) == dt.datetime(
        2027, 3, 1, 7, 0, tzinfo=UTC
    )
    # Monthly on the 31st: the last day of a shorter month.
    assert latest_tick(make(frequency="monthly", day_of_month=31), now, berlin) == dt.datetime(
        2027, 2, 28, 7, 0, tzinfo=UTC
    )


def test_a_tick_fires_once_across_repeated_runs_and_restarts(tenant_a, admin, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with tenant_context(tenant_a):
        record_create(
            spec=registry.get("deals"), actor=admin, data={"name": "S", "close_date": "2027-01-01", "amount": "5"}
        )
        report = Report.objects.create(name="Weekly pipeline", owner=admin, module="deals", definition=SUMMARY)
        schedule = ReportSchedule.objects.create(
            report=report,
            frequency="daily",
            at=dt.time(8, 0),
            format="csv",
            addresses=["boss@example.com"],
            created_at=dt.datetime(2027, 1, 1, tzinfo=UTC),
        )
        first = dt.datetime(2027, 1, 5, 8, 1, tzinfo=UTC)
        assert schedules_run(first) == 1
        assert schedules_run(first + dt.timedelta(minutes=1)) == 0  # the next minute: same tick
        assert schedules_run(first + dt.timedelta(hours=3)) == 0  # a restarted scheduler: same tick
        assert schedules_run(first + dt.timedelta(days=1)) == 1  # the next day's tick
        runs = list(ScheduleRun.objects.filter(schedule=schedule).order_by("tick"))
    assert [r.status for r in runs] == ["sent", "sent"]
    assert len(mail.outbox) == 2
    assert mail.outbox[0].to == ["boss@example.com"]
    name, content, _mime = mail.outbox[0].attachments[0]
    assert name.endswith(".csv") and "5.00" in (content if isinstance(content, str) else content.decode("utf-8-sig"))


def test_the_report_runs_with_the_owners_rights(tenant_a, admin, member, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private")
        profile = profile_save(actor=admin, profile=None, name="Sched reps", flags={})
        role = role_create(
            actor=admin, name="Sched rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    rep = member(tenant_a, role=role)
    with tenant_context(tenant_a):
        deals = registry.get("deals")
        record_create(
            spec=deals,
            actor=admin,
            data={"name": "Hidden", "close_date": "2027-01-01", "amount": "9999", "owner": admin.pk},
        )
        record_create(
            spec=deals, actor=admin, data={"name": "Own", "close_date": "2027-01-01", "amount": "12", "owner": rep.pk}
        )
        report = Report.objects.create(name="Rep's", owner=rep, module="deals", definition=SUMMARY)
        ReportSchedule.objects.create(
            report=report,
            frequency="daily",
            at=dt.time(0, 0),
            format="csv",
            addresses=["x@example.com"],
            created_at=dt.datetime(2027, 1, 1, tzinfo=UTC),
        )
        schedules_run(dt.datetime(2027, 1, 2, 1, 0, tzinfo=UTC))
    content = mail.outbox[0].attachments[0][1]
    text = content if isinstance(content, str) else content.decode("utf-8-sig")
    assert "12.00" in text and "9999" not in text


def test_schedule_api_validates_and_other_tenants_are_refused(tenant_a, tenant_b, admin, admin_of):
    api = api_for(tenant_a, admin)
    report_id = post(api, "/api/v1/reports/", {"name": "Sched", "definition": SUMMARY}).json()["id"]
    bad = post(
        api,
        f"/api/v1/reports/{report_id}/schedules",
        {"frequency": "hourly", "at": "25:00", "format": "doc", "addresses": ["nope"]},
    )
    assert bad.status_code == 400
    assert {"frequency", "at", "format", "addresses"} <= set(json.dumps(bad.json()).replace('"', " ").split())
    ok = post(
        api,
        f"/api/v1/reports/{report_id}/schedules",
        {"frequency": "weekly", "weekdays": [0], "at": "08:00", "format": "pdf", "members": [admin.pk]},
    )
    assert ok.status_code == 201, ok.json()
    listed = api.get(f"/api/v1/reports/{report_id}/schedules").json()["results"]
    assert listed[0]["weekdays"] == [0] and listed[0]["runs"] == []
    beta = api_for(tenant_b, admin_of(tenant_b))
    assert beta.get(f"/api/v1/reports/{report_id}/schedules").status_code == 404
    assert post(beta, f"/api/v1/reports/{report_id}/schedules", {"addresses": ["a@example.com"]}).status_code == 404


def test_a_link_schedule_mails_members_who_may_open_the_report_and_no_data(tenant_a, admin, member, settings):
    """Delivery "link": the mail holds the report page's address only (no figure); each recipient signs in and
    sees it with their own rights. Plain addresses are refused (they cannot sign in); a member the report is not
    shared with is refused when scheduling and skipped when a role brings them in."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reader, outsider = member(tenant_a), member(tenant_a)
    api = api_for(tenant_a, admin)
    report_id = post(api, "/api/v1/reports/", {"name": "Linked", "definition": SUMMARY}).json()["id"]
    url = f"/api/v1/reports/{report_id}/schedules"
    body = {"frequency": "daily", "at": "08:00", "delivery": "link"}
    assert post(api, url, {**body, "addresses": ["boss@example.com"]}).status_code == 400
    assert post(api, url, {**body, "delivery": "fax", "members": [admin.pk]}).status_code == 400
    refused = post(api, url, {**body, "members": [outsider.pk]})
    assert refused.status_code == 400 and "members" in refused.json()
    patched = api.patch(
        f"/api/v1/reports/{report_id}",
        json.dumps({"sharing": "shared", "shared_members": [reader.pk]}),
        content_type="application/json",
    )
    assert patched.status_code == 200, patched.json()
    created = post(api, url, {**body, "members": [reader.pk, admin.pk]})
    assert created.status_code == 201, created.json()
    assert created.json()["delivery"] == "link"
    with tenant_context(tenant_a):
        record_create(
            spec=registry.get("deals"), actor=admin, data={"name": "L", "close_date": "2027-01-01", "amount": "777"}
        )
        schedule = ReportSchedule.objects.get(pk=created.json()["id"])
        schedule.created_at = dt.datetime(2027, 1, 1, tzinfo=UTC)
        schedule.save()
        schedule.roles.set([outsider.role])  # the outsider's role: not shared with them, so skipped
        assert schedules_run(dt.datetime(2027, 1, 2, 9, 0, tzinfo=UTC)) == 1
        run = ScheduleRun.objects.get(schedule=schedule)
    assert run.status == "sent"
    sent = mail.outbox[-1]
    assert sorted(sent.to) == sorted([reader.user.email, admin.user.email])
    assert outsider.user.email not in sent.to
    assert not sent.attachments and "777" not in sent.body
    assert f"/reports/{report_id}/" in sent.body
    link = sent.body.split("http", 1)[1].split()[0]
    path = "/" + link.split("/", 3)[3]
    assert path == f"/reports/{report_id}/"


def test_schedules_keep_the_workspaces_time_zone_whatever_the_owners(tenant_a, admin, settings, client_for):
    """The issue's "at a time in the tenant's time zone": 08:00 in Tokyo for a workspace set to Tokyo, even
    when the report's owner lives in New York; the schedule form says which zone its time is in."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    before = tenant_a.timezone
    tenant_a.timezone = "Asia/Tokyo"
    try:
        with tenant_context(tenant_a):
            type(admin).objects.filter(pk=admin.pk).update(timezone="America/New_York")
            report = Report.objects.create(name="Tokyo morning", owner=admin, module="deals", definition=SUMMARY)
            schedule = ReportSchedule.objects.create(
                report=report,
                frequency="daily",
                at=dt.time(8, 0),
                format="csv",
                addresses=["tokyo@example.com"],
                created_at=dt.datetime(2027, 1, 1, tzinfo=UTC),
            )
            assert schedules_run(dt.datetime(2027, 1, 5, 22, 59, tzinfo=UTC)) == 1  # the 5th's 08:00 JST
            assert schedules_run(dt.datetime(2027, 1, 5, 23, 1, tzinfo=UTC)) == 1  # 08:01 on the 6th in Tokyo
            ticks = list(ScheduleRun.objects.filter(schedule=schedule).order_by("tick").values_list("tick", flat=True))
        assert ticks == [dt.datetime(2027, 1, 4, 23, 0, tzinfo=UTC), dt.datetime(2027, 1, 5, 23, 0, tzinfo=UTC)]
    finally:
        tenant_a.timezone = before


@pytest.mark.parametrize(
    ("first_zone", "sent_at", "second_zone", "later"),
    [
        # 08:00 Berlin (07:00 UTC) sent; the zone becomes New York: its 08:00 (13:00 UTC) is the same day there.
        ("Europe/Berlin", dt.datetime(2027, 1, 5, 7, 30, tzinfo=UTC), "America/New_York", 13),
        # 08:00 New York (13:00 UTC) sent; the zone becomes Berlin: its 08:00 that day (07:00 UTC) is earlier.
        ("America/New_York", dt.datetime(2027, 1, 5, 13, 30, tzinfo=UTC), "Europe/Berlin", 14),
    ],
)
def test_a_change_of_zone_never_sends_a_report_twice_the_same_day(
    tenant_a, admin, settings, first_zone, sent_at, second_zone, later
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    before = tenant_a.timezone
    try:
        tenant_a.timezone = first_zone
        with tenant_context(tenant_a):
            report = Report.objects.create(name="Daily", owner=admin, module="deals", definition=SUMMARY)
            schedule = ReportSchedule.objects.create(
                report=report,
                frequency="daily",
                at=dt.time(8, 0),
                format="csv",
                addresses=["daily@example.com"],
                created_at=dt.datetime(2027, 1, 1, tzinfo=UTC),
            )
            assert schedules_run(sent_at) == 1
        tenant_a.timezone = second_zone  # an admin changes the workspace's zone
        with tenant_context(tenant_a):
            assert schedules_run(dt.datetime(2027, 1, 5, later, 30, tzinfo=UTC)) == 0
            assert schedules_run(dt.datetime(2027, 1, 5, 23, 59, tzinfo=UTC)) == 0
            # The next day's tick in the new zone is sent.
            assert schedules_run(dt.datetime(2027, 1, 6, 14, 0, tzinfo=UTC)) == 1
            assert ScheduleRun.objects.filter(schedule=schedule).count() == 2
        assert len(mail.outbox) == 2
    finally:
        tenant_a.timezone = before
