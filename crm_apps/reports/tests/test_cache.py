"""The widget cache (`crm_apps.reports.cache`): a write announced by the engine invalidates cached widget
results once it commits; two members (different visibility) and two workspaces never share an entry."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, role_create, sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.deals.models import Deal, Stage
from crm_apps.reports.models import Dashboard, Widget
from crm_apps.reports.widgets import widget_data

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")


def funnel_total(data):
    """The pipeline funnel's amounts (one per open stage with deals)."""
    return sum(data["chart"]["datasets"][0]["data"])


def funnel(tenant):
    with tenant_context(tenant):
        board = Dashboard.objects.create(name="Cache test", shared=True)
        return Widget.objects.create(dashboard=board, kind="pipeline_funnel", x=0, y=0, w=4, h=4, config={})


def open_deal(actor, amount, owner=None):
    stage = Stage.objects.filter(is_won=False, is_lost=False).order_by("position")[0]
    return record_create(
        spec=DEALS,
        actor=actor,
        data={
            "name": "D",
            "close_date": "2027-01-01",
            "amount": amount,
            "stage": stage.pk,
            "owner": (owner or actor).pk,
        },
    )


def test_a_committed_write_invalidates_the_cached_widget(tenant_a, admin_of, django_capture_on_commit_callbacks):
    admin = admin_of(tenant_a)
    widget = funnel(tenant_a)
    with tenant_context(tenant_a):
        with django_capture_on_commit_callbacks(execute=True):
            first_deal = open_deal(admin, "100")
        first = widget_data(widget, admin)
        # A change that bypasses the engine's services (no event): the cached result is served, unchanged.
        Deal.objects.filter(pk=first_deal.pk).update(amount=5)
        assert widget_data(widget, admin) == first
        # A write through the engine bumps the data version when it commits: computed afresh.
        with django_capture_on_commit_callbacks(execute=True):
            open_deal(admin, "40")
        after = widget_data(widget, admin)

    assert funnel_total(first) == 100
    assert funnel_total(after) == 45  # 5 (the bypassing update, now read) + 40
    assert after["computed_at"] >= first["computed_at"]


def test_a_rolled_back_write_does_not_bump_the_data_version(tenant_a, django_capture_on_commit_callbacks, admin_of):
    from crm_apps.reports import cache

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        before = cache.data_version()
        with django_capture_on_commit_callbacks(execute=False) as pending:
            open_deal(admin, "10")
        assert cache.data_version() == before  # nothing until the commit
        for callback in pending:
            callback()
        assert cache.data_version() != before


def test_members_with_different_visibility_never_share_a_cached_result(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private")
        profile = profile_save(actor=admin, profile=None, name="Cache reps", flags={})
        role = role_create(
            actor=admin, name="Cache rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    rep = member(tenant_a, role=role)
    widget = funnel(tenant_a)
    with tenant_context(tenant_a):
        open_deal(admin, "9000")
        open_deal(admin, "30", owner=rep)
        as_admin = widget_data(widget, admin)  # computed (and cached) first, for the admin
        as_rep = widget_data(widget, rep)
        again_admin = widget_data(widget, admin)

    assert funnel_total(as_admin) == 9030
    assert funnel_total(as_rep) == 30
    assert again_admin == as_admin


def test_two_workspaces_never_share_a_cached_result(tenant_a, tenant_b, admin_of):
    admin_a, admin_b = admin_of(tenant_a), admin_of(tenant_b)
    widget_a, widget_b = funnel(tenant_a), funnel(tenant_b)
    with tenant_context(tenant_a):
        open_deal(admin_a, "700")
        in_a = widget_data(widget_a, admin_a)
    with tenant_context(tenant_b):
        open_deal(admin_b, "3")
        # Even under the other workspace's widget id and member id, B computes its own numbers.
        in_b = widget_data(widget_b, admin_b)
        in_b_with_a_ids = widget_data(
            Widget(pk=widget_a.pk, dashboard_id=widget_b.dashboard_id, kind="pipeline_funnel", config={}), admin_b
        )

    assert funnel_total(in_a) == 700
    assert funnel_total(in_b) == 3
    assert funnel_total(in_b_with_a_ids) == 3


RUN = {"module": "deals", "type": "summary", "group_by": ["stage"], "aggregates": [{"field": "amount", "op": "sum"}]}


def run_total(client):
    response = client.post("/api/v1/reports/run", RUN, content_type="application/json")
    assert response.status_code == 200, response.content
    return sum(float(row.get("sum_amount") or 0) for row in response.json()["rows"])


def test_a_report_run_is_cached_until_a_committed_write(
    tenant_a, admin_of, client_for, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        first_deal = open_deal(admin, "100")
    first = run_total(client)
    # The same run again reads no deal: the cached result (also after a write that bypasses the services)
    with tenant_context(tenant_a):
        Deal.objects.filter(pk=first_deal.pk).update(amount=5)
    with CaptureQueriesContext(connection) as again:
        assert run_total(client) == first
    assert not [q for q in again.captured_queries if "deals_deal" in q["sql"]]
    # A write through the engine, once committed: computed afresh
    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        open_deal(admin, "40")
    after = run_total(client)

    assert (first, after) == (100, 45)


def test_a_cached_report_run_is_never_served_to_another_member_or_workspace(
    tenant_a, tenant_b, admin_of, member, client_for
):
    admin, admin_b = admin_of(tenant_a), admin_of(tenant_b)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private")
        profile = profile_save(actor=admin, profile=None, name="Run reps", flags={})
        role = role_create(
            actor=admin, name="Run rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    rep = member(tenant_a, role=role)
    with tenant_context(tenant_a):
        open_deal(admin, "9000")
        open_deal(admin, "30", owner=rep)
    with tenant_context(tenant_b):
        open_deal(admin_b, "3")

    as_admin = run_total(client_for(tenant_a, admin))  # computed (and cached) first, for the admin
    as_rep = run_total(client_for(tenant_a, rep))
    in_b = run_total(client_for(tenant_b, admin_b))  # the same definition, and the same member id maybe
    again_admin = run_total(client_for(tenant_a, admin))

    assert (as_admin, as_rep, in_b, again_admin) == (9030, 30, 3, 9030)
