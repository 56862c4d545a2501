"""The billing tables: default plans exist, one current price per plan/kind/currency/period."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import Plan, PlanPrice

pytestmark = pytest.mark.django_db


def test_default_plans_are_installed_with_exactly_one_default():
    assert list(Plan.objects.filter(archived=False, is_public=True).values_list("code", flat=True)) == [
        "starter",
        "business",
    ]
    assert list(Plan.objects.filter(is_default=True).values_list("code", flat=True)) == ["starter"]


def test_a_second_current_price_for_the_same_slot_is_refused_but_an_archived_one_is_kept():
    plan = Plan.objects.get(code="starter")
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanPrice.objects.create(plan=plan, kind="base", currency="usd", period="month", amount=1700)

    PlanPrice.objects.filter(plan=plan, kind="base", currency="usd", period="month").update(archived_at=timezone.now())
    PlanPrice.objects.create(plan=plan, kind="base", currency="usd", period="month", amount=1700)

    assert PlanPrice.objects.filter(plan=plan, kind="base", currency="usd", period="month").count() == 2


def test_a_currency_must_be_a_lower_case_iso_code():
    plan = Plan.objects.get(code="business")
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanPrice.objects.create(plan=plan, kind="base", currency="USD", period="month", amount=1)
