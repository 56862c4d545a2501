"""POST /billing/stripe/webhook: signatures as Stripe computes them, storage once per event id,
processing in the (eager) Celery task, and state that always ends at Stripe's newest object."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from billing.events import stripe_event_process
from billing.models import Invoice, Plan, PlanPrice, StripeEvent, Subscription
from billing.tasks import stripe_events_retry_task
from billing.tests.conftest import body, event, sign
from billing.tests.stripe_server import subscription_object
from tenants.models import Tenant, TenantStatus

URL = "/billing/stripe/webhook"
pytestmark = pytest.mark.django_db


@pytest.fixture
def prices() -> dict[str, str]:
    """Stripe ids on the default plans' USD monthly prices, as mirroring would have set them."""
    ids = {
        ("starter", "base"): "price_starter_month",
        ("starter", "seat"): "price_starter_seat_month",
        ("business", "base"): "price_business_month",
        ("business", "seat"): "price_business_seat_month",
    }
    for (code, kind), price_id in ids.items():
        PlanPrice.objects.filter(
            plan__code=code, kind=kind, currency="usd", period="month", archived_at__isnull=True
        ).update(stripe_price_id=price_id, stripe_active=True)
    return {f"{code}.{kind}": price_id for (code, kind), price_id in ids.items()}


def subscribe(tenant: Tenant, **fields: Any) -> Subscription:
    defaults: dict[str, Any] = {
        "plan": Plan.objects.get(code="starter"),
        "status": "trialing",
        "stripe_customer_id": f"cus_{tenant.schema_name}",
        "stripe_subscription_id": "",
        "stripe_updated": 0,
        **fields,
    }
    sub, _created = Subscription.objects.update_or_create(tenant=tenant, defaults=defaults)
    return sub


def post(client: Any, payload: dict[str, Any], capture: Any, **kwargs: Any) -> Any:
    raw = body(payload)
    headers = {"HTTP_STRIPE_SIGNATURE": kwargs.pop("signature", None) or sign(raw)}
    with capture(execute=True):
        return client.post(URL, raw, content_type="application/json", **headers, **kwargs)


def sub_event(event_id: str, created: int, tenant: Tenant, **obj: Any) -> dict[str, Any]:
    event_type = obj.pop("event_type", "customer.subscription.updated")
    return event(
        event_id,
        event_type,
        subscription_object(obj.pop("sub_id", "sub_alpha"), customer=f"cus_{tenant.schema_name}", **obj),
        created=created,
    )


# Signatures ---------------------------------------------------------------------------------------


def test_a_correctly_signed_event_is_stored_and_processed(
    public_client, webhook_secret, tenant_a, prices, django_capture_on_commit_callbacks
):
    subscribe(tenant_a)
    payload = sub_event("evt_ok", int(time.time()), tenant_a, items=[(prices["starter.base"], 1)])

    response = post(public_client, payload, django_capture_on_commit_callbacks)

    assert (response.status_code, response.json()) == (200, {"received": True, "duplicate": False})
    stored = StripeEvent.objects.get()
    assert (stored.id, stored.type, stored.payload, stored.attempts, stored.error) == (
        "evt_ok",
        "customer.subscription.updated",
        payload,
        1,
        "",
    )
    assert stored.processed_at is not None
    assert Subscription.objects.get(tenant=tenant_a).status == "active"


@pytest.mark.parametrize(
    "signature",
    [
        "t={t},v1=" + "0" * 64,  # wrong digest
        "",  # no header
        "garbage",
        "t={t},v0={good}",  # right digest under another scheme
    ],
)
def test_a_bad_signature_is_a_400_and_nothing_is_stored(
    public_client, webhook_secret, tenant_a, signature, django_capture_on_commit_callbacks
):
    subscribe(tenant_a)
    payload = sub_event("evt_bad", int(time.time()), tenant_a)
    t = int(time.time())
    good = sign(body(payload), timestamp=t).split("v1=")[1]

    raw = body(payload)
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post(
            URL, raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature.format(t=t, good=good)
        )

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert Subscription.objects.get(tenant=tenant_a).status == "trialing"


def test_a_signature_with_another_secret_is_refused(public_client, webhook_secret, django_capture_on_commit_callbacks):
    payload = event("evt_other_secret", "invoice.paid", {"id": "in_1", "object": "invoice"})
    raw = body(payload)

    response = post(
        public_client, payload, django_capture_on_commit_callbacks, signature=sign(raw, secret="whsec_someone_else")
    )

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_modified_body_is_refused(public_client, webhook_secret, django_capture_on_commit_callbacks):
    payload = event("evt_tampered", "invoice.paid", {"id": "in_1", "object": "invoice"})
    signature = sign(body(payload))
    payload["data"]["object"]["id"] = "in_2"

    response = post(public_client, payload, django_capture_on_commit_callbacks, signature=signature)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


# The signed timestamp is whole seconds while the check compares with the clock's fraction, so a future stamp
# only one second past the tolerance could fall inside it on a slow run: the future case keeps a clear margin.
@pytest.mark.parametrize("offset", [-301, -3600, 330])
def test_a_stale_or_future_timestamp_is_refused_even_with_a_valid_digest(
    public_client, webhook_secret, offset, django_capture_on_commit_callbacks
):
    payload = event("evt_stale", "invoice.paid", {"id": "in_1", "object": "invoice"})
    signature = sign(body(payload), timestamp=int(time.time()) + offset)

    response = post(public_client, payload, django_capture_on_commit_callbacks, signature=signature)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_timestamp_within_five_minutes_is_accepted(public_client, webhook_secret, django_capture_on_commit_callbacks):
    payload = event("evt_recent", "invoice.created", {"id": "in_1", "object": "invoice"})
    signature = sign(body(payload), timestamp=int(time.time()) - 280)

    response = post(public_client, payload, django_capture_on_commit_callbacks, signature=signature)

    assert response.status_code == 200
    assert StripeEvent.objects.get().processed_at is not None  # stored; a type we do not handle is ignored


def test_without_a_webhook_secret_every_event_is_refused(public_client, settings, django_capture_on_commit_callbacks):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = event("evt_nosecret", "invoice.paid", {"id": "in_1", "object": "invoice"})

    response = post(public_client, payload, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("raw", ['{"id": "evt_x"}', "[]", "not json", '{"id": 5, "type": "x", "created": 1}'])
def test_a_signed_body_that_is_not_an_event_is_refused(
    public_client, webhook_secret, raw, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post(URL, raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(raw))

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_get_is_not_allowed_and_tenant_hosts_do_not_serve_the_webhook(client_for, tenant_a, public_client):
    assert public_client.get(URL).status_code == 405
    assert client_for(tenant_a).post(URL, "{}", content_type="application/json").status_code == 404


# Idempotency and order ---------------------------------------------------------------------------------


def test_a_duplicate_event_is_acknowledged_and_ignored(
    public_client, webhook_secret, tenant_a, prices, django_capture_on_commit_callbacks
):
    subscribe(tenant_a)
    payload = sub_event("evt_dup", int(time.time()), tenant_a, items=[(prices["starter.base"], 1)])
    post(public_client, payload, django_capture_on_commit_callbacks)
    Subscription.objects.filter(tenant=tenant_a).update(status="past_due")  # a later change

    response = post(public_client, payload, django_capture_on_commit_callbacks)

    assert (response.status_code, response.json()) == (200, {"received": True, "duplicate": True})
    assert StripeEvent.objects.get().attempts == 1
    assert Subscription.objects.get(tenant=tenant_a).status == "past_due"


def test_an_older_subscription_update_arriving_late_never_replaces_a_newer_one(
    public_client, webhook_secret, tenant_a, prices, django_capture_on_commit_callbacks
):
    subscribe(tenant_a)
    t = int(time.time())
    newer = sub_event(
        "evt_new",
        t,
        tenant_a,
        items=[(prices["business.base"], 1)],
        cancel_at_period_end=True,
        current_period_end=t + 40 * 86400,
    )
    older = sub_event("evt_old", t - 30, tenant_a, status="past_due", items=[(prices["starter.base"], 1)])

    post(public_client, newer, django_capture_on_commit_callbacks)
    post(public_client, older, django_capture_on_commit_callbacks)

    sub = Subscription.objects.select_related("plan", "tenant").get(tenant=tenant_a)
    assert (sub.status, sub.plan.code, sub.cancel_at_period_end, sub.stripe_updated) == ("active", "business", True, t)
    assert sub.current_period_end is not None
    assert int(sub.current_period_end.timestamp()) == t + 40 * 86400
    assert sub.tenant.plan_code == "business"
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 2


def test_two_updates_in_the_same_second_take_the_object_stripe_has_now(
    public_client, stripe_server, tenant_a, prices, django_capture_on_commit_callbacks
):
    subscribe(tenant_a)
    t = int(time.time())
    stripe_server.put(
        subscription_object("sub_alpha", customer="cus_alpha", status="active", items=[(prices["business.base"], 1)])
    )
    first = sub_event("evt_same_1", t, tenant_a, items=[(prices["business.base"], 1)])
    second = sub_event("evt_same_2", t, tenant_a, status="past_due", items=[(prices["starter.base"], 1)])

    post(public_client, first, django_capture_on_commit_callbacks)
    post(public_client, second, django_capture_on_commit_callbacks)

    assert [r.path for r in stripe_server.calls("GET", "/v1/subscriptions/.+")] == ["/v1/subscriptions/sub_alpha"]
    sub = Subscription.objects.select_related("plan").get(tenant=tenant_a)
    assert (sub.status, sub.plan.code) == ("active", "business")


def test_a_late_event_of_an_earlier_stripe_subscription_does_not_touch_the_current_one(
    public_client, webhook_secret, tenant_a, prices, django_capture_on_commit_callbacks
):
    t = int(time.time())
    subscribe(tenant_a, status="active", stripe_subscription_id="sub_new", stripe_updated=t - 100)
    old_deleted = sub_event(
        "evt_old_sub", t, tenant_a, sub_id="sub_old", status="canceled", event_type="customer.subscription.deleted"
    )

    post(public_client, old_deleted, django_capture_on_commit_callbacks)

    sub = Subscription.objects.get(tenant=tenant_a)
    assert (sub.status, sub.stripe_subscription_id) == ("active", "sub_new")
    assert Tenant.objects.get(pk=tenant_a.pk).status == TenantStatus.ACTIVE


# Checkout and invoices ---------------------------------------------------------------------------------


def test_checkout_completed_links_the_subscription_and_activates_it(
    public_client, stripe_server, tenant_a, prices, django_capture_on_commit_callbacks
):
    subscribe(tenant_a)
    period_end = int(time.time()) + 30 * 86400
    stripe_server.put(
        subscription_object(
            "sub_paid",
            customer="cus_alpha",
            status="active",
            items=[(prices["starter.base"], 1), (prices["starter.seat"], 2)],
            current_period_end=period_end,
            metadata={"tenant": "alpha"},
        )
    )
    session = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": "cus_alpha",
        "client_reference_id": "alpha",
        "subscription": "sub_paid",
        "status": "complete",
        "payment_status": "paid",
        "metadata": {"tenant": "alpha"},
    }

    response = post(
        public_client, event("evt_checkout", "checkout.session.completed", session), django_capture_on_commit_callbacks
    )

    assert response.status_code == 200
    sub = Subscription.objects.select_related("price", "seat_price").get(tenant=tenant_a)
    assert sub.price is not None and sub.seat_price is not None and sub.current_period_end is not None
    assert (sub.status, sub.stripe_subscription_id, sub.price.stripe_price_id, sub.seat_price.stripe_price_id) == (
        "active",
        "sub_paid",
        prices["starter.base"],
        prices["starter.seat"],
    )
    assert int(sub.current_period_end.timestamp()) == period_end
    assert stripe_server.calls("GET", "/v1/subscriptions/sub_paid")


def _invoice(invoice_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": "cus_alpha",
        "number": "ALPHA-0002",
        "status": status,
        "currency": "usd",
        "amount_due": 2500,
        "amount_paid": 2500 if status == "paid" else 0,
        "total": 2500,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_1/{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_1/{invoice_id}/pdf",
        "created": int(time.time()) - 10,
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_alpha"}},
        **extra,
    }


def test_a_failed_payment_makes_the_subscription_past_due_and_a_paid_invoice_recovers_it(
    public_client, webhook_secret, tenant_a, django_capture_on_commit_callbacks
):
    t = int(time.time())
    subscribe(tenant_a, status="active", stripe_subscription_id="sub_alpha", stripe_updated=t - 100)

    post(
        public_client,
        event("evt_fail", "invoice.payment_failed", _invoice("in_1", "open"), created=t - 50),
        django_capture_on_commit_callbacks,
    )

    assert Subscription.objects.get(tenant=tenant_a).status == "past_due"
    invoice = Invoice.objects.get(stripe_invoice_id="in_1")
    assert (invoice.tenant_id, invoice.status, invoice.amount_due, invoice.hosted_invoice_url) == (
        tenant_a.pk,
        "open",
        2500,
        "https://invoice.stripe.com/i/acct_1/in_1",
    )

    post(
        public_client,
        event("evt_paid", "invoice.paid", _invoice("in_1", "paid"), created=t - 10),
        django_capture_on_commit_callbacks,
    )

    assert Subscription.objects.get(tenant=tenant_a).status == "active"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", 2500)
    assert Tenant.objects.get(pk=tenant_a.pk).status == TenantStatus.ACTIVE


def test_a_late_payment_failure_does_not_undo_a_later_payment(
    public_client, webhook_secret, tenant_a, django_capture_on_commit_callbacks
):
    t = int(time.time())
    subscribe(tenant_a, status="past_due", stripe_subscription_id="sub_alpha", stripe_updated=t - 100)
    post(
        public_client,
        event("evt_paid2", "invoice.paid", _invoice("in_1", "paid"), created=t - 10),
        django_capture_on_commit_callbacks,
    )

    post(
        public_client,
        event("evt_fail2", "invoice.payment_failed", _invoice("in_1", "open"), created=t - 50),
        django_capture_on_commit_callbacks,
    )

    assert Subscription.objects.get(tenant=tenant_a).status == "active"
    assert Invoice.objects.get(stripe_invoice_id="in_1").status == "paid"


def test_a_finalized_invoice_is_stored_for_the_billing_page_of_its_tenant_only(
    public_client, webhook_secret, tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    subscribe(tenant_a, status="active", stripe_subscription_id="sub_alpha")
    subscribe(tenant_b, status="active", stripe_subscription_id="sub_beta")

    post(
        public_client,
        event("evt_final", "invoice.finalized", _invoice("in_9", "open")),
        django_capture_on_commit_callbacks,
    )

    assert list(Invoice.objects.values_list("tenant__schema_name", "number")) == [("alpha", "ALPHA-0002")]


# Workspace status ----------------------------------------------------------------------------------


def test_a_canceled_subscription_makes_the_workspace_read_only_and_a_new_one_lifts_it(
    public_client, webhook_secret, tenant_a, prices, django_capture_on_commit_callbacks
):
    t = int(time.time())
    subscribe(tenant_a, status="active", stripe_subscription_id="sub_alpha", stripe_updated=t - 100)

    post(
        public_client,
        sub_event("evt_del", t - 50, tenant_a, status="canceled", event_type="customer.subscription.deleted"),
        django_capture_on_commit_callbacks,
    )

    assert Tenant.objects.get(pk=tenant_a.pk).status == TenantStatus.READ_ONLY
    assert Subscription.objects.get(tenant=tenant_a).status == "canceled"

    post(
        public_client,
        sub_event(
            "evt_new_sub",
            t - 10,
            tenant_a,
            sub_id="sub_alpha2",
            items=[(prices["starter.base"], 1)],
            event_type="customer.subscription.created",
        ),
        django_capture_on_commit_callbacks,
    )

    sub = Subscription.objects.get(tenant=tenant_a)
    assert (sub.status, sub.stripe_subscription_id, sub.restricted_by_billing) == ("active", "sub_alpha2", False)
    assert Tenant.objects.get(pk=tenant_a.pk).status == TenantStatus.ACTIVE


def test_billing_never_lifts_a_status_an_operator_chose(
    public_client, webhook_secret, tenant_a, prices, django_capture_on_commit_callbacks
):
    subscribe(tenant_a, status="past_due", stripe_subscription_id="sub_alpha")
    Tenant.objects.filter(pk=tenant_a.pk).update(status=TenantStatus.READ_ONLY)

    post(
        public_client,
        sub_event("evt_op", int(time.time()), tenant_a, items=[(prices["starter.base"], 1)]),
        django_capture_on_commit_callbacks,
    )

    assert Subscription.objects.get(tenant=tenant_a).status == "active"
    assert Tenant.objects.get(pk=tenant_a.pk).status == TenantStatus.READ_ONLY


# Failures ------------------------------------------------------------------------------------------


def test_an_event_for_no_known_tenant_is_processed_and_changes_nothing(
    public_client, webhook_secret, tenant_a, django_capture_on_commit_callbacks
):
    subscribe(tenant_a)
    payload = event("evt_stranger", "customer.subscription.updated", subscription_object("sub_x", customer="cus_x"))

    response = post(public_client, payload, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert StripeEvent.objects.get().processed_at is not None
    assert Subscription.objects.get(tenant=tenant_a).status == "trialing"


def test_a_failing_event_keeps_its_error_and_the_retry_task_processes_it_later(
    public_client, stripe_server, tenant_a, prices, django_capture_on_commit_callbacks
):
    subscribe(tenant_a)
    session = {
        "id": "cs_test_2",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": "cus_alpha",
        "client_reference_id": "alpha",
        "subscription": "sub_later",
        "payment_status": "paid",
    }
    post(public_client, event("evt_retry", "checkout.session.completed", session), django_capture_on_commit_callbacks)
    stored = StripeEvent.objects.get()
    assert (stored.processed_at, stored.attempts) == (None, 1)
    assert "GatewayError" in stored.error  # Stripe answered 404 for the subscription

    stripe_server.put(subscription_object("sub_later", customer="cus_alpha", items=[(prices["starter.base"], 1)]))
    StripeEvent.objects.filter(pk="evt_retry").update(received_at=stored.received_at - timedelta(minutes=10))
    assert stripe_events_retry_task() == 1

    stored.refresh_from_db()
    assert (stored.attempts, stored.error) == (2, "")
    assert stored.processed_at is not None
    assert Subscription.objects.get(tenant=tenant_a).status == "active"
    assert stripe_event_process(event_id="evt_retry") == "already processed"
