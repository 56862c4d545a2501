"""The operators' billing overview (MRR per currency, tenants by status and stage) and their actions on
a subscription (extend a trial, grant a complimentary plan, force a state): each needs a reason, lands
in the billing audit trail with the operator and in the subscription's history; bad input and people
who are not operators change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from billing.models import BillingAuditEntry, Plan, PlanPrice, Subscription, SubscriptionChange
from billing.selectors import billing_overview
from conftest import make_user
from tenants.models import Tenant, TenantStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Any:
    user = make_user("ops-subscriptions@platform.example")
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def console(operator: Any) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    return client


def price(code: str, kind: str, currency: str, period: str) -> PlanPrice:
    return PlanPrice.objects.get(plan__code=code, kind=kind, currency=currency, period=period, archived_at__isnull=True)


def act(console: Client, tenant: Tenant, action: str, **data: Any) -> Any:
    sub = Subscription.objects.get(tenant=tenant)
    return console.post(f"/admin/billing/subscription/{sub.pk}/act/{action}/", data)


# Overview ----------------------------------------------------------------------------------------------


def test_mrr_is_per_currency_with_yearly_prices_as_monthly_and_extra_seats(tenant_a, tenant_b):
    Subscription.objects.exclude(tenant__in=[tenant_a, tenant_b]).delete()
    # Alpha: Starter monthly USD 15.00 + 2 extra seats at 5.00 (3 included, 5 seats) = 25.00
    Subscription.objects.filter(tenant=tenant_a).update(
        status="active",
        price=price("starter", "base", "usd", "month"),
        seat_price=price("starter", "seat", "usd", "month"),
        seats=5,
    )
    # Beta: Business yearly EUR 450.00 -> 37.50 a month, past due still counts.
    Subscription.objects.filter(tenant=tenant_b).update(
        status="past_due", plan=Plan.objects.get(code="business"), price=price("business", "base", "eur", "year")
    )

    overview = billing_overview()

    assert overview.mrr == [("eur", 3750), ("usd", 2500)]
    assert overview.paying == 2
    assert (overview.counts["active"], overview.counts["past_due"], overview.counts["trialing"]) == (1, 1, 0)


def test_trials_complimentary_and_canceled_subscriptions_are_not_revenue(tenant_a, tenant_b):
    Subscription.objects.exclude(tenant__in=[tenant_a, tenant_b]).delete()
    Subscription.objects.filter(tenant=tenant_a).update(
        status="active", complimentary=True, price=price("starter", "base", "usd", "month")
    )
    Subscription.objects.filter(tenant=tenant_b).update(
        status="canceled", price=price("starter", "base", "usd", "month")
    )

    overview = billing_overview()

    assert overview.mrr == []
    assert (overview.complimentary, overview.counts["canceled"]) == (1, 1)


def test_the_overview_page_shows_mrr_counts_and_recent_changes(console, tenant_a):
    Subscription.objects.filter(tenant=tenant_a).update(status="active", price=price("starter", "base", "usd", "month"))

    response = console.get("/admin/billing/subscription/overview/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-mrr="usd">15.00 USD' in html
    assert 'data-count="active"' in html and "Monthly recurring revenue" in html
    assert (
        'href="/admin/billing/subscription/overview/"' in console.get("/admin/billing/subscription/").content.decode()
    )


# Actions -----------------------------------------------------------------------------------------------


def test_extending_a_trial_is_audited_with_the_operator_and_the_reason(console, operator, tenant_a):
    end = Subscription.objects.get(tenant=tenant_a).trial_end
    assert end is not None

    response = act(console, tenant_a, "extend-trial", days=10, reason="Evaluation needs another sprint")

    sub = Subscription.objects.get(tenant=tenant_a)
    assert response.status_code == 302
    assert sub.trial_end == end + timedelta(days=10)
    entry = BillingAuditEntry.objects.get(action="trial_extended")
    assert (entry.operator, entry.operator_label, entry.tenant, entry.reason) == (
        operator,
        operator.email,
        tenant_a,
        "Evaluation needs another sprint",
    )
    assert entry.details["days"] == 10
    change = SubscriptionChange.objects.filter(subscription=sub).latest("id")
    assert (change.source, change.operator_label, change.note) == (
        "operator",
        operator.email,
        "Evaluation needs another sprint",
    )
    page = console.get(f"/admin/billing/subscription/{sub.pk}/change/").content.decode()
    assert "Evaluation needs another sprint" in page and "Extend the trial" in page


def test_extending_an_ended_trial_lifts_the_dunning_at_once(console, tenant_a, django_capture_on_commit_callbacks):
    from billing.dunning import dunning_run

    Subscription.objects.filter(tenant=tenant_a).update(trial_end=timezone.now() - timedelta(days=20))
    with django_capture_on_commit_callbacks(execute=True):
        dunning_run(now=timezone.now())
    assert Tenant.objects.get(pk=tenant_a.pk).status == TenantStatus.READ_ONLY

    act(console, tenant_a, "extend-trial", days=7, reason="Goodwill")

    sub = Subscription.objects.get(tenant=tenant_a)
    tenant = Tenant.objects.get(pk=tenant_a.pk)
    assert (sub.status, sub.past_due_since) == ("trialing", None)
    assert (tenant.status, tenant.billing_stage) == (TenantStatus.ACTIVE, "")
    assert sub.trial_end is not None
    assert timezone.now() + timedelta(days=6) < sub.trial_end <= timezone.now() + timedelta(days=7)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"days": -3, "reason": "Oops"}, "days"),
        ({"days": 0, "reason": "Oops"}, "days"),
        ({"days": 9999, "reason": "Oops"}, "days"),
        ({"days": "ten", "reason": "Oops"}, "days"),
        ({"days": 5, "reason": ""}, "reason"),
        ({"days": 5, "reason": "   "}, "reason"),
    ],
)
def test_bad_input_to_extend_a_trial_is_a_form_error_and_changes_nothing(console, tenant_a, data, field):
    before = Subscription.objects.get(tenant=tenant_a).trial_end

    response = act(console, tenant_a, "extend-trial", **data)

    assert response.status_code == 200
    assert response.context["form"].errors.get(field)
    assert Subscription.objects.get(tenant=tenant_a).trial_end == before
    assert not BillingAuditEntry.objects.exists()


def test_the_service_refuses_negative_days_too(operator, tenant_a):
    from django.core.exceptions import ValidationError

    from billing.services import subscription_extend_trial

    with pytest.raises(ValidationError) as refused:
        subscription_extend_trial(operator=operator, tenant=tenant_a, days=-1, reason="Because")

    assert "days" in refused.value.message_dict


def test_a_paid_stripe_subscription_cannot_be_extended_or_granted(console, tenant_a):
    Subscription.objects.filter(tenant=tenant_a).update(status="active", stripe_subscription_id="sub_live_alpha")

    extend = act(console, tenant_a, "extend-trial", days=5, reason="Try")
    grant = act(console, tenant_a, "grant", plan=Plan.objects.get(code="business").pk, reason="Try")

    assert "pays through Stripe" in extend.content.decode()
    assert "pays through Stripe" in grant.content.decode()
    assert Subscription.objects.get(tenant=tenant_a).plan.code == "starter"
    assert not BillingAuditEntry.objects.exists()


@pytest.mark.parametrize("action", ["extend-trial", "grant"])
def test_a_stripe_subscription_that_starts_while_the_operator_acts_is_seen_under_the_lock(
    operator, tenant_a, monkeypatch, action
):
    """The checkout webhook links a Stripe subscription between the operator's request reading the row and
    locking it: the check is made on the locked row, so the paid subscription is left alone."""
    from django.core.exceptions import ValidationError

    from billing import lock_objects
    from billing.services import subscription_extend_trial, subscription_grant_complimentary

    trial_end = Subscription.objects.get(tenant=tenant_a).trial_end
    lock = lock_objects.subscription_lock

    def webhook_first(subscription_id: int) -> Subscription:
        Subscription.objects.filter(pk=subscription_id).update(status="active", stripe_subscription_id="sub_new_alpha")
        return lock(subscription_id)

    monkeypatch.setattr(lock_objects, "subscription_lock", webhook_first)

    with pytest.raises(ValidationError) as refused:
        if action == "extend-trial":
            subscription_extend_trial(operator=operator, tenant=tenant_a, days=5, reason="Try")
        else:
            subscription_grant_complimentary(
                operator=operator, tenant=tenant_a, plan=Plan.objects.get(code="business"), reason="Try"
            )

    assert "pays through Stripe" in refused.value.messages[0]
    sub = Subscription.objects.get(tenant=tenant_a)  # (the stand-in webhook's write is rolled back with it)
    assert (sub.plan.code, sub.complimentary, sub.trial_end) == ("starter", False, trial_end)
    assert not BillingAuditEntry.objects.exists()
    assert not SubscriptionChange.objects.filter(subscription=sub, source="operator").exists()


def test_granting_a_complimentary_plan_moves_the_tenant_and_stops_dunning(console, operator, tenant_a):
    Subscription.objects.filter(tenant=tenant_a).update(status="past_due", past_due_since=timezone.now())
    Tenant.objects.filter(pk=tenant_a.pk).update(billing_stage="past_due")

    response = act(console, tenant_a, "grant", plan=Plan.objects.get(code="enterprise").pk, reason="Partner programme")

    sub = Subscription.objects.get(tenant=tenant_a)
    tenant = Tenant.objects.get(pk=tenant_a.pk)
    assert response.status_code == 302
    assert (sub.plan.code, sub.status, sub.complimentary, sub.past_due_since) == ("enterprise", "active", True, None)
    assert (tenant.plan_code, tenant.billing_stage) == ("enterprise", "")
    entry = BillingAuditEntry.objects.get(action="complimentary_granted")
    assert (entry.operator, entry.reason, entry.details["plan"]) == (operator, "Partner programme", "enterprise")


def test_forcing_a_state_is_recorded_and_follows_with_the_workspace(console, operator, tenant_a, tenant_b):
    response = act(console, tenant_a, "force-state", status="canceled", reason="Fraudulent signup")

    assert response.status_code == 302
    assert Subscription.objects.get(tenant=tenant_a).status == "canceled"
    assert Tenant.objects.get(pk=tenant_a.pk).status == TenantStatus.READ_ONLY
    assert Tenant.objects.get(pk=tenant_b.pk).status == TenantStatus.ACTIVE
    entry = BillingAuditEntry.objects.get(action="state_forced")
    assert (entry.operator, entry.reason, entry.details["before"]["status"], entry.details["after"]["status"]) == (
        operator,
        "Fraudulent signup",
        "trialing",
        "canceled",
    )

    act(console, tenant_a, "force-state", status="active", reason="Cleared by support")
    assert Tenant.objects.get(pk=tenant_a.pk).status == TenantStatus.ACTIVE


def test_forcing_an_unknown_state_is_refused(console, tenant_a):
    response = act(console, tenant_a, "force-state", status="deleted", reason="No")

    assert response.status_code == 200 and response.context["form"].errors["status"]
    assert Subscription.objects.get(tenant=tenant_a).status == "trialing"


def test_people_who_are_not_operators_cannot_act(tenant_a, admin_of):
    sub = Subscription.objects.get(tenant=tenant_a)
    tenant_admin = Client(HTTP_HOST="localhost")
    tenant_admin.force_login(admin_of(tenant_a).user)
    staff = make_user("staff-without-billing@platform.example")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    limited = Client(HTTP_HOST="localhost")
    limited.force_login(staff)
    url = f"/admin/billing/subscription/{sub.pk}/act/extend-trial/"

    assert tenant_admin.post(url, {"days": 30, "reason": "Me"}).status_code == 302  # to the admin login
    assert tenant_admin.get("/admin/billing/subscription/overview/").status_code == 302
    assert limited.post(url, {"days": 30, "reason": "Me"}).status_code == 403
    assert limited.get("/admin/billing/subscription/overview/").status_code == 200
    assert Subscription.objects.get(tenant=tenant_a).trial_end == sub.trial_end
    assert not BillingAuditEntry.objects.exists()


def test_an_unknown_action_is_a_404(console, tenant_a):
    assert act(console, tenant_a, "delete-everything", reason="No").status_code == 404
