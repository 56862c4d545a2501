"""Document numbers: QUO/SO/PO/INV, editable prefixes, unique and gap-free under concurrency."""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django_tenants.utils import tenant_context

from crm_apps.inventory.tests.conftest import post


@pytest.mark.django_db
def test_prefixes_and_editable_prefix(api, catalogue, tenant_a, admin_of):
    from crm_apps.engine import registry
    from crm_apps.engine.services import numbering_update

    assert post(api, "/api/v1/invoices/", {"subject": "A"}).json()["number"] == "INV1"
    with tenant_context(tenant_a):
        numbering_update(actor=admin_of(tenant_a), spec=registry.get("invoices"), prefix="RE-2026-", next_number=100)
    assert post(api, "/api/v1/invoices/", {"subject": "B"}).json()["number"] == "RE-2026-100"


def test_invoice_numbers_are_gap_free_under_concurrency(committed):
    from conftest import make_user
    from crm_apps.access.models import Member
    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create
    from tenants.services import tenant_provision

    admin = make_user(committed.email())
    tenant = tenant_provision(slug=committed.slug("inv"), name="Invoices", admin=admin)
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
    spec = registry.get("invoices")
    numbers: list[str] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(4)

    def create_many(worker: int) -> None:
        with tenant_context(tenant):
            barrier.wait()
            try:
                for i in range(6):
                    if worker == 0 and i == 3:
                        # A rolled-back create gives its number back: no gap.
                        with contextlib.suppress(ValidationError):
                            record_create(spec=spec, actor=actor, data={"subject": ""}, children={"lines": []})
                    numbers.append(
                        record_create(
                            spec=spec,
                            actor=actor,
                            data={"subject": f"W{worker}-{i}"},
                            children={"lines": [{"description": "x", "quantity": "1", "list_price": "1"}]},
                        ).number
                    )
            except BaseException as exc:
                failures.append(exc)
            finally:
                connections.close_all()

    threads = [threading.Thread(target=create_many, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert sorted(numbers, key=lambda n: int(n[3:])) == [f"INV{i}" for i in range(1, 25)]
