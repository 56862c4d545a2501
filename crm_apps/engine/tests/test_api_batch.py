"""`POST /api/v1/<module>/batch`: many records in one request, all or none."""

from __future__ import annotations

from django.test import Client
from django_tenants.utils import schema_context

from conftest import host_of
from crm_apps.access.services import api_token_create
from crm_apps.engine import registry


def _api(tenant, member) -> Client:
    with schema_context(tenant.schema_name):
        key = api_token_create(member=member, name="batch")[1]
    return Client(HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Token {key}")


def test_batch_creates_every_record_in_order(tenant_a, member):
    api = _api(tenant_a, member(tenant_a))
    records = [{"last_name": f"Batch {i}", "email": f"batch{i}@example.com"} for i in range(3)]

    response = api.post("/api/v1/contacts/batch", {"records": records}, content_type="application/json")

    assert response.status_code == 201
    results = response.json()["results"]
    assert [r["last_name"] for r in results] == ["Batch 0", "Batch 1", "Batch 2"]
    assert len({r["number"] for r in results}) == 3


def test_one_bad_record_creates_none_and_is_named(tenant_a, member):
    api = _api(tenant_a, member(tenant_a))
    records = [
        {"last_name": "Fine"},
        {"last_name": "Broken", "email": "not-an-email"},
        {"last_name": "Also fine", "unknown": 1},
    ]

    response = api.post("/api/v1/contacts/batch", {"records": records}, content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {"records.1.email", "records.2.unknown"}
    with schema_context(tenant_a.schema_name):
        assert not registry.get("contacts").model.objects.filter(last_name__in=["Fine", "Broken"]).exists()


def test_batch_limits_and_shapes(tenant_a, member):
    api = _api(tenant_a, member(tenant_a))

    too_many = api.post(
        "/api/v1/contacts/batch", {"records": [{"last_name": "x"}] * 101}, content_type="application/json"
    )
    not_a_list = api.post("/api/v1/contacts/batch", {"records": "x"}, content_type="application/json")
    read_only = api.post(
        "/api/v1/contacts/batch", {"records": [{"last_name": "x", "number": "CON1"}]}, content_type="application/json"
    )

    assert too_many.status_code == 400 and "records" in too_many.json()
    assert not_a_list.status_code == 400
    assert read_only.status_code == 400 and "records.0.number" in read_only.json()


def test_batch_checks_unique_custom_values_within_the_batch(tenant_a, admin_of, member):
    from crm_apps.engine.services import custom_field_create

    with schema_context(tenant_a.schema_name):
        custom_field_create(
            actor=admin_of(tenant_a), spec=registry.get("vendors"), key="vat_id", label="VAT", type="text", unique=True
        )
    api = _api(tenant_a, member(tenant_a))
    records = [{"name": "V1", "custom": {"vat_id": "X1"}}, {"name": "V2", "custom": {"vat_id": "X1"}}]

    response = api.post("/api/v1/vendors/batch", {"records": records}, content_type="application/json")

    assert response.status_code == 400 and list(response.json()) == ["records.1.custom.vat_id"]


def test_batch_deals_get_consecutive_numbers_stage_history_timeline_and_audit(tenant_a, member):
    from crm_apps.audit.models import AuditEvent
    from crm_apps.engine.models import TimelineEntry
    from crm_apps.modules.deals.models import StageHistory

    api = _api(tenant_a, member(tenant_a))
    records = [{"name": f"Batch deal {i}", "amount": "100", "close_date": "2027-01-31"} for i in range(3)]

    response = api.post("/api/v1/deals/batch", {"records": records}, content_type="application/json")

    assert response.status_code == 201, response.content
    results = response.json()["results"]
    numbers = [int(r["number"].lstrip("POT")) for r in results]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    ids = [r["id"] for r in results]
    with schema_context(tenant_a.schema_name):
        assert StageHistory.objects.filter(deal_id__in=ids).count() == 3
        assert TimelineEntry.objects.filter(record_id__in=ids, kind="created").count() == 3
        assert AuditEvent.objects.filter(record_id__in=ids, action="record_created").count() == 3


def test_batch_references_are_looked_up_once_and_through_visibility(tenant_a, admin_of, member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm_apps.access.services import sharing_default_set
    from crm_apps.engine.services import record_create

    m = member(tenant_a)
    orgs = registry.get("organizations")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        sharing_default_set(actor=admin, module="organizations", access="private")
        mine = record_create(spec=orgs, actor=admin, data={"name": "Mine Ltd", "owner": m.pk})
        hidden = record_create(spec=orgs, actor=admin, data={"name": "Hidden Ltd", "owner": admin.pk})
    api = _api(tenant_a, m)

    def batch(n, org):
        records = [{"last_name": f"Ref {n}-{i}", "organization": str(org.pk)} for i in range(n)]
        return api.post("/api/v1/contacts/batch", {"records": records}, content_type="application/json")

    with CaptureQueriesContext(connection) as few:
        assert batch(2, mine).status_code == 201
    with CaptureQueriesContext(connection) as many:
        assert batch(20, mine).status_code == 201
    refused = batch(1, hidden)

    assert len(many.captured_queries) == len(few.captured_queries)
    assert refused.status_code == 400 and list(refused.json()) == ["records.0.organization"]
