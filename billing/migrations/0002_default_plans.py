"""Default plans (so the pricing page is never empty) and a trial for every tenant that predates billing.

Operators edit the plans afterwards in the operator console; this runs once.
"""

from datetime import timedelta

from django.db import migrations
from django.db.models import Count, Q
from django.utils import timezone

MB_PER_GB = 1024
PLANS = [
    {
        "code": "starter",
        "name": "Starter",
        "description": "For small teams getting organised: every CRM module, the API and email support.",
        "trial_days": 14,
        "included_seats": 3,
        "max_members": 10,
        "max_records": 50_000,
        "max_storage_mb": 5 * MB_PER_GB,
        "max_api_requests_per_day": 10_000,
        "features": ["crm", "api"],
        "is_default": True,
        "sort_order": 10,
        # kind, currency, period, amount in minor units
        "prices": [
            ("base", "usd", "month", 1500),
            ("base", "usd", "year", 15000),
            ("seat", "usd", "month", 500),
            ("seat", "usd", "year", 5000),
            ("base", "eur", "month", 1400),
            ("base", "eur", "year", 14000),
            ("seat", "eur", "month", 500),
            ("seat", "eur", "year", 5000),
        ],
    },
    {
        "code": "business",
        "name": "Business",
        "description": "For growing sales teams: roles, sharing rules, the audit trail and priority support.",
        "trial_days": 14,
        "included_seats": 10,
        "max_members": 100,
        "max_records": 1_000_000,
        "max_storage_mb": 100 * MB_PER_GB,
        "max_api_requests_per_day": 100_000,
        "features": ["crm", "api", "access_control", "audit"],
        "is_default": False,
        "sort_order": 20,
        "prices": [
            ("base", "usd", "month", 4900),
            ("base", "usd", "year", 49000),
            ("seat", "usd", "month", 900),
            ("seat", "usd", "year", 9000),
            ("base", "eur", "month", 4500),
            ("base", "eur", "year", 45000),
            ("seat", "eur", "month", 800),
            ("seat", "eur", "year", 8000),
        ],
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "description": "Negotiated terms for large organisations; assigned by operators, not on the pricing page.",
        "trial_days": 30,
        "included_seats": 50,
        "max_members": None,
        "max_records": None,
        "max_storage_mb": None,
        "max_api_requests_per_day": None,
        "features": ["crm", "api", "access_control", "audit", "sso"],
        "is_default": False,
        "is_public": False,
        "sort_order": 30,
        "prices": [
            ("base", "usd", "month", 49900),
            ("base", "usd", "year", 499000),
            ("seat", "usd", "month", 800),
            ("seat", "usd", "year", 8000),
        ],
    },
]


def create_default_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    PlanPrice = apps.get_model("billing", "PlanPrice")
    Subscription = apps.get_model("billing", "Subscription")
    Tenant = apps.get_model("tenants", "Tenant")

    default = None
    for data in PLANS:
        data = dict(data)
        prices = data.pop("prices")
        plan, created = Plan.objects.get_or_create(code=data["code"], defaults=data)
        if created:
            for kind, currency, period, amount in prices:
                PlanPrice.objects.create(plan=plan, kind=kind, currency=currency, period=period, amount=amount)
        if plan.is_default:
            default = plan
    if default is None:
        return
    now = timezone.now()
    tenants = Tenant.objects.exclude(schema_name="public").annotate(
        active_members=Count("memberships", filter=Q(memberships__is_active=True))
    )
    for tenant in tenants:
        if Subscription.objects.filter(tenant=tenant).exists():
            continue
        Subscription.objects.create(
            tenant=tenant,
            plan=default,
            status="trialing",
            trial_end=now + timedelta(days=default.trial_days),
            seats=max(tenant.active_members, 1),
        )
        Tenant.objects.filter(pk=tenant.pk).update(plan_code=default.code)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_default_plans, migrations.RunPython.noop)]
