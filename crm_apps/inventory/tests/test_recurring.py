"""Recurring invoices: once per period, also with two schedulers at once and after downtime."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from crm_apps.inventory.tests.conftest import post
from crm_apps.modules.invoices.services import period_starts


def _order(api, **extra):
    response = post(
        api,
        "/api/v1/sales-orders/",
        {
            "subject": "Support",
            "recurring_enabled": True,
            "recurring_frequency": "monthly",
            "recurring_start": "2026-01-31",
            "payment_terms_days": 15,
            "recurring_invoice_status": "Sent",
            "lines": [{"description": "Monthly support", "quantity": "1", "list_price": "300"}],
            **extra,
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_period_starts():
    assert period_starts(frequency="monthly", start=dt.date(2026, 1, 31), end=None, today=dt.date(2026, 4, 30)) == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
    ]
    assert period_starts(
        frequency="weekly", start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 10), today=dt.date(2026, 3, 1)
    ) == [
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 8),
    ]
    assert period_starts(frequency="quarterly", start=dt.date(2026, 1, 1), end=None, today=dt.date(2025, 1, 1)) == []


@pytest.mark.django_db
def test_catch_up_after_downtime_and_no_duplicates(api, catalogue, tenant_a):
    from crm_apps.modules.invoices.models import Invoice
    from crm_apps.modules.invoices.services import recurring_invoices_generate

    order = _order(api)
    with tenant_context(tenant_a):
        assert recurring_invoices_generate(today=dt.date(2026, 1, 31)) == 1
        # The scheduler was down for three months: every missed period is invoiced once.
        assert recurring_invoices_generate(today=dt.date(2026, 4, 30)) == 3
        assert recurring_invoices_generate(today=dt.date(2026, 4, 30)) == 0
        invoices = list(Invoice.objects.filter(sales_order_id=order["id"]).order_by("invoice_date"))
    assert [i.invoice_date for i in invoices] == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
    ]
    assert {i.status for i in invoices} == {"Sent"}
    assert invoices[1].due_date == dt.date(2026, 3, 15)
    assert {str(i.grand_total) for i in invoices} == {"300.00"}
    assert api.get(f"/api/v1/sales-orders/{order['id']}/").json()["last_recurring_date"] == "2026-04-30"


def test_two_schedulers_invoice_each_period_once(committed):
    from conftest import make_user
    from crm_apps.access.models import Member
    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create
    from crm_apps.modules.invoices.models import Invoice, RecurringInvoicePeriod
    from crm_apps.modules.invoices.services import recurring_invoices_generate
    from tenants.services import tenant_provision

    admin = make_user(committed.email())
    tenant = tenant_provision(slug=committed.slug("recur"), name="Recurring", admin=admin)
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
        record_create(
            spec=registry.get("sales-orders"),
            actor=actor,
            data={
                "subject": "Weekly",
                "recurring_enabled": True,
                "recurring_frequency": "weekly",
                "recurring_start": "2026-01-01",
            },
            children={"lines": [{"description": "Cleaning", "quantity": "1", "list_price": "80"}]},
        )
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def scheduler() -> None:
        with tenant_context(tenant):
            barrier.wait()
            try:
                counts.append(recurring_invoices_generate(today=dt.date(2026, 3, 1)))
            finally:
                connections.close_all()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with tenant_context(tenant):
        periods = RecurringInvoicePeriod.objects.count()
        invoices = Invoice.objects.count()
    assert sum(counts) == 9 == periods == invoices  # Jan 1 ... Feb 26: nine weeks
