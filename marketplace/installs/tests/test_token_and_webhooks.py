"""Extension tokens (scopes, other tenants) and outgoing webhooks (signing, SSRF refusal, isolation)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from crm_apps.access.models import ApiToken
from crm_apps.engine import registry
from crm_apps.engine import services as engine
from marketplace.installs import webhooks
from marketplace.installs.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from marketplace.installs.services import extension_install, extension_uninstall
from marketplace.installs.tests.conftest import first_party
from marketplace.manifest import manifest_validate


class Receiver:
    """A local HTTP endpoint that records what webhooks post to it."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Any:
    r = Receiver()
    yield r
    r.stop()


def hooks_manifest(url: str, scopes: list[str] | None = None) -> Any:
    data = first_party("support-escalation-webhooks").data
    data = json.loads(json.dumps(data))
    data["webhooks"] = [{"url": url, "events": ["contacts.created", "contacts.updated"]}]
    if scopes is not None:
        data["scopes"] = scopes
    return manifest_validate(data)


def auth(key: str | None) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_token_works_only_within_its_scopes(tenant_a, admin_of, client_for):
    admin = admin_of(tenant_a)
    manifest = hooks_manifest(
        "https://hooks.example.com/x", scopes=["contacts:read", "contacts:write", "organizations:read"]
    )
    with schema_context("alpha"):
        installation, key = extension_install(actor=admin, listing_id=7, slug="s", name="S", manifest=manifest)
        assert key is not None
        assert ApiToken.objects.get(pk=installation.token_id or 0).scopes == manifest.scopes
    client = client_for(tenant_a)
    assert client.get("/api/v1/contacts/", **auth(key)).status_code == 200
    assert client.get("/api/v1/organizations/", **auth(key)).status_code == 200
    created = client.post("/api/v1/contacts/", {"last_name": "Scoped"}, content_type="application/json", **auth(key))
    assert created.status_code == 201
    with schema_context("alpha"):
        orgs_before = registry.get("organizations").model.objects.count()
    refused_write = client.post(
        "/api/v1/organizations/", {"name": "Nope"}, content_type="application/json", **auth(key)
    )
    assert refused_write.status_code == 403
    assert client.get("/api/v1/deals/", **auth(key)).status_code == 403
    assert client.get("/api/v1/me", **auth(key)).status_code == 403
    assert client.get("/api/v1/auth/tokens", **auth(key)).status_code == 403
    with schema_context("alpha"):
        assert registry.get("organizations").model.objects.count() == orgs_before


def test_token_is_useless_on_another_tenant_and_after_uninstall(tenant_a, tenant_b, admin_of, client_for):
    admin = admin_of(tenant_a)
    manifest = hooks_manifest("https://hooks.example.com/x")
    with schema_context("alpha"):
        installation, key = extension_install(actor=admin, listing_id=7, slug="s", name="S", manifest=manifest)
    assert key is not None
    assert client_for(tenant_b).get("/api/v1/contacts/", **auth(key)).status_code == 401
    with schema_context("alpha"):
        extension_uninstall(actor=admin, installation=installation)
        assert not ApiToken.objects.filter(scopes__isnull=False).exists()
    assert client_for(tenant_a).get("/api/v1/contacts/", **auth(key)).status_code == 401


def test_webhook_is_signed_and_carries_the_record(
    tenant_a, admin_of, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        extension_install(actor=admin, listing_id=7, slug="s", name="S", manifest=hooks_manifest(receiver.url))
        secret = WebhookSubscription.objects.get().secret
        with django_capture_on_commit_callbacks(execute=True):
            contact = engine.record_create(
                spec=registry.get("contacts"),
                actor=admin,
                data={"last_name": "Hooked"},
                custom={"escalation_level": "Watch"},
            )
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.SUCCEEDED, 1, 200)
    headers, body = receiver.requests[0]
    timestamp, signature = (part.split("=", 1)[1] for part in headers["x-crm-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    payload = json.loads(body)
    assert payload["event"] == "contacts.created"
    assert payload["workspace"] == "alpha"
    assert payload["record"]["id"] == str(contact.pk)
    assert payload["record"]["last_name"] == "Hooked"
    assert payload["record"]["custom"]["escalation_level"] == "Watch"
    assert headers["x-crm-event"] == "contacts.created"


def test_failed_deliveries_are_retried_then_marked_failed(
    tenant_a, admin_of, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    failing = Receiver(status=500)
    try:
        admin = admin_of(tenant_a)
        with schema_context("alpha"):
            extension_install(actor=admin, listing_id=7, slug="s", name="S", manifest=hooks_manifest(failing.url))
            with django_capture_on_commit_callbacks(execute=True):
                engine.record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Retry"})
            delivery = WebhookDelivery.objects.get()
            assert (delivery.status, delivery.attempts, delivery.error) == (
                DeliveryStatus.FAILED,
                webhooks.MAX_ATTEMPTS,
                "HTTP 500",
            )
        assert len(failing.requests) == webhooks.MAX_ATTEMPTS
    finally:
        failing.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://localhost/x",
    ],
)
def test_private_targets_are_refused(url, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(webhooks.UnsafeTarget):
        webhooks.resolve_target(url)


def test_refused_delivery_is_logged_and_not_sent(
    tenant_a, admin_of, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        extension_install(actor=admin, listing_id=7, slug="s", name="S", manifest=hooks_manifest(receiver.url))
        with django_capture_on_commit_callbacks(execute=True):
            engine.record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Private"})
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == DeliveryStatus.REFUSED
    assert receiver.requests == []


def test_webhooks_of_one_tenant_never_deliver_another_tenant_s_events(
    tenant_a, tenant_b, admin_of, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    with schema_context("alpha"):
        extension_install(
            actor=admin_of(tenant_a), listing_id=7, slug="s", name="S", manifest=hooks_manifest(receiver.url)
        )
    with schema_context("beta"):
        with django_capture_on_commit_callbacks(execute=True):
            engine.record_create(spec=registry.get("contacts"), actor=admin_of(tenant_b), data={"last_name": "Beta"})
        assert not WebhookDelivery.objects.exists()
    with schema_context("alpha"):
        assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_uninstalled_extension_receives_nothing(
    tenant_a, admin_of, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        installation, _ = extension_install(
            actor=admin, listing_id=7, slug="s", name="S", manifest=hooks_manifest(receiver.url)
        )
        extension_uninstall(actor=admin, installation=installation)
        with django_capture_on_commit_callbacks(execute=True):
            engine.record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Gone"})
        assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_lead_convert_needs_the_write_scopes_of_every_module_it_creates_in(tenant_a, admin_of, client_for):
    # Given an extension token that may write leads (and read contacts for its webhooks) but not
    # create organizations, contacts or deals
    admin = admin_of(tenant_a)
    manifest = hooks_manifest("https://hooks.example.com/x", scopes=["contacts:read", "leads:write"])
    with schema_context("alpha"):
        _installation, key = extension_install(actor=admin, listing_id=7, slug="s", name="S", manifest=manifest)
        lead = engine.record_create(
            spec=registry.get("leads"), actor=admin, data={"last_name": "Convert", "company": "Scoped Ltd"}
        )
        before = {m: registry.get(m).model.objects.count() for m in ("organizations", "contacts", "deals")}
    client = client_for(tenant_a)

    # When it converts the lead (which would create an organization, a contact and a deal)
    response = client.post(
        f"/api/v1/leads/{lead.pk}/convert", {"create_deal": True}, content_type="application/json", **auth(key)
    )

    # Then it is refused and nothing was created
    assert response.status_code == 403
    with schema_context("alpha"):
        assert {m: registry.get(m).model.objects.count() for m in before} == before
        lead.refresh_from_db()
        assert lead.converted_at is None


def test_lead_convert_works_with_the_write_scopes_of_the_modules_it_creates_in(tenant_a, admin_of, client_for):
    admin = admin_of(tenant_a)
    scopes = ["contacts:read", "contacts:write", "deals:write", "leads:write", "organizations:write"]
    manifest = hooks_manifest("https://hooks.example.com/x", scopes=scopes)
    with schema_context("alpha"):
        _installation, key = extension_install(actor=admin, listing_id=7, slug="s", name="S", manifest=manifest)
        lead = engine.record_create(
            spec=registry.get("leads"), actor=admin, data={"last_name": "Convert", "company": "Scoped Ltd"}
        )

    response = client_for(tenant_a).post(
        f"/api/v1/leads/{lead.pk}/convert", {"create_deal": True}, content_type="application/json", **auth(key)
    )

    assert response.status_code == 200
    with schema_context("alpha"):
        assert registry.get("deals").model.objects.filter(pk=response.json()["deal"]).exists()


def test_webhook_events_accept_the_module_s_write_scope_which_includes_read(db):
    """Tokens treat `<module>:write` as including `<module>:read`; so do webhook events of the manifest."""
    manifest = hooks_manifest("https://hooks.example.com/x", scopes=["contacts:write"])

    assert manifest.scopes == ["contacts:write"]


def test_webhook_events_without_a_scope_of_their_module_are_refused_by_path(db):
    from marketplace.manifest import ManifestInvalid

    with pytest.raises(ManifestInvalid) as refused:
        hooks_manifest("https://hooks.example.com/x", scopes=["deals:write", "organizations:read"])

    assert refused.value.errors == {
        "webhooks.0.events.0": ["Events of contacts need the scope “contacts:read” or “contacts:write”."],
        "webhooks.0.events.1": ["Events of contacts need the scope “contacts:read” or “contacts:write”."],
    }


def test_a_redelivered_task_never_sends_a_delivered_webhook_again(
    tenant_a, admin_of, receiver, settings, django_capture_on_commit_callbacks
):
    from marketplace.installs.tasks import webhook_deliver_task

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        extension_install(actor=admin, listing_id=7, slug="s", name="S", manifest=hooks_manifest(receiver.url))
        with django_capture_on_commit_callbacks(execute=True):
            engine.record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Once"})
        delivery = WebhookDelivery.objects.get()

        assert webhook_deliver_task(delivery.pk) == DeliveryStatus.SUCCEEDED  # the broker hands it out again

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1)
    assert [headers["x-crm-delivery"] for headers, _body in receiver.requests] == [str(delivery.pk)]


def test_a_run_that_fails_after_another_run_delivered_keeps_it_delivered_and_does_not_retry(
    tenant_a, admin_of, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Two runs of one delivery overlap (the lock is not held during the POST): the one that fails last
    must not put the delivered webhook back to pending and queue it again."""
    from marketplace.installs import delivery as delivery_module

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        extension_install(
            actor=admin, listing_id=7, slug="s", name="S", manifest=hooks_manifest("http://127.0.0.1:9/hook")
        )
        with django_capture_on_commit_callbacks(execute=False):  # the delivery is written, not sent
            contact = engine.record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Overlap"})
        [delivery_id] = delivery_module.deliveries_create(event="contacts.created", record_ids=[str(contact.pk)])
        sent: list[int] = []

        def other_run_delivers_then_this_one_fails(url: str, body: bytes, headers: dict[str, str]) -> int:
            sent.append(int(headers["X-CRM-Delivery"]))
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                status=DeliveryStatus.SUCCEEDED, response_status=200, delivered_at=timezone.now()
            )
            raise ConnectionError("connection reset")

        monkeypatch.setattr(delivery_module, "post", other_run_delivers_then_this_one_fails)

        status, retry = delivery_module.delivery_attempt(delivery_id=delivery_id)

        assert (status, retry) == (DeliveryStatus.SUCCEEDED, None)
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        assert (delivery.status, delivery.response_status, delivery.error) == (DeliveryStatus.SUCCEEDED, 200, "")
        assert delivery_module.delivery_attempt(delivery_id=delivery_id) == (DeliveryStatus.SUCCEEDED, None)
        assert sent == [delivery_id]
