"""Operators edit plans in the Django admin (bare domain, staff only); prices are replaced, never edited,
every change carries a reason, and saved plans are mirrored to Stripe through the real SDK."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from billing.models import BillingAuditEntry, Plan, PlanPrice, StripeEvent, Subscription
from conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Any:
    user = make_user("billing-ops@platform.example")
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def console(operator: Any) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    return client


def plan_post(
    plan: Plan,
    *,
    reason: str = "2027 price list",
    new: tuple[dict[str, Any], ...] = (),
    archive: tuple[int, ...] = (),
    **fields: Any,
) -> dict[str, Any]:
    """The change form as the browser posts it: plan fields, current prices, new prices, archived prices."""
    current = (
        list(plan.prices.filter(archived_at__isnull=True).order_by("kind", "currency", "period")) if plan.pk else []
    )
    archived = list(plan.prices.filter(archived_at__isnull=False)) if plan.pk else []
    data: dict[str, Any] = {
        "code": plan.code,
        "name": plan.name,
        "description": plan.description,
        "sort_order": plan.sort_order,
        "is_public": "on" if plan.is_public else "",
        "is_default": "on" if plan.is_default else "",
        "archived": "on" if plan.archived else "",
        "trial_days": plan.trial_days,
        "included_seats": plan.included_seats,
        "max_members": plan.max_members or "",
        "max_records": plan.max_records or "",
        "max_storage_mb": plan.max_storage_mb or "",
        "max_api_requests_per_day": plan.max_api_requests_per_day or "",
        "features": '["crm"]',
        "reason": reason,
        "prices-TOTAL_FORMS": len(current),
        "prices-INITIAL_FORMS": len(current),
        "prices-2-TOTAL_FORMS": len(new),
        "prices-2-INITIAL_FORMS": 0,
        "prices-3-TOTAL_FORMS": len(archived),
        "prices-3-INITIAL_FORMS": len(archived),
    }
    data = {k: v for k, v in data.items() if v != ""}
    for i, price in enumerate(current):
        data[f"prices-{i}-id"] = price.pk
        data[f"prices-{i}-plan"] = plan.pk
        if price.pk in archive:
            data[f"prices-{i}-DELETE"] = "on"
    for i, row in enumerate(new):
        for key, value in row.items():
            data[f"prices-2-{i}-{key}"] = value
    for i, price in enumerate(archived):
        data[f"prices-3-{i}-id"] = price.pk
        data[f"prices-3-{i}-plan"] = plan.pk
    data.update(fields)
    return data


def test_a_new_amount_archives_the_old_price_and_creates_a_new_stripe_price(
    console, operator, stripe_server, django_capture_on_commit_callbacks
):
    plan = Plan.objects.get(code="starter")
    old = plan.prices.get(kind="base", currency="usd", period="month", archived_at__isnull=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(
            f"/admin/billing/plan/{plan.pk}/change/",
            plan_post(plan, new=({"kind": "base", "currency": "usd", "period": "month", "amount": 1900},)),
        )

    assert response.status_code == 302, response.context["errors"] if response.context else response
    old.refresh_from_db()
    new = plan.prices.get(kind="base", currency="usd", period="month", archived_at__isnull=True)
    assert (old.archived_at is not None, new.amount, old.amount) == (True, 1900, 1500)
    created = [c.params for c in stripe_server.calls("POST", "/v1/prices")]
    assert {"currency": "usd", "unit_amount": "1900"}.items() <= next(
        p for p in created if p["unit_amount"] == "1900"
    ).items()
    assert len(created) == 8  # first mirror of Starter: its 7 other current prices and the new one
    assert new.stripe_price_id and new.stripe_active
    entry = BillingAuditEntry.objects.get(action="price_changed")
    assert (entry.operator_id, entry.reason, entry.details["old"], entry.details["new"]) == (
        operator.pk,
        "2027 price list",
        1500,
        1900,
    )
    assert BillingAuditEntry.objects.filter(action="plan_changed", plan=plan, operator=operator).exists()
    assert BillingAuditEntry.objects.filter(action="plan_mirrored", plan=plan).exists()


def test_without_a_stripe_key_the_plan_is_saved_and_the_operator_is_told(
    console, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_SECRET_KEY = ""
    plan = Plan.objects.get(code="business")

    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(
            f"/admin/billing/plan/{plan.pk}/change/", plan_post(plan, name="Business Plus"), follow=True
        )

    assert Plan.objects.get(pk=plan.pk).name == "Business Plus"
    assert "Stripe is not configured: the plan was saved here only, not mirrored." in [
        str(m) for m in response.context["messages"]
    ]


def test_a_change_without_a_reason_is_refused_and_changes_nothing(console, stripe_server):
    plan = Plan.objects.get(code="business")

    response = console.post(f"/admin/billing/plan/{plan.pk}/change/", plan_post(plan, reason="", name="Renamed"))

    assert response.status_code == 200
    assert "reason" in response.context["adminform"].form.errors
    assert Plan.objects.get(pk=plan.pk).name == "Business"
    assert stripe_server.requests == []


def test_ticking_delete_archives_a_price_instead_of_deleting_it(console, settings, django_capture_on_commit_callbacks):
    settings.STRIPE_SECRET_KEY = ""
    plan = Plan.objects.get(code="business")
    eur = plan.prices.get(kind="base", currency="eur", period="year")

    with django_capture_on_commit_callbacks(execute=True):
        console.post(f"/admin/billing/plan/{plan.pk}/change/", plan_post(plan, archive=(eur.pk,)))

    eur.refresh_from_db()
    assert eur.archived_at is not None
    assert not plan.prices.filter(currency="eur", period="year", kind="base", archived_at__isnull=True).exists()


def test_making_another_plan_the_default_moves_the_default(console, settings, django_capture_on_commit_callbacks):
    settings.STRIPE_SECRET_KEY = ""
    plan = Plan.objects.get(code="business")

    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(f"/admin/billing/plan/{plan.pk}/change/", plan_post(plan, is_default="on"))

    assert response.status_code == 302
    assert list(Plan.objects.filter(is_default=True).values_list("code", flat=True)) == ["business"]


def test_an_operator_creates_a_plan_with_prices(console, stripe_server, django_capture_on_commit_callbacks):
    data = plan_post(
        Plan(code="team", name="Team", trial_days=7, included_seats=5),
        new=(
            {"kind": "base", "currency": "usd", "period": "month", "amount": 2900},
            {"kind": "seat", "currency": "usd", "period": "month", "amount": 600},
        ),
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = console.post("/admin/billing/plan/add/", data)

    assert response.status_code == 302
    plan = Plan.objects.get(code="team")
    assert sorted(plan.prices.values_list("kind", "amount")) == [("base", 2900), ("seat", 600)]
    assert [c.params["name"] for c in stripe_server.calls("POST", "/v1/products")] == ["Team"]
    assert len(stripe_server.calls("POST", "/v1/prices")) == 2
    assert BillingAuditEntry.objects.filter(action="plan_created", plan=plan).exists()


def test_plans_cannot_be_deleted_only_archived(console):
    plan = Plan.objects.get(code="business")

    assert console.post(f"/admin/billing/plan/{plan.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Plan.objects.filter(pk=plan.pk).exists()


def test_the_read_only_billing_lists_open_for_operators(console):
    for path in ("subscription", "invoice", "stripeevent", "billingauditentry", "plan"):
        assert console.get(f"/admin/billing/{path}/").status_code == 200


def test_an_operator_can_process_a_failed_event_again(console, settings):
    StripeEvent.objects.create(id="evt_stuck", type="invoice.created", payload={"data": {"object": {}}}, created=1)

    console.post("/admin/billing/stripeevent/", {"action": "process_again", "_selected_action": ["evt_stuck"]})

    assert StripeEvent.objects.get(pk="evt_stuck").processed_at is not None


def test_people_who_are_not_operators_cannot_open_the_billing_console(tenant_a, admin_of):
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin_of(tenant_a).user)

    assert client.get("/admin/billing/plan/").status_code == 302
    assert PlanPrice.objects.filter(archived_at__isnull=False).count() == 0


def test_a_price_subscribers_are_on_can_be_archived_and_they_keep_it(console, settings, tenant_a):
    settings.STRIPE_SECRET_KEY = ""
    plan = Plan.objects.get(code="starter")
    price = plan.prices.get(kind="base", currency="usd", period="month")
    Subscription.objects.filter(tenant=tenant_a).update(price=price)

    response = console.post(f"/admin/billing/plan/{plan.pk}/change/", plan_post(plan, archive=(price.pk,)))

    assert response.status_code == 302
    price.refresh_from_db()
    assert price.archived_at is not None
    assert Subscription.objects.get(tenant=tenant_a).price_id == price.pk


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ("5", "Enter a list of feature codes"),
        ('"api"', "Enter a list of feature codes"),
        ('{"api": true}', "Enter a list of feature codes"),
        ('["crm", 3]', "Enter a list of feature codes"),
        ('["crm", "API"]', "Unknown feature code: API"),
    ],
)
def test_features_that_are_not_a_list_of_known_codes_are_refused(console, settings, features, message, tenant_a):
    # Given a plan tenants are on
    settings.STRIPE_SECRET_KEY = ""
    plan = Plan.objects.get(code="starter")
    before = list(plan.features)

    # When an operator saves features that are not a list of known feature codes
    response = console.post(f"/admin/billing/plan/{plan.pk}/change/", plan_post(plan, features=features))

    # Then the form says so and the plan keeps its features
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert any(message in str(e) for e in errors.get("features", [])), errors
    plan.refresh_from_db()
    assert plan.features == before
