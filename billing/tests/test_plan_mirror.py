"""Plans mirrored to Stripe through the real SDK, against the local fixture server."""

from __future__ import annotations

import pytest

from billing import gateway
from billing.models import BillingAuditEntry, Plan, PlanPrice
from billing.services import plan_mirror, plan_price_set

pytestmark = pytest.mark.django_db


def _plan() -> Plan:
    plan = Plan.objects.create(code="team", name="Team", description="For teams", included_seats=5)
    PlanPrice.objects.create(plan=plan, kind="base", currency="usd", period="month", amount=2000)
    PlanPrice.objects.create(plan=plan, kind="seat", currency="usd", period="month", amount=700)
    return plan


def test_mirroring_creates_the_product_and_one_price_per_current_price(stripe_server):
    plan = _plan()

    result = plan_mirror(plan=plan)

    assert result.product_created
    [product_call] = stripe_server.calls("POST", "/v1/products")
    assert product_call.params == {
        "name": "Team",
        "active": "true",
        "metadata": {"plan": "team"},
        "description": "For teams",
    }
    assert product_call.headers["authorization"] == "Bearer sk_test_fixture"
    assert product_call.headers["idempotency-key"].startswith(f"plan-product-{plan.pk}-")
    price_calls = stripe_server.calls("POST", "/v1/prices")
    assert [(c.params["unit_amount"], c.params["recurring"], c.params["lookup_key"]) for c in price_calls] == [
        ("2000", {"interval": "month"}, "team.base.usd.month"),
        ("700", {"interval": "month"}, "team.seat.usd.month"),
    ]
    plan.refresh_from_db()
    assert plan.stripe_product_id.startswith("prod_fixture")
    assert sorted(plan.prices.values_list("stripe_price_id", flat=True)) == sorted(result.prices_created)
    assert BillingAuditEntry.objects.filter(plan=plan, action="plan_mirrored").count() == 1


def test_a_price_change_creates_a_new_stripe_price_and_deactivates_the_old_one(stripe_server, django_user_model):
    plan = _plan()
    plan_mirror(plan=plan)
    old = plan.prices.get(kind="base")
    operator = django_user_model.objects.create_user("ops@example.com", "x", name="Ops", is_staff=True)
    stripe_server.requests.clear()

    new = plan_price_set(
        plan=plan, kind="base", currency="usd", period="month", amount=2500, operator=operator, reason="2027 prices"
    )
    plan_mirror(plan=plan, operator=operator)

    [created] = stripe_server.calls("POST", "/v1/prices")
    assert created.path == "/v1/prices"
    assert (created.params["unit_amount"], created.params["transfer_lookup_key"]) == ("2500", "true")
    [deactivated] = stripe_server.calls("POST", "/v1/prices/.+")
    assert (deactivated.path, deactivated.params) == (f"/v1/prices/{old.stripe_price_id}", {"active": "false"})
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.archived_at is not None and old.stripe_active is False
    assert new.stripe_price_id not in ("", old.stripe_price_id) and new.stripe_active
    entry = BillingAuditEntry.objects.get(plan=plan, action="price_changed")
    assert (entry.operator_label, entry.reason, entry.details["old"], entry.details["new"]) == (
        "ops@example.com",
        "2027 prices",
        2000,
        2500,
    )


def test_the_same_amount_again_changes_nothing(stripe_server):
    plan = _plan()
    before = plan.prices.get(kind="base")

    after = plan_price_set(plan=plan, kind="base", currency="usd", period="month", amount=2000)

    assert after.pk == before.pk
    assert plan.prices.count() == 2


def test_mirroring_again_only_updates_the_product(stripe_server):
    plan = _plan()
    plan_mirror(plan=plan)
    stripe_server.requests.clear()

    result = plan_mirror(plan=plan)

    assert (result.product_created, result.prices_created, result.prices_deactivated) == (False, [], [])
    assert [c.path for c in stripe_server.requests] == [
        f"/v1/products/{Plan.objects.get(pk=plan.pk).stripe_product_id}"
    ]


def test_stripe_errors_become_gateway_errors_and_keep_what_was_created(stripe_server):
    plan = _plan()
    stripe_server.on(
        "POST",
        "/v1/prices",
        lambda r, m: (400, {"error": {"type": "invalid_request_error", "message": "Bad currency"}}),
    )

    with pytest.raises(gateway.GatewayError):
        plan_mirror(plan=plan)

    plan.refresh_from_db()
    assert plan.stripe_product_id  # the product exists on Stripe: the next attempt updates it
    assert not plan.prices.exclude(stripe_price_id="").exists()


def test_without_a_key_nothing_is_sent(settings):
    settings.STRIPE_SECRET_KEY = ""

    with pytest.raises(gateway.PaymentsNotConfigured):
        plan_mirror(plan=_plan())
