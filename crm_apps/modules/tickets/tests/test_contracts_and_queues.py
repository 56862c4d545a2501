"""Service contract unit accounting from linked tickets, the flag on tickets of exhausted or expired
contracts, round-robin fairness, and a support member who sees tickets but not deals."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.access.models import Group, Profile, ProfileModule, Role
from crm_apps.engine import registry
from crm_apps.engine.services import record_create, record_delete, record_restore, record_update
from crm_apps.modules.tickets.services import ticket_close
from crm_apps.modules.tickets.tests.helpers import ticket
from crm_apps.support.assignment import next_assignee
from crm_apps.support.models import RoundRobin

pytestmark = pytest.mark.django_db


def contract(tenant, actor, **data):
    with tenant_context(tenant):
        return record_create(
            spec=registry.get("service-contracts"),
            actor=actor,
            data={"subject": "Support 2027", "tracking_unit": "Hours", "total_units": "10", **data},
        )


def reload(tenant, record):
    with tenant_context(tenant):
        record.refresh_from_db()
    return record


def test_hours_contracts_count_the_hours_of_closed_tickets_and_warn_near_and_at_exhaustion(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    sc = contract(tenant_a, admin, start_date="2027-01-01", due_date="2099-12-31")
    first = ticket(tenant_a, admin, service_contract=str(sc.pk), hours_spent="4")
    second = ticket(tenant_a, admin, service_contract=str(sc.pk), hours_spent="4.5")
    third = ticket(tenant_a, admin, service_contract=str(sc.pk), hours_spent="1.5")
    open_units = reload(tenant_a, sc).used_units
    with tenant_context(tenant_a):
        ticket_close(actor=admin, ticket=first, solution="done")
    after_one = reload(tenant_a, sc)
    after_one = (after_one.used_units, after_one.progress, after_one.usage_warning)
    with tenant_context(tenant_a):
        ticket_close(actor=admin, ticket=second, solution="done")
    near = reload(tenant_a, sc).usage_warning
    with tenant_context(tenant_a):
        ticket_close(actor=admin, ticket=third, solution="done")
    sc = reload(tenant_a, sc)
    exhausted = (sc.used_units, sc.progress, sc.usage_warning, sc.end_date)
    late = ticket(tenant_a, admin, service_contract=str(sc.pk))
    with tenant_context(tenant_a):
        record_delete(spec=registry.get("tickets"), actor=admin, record=third)
    sc = reload(tenant_a, sc)

    assert open_units == Decimal("0.00")  # open tickets use nothing (vtiger counts closed ones)
    assert after_one == (Decimal("4.00"), Decimal("40.00"), "")
    assert near == "Near exhaustion"
    assert exhausted == (Decimal("10.00"), Decimal("100.00"), "Exhausted", timezone.localdate())
    assert late.contract_flag == "Contract exhausted"
    assert (sc.used_units, sc.usage_warning, sc.end_date) == (Decimal("8.50"), "Near exhaustion", None)
    # out of the recycle bin, the ticket counts again at once
    with tenant_context(tenant_a):
        record_restore(spec=registry.get("tickets"), actor=admin, record_id=third.pk)
    assert reload(tenant_a, sc).used_units == Decimal("10.00")


def test_the_lists_generic_merge_recounts_the_contract(tenant_a, admin_of):
    from crm_apps.engine.services import records_merge

    admin = admin_of(tenant_a)
    sc = contract(tenant_a, admin, start_date="2027-01-01", due_date="2099-12-31")
    first = ticket(tenant_a, admin, service_contract=str(sc.pk), hours_spent="2")
    second = ticket(tenant_a, admin, service_contract=str(sc.pk), hours_spent="3")
    with tenant_context(tenant_a):
        ticket_close(actor=admin, ticket=first, solution="done")
        ticket_close(actor=admin, ticket=second, solution="done")
    assert reload(tenant_a, sc).used_units == Decimal("5.00")
    with tenant_context(tenant_a):
        records_merge(spec=registry.get("tickets"), actor=admin, primary_id=first.pk, other_ids=[second.pk], choices={})
    assert reload(tenant_a, sc).used_units == Decimal("2.00")  # the duplicate is in the recycle bin


def test_incident_and_day_contracts_and_expired_ones(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    incidents = contract(tenant_a, admin, tracking_unit="Incidents", total_units="3")
    days = contract(tenant_a, admin, tracking_unit="Days", total_units="2")
    expired = contract(tenant_a, admin, due_date=(timezone.localdate() - dt.timedelta(days=1)).isoformat())
    for sc in (incidents, days):
        for hours in ("12", "6"):
            done = ticket(tenant_a, admin, service_contract=str(sc.pk), hours_spent=hours)
            with tenant_context(tenant_a):
                ticket_close(actor=admin, ticket=done, solution="ok")
    on_expired = ticket(tenant_a, admin, service_contract=str(expired.pk))

    assert reload(tenant_a, incidents).used_units == Decimal("2.00")
    assert reload(tenant_a, days).used_units == Decimal("0.75")  # 18 hours / 24
    assert reload(tenant_a, expired).usage_warning == "Expired"
    assert on_expired.contract_flag == "Contract expired"


def test_moving_a_closed_ticket_to_another_contract_recounts_both(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    a, b = contract(tenant_a, admin), contract(tenant_a, admin)
    done = ticket(tenant_a, admin, service_contract=str(a.pk), hours_spent="3")
    with tenant_context(tenant_a):
        done = ticket_close(actor=admin, ticket=done, solution="ok")
        record_update(spec=registry.get("tickets"), actor=admin, record=done, data={"service_contract": str(b.pk)})

    assert (reload(tenant_a, a).used_units, reload(tenant_a, b).used_units) == (Decimal("0.00"), Decimal("3.00"))


def test_round_robin_gives_each_member_the_same_share_in_turn(tenant_a, member):
    agents = [member(tenant_a) for _ in range(3)]
    with tenant_context(tenant_a):
        team = Group.objects.create(name="First line")
        team.members.set(agents)
        chosen = [m for m in (next_assignee(team=team) for _ in range(30)) if m is not None]

    counts = Counter(m.pk for m in chosen)
    assert sorted(counts.values()) == [10, 10, 10]
    assert [m.pk for m in chosen[:6]] == [a.pk for a in agents] * 2
    # Nobody gets two in a row.
    assert all(x.pk != y.pk for x, y in itertools.pairwise(chosen))


def test_a_ticket_given_to_a_team_with_round_robin_goes_to_its_next_member(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    agents = [member(tenant_a), member(tenant_a)]
    with tenant_context(tenant_a):
        team = Group.objects.create(name="Second line")
        team.members.set(agents)
        quiet = Group.objects.create(name="Quiet team")
        RoundRobin.objects.create(team=team, enabled=True)

    first = ticket(tenant_a, admin, owner_group=team.pk)
    second = ticket(tenant_a, admin, owner_group=team.pk)
    untouched = ticket(tenant_a, admin, owner_group=quiet.pk)

    first, second, untouched = (reload(tenant_a, t) for t in (first, second, untouched))
    assert [(t.owner_id, t.owner_group_id, t.team_id) for t in (first, second)] == [
        (agents[0].pk, None, team.pk),
        (agents[1].pk, None, team.pk),
    ]
    assert (untouched.owner_id, untouched.owner_group_id) == (None, quiet.pk)


def test_a_support_member_without_sales_access_sees_tickets_but_not_deals(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        support = Profile.objects.create(name="Support desk only", view_all=True)
        for module in ("deals", "leads", "quotes"):
            ProfileModule.objects.create(
                profile=support, module=module, can_view=False, can_create=False, can_edit=False, can_delete=False
            )
        role = Role.objects.create(name="Support agent", parent=Role.objects.filter(parent__isnull=True).first())
        role.profiles.set([support])
        record_create(spec=registry.get("deals"), actor=admin, data={"name": "Big deal", "close_date": "2027-01-01"})
    agent = member(tenant_a, role=role)
    record = ticket(tenant_a, admin, title="Visible to support")
    web = client_for(tenant_a, agent)

    tickets_api = web.get("/api/v1/tickets/")
    deals_api = web.get("/api/v1/deals/")
    tickets_page = web.get("/m/tickets/")
    deals_page = web.get("/m/deals/")
    queue = web.get("/support/queue/?view=unassigned")

    assert tickets_api.status_code == 200
    assert [r["id"] for r in tickets_api.json()["results"]] == [str(record.pk)]
    assert (deals_api.status_code, deals_page.status_code) == (403, 403)
    assert tickets_page.status_code == 200 and queue.status_code == 200
    assert 'href="/m/deals/"' not in tickets_page.content.decode()


def test_open_tickets_follow_their_contract_running_out_and_expiring(tenant_a, admin_of):
    from crm_apps.modules.servicecontracts.services import contracts_expiry_refresh

    admin = admin_of(tenant_a)
    sc = contract(tenant_a, admin, total_units="2", due_date="2099-12-31")
    waiting = ticket(tenant_a, admin, service_contract=str(sc.pk))
    done = ticket(tenant_a, admin, service_contract=str(sc.pk), hours_spent="2")
    with tenant_context(tenant_a):
        ticket_close(actor=admin, ticket=done, solution="ok")
    exhausted = reload(tenant_a, waiting).contract_flag
    with tenant_context(tenant_a):
        record_update(
            spec=registry.get("service-contracts"), actor=admin, record=reload(tenant_a, sc), data={"total_units": "20"}
        )
    topped_up = reload(tenant_a, waiting).contract_flag
    later = dt.date(2100, 1, 1)
    with tenant_context(tenant_a):
        expired = contracts_expiry_refresh(today=later)
        again = contracts_expiry_refresh(today=later)

    assert (exhausted, topped_up) == ("Contract exhausted", "")
    assert (expired, again) == (1, 0)
    assert reload(tenant_a, sc).usage_warning == "Expired"
    assert reload(tenant_a, waiting).contract_flag == "Contract expired"


def test_a_load_balanced_team_gives_new_tickets_to_the_least_busy_member(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    busy, free, idle = member(tenant_a), member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        team = Group.objects.create(name="Balanced desk")
        team.members.set([busy, free, idle])
        RoundRobin.objects.create(team=team, enabled=True, mode=RoundRobin.Mode.LOAD_BALANCED, last_member=busy)
    for _ in range(3):
        ticket(tenant_a, admin, owner=busy.pk)
    ticket(tenant_a, admin, owner=free.pk)
    done = ticket(tenant_a, admin, owner=idle.pk)
    with tenant_context(tenant_a):
        ticket_close(actor=admin, ticket=done, solution="ok")  # closed tickets are no load

    owners = [reload(tenant_a, ticket(tenant_a, admin, owner_group=team.pk)).owner_id for _ in range(4)]

    # idle (0 open) first; then free and idle have 1 each: free is next in turn after idle; ...
    assert owners == [idle.pk, free.pk, idle.pk, free.pk]
