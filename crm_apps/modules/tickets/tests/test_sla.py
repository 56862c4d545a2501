"""SLA figures per ticket (due instants, pauses while waiting for the customer, breach flags), the
escalation beat firing once, and the queue views."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_update
from crm_apps.modules.tickets import services
from crm_apps.modules.tickets.models import Ticket
from crm_apps.modules.tickets.tests.helpers import ticket
from crm_apps.notifications.models import Notification
from crm_apps.support.models import BusinessHours, Holiday, SlaPolicy

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def policy(**extra):
    return SlaPolicy.objects.create(
        name="Normal", priority="Normal", first_response_minutes=60, resolution_minutes=240, **extra
    )


def at(moment):
    return mock.patch.object(timezone, "now", return_value=moment)


def test_due_instants_follow_the_team_business_hours_and_holidays(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        hours = BusinessHours.objects.create(
            name="Berlin office", time_zone="Europe/Berlin", week={str(d): [["09:00", "17:00"]] for d in range(5)}
        )
        Holiday.objects.create(calendar=hours, date=dt.date(2026, 12, 24), name="Christmas Eve")
        policy(business_hours=hours)
    created = dt.datetime(2026, 12, 23, 15, 0, tzinfo=UTC)  # 16:00 in Berlin, one business hour left
    with at(created):
        record = ticket(tenant_a, admin)
    with tenant_context(tenant_a):
        Ticket.objects.filter(pk=record.pk).update(created_at=created)
        record = Ticket.objects.get(pk=record.pk)
        with at(created):
            record = record_update(
                spec=registry.get("tickets"),
                actor=admin,
                record=record,
                data={"priority": "Normal", "description": "x"},
            )

    assert record.sla_policy.name == "Normal"
    assert record.first_response_due == dt.datetime(2026, 12, 23, 16, 0, tzinfo=UTC)
    # 1 h on the 23rd, the 24th is a holiday, then 3 h from 09:00 CET (08:00 UTC) on the 25th.
    assert record.resolution_due == dt.datetime(2026, 12, 25, 11, 0, tzinfo=UTC)
    assert record.sla_status == "On track"


def test_waiting_for_the_customer_pauses_the_clock_and_moves_the_due_instant(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    spec = registry.get("tickets")
    start = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    with tenant_context(tenant_a):
        policy()
    with at(start):
        record = ticket(tenant_a, admin)
    with tenant_context(tenant_a):
        Ticket.objects.filter(pk=record.pk).update(created_at=start)
        record = Ticket.objects.get(pk=record.pk)
        with at(start + dt.timedelta(minutes=30)):
            waiting = record_update(spec=spec, actor=admin, record=record, data={"status": "Wait For Response"})
            paused = (waiting.sla_status, waiting.resolution_due, waiting.sla_warn_at)
        with at(start + dt.timedelta(hours=5, minutes=30)):
            back = record_update(spec=spec, actor=admin, record=waiting, data={"status": "In Progress"})

    assert paused == ("Paused", None, None)
    # Five hours waited: resolution due at 08:00 + 4 h + 5 h.
    assert back.resolution_due == dt.datetime(2026, 6, 1, 17, 0, tzinfo=UTC)
    assert back.first_response_due == dt.datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
    assert back.sla_pauses == [
        [(start + dt.timedelta(minutes=30)).isoformat(), (start + dt.timedelta(hours=5, minutes=30)).isoformat()]
    ]
    assert back.sla_status == "On track"


def test_escalation_fires_once_notifies_owner_and_manager_and_reassigns(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    agent, manager = member(tenant_a), member(tenant_a)
    start = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    with tenant_context(tenant_a):
        policy(escalate_to=manager, reassign=True)
    with at(start):
        record = ticket(tenant_a, admin, owner=agent.pk)
    with tenant_context(tenant_a):
        Ticket.objects.filter(pk=record.pk).update(created_at=start)
        with at(start):
            record = record_update(
                spec=registry.get("tickets"),
                actor=admin,
                record=Ticket.objects.get(pk=record.pk),
                data={"description": "x"},
            )

        near = services.tickets_sla_escalate(now=start + dt.timedelta(minutes=50))
        status_near = Ticket.objects.get(pk=record.pk).sla_status
        first = services.tickets_sla_escalate(now=start + dt.timedelta(minutes=61))
        second = services.tickets_sla_escalate(now=start + dt.timedelta(hours=6))
        record.refresh_from_db()
        notified = sorted(Notification.objects.filter(kind="sla_breach").values_list("recipient_id", flat=True))

    assert (near, status_near) == (0, "Near breach")
    assert (first, second) == (1, 0)
    assert record.sla_status == "Breached" and record.first_response_breached
    assert record.escalated_at == start + dt.timedelta(minutes=61)
    assert record.owner_id == manager.pk
    assert notified == sorted([agent.pk, manager.pk])


def test_first_reply_meets_the_response_target_and_closing_measures_resolution(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    start = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    with tenant_context(tenant_a):
        policy()
    with at(start):
        record = ticket(tenant_a, admin)
    with tenant_context(tenant_a):
        Ticket.objects.filter(pk=record.pk).update(created_at=start)
        record = Ticket.objects.get(pk=record.pk)
        with at(start + dt.timedelta(minutes=90)):
            record.first_response_at = start + dt.timedelta(minutes=90)  # what a public reply records
            Ticket.objects.filter(pk=record.pk).update(first_response_at=record.first_response_at)
            record = record_update(spec=registry.get("tickets"), actor=admin, record=record, data={"description": "y"})
        late_response = (record.first_response_breached, record.sla_status)
        with at(start + dt.timedelta(hours=3)):
            closed = services.ticket_close(actor=admin, ticket=record, solution="Fixed")

    assert late_response == (True, "Breached")
    assert closed.closed_at == start + dt.timedelta(hours=3)
    assert (closed.resolution_breached, closed.sla_status) == (False, "Breached")  # the response was late


def test_queue_views_list_unassigned_mine_and_breaching_soon(client_for, tenant_a, admin_of, member):
    from crm_apps.access.models import Group

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        team = Group.objects.create(name="Second line")
        policy()
    mine = ticket(tenant_a, admin, title="Mine")
    unassigned = ticket(tenant_a, admin, title="Nobody's", owner_group=team.pk)
    web = client_for(tenant_a, admin)

    pages = {view: web.get(f"/support/queue/?view={view}") for view in ("unassigned", "mine", "breaching")}

    listed = {view: [row["ticket"].pk for row in page.context["rows"]] for view, page in pages.items()}
    assert listed["unassigned"] == [unassigned.pk]
    assert listed["mine"] == [mine.pk]
    # Both are due within four hours (the Normal policy resolves in 4 h, first response in 1 h).
    assert sorted(listed["breaching"]) == sorted([mine.pk, unassigned.pk])
    assert 'class="badge badge--ok"' in pages["mine"].content.decode()


def test_beat_runs_the_sla_check_every_five_minutes_and_the_contract_expiry_daily(settings):
    from saas.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery of the apps' tasks
    assert settings.CELERY_BEAT_SCHEDULE["tickets-sla"] == {"task": "tickets.sla_escalate_all_task", "schedule": 300}
    assert settings.CELERY_BEAT_SCHEDULE["service-contracts-expiry"]["task"] == "tickets.contracts_expiry_all_task"
    assert {"tickets.sla_escalate_task", "tickets.sla_escalate_all_task", "tickets.contracts_expiry_task"} <= set(
        app.tasks
    )
