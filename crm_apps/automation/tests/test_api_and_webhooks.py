"""`/api/v1/workflows/` and `/api/v1/webhooks/`: admins only, field errors, versions, test runs, runs log,
tenant isolation; webhook deliveries signed with the webhook's secret, retried, SSRF-refused."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.automation import delivery as delivery_module
from crm_apps.automation.models import Delivery, DeliveryStatus, TenantWebhook
from crm_apps.engine import registry
from crm_apps.engine.services import record_create, record_update

pytestmark = pytest.mark.django_db
DEFINITION = {"trigger": {"type": "manual"}, "actions": [{"id": "c", "type": "add_comment", "body": "hello"}]}


def _deal(actor: Any) -> Any:
    return record_create(
        spec=registry.get("deals"),
        actor=actor,
        data={"name": "D", "amount": "1", "close_date": timezone.localdate().isoformat()},
    )


def test_workflow_api_crud_versions_runs_and_test(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    api = client_for(tenant_a, admin)
    response = api.post(
        "/api/v1/workflows/",
        {"name": "Hello", "module": "deals", "definition": DEFINITION},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 1 and body["definition"] == DEFINITION
    pk = body["id"]
    bad = api.patch(
        f"/api/v1/workflows/{pk}/",
        {"definition": {"trigger": {"type": "never"}, "actions": []}},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "definition.trigger.type" in bad.json()
    changed = {**DEFINITION, "actions": [{"id": "c", "type": "add_comment", "body": "v2"}]}
    assert (
        api.patch(f"/api/v1/workflows/{pk}/", {"definition": changed}, content_type="application/json").json()[
            "version"
        ]
        == 2
    )
    with tenant_context(tenant_a):
        deal = _deal(admin)
    preview = api.post(f"/api/v1/workflows/{pk}/test", {"record": str(deal.pk)}, content_type="application/json")
    assert preview.status_code == 200 and preview.json()["steps"][0]["inputs"] == {"body": "v2"}
    assert api.get(f"/api/v1/workflows/{pk}/runs/").json() == []
    ran = api.post(f"/api/v1/workflows/{pk}/run", {"records": [str(deal.pk)]}, content_type="application/json")
    assert ran.status_code == 201 and ran.json()[0]["status"] == "succeeded"
    runs = api.get(f"/api/v1/workflows/{pk}/runs/").json()
    assert runs[0]["version"] == 2 and runs[0]["steps"][0]["action"] == "add_comment"
    assert (
        api.post(f"/api/v1/workflows/{pk}/run", {"records": ["nope"]}, content_type="application/json").status_code
        == 400
    )
    # Not for members who are not administrators, and not across tenants.
    assert client_for(tenant_a, member(tenant_a)).get("/api/v1/workflows/").status_code == 403
    assert client_for(tenant_b_of(tenant_a), None).get("/api/v1/workflows/").status_code in (401, 403)


def tenant_b_of(tenant: Any) -> Any:
    from tenants.models import Tenant

    return Tenant.objects.exclude(pk=tenant.pk).filter(schema_name="beta").first()


def test_workflows_of_one_tenant_are_invisible_to_another(client_for, tenant_a, tenant_b, admin_of):
    api_a = client_for(tenant_a, admin_of(tenant_a))
    pk = api_a.post(
        "/api/v1/workflows/",
        {"name": "A only", "module": "deals", "definition": DEFINITION},
        content_type="application/json",
    ).json()["id"]
    api_b = client_for(tenant_b, admin_of(tenant_b))
    assert "A only" not in [w["name"] for w in api_b.get("/api/v1/workflows/").json()]
    assert api_b.get(f"/api/v1/workflows/{pk}/").status_code == 404
    assert api_b.get(f"/api/v1/workflows/{pk}/runs/").status_code == 404


def test_webhook_api_validates_events_and_refuses_private_addresses(client_for, tenant_a, admin_of, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    api = client_for(tenant_a, admin_of(tenant_a))
    response = api.post(
        "/api/v1/webhooks/",
        {"name": "Mine", "url": "http://127.0.0.1/hook", "events": ["deals.exploded"]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"url", "events"}


def test_webhook_deliveries_are_signed_retried_and_logged(
    client_for, tenant_a, admin_of, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    admin = admin_of(tenant_a)
    api = client_for(tenant_a, admin)
    created = api.post(
        "/api/v1/webhooks/",
        {"name": "Ours", "url": "http://hooks.example.test/in", "events": ["deals.created", "deals.stage_changed"]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    hook_id, secret = created.json()["id"], created.json()["secret"]
    calls: list[tuple[str, bytes, dict[str, str]]] = []
    answers = iter([500, 200, 200])

    def fake_post(url: str, body: bytes, headers: dict[str, str]) -> int:
        calls.append((url, body, headers))
        return next(answers)

    monkeypatch.setattr(delivery_module, "post", fake_post)
    with tenant_context(tenant_a):
        with django_capture_on_commit_callbacks(execute=True):
            deal = _deal(admin)
        delivery = Delivery.objects.get(webhook_id=hook_id)
        # The first attempt got a 500: a retry is queued with backoff (eager mode ran it at once).
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 2
        _url, body, headers = calls[-1]
        timestamp, signature = (part.split("=", 1)[1] for part in headers["X-CRM-Signature"].split(","))
        expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert signature == expected and headers["X-CRM-Event"] == "deals.created"
        from crm_apps.modules.deals.models import Stage

        with django_capture_on_commit_callbacks(execute=True):
            record_update(
                spec=registry.get("deals"),
                actor=admin,
                record=deal,
                data={"stage": Stage.objects.get(name="Closed Won").pk},
            )
        assert Delivery.objects.filter(webhook_id=hook_id, event="deals.stage_changed").count() == 1
    log = api.get(f"/api/v1/webhooks/{hook_id}/deliveries/").json()
    assert {d["event"] for d in log} == {"deals.created", "deals.stage_changed"}


def test_a_delivery_to_a_private_address_is_refused_not_sent(tenant_a, admin_of, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        hook = TenantWebhook.objects.create(
            name="x", url="http://10.0.0.5/in", events=["deals.created"], created_by=admin
        )
        delivery = Delivery.objects.create(
            webhook=hook, url=hook.url, secret=hook.secret, event="deals.created", payload={}
        )
        status, retry = delivery_module.delivery_attempt(delivery_id=delivery.pk)
        assert status == DeliveryStatus.REFUSED and retry is None
