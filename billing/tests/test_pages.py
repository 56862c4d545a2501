"""The public pricing page and a tenant's billing page: who may see it, what it shows, and the actions
(Checkout, plan change with proration, cancel/resume, customer portal) through the real SDK."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import Invoice, Plan, PlanPrice, Subscription
from billing.services import subscriptions_seats_sync_all
from billing.tests.stripe_server import subscription_object
from crm_apps.audit.models import AuditEvent
from tenants.models import Tenant, TenantStatus

pytestmark = pytest.mark.django_db
PAGE = "/settings/billing/"


@pytest.fixture
def mirrored() -> dict[str, str]:
    """Stripe ids on every current price of the default plans, as mirroring would have set them."""
    ids = {}
    for price in PlanPrice.objects.filter(archived_at__isnull=True).select_related("plan"):
        price.stripe_price_id = f"price_{price.plan.code}_{price.kind}_{price.currency}_{price.period}"
        price.stripe_active = True
        price.save()
        ids[f"{price.plan.code}.{price.kind}.{price.currency}.{price.period}"] = price.stripe_price_id
    return ids


def live(tenant: Tenant, mirrored: dict[str, str], server: Any, **fields: Any) -> Subscription:
    """Put the tenant on a paid Stripe subscription (Starter, monthly, USD) known to the fixture server."""
    sub = Subscription.objects.get(tenant=tenant)
    sub.status = "active"
    sub.stripe_customer_id = f"cus_{tenant.schema_name}"
    sub.stripe_subscription_id = f"sub_{tenant.schema_name}"
    sub.price = PlanPrice.objects.get(stripe_price_id=mirrored["starter.base.usd.month"])
    sub.seat_price = PlanPrice.objects.get(stripe_price_id=mirrored["starter.seat.usd.month"])
    sub.current_period_end = None
    sub.stripe_updated = int(time.time()) - 100
    for key, value in fields.items():
        setattr(sub, key, value)
    sub.save()
    server.put(
        subscription_object(
            sub.stripe_subscription_id,
            customer=sub.stripe_customer_id,
            items=[(mirrored["starter.base.usd.month"], 1)],
            metadata={"tenant": tenant.schema_name},
        )
    )
    return sub


# Pricing page ---------------------------------------------------------------------------------


def test_the_pricing_page_lists_public_plans_that_are_not_archived(public_client):
    Plan.objects.create(code="legacy", name="Legacy Gold", archived=True)
    PlanPrice.objects.create(plan=Plan.objects.get(code="legacy"), currency="usd", period="month", amount=100)

    response = public_client.get("/pricing/")

    assert response.status_code == 200
    assert [offer.plan.code for offer in response.context["offers"]] == ["starter", "business"]
    html = response.content.decode()
    assert "Starter" in html and "Business" in html
    assert "Enterprise" not in html and "Legacy Gold" not in html
    assert "15.00 USD" in html and "150.00 USD" in html
    assert 'href="/signup/?plan=starter"' in html


def test_the_pricing_page_shows_another_currency_and_ignores_unknown_ones(public_client):
    eur = public_client.get("/pricing/?currency=eur")
    unknown = public_client.get("/pricing/?currency=xxx")

    assert "14.00 EUR" in eur.content.decode()
    assert unknown.context["currency"] == "usd"


def test_the_pricing_page_is_in_russian_for_russian_visitors(public_client):
    response = public_client.get("/pricing/", HTTP_ACCEPT_LANGUAGE="ru")

    assert "Цены" in response.content.decode()


def test_tenant_hosts_have_no_pricing_page(client_for, tenant_a):
    assert client_for(tenant_a).get("/pricing/").status_code == 404


# Billing page: who ---------------------------------------------------------------------------------


def test_the_billing_page_is_for_admins(client_for, tenant_a, admin_of, member):
    admin = client_for(tenant_a, admin_of(tenant_a)).get(PAGE)
    colleague = client_for(tenant_a, member(tenant_a)).get(PAGE)
    anonymous = client_for(tenant_a).get(PAGE)

    assert admin.status_code == 200
    assert colleague.status_code == 403
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_members_are_refused_every_billing_action_and_nothing_changes(client_for, tenant_a, member, stripe_server):
    client = client_for(tenant_a, member(tenant_a))

    for path in ("choose/", "portal/", "cancel/", "resume/"):
        assert client.post(PAGE + path, {"plan": "business", "period": "month", "currency": "usd"}).status_code == 403

    assert stripe_server.requests == []
    assert Subscription.objects.get(tenant=tenant_a).plan.code == "starter"


def test_an_admin_of_one_tenant_never_sees_another_tenants_subscription(client_for, tenant_a, tenant_b, admin_of):
    Subscription.objects.filter(tenant=tenant_b).update(plan=Plan.objects.get(code="business"), seats=7)
    Invoice.objects.create(tenant=tenant_b, stripe_invoice_id="in_beta", number="BETA-SECRET-1", total=4900)

    own = client_for(tenant_a, admin_of(tenant_a)).get(PAGE)
    elsewhere = client_for(tenant_b, admin_of(tenant_a)).get(PAGE)

    assert own.context["sub"].tenant_id == tenant_a.pk
    html = own.content.decode()
    assert "Starter" in html and "BETA-SECRET-1" not in html and "Business ·" not in html
    assert elsewhere.status_code in (302, 403)  # not a member there: signed out on that host
    assert "BETA-SECRET-1" not in elsewhere.content.decode()


# Billing page: what ---------------------------------------------------------------------------------


def test_the_billing_page_shows_plan_status_seats_usage_trial_and_invoices(client_for, tenant_a, admin_of):
    Invoice.objects.create(
        tenant=tenant_a,
        stripe_invoice_id="in_a1",
        number="ALPHA-0001",
        status="paid",
        currency="usd",
        total=1500,
        hosted_invoice_url="https://invoice.stripe.com/i/acct_1/in_a1",
        invoice_pdf="https://pay.stripe.com/invoice/acct_1/in_a1/pdf",
    )

    response = client_for(tenant_a, admin_of(tenant_a)).get(PAGE)

    html = response.content.decode()
    assert "Starter" in html and "Trial" in html and "Trial ends" in html
    assert response.context["seats_used"] >= 1
    assert [u.label for u in response.context["usage"]] == [
        "Members",
        "Records",
        "File storage",
        "API requests today",
    ]
    assert [(u.limit) for u in response.context["usage"]] == [10, 50_000, 5120, 10_000]
    assert "ALPHA-0001" in html and "https://invoice.stripe.com/i/acct_1/in_a1" in html and "/pdf" in html
    assert "<meter" in html


def test_without_a_stripe_key_the_page_says_payments_are_not_configured(client_for, tenant_a, admin_of):
    client = client_for(tenant_a, admin_of(tenant_a))

    page = client.get(PAGE)
    choose = client.post(PAGE + "choose/", {"plan": "business", "period": "month", "currency": "usd"}, follow=True)

    assert "Payments are not configured on this platform yet" in page.content.decode()
    assert 'disabled aria-describedby="billing-not-configured"' in page.content.decode()
    assert "Payments are not configured on this platform yet." in [str(m) for m in choose.context["messages"]]
    assert Subscription.objects.get(tenant=tenant_a).plan.code == "starter"


def test_the_billing_page_is_in_russian_for_a_russian_speaking_admin(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        type(admin).objects.filter(pk=admin.pk).update(language="ru")

    response = client_for(tenant_a, admin).get(PAGE)

    html = response.content.decode()
    assert "Оплата" in html and "Пробный период" in html


# Billing actions through Stripe -----------------------------------------------------------------------


def test_choosing_a_plan_during_the_trial_opens_stripe_checkout(
    client_for, tenant_a, admin_of, stripe_server, mirrored
):
    admin = admin_of(tenant_a)

    response = client_for(tenant_a, admin).post(
        PAGE + "choose/", {"plan": "business", "period": "year", "currency": "usd"}
    )

    assert response.status_code == 303
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    [customer] = stripe_server.calls("POST", "/v1/customers")
    assert (customer.params["metadata"], customer.params["email"]) == ({"tenant": "alpha"}, admin.user.email)
    [checkout] = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert checkout.params["mode"] == "subscription"
    assert checkout.params["client_reference_id"] == "alpha"
    assert checkout.params["line_items"] == [{"price": mirrored["business.base.usd.year"], "quantity": "1"}]
    assert checkout.params["subscription_data"]["metadata"] == {"tenant": "alpha", "plan": "business"}
    assert "trial_end" in checkout.params["subscription_data"]  # the rest of the trial stays free
    assert checkout.params["success_url"] == "http://alpha.localhost:8000/settings/billing/?checkout=success"
    sub = Subscription.objects.get(tenant=tenant_a)
    assert (sub.stripe_customer_id, sub.plan.code, sub.status) == (customer_id(stripe_server), "starter", "trialing")
    with schema_context("alpha"):
        event = AuditEvent.objects.filter(module="billing").get()
    assert (event.details["action"], event.details["plan"], event.actor_id) == (
        "checkout_started",
        "business",
        admin.pk,
    )


def customer_id(server: Any) -> str:
    return next(obj["id"] for obj in server.objects.values() if obj.get("object") == "customer")


def test_the_stripe_customer_is_created_once(client_for, tenant_a, admin_of, stripe_server, mirrored):
    client = client_for(tenant_a, admin_of(tenant_a))

    client.post(PAGE + "choose/", {"plan": "starter", "period": "month", "currency": "usd"})
    client.post(PAGE + "choose/", {"plan": "business", "period": "month", "currency": "usd"})

    assert len(stripe_server.calls("POST", "/v1/customers")) == 1
    assert len(stripe_server.calls("POST", "/v1/checkout/sessions")) == 2


def test_a_double_submission_opens_one_checkout_session(client_for, tenant_a, admin_of, stripe_server, mirrored):
    client = client_for(tenant_a, admin_of(tenant_a))
    choice = {"plan": "business", "period": "month", "currency": "usd"}

    first = client.post(PAGE + "choose/", choice)
    second = client.post(PAGE + "choose/", choice)

    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    [checkout] = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert checkout.headers["idempotency-key"].startswith("checkout-")
    with schema_context("alpha"):
        assert AuditEvent.objects.filter(module="billing").count() == 1


def test_a_submission_whose_session_was_lost_asks_stripe_again_with_the_same_idempotency_key(
    client_for, tenant_a, admin_of, stripe_server, mirrored
):
    """Stripe created the session but its answer never arrived: the next submission repeats the request
    with the same key, so Stripe returns that session instead of opening a second one."""
    client = client_for(tenant_a, admin_of(tenant_a))
    choice = {"plan": "business", "period": "month", "currency": "usd"}
    Subscription.objects.filter(tenant=tenant_a).update(stripe_customer_id="cus_alpha")
    stripe_server.lose_answers = 1
    first = client.post(PAGE + "choose/", choice, follow=True)

    response = client.post(PAGE + "choose/", choice)

    assert "could not be reached" in " ".join(str(m) for m in first.context["messages"])
    lost, answered = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert lost.headers["idempotency-key"] == answered.headers["idempotency-key"]
    [session] = [obj for obj in stripe_server.objects.values() if obj["object"] == "checkout.session"]
    assert response.status_code == 303 and response["Location"] == session["url"]


def test_after_stripe_answered_an_error_the_next_submission_uses_a_new_idempotency_key(
    client_for, tenant_a, admin_of, stripe_server, mirrored
):
    """Stripe keeps an error answer for its key: repeating the key would repeat the error."""
    client = client_for(tenant_a, admin_of(tenant_a))
    choice = {"plan": "business", "period": "month", "currency": "usd"}
    stripe_server.on("POST", "/v1/checkout/sessions", lambda r, m: (500, {"error": {"type": "api_error"}}))
    client.post(PAGE + "choose/", choice)
    stripe_server.overrides.clear()

    response = client.post(PAGE + "choose/", choice)

    assert response.status_code == 303 and response["Location"].startswith("https://checkout.stripe.com/")
    failed, answered = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert failed.headers["idempotency-key"] != answered.headers["idempotency-key"]


def test_another_choice_or_a_later_submission_opens_a_new_checkout_session(
    client_for, tenant_a, admin_of, stripe_server, mirrored
):
    from billing.models import CheckoutAttempt
    from billing.services import CHECKOUT_REUSE

    client = client_for(tenant_a, admin_of(tenant_a))
    monthly = client.post(PAGE + "choose/", {"plan": "business", "period": "month", "currency": "usd"})
    yearly = client.post(PAGE + "choose/", {"plan": "business", "period": "year", "currency": "usd"})
    CheckoutAttempt.objects.update(created_at=timezone.now() - CHECKOUT_REUSE - timedelta(seconds=1))
    later = client.post(PAGE + "choose/", {"plan": "business", "period": "month", "currency": "usd"})

    assert len({monthly["Location"], yearly["Location"], later["Location"]}) == 3
    keys = [r.headers["idempotency-key"] for r in stripe_server.calls("POST", "/v1/checkout/sessions")]
    assert len(set(keys)) == 3


def test_a_checkout_that_completed_meanwhile_makes_the_choice_a_plan_change(
    client_for, tenant_a, admin_of, stripe_server, mirrored, monkeypatch
):
    """The webhook of a checkout completed in another tab links the subscription between this request
    reading it and locking it: no second checkout, the paid subscription changes plan in place."""
    from billing import lock_objects

    lock = lock_objects.subscription_lock

    def webhook_first(subscription_id: int) -> Subscription:
        live(tenant_a, mirrored, stripe_server)
        return lock(subscription_id)

    monkeypatch.setattr(lock_objects, "subscription_lock", webhook_first)

    response = client_for(tenant_a, admin_of(tenant_a)).post(
        PAGE + "choose/", {"plan": "business", "period": "month", "currency": "usd"}
    )

    assert response.status_code == 302 and response["Location"] == PAGE
    assert stripe_server.calls("POST", "/v1/checkout/sessions") == []
    assert len(stripe_server.calls("POST", "/v1/subscriptions/sub_alpha")) == 1


def test_extra_members_beyond_the_included_seats_are_in_checkout(
    client_for, tenant_a, admin_of, stripe_server, mirrored
):
    Subscription.objects.filter(tenant=tenant_a).update(seats=5)  # Starter includes 3

    client_for(tenant_a, admin_of(tenant_a)).post(
        PAGE + "choose/", {"plan": "starter", "period": "month", "currency": "usd"}
    )

    [checkout] = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert checkout.params["line_items"] == [
        {"price": mirrored["starter.base.usd.month"], "quantity": "1"},
        {"price": mirrored["starter.seat.usd.month"], "quantity": "2"},
    ]


def test_a_paid_subscription_changes_plan_in_place_with_proration(
    client_for, tenant_a, admin_of, stripe_server, mirrored
):
    live(tenant_a, mirrored, stripe_server)

    response = client_for(tenant_a, admin_of(tenant_a)).post(
        PAGE + "choose/", {"plan": "business", "period": "month", "currency": "usd"}
    )

    assert response.status_code == 302 and response["Location"] == PAGE
    assert stripe_server.calls("POST", "/v1/checkout/sessions") == []
    [update] = stripe_server.calls("POST", "/v1/subscriptions/sub_alpha")
    assert update.params["proration_behavior"] == "create_prorations"
    assert update.params["items"] == [
        {"id": "si_alpha_1", "price": mirrored["business.base.usd.month"], "quantity": "1"}
    ]
    sub = Subscription.objects.select_related("plan").get(tenant=tenant_a)
    assert (sub.plan.code, sub.status) == ("business", "active")
    assert Tenant.objects.get(pk=tenant_a.pk).plan_code == "business"


def test_a_paid_subscription_cannot_switch_currency(client_for, tenant_a, admin_of, stripe_server, mirrored):
    live(tenant_a, mirrored, stripe_server)

    client_for(tenant_a, admin_of(tenant_a)).post(
        PAGE + "choose/", {"plan": "business", "period": "month", "currency": "eur"}
    )

    assert stripe_server.calls("POST", "/v1/subscriptions/.+") == []
    assert Subscription.objects.get(tenant=tenant_a).plan.code == "starter"


def test_hidden_plans_cannot_be_chosen_by_tenants(client_for, tenant_a, admin_of, stripe_server, mirrored):
    response = client_for(tenant_a, admin_of(tenant_a)).post(
        PAGE + "choose/", {"plan": "enterprise", "period": "month", "currency": "usd"}
    )

    assert response.status_code == 302
    assert stripe_server.requests == []


def test_cancel_at_period_end_and_resume(client_for, tenant_a, admin_of, stripe_server, mirrored):
    live(tenant_a, mirrored, stripe_server)
    client = client_for(tenant_a, admin_of(tenant_a))

    client.post(PAGE + "cancel/")
    assert Subscription.objects.get(tenant=tenant_a).cancel_at_period_end is True
    assert "Resume subscription" in client.get(PAGE).content.decode()

    client.post(PAGE + "resume/")
    assert Subscription.objects.get(tenant=tenant_a).cancel_at_period_end is False
    calls = stripe_server.calls("POST", "/v1/subscriptions/sub_alpha")
    assert [c.params for c in calls] == [{"cancel_at_period_end": "true"}, {"cancel_at_period_end": "false"}]


def test_cancel_without_a_paid_subscription_is_refused_politely(client_for, tenant_a, admin_of, stripe_server):
    response = client_for(tenant_a, admin_of(tenant_a)).post(PAGE + "cancel/", follow=True)

    assert "There is no paid subscription to cancel or resume." in [str(m) for m in response.context["messages"]]
    assert stripe_server.requests == []


def test_payment_methods_open_the_stripe_customer_portal(client_for, tenant_a, admin_of, stripe_server, mirrored):
    live(tenant_a, mirrored, stripe_server)

    response = client_for(tenant_a, admin_of(tenant_a)).post(PAGE + "portal/")

    assert response.status_code == 303
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")
    [portal] = stripe_server.calls("POST", "/v1/billing_portal/sessions")
    assert portal.params == {"customer": "cus_alpha", "return_url": "http://alpha.localhost:8000/settings/billing/"}


def test_stripe_being_down_is_a_message_not_an_error(client_for, tenant_a, admin_of, stripe_server, mirrored):
    stripe_server.on("POST", "/v1/customers", lambda r, m: (500, {"error": {"type": "api_error", "message": "boom"}}))

    response = client_for(tenant_a, admin_of(tenant_a)).post(
        PAGE + "choose/", {"plan": "starter", "period": "month", "currency": "usd"}, follow=True
    )

    assert response.status_code == 200
    assert any("could not be reached" in str(m) for m in response.context["messages"])
    assert Subscription.objects.get(tenant=tenant_a).stripe_customer_id == ""


def test_a_read_only_workspace_can_still_pay(client_for, tenant_a, admin_of, stripe_server, mirrored):
    Tenant.objects.filter(pk=tenant_a.pk).update(status=TenantStatus.READ_ONLY)

    response = client_for(tenant_a, admin_of(tenant_a)).post(
        PAGE + "choose/", {"plan": "starter", "period": "month", "currency": "usd"}
    )

    assert response.status_code == 303


# Seats --------------------------------------------------------------------------------------------------


def test_seats_follow_active_members_in_one_batch_and_stripe_bills_the_extra_ones(
    tenant_a, tenant_b, member, stripe_server, mirrored
):
    live(tenant_a, mirrored, stripe_server, seats=1)
    for _ in range(4):
        member(tenant_a)

    changed = subscriptions_seats_sync_all()

    sub_a = Subscription.objects.get(tenant=tenant_a)
    assert sub_a.seats == 5
    assert Subscription.objects.get(tenant=tenant_b).seats == 1
    assert changed >= 1
    [update] = stripe_server.calls("POST", "/v1/subscriptions/sub_alpha")
    assert update.params["items"] == [{"price": mirrored["starter.seat.usd.month"], "quantity": "2"}]
    assert stripe_server.objects["sub_alpha"]["items"]["data"][1]["quantity"] == 2
    assert subscriptions_seats_sync_all() == 0  # nothing left to do


def test_when_stripe_refuses_a_seat_change_the_count_stays_and_the_next_run_retries(
    tenant_a, member, stripe_server, mirrored
):
    live(tenant_a, mirrored, stripe_server, seats=1)
    for _ in range(3):
        member(tenant_a)
    stripe_server.on(
        "POST",
        "/v1/subscriptions/sub_alpha",
        lambda r, m: (429, {"error": {"type": "rate_limit_error", "message": "slow down"}}),
    )

    subscriptions_seats_sync_all()

    assert Subscription.objects.get(tenant=tenant_a).seats == 1
    stripe_server.overrides.clear()
    subscriptions_seats_sync_all()
    assert Subscription.objects.get(tenant=tenant_a).seats == 4
    assert stripe_server.objects["sub_alpha"]["items"]["data"][1]["quantity"] == 1


def test_a_member_whose_profile_grants_manage_billing_may_use_the_billing_page(client_for, tenant_a, member):
    from django_tenants.utils import tenant_context

    from crm_apps.access.grants import access_changed
    from crm_apps.access.models import Member, Profile, Role

    treasurer = member(tenant_a)
    with tenant_context(tenant_a):
        profile = Profile.objects.get(name="Guest")
        Profile.objects.filter(pk=profile.pk).update(manage_billing=True)
        Role.objects.get(name="Sales Manager").profiles.add(profile)
        Member.objects.filter(pk=treasurer.pk).update(role=Role.objects.get(name="Sales Manager"))
        access_changed()

    assert client_for(tenant_a, treasurer).get(PAGE).status_code == 200


def test_the_pricing_page_compares_plans_from_their_data_with_storage_in_gb(public_client):
    response = public_client.get("/pricing/")

    rows = {row.label: row.cells for row in response.context["comparison"]}
    starter, business = (Plan.objects.get(code=c) for c in ("starter", "business"))
    assert rows["Seats included"] == [str(starter.included_seats), str(business.included_seats)]
    assert rows["File storage"] == ["5 GB", "100 GB"]
    assert rows["The audit trail"] == [False, True]
    assert rows["The REST API"] == [True, True]
    html = response.content.decode()
    assert "Seats and members" in html
    assert "Every active member takes a seat" in html
    assert "5 GB of file storage" in html
    assert "MB" not in html


def test_the_pricing_page_shows_plan_names_and_the_table_in_russian(public_client):
    html = public_client.get("/pricing/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "Старт" in html and "Бизнес" in html
    assert "Для небольших команд" in html
    assert "Сравнение тарифов" in html
    assert "Места и участники" in html
    assert "Журнал аудита" in html
