"""Per-seat extensions follow the tenant's seats: every member change queues (after commit) a task that
sets the Stripe subscription item's quantity through the real SDK (fixture server), retried while
Stripe fails, never touching another tenant's subscription and never breaking the member change."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import Retry
from django_tenants.utils import schema_context

from billing.seats import tenant_seats
from billing.tasks import seats_sync_all_task, tenant_seats_follow_task
from billing.tests.stripe_server import error, subscription_object
from crm_apps.access.models import Member
from marketplace.catalog.models import Licence, Listing
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def seat_licence(listing: Listing, tenant: Tenant, server: Any, sub_id: str, state: str = "active") -> Licence:
    """A paid per-seat licence whose Stripe subscription bills the tenant's current seats."""
    seats = tenant_seats(tenant_id=tenant.pk)
    licence = Licence.objects.create(
        tenant=tenant,
        listing=listing,
        state=state,
        pricing="monthly_seat",
        price_cents=500,
        seats=seats,
        stripe_subscription_id=sub_id,
    )
    metadata = {
        "kind": "extension",
        "tenant": tenant.schema_name,
        "listing": str(listing.pk),
        "licence": str(licence.pk),
    }
    server.put(
        subscription_object(sub_id, customer=f"cus_{tenant.schema_name}", items=[("price_x", seats)], metadata=metadata)
    )
    return licence


@pytest.fixture
def seat_listing(publish: Any) -> Listing:
    return publish("saas-sales-kit", pricing="monthly_seat", price_cents=500)


def updates(server: Any, sub_id: str) -> list[Any]:
    return server.calls("POST", f"/v1/subscriptions/{sub_id}")


def test_a_new_member_raises_the_quantity_after_commit(
    tenant_a, member, seat_listing, stripe_server, django_capture_on_commit_callbacks
):
    licence = seat_licence(seat_listing, tenant_a, stripe_server, "sub_seat_a")
    before = licence.seats
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        member(tenant_a)
    assert updates(stripe_server, "sub_seat_a") == []  # nothing before commit
    for callback in callbacks:
        callback()
    [call] = updates(stripe_server, "sub_seat_a")
    item_id = stripe_server.objects["sub_seat_a"]["items"]["data"][0]["id"]
    assert call.params == {
        "items": [{"id": item_id, "quantity": str(before + 1)}],
        "proration_behavior": "create_prorations",
    }
    licence.refresh_from_db()
    assert licence.seats == before + 1 == tenant_seats(tenant_id=tenant_a.pk)


def test_deactivating_a_member_lowers_it_and_running_again_changes_nothing(
    tenant_a, member, admin_of, client_for, seat_listing, stripe_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        leaving = member(tenant_a)
    licence = seat_licence(seat_listing, tenant_a, stripe_server, "sub_seat_a")
    before = licence.seats
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(tenant_a, admin_of(tenant_a)).post(f"/settings/members/{leaving.pk}/deactivate/")
    assert response.status_code in (200, 302)
    [call] = updates(stripe_server, "sub_seat_a")
    assert call.params["items"][0]["quantity"] == str(before - 1)
    licence.refresh_from_db()
    assert licence.seats == before - 1
    seats_sync_all_task.apply()  # the periodic pass: already in step, no second request
    assert len(updates(stripe_server, "sub_seat_a")) == 1


def test_another_tenant_s_changes_never_touch_this_tenant_s_subscription(
    tenant_a, tenant_b, member, seat_listing, stripe_server, django_capture_on_commit_callbacks
):
    licence_a = seat_licence(seat_listing, tenant_a, stripe_server, "sub_seat_a")
    licence_b = seat_licence(seat_listing, tenant_b, stripe_server, "sub_seat_b")
    with django_capture_on_commit_callbacks(execute=True):
        member(tenant_b)
    assert updates(stripe_server, "sub_seat_a") == []
    assert stripe_server.calls("GET", "/v1/subscriptions/sub_seat_a") == []
    [call] = updates(stripe_server, "sub_seat_b")
    assert call.params["items"][0]["quantity"] == str(licence_b.seats + 1)
    licence_a.refresh_from_db()
    assert licence_a.seats == tenant_seats(tenant_id=tenant_a.pk)


def test_only_live_per_seat_licences_follow(
    tenant_a, member, seat_listing, publish, stripe_server, django_capture_on_commit_callbacks
):
    seat_licence(seat_listing, tenant_a, stripe_server, "sub_seat_a", state="cancelled")
    flat = publish("support-escalation-webhooks", pricing="monthly_tenant", price_cents=900)
    Licence.objects.create(
        tenant=tenant_a, listing=flat, state="active", pricing="monthly_tenant", stripe_subscription_id="sub_flat"
    )
    with django_capture_on_commit_callbacks(execute=True):
        member(tenant_a)
    assert [r for r in stripe_server.requests if "/v1/subscriptions/" in r.path] == []


def test_a_stripe_failure_is_retried_and_then_applied(
    tenant_a, member, seat_listing, stripe_server, django_capture_on_commit_callbacks
):
    licence = seat_licence(seat_listing, tenant_a, stripe_server, "sub_seat_a")
    failures = [1]

    def flaky(request: Any, match: Any) -> tuple[int, dict[str, Any]]:
        if failures:
            failures.pop()
            return error(500, "Stripe is having a moment", "api_error")
        return stripe_server.subscription_update(request, match)

    stripe_server.on("POST", "/v1/subscriptions/(?P<id>sub_seat_a)", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        member(tenant_a)  # the task fails once: a retry is scheduled (Celery runs it later, 30 s on)
    assert len(updates(stripe_server, "sub_seat_a")) == 1
    licence.refresh_from_db()
    assert licence.seats == tenant_seats(tenant_id=tenant_a.pk) - 1
    with pytest.raises(Retry) as retry:
        failures.append(1)
        tenant_seats_follow_task.apply(args=(tenant_a.pk,))
    assert retry.value.when == 30
    tenant_seats_follow_task.apply(args=(tenant_a.pk,), retries=1)  # what the worker runs at that time
    assert len(updates(stripe_server, "sub_seat_a")) == 3
    licence.refresh_from_db()
    assert licence.seats == tenant_seats(tenant_id=tenant_a.pk)


def test_stripe_down_does_not_break_the_member_change_and_the_periodic_sync_catches_up(
    tenant_a, admin_of, client_for, seat_listing, stripe_server, django_capture_on_commit_callbacks
):
    licence = seat_licence(seat_listing, tenant_a, stripe_server, "sub_seat_a")
    before = licence.seats
    down = [True]

    def maybe_down(request: Any, match: Any) -> tuple[int, dict[str, Any]]:
        if down:
            return error(500, "Stripe is down", "api_error")
        return stripe_server.subscription_update(request, match)

    stripe_server.on("POST", "/v1/subscriptions/(?P<id>sub_seat_a)", maybe_down)
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    from conftest import make_user

    with schema_context("alpha"):
        from crm_apps.access.services import member_create

        newcomer = member_create(tenant=tenant_a, user=make_user())
        Member.objects.filter(pk=newcomer.pk).update(active=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/settings/members/{newcomer.pk}/reactivate/")
    assert response.status_code in (200, 302)
    with schema_context("alpha"):
        assert Member.objects.get(pk=newcomer.pk).active  # the member change stands
    assert len(updates(stripe_server, "sub_seat_a")) == 1  # tried; the retry is Celery's, later
    licence.refresh_from_db()
    assert licence.seats == before  # what Stripe bills: unchanged
    down.clear()
    seats_sync_all_task.apply()
    licence.refresh_from_db()
    assert licence.seats == before + 1 == int(updates(stripe_server, "sub_seat_a")[-1].params["items"][0]["quantity"])
