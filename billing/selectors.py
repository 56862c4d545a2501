"""Reads of billing: the public price list, a tenant's subscription, usage and invoices."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Model, Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from billing.models import (
    Invoice,
    Period,
    Plan,
    PlanPrice,
    PriceKind,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)
from tenants.models import BillingStage, Tenant, WorkspaceMembership

INVOICES_SHOWN = 24
# Tables bigger than this (by the planner's statistics) are not counted exactly on the billing page.
EXACT_COUNT_LIMIT = 100_000
STORAGE_WALK_LIMIT = 200_000  # files; beyond that the figure is a lower bound


def _current_prices() -> Any:
    return Prefetch(
        "prices", queryset=PlanPrice.objects.filter(archived_at__isnull=True).order_by("kind", "currency", "period")
    )


def plan_list_public() -> QuerySet[Plan]:
    """Plans on the pricing page: public and not archived, with their current prices."""
    return Plan.objects.filter(is_public=True, archived=False).prefetch_related(_current_prices())


def plan_list_choosable(*, current: Plan | None) -> list[Plan]:
    """What a tenant admin may choose: the public plans, plus the plan the tenant is on (even hidden or archived)."""
    plans = list(plan_list_public())
    if current is not None and all(p.pk != current.pk for p in plans):
        plans.append(Plan.objects.prefetch_related(_current_prices()).get(pk=current.pk))
    return plans


@dataclass(frozen=True)
class PlanOffer:
    plan: Plan
    month: PlanPrice | None
    year: PlanPrice | None
    seat_month: PlanPrice | None
    seat_year: PlanPrice | None


def plan_offers(*, plans: list[Plan], currency: str) -> list[PlanOffer]:
    """Each plan with its prices in one currency (plans without any price in it are left out)."""
    offers = []
    for plan in plans:
        prices = {(p.kind, p.period): p for p in plan.prices.all() if p.currency == currency}
        if not prices:
            continue
        offers.append(
            PlanOffer(
                plan=plan,
                month=prices.get((PriceKind.BASE, "month")),
                year=prices.get((PriceKind.BASE, "year")),
                seat_month=prices.get((PriceKind.SEAT, "month")),
                seat_year=prices.get((PriceKind.SEAT, "year")),
            )
        )
    return offers


@dataclass(frozen=True)
class ComparisonRow:
    label: str
    cells: list[str | bool]  # one per offer: a text, or whether the plan includes the feature
    help: str = ""


def storage_gb(megabytes: int | None) -> str:
    """File storage as people read it: "5 GB", "0.5 GB"; "" when unlimited."""
    if megabytes is None:
        return ""
    return f"{Decimal(megabytes) / 1024:.1f}".removesuffix(".0") + " GB"


def plan_comparison(*, offers: list[PlanOffer]) -> list[ComparisonRow]:
    """The pricing page's table: limits, then every known feature, read from the plans' data."""
    from django.utils.formats import number_format

    from billing.entitlements import FEATURE_NAMES, KNOWN_FEATURES

    unlimited = str(_("Unlimited"))

    def limit(value: int | None) -> str:
        return unlimited if value is None else number_format(value, force_grouping=True)

    plans = [offer.plan for offer in offers]
    names = {
        "crm": _("Every CRM module: leads, contacts, organisations, deals, campaigns, vendors"),
        "sso": _("Single sign-on"),
        **{code: make() for code, make in FEATURE_NAMES.items()},
    }
    rows = [
        ComparisonRow(
            str(_("Seats included")),
            [number_format(p.included_seats, force_grouping=True) for p in plans],
            str(_("Each active member takes a seat; seats beyond those included are billed per month.")),
        ),
        ComparisonRow(
            str(_("Members")),
            [limit(p.max_members) for p in plans],
            str(_("How many people can be active members at once.")),
        ),
        ComparisonRow(str(_("Records")), [limit(p.max_records) for p in plans]),
        ComparisonRow(str(_("File storage")), [storage_gb(p.max_storage_mb) or unlimited for p in plans]),
        ComparisonRow(str(_("API requests a day")), [limit(p.max_api_requests_per_day) for p in plans]),
        ComparisonRow(
            str(_("Free trial")),
            [str(_("%(days)d days") % {"days": p.trial_days}) if p.trial_days else "—" for p in plans],
        ),
    ]
    rows += [ComparisonRow(str(names.get(code, code)), [code in p.features for p in plans]) for code in KNOWN_FEATURES]
    return rows


def currencies_of(plans: list[Plan]) -> list[str]:
    found = {p.currency for plan in plans for p in plan.prices.all()}
    default = settings.BILLING_DEFAULT_CURRENCY
    return sorted(found, key=lambda c: (c != default, c))


def subscription_get(*, tenant: Tenant) -> Subscription | None:
    """The tenant's own subscription (never another tenant's: always looked up by the tenant)."""
    return Subscription.objects.select_related("plan", "price", "seat_price").filter(tenant=tenant).first()


def invoice_list(*, tenant: Tenant) -> list[Invoice]:
    return list(Invoice.objects.filter(tenant=tenant).exclude(status="draft")[:INVOICES_SHOWN])


@dataclass(frozen=True)
class Usage:
    label: str
    used: int | None  # None: not measured
    limit: int | None  # None: no limit
    unit: str = ""

    @property
    def percent(self) -> int | None:
        if self.used is None or not self.limit:
            return None
        return min(100, round(self.used * 100 / self.limit))

    @property
    def over(self) -> bool:
        return self.used is not None and self.limit is not None and self.used > self.limit


def active_member_count(*, tenant: Tenant | int) -> int:
    """From the public workspace directory (kept in step with each tenant's members); a Tenant or its id."""
    return WorkspaceMembership.objects.filter(tenant=tenant, is_active=True).count()


# The CRM's record models, in the current schema. Billing sits below the engine (docs/adr/0017), so the
# engine registers this in its AppConfig.ready() instead of billing importing the module registry.
_record_models: Callable[[], Iterable[type[Model]]] = tuple


def record_models_register(provider: Callable[[], Iterable[type[Model]]]) -> None:
    """Tell billing where the record models come from (the engine's registry); called once at start-up."""
    global _record_models  # set once at start-up, like a registry
    _record_models = provider


def record_count(schema: str) -> int:
    """Live CRM records of every module; big tables by the planner's estimate instead of counting."""
    total = 0
    with schema_context(schema):
        for model in _record_models():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relname = %s",
                    [schema, model._meta.db_table],
                )
                row = cursor.fetchone()
            estimate = int(row[0]) if row else -1
            if estimate > EXACT_COUNT_LIMIT:
                total += estimate
            else:
                total += model._base_manager.filter(deleted_at__isnull=True).count()
    return total


def storage_bytes(schema: str) -> int:
    """Bytes of uploaded files of the tenant (its folder under MEDIA_ROOT)."""
    root = Path(settings.MEDIA_ROOT) / schema
    total = seen = 0
    stack = [root]
    while stack and seen < STORAGE_WALK_LIMIT:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    return total


def _storage_mb(schema: str) -> int:
    """Megabytes of uploaded files of the tenant, rounded up."""
    return -(-storage_bytes(schema) // (1024 * 1024))


def _api_requests_today(schema: str) -> int:
    from billing.entitlements import api_requests_today

    with schema_context(schema):  # the counter's key carries the tenant's schema
        return api_requests_today()


def usage_list(*, tenant: Tenant, plan: Plan) -> list[Usage]:
    """Usage of the tenant against each limit of its plan."""
    return [
        Usage(str(_("Members")), active_member_count(tenant=tenant), plan.max_members),
        Usage(str(_("Records")), record_count(tenant.schema_name), plan.max_records),
        Usage(str(_("File storage")), _storage_mb(tenant.schema_name), plan.max_storage_mb, "MB"),
        Usage(str(_("API requests today")), _api_requests_today(tenant.schema_name), plan.max_api_requests_per_day),
    ]


# The operators' overview ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    mrr: list[tuple[str, int]]  # (currency, monthly recurring revenue in minor units), largest first
    counts: dict[str, int]  # subscription status -> tenants
    complimentary: int
    stages: dict[str, int]  # dunning stage -> tenants
    paying: int


def _monthly(amount: Decimal, period: str) -> Decimal:
    return amount / 12 if period == Period.YEAR else amount


def billing_overview() -> Overview:
    """MRR per currency (yearly prices divided by 12; extra seats included; active and past-due paid
    subscriptions, not trials, complimentary or canceled ones) and tenants by status and dunning stage."""
    counts = {status: 0 for status in SubscriptionStatus.values}
    for status, n in (
        Subscription.objects.exclude(tenant__is_sandbox=True).values_list("status").annotate(n=Count("pk")).order_by()
    ):
        counts[status] = n
    stages = {stage: 0 for stage in BillingStage.values}
    for stage, n in (
        Tenant.objects.exclude(billing_stage="")
        .exclude(is_sandbox=True)
        .values_list("billing_stage")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        stages[stage] = n
    mrr: dict[str, Decimal] = {}
    paying = 0
    subs = (
        Subscription.objects.filter(
            status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE],
            complimentary=False,
            price__isnull=False,
        )
        .exclude(tenant__is_sandbox=True)
        .select_related("price", "seat_price", "plan")
    )
    for sub in subs.iterator(chunk_size=2000):
        price = sub.price
        assert price is not None
        amount = _monthly(Decimal(price.amount), price.period)
        extra = max(0, sub.seats - sub.plan.included_seats)
        if sub.seat_price is not None and extra:
            amount += _monthly(Decimal(sub.seat_price.amount * extra), sub.seat_price.period)
        mrr[price.currency] = mrr.get(price.currency, Decimal(0)) + amount
        paying += 1
    rounded = sorted(
        ((currency, int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))) for currency, total in mrr.items()),
        key=lambda item: (-item[1], item[0]),
    )
    return Overview(
        mrr=rounded,
        counts=counts,
        complimentary=Subscription.objects.filter(complimentary=True).count(),
        stages=stages,
        paying=paying,
    )


def subscription_history(*, subscription: Subscription, limit: int = 200) -> list[SubscriptionChange]:
    return list(SubscriptionChange.objects.filter(subscription=subscription).order_by("-at", "-id")[:limit])
