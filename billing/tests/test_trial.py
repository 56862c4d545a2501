"""Signup starts a trial on the default plan, without a card and without calling Stripe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Plan, Subscription
from billing.services import subscription_ensure
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

SIGNUP = {
    "organization": "Trial Co",
    "subdomain": "trial-co",
    "name": "Tess Trial",
    "email": "tess@example.com",
    "password": "analytical-engine-1843",
}


def test_signup_starts_a_trial_on_the_default_plan_without_stripe(public_client, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_unreachable"  # a call would fail: none must be made
    before = timezone.now()

    response = public_client.post("/api/v1/signup", SIGNUP, content_type="application/json")

    assert response.status_code == 201
    tenant = Tenant.objects.get(schema_name="trial-co")
    sub = Subscription.objects.select_related("plan").get(tenant=tenant)
    starter = Plan.objects.get(code="starter")
    assert (sub.plan, sub.status, sub.seats, sub.stripe_customer_id, sub.stripe_subscription_id) == (
        starter,
        "trialing",
        1,
        "",
        "",
    )
    assert sub.trial_end is not None
    assert before + timedelta(days=starter.trial_days) <= sub.trial_end <= timezone.now() + timedelta(days=14)
    assert tenant.plan_code == "starter"


def test_the_shared_test_tenants_got_their_trial_when_provisioned(tenant_a, tenant_b):
    assert set(Subscription.objects.filter(tenant__in=[tenant_a, tenant_b]).values_list("status", flat=True)) == {
        "trialing"
    }


def test_a_workspace_without_a_subscription_gets_its_trial_when_billing_first_looks(tenant_a):
    Subscription.objects.filter(tenant=tenant_a).delete()

    sub = subscription_ensure(tenant=tenant_a)

    assert sub is not None
    assert (sub.status, sub.plan.code) == ("trialing", "starter")
    assert subscription_ensure(tenant=tenant_a) == sub


def test_without_a_default_plan_signup_still_works(public_client):
    Plan.objects.update(is_default=False)

    response = public_client.post("/api/v1/signup", SIGNUP, content_type="application/json")

    assert response.status_code == 201
    assert not Subscription.objects.filter(tenant__schema_name="trial-co").exists()
