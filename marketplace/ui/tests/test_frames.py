"""Record panels as sandboxed frames: the box on the record page, CSP frame-src only where a frame is
shown, the signed context (expired, forged, other workspace refused), its refresh and verification
endpoints and the secret hand-over, and tenant isolation throughout."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from django_tenants.utils import schema_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from marketplace.installs.services import extension_uninstall
from marketplace.ui.context import ContextInvalid, context_sign, context_verify
from marketplace.ui.models import AppInstall
from marketplace.ui.panels import SANDBOX
from marketplace.ui.tests.conftest import SHIPPED_ORIGIN, install, maps_manifest

pytestmark = pytest.mark.django_db


def organisation(tenant: Any, admin: Any, city: str = "Berlin") -> Any:
    with schema_context(tenant.schema_name):
        spec = registry.get("organizations")
        return record_create(spec=spec, actor=admin, data={"name": f"Org in {city}", "billing_city": city})


def frame_box(html: str) -> dict[str, str]:
    match = re.search(r"<section[^>]*data-app-frame[^>]*>", html, re.S)
    assert match, "no app frame on the page"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(0)))


def test_the_record_page_shows_the_panel_sandboxed_with_frame_src_for_the_app(
    tenant_a, admin_of, client_for, maps_installed
):
    admin = admin_of(tenant_a)
    org = organisation(tenant_a, admin)
    response = client_for(tenant_a, admin).get(f"/m/organizations/{org.pk}/")
    assert response.status_code == 200
    box = frame_box(response.content.decode())
    assert box["src"] == f"{SHIPPED_ORIGIN}/panel"
    assert box["origin"] == SHIPPED_ORIGIN
    assert box["sandbox"] == SANDBOX == "allow-scripts allow-forms allow-same-origin allow-popups"
    assert "allow-top-navigation" not in box["sandbox"]
    csp = response["Content-Security-Policy"]
    assert f"frame-src 'self' {SHIPPED_ORIGIN}" in csp
    assert "script-src 'self';" in csp  # nothing else is loosened
    # The frame is made by the page's script once visible: no <iframe> in the markup blocks the page.
    assert "<iframe" not in response.content.decode()
    payload = context_verify(
        _secret(tenant_a),
        box["context"],
        tenant=tenant_a.schema_name,
    )
    assert payload["record"] == str(org.pk) and payload["module"] == "organizations"
    assert payload["member"] == admin.pk and payload["ext"] == "record_panels.map"
    assert payload["exp"] - payload["iat"] == 300


def _secret(tenant: Any) -> str:
    with schema_context(tenant.schema_name):
        return AppInstall.objects.get().secret


def test_pages_without_a_frame_keep_the_strict_policy(tenant_a, tenant_b, admin_of, client_for, maps_installed):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    with schema_context(tenant_a.schema_name):
        deal = record_create(spec=registry.get("deals"), actor=admin, data=dict(registry.get("deals").example))
    for url in ("/m/organizations/", f"/m/deals/{deal.pk}/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "frame-src" not in response["Content-Security-Policy"]
        assert "data-app-frame" not in response.content.decode()
    # Tenant B never installed the app: its organisation pages have no frame either.
    admin_b = admin_of(tenant_b)
    org_b = organisation(tenant_b, admin_b)
    page_b = client_for(tenant_b, admin_b).get(f"/m/organizations/{org_b.pk}/")
    assert "data-app-frame" not in page_b.content.decode()
    assert "frame-src" not in page_b["Content-Security-Policy"]


def test_uninstalling_removes_the_panel_and_the_old_contexts_stop_verifying(
    tenant_a, admin_of, client_for, maps_installed
):
    admin = admin_of(tenant_a)
    org = organisation(tenant_a, admin)
    client = client_for(tenant_a, admin)
    box = frame_box(client.get(f"/m/organizations/{org.pk}/").content.decode())
    with schema_context(tenant_a.schema_name):
        extension_uninstall(actor=admin, installation=maps_installed)
    page = client.get(f"/m/organizations/{org.pk}/")
    assert "data-app-frame" not in page.content.decode()
    refused = client_for(tenant_a).post("/marketplace/app/context/verify", {"context": box["context"]})
    assert refused.status_code == 400


def test_context_signature_expiry_and_workspace():
    token = context_sign("s3cret", {"tenant": "alpha", "record": "1"})
    assert context_verify("s3cret", token, tenant="alpha")["record"] == "1"
    with pytest.raises(ContextInvalid, match="signature"):
        context_verify("other", token, tenant="alpha")
    head, payload, signature = token.split(".")
    forged = ".".join([head, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1], signature])
    with pytest.raises(ContextInvalid):
        context_verify("s3cret", forged, tenant="alpha")
    with pytest.raises(ContextInvalid, match="another workspace"):
        context_verify("s3cret", token, tenant="beta")
    old = context_sign("s3cret", {"tenant": "alpha"}, now=time.time() - 301)
    with pytest.raises(ContextInvalid, match="expired"):
        context_verify("s3cret", old, tenant="alpha")
    for junk in ("", "v1.", "v2.a.b", "v1.!!!.x", "v1." + "a" * 9000 + ".b"):
        with pytest.raises(ContextInvalid):
            context_verify("s3cret", junk, tenant="alpha")


def test_the_verification_endpoint(tenant_a, tenant_b, admin_of, client_for, maps_installed):
    admin = admin_of(tenant_a)
    org = organisation(tenant_a, admin)
    context = frame_box(client_for(tenant_a, admin).get(f"/m/organizations/{org.pk}/").content.decode())["context"]
    anonymous = client_for(tenant_a)
    ok = anonymous.post("/marketplace/app/context/verify", {"context": context})
    assert ok.status_code == 200 and ok.json()["payload"]["record"] == str(org.pk)
    as_json = anonymous.post(
        "/marketplace/app/context/verify", json.dumps({"context": context}), content_type="application/json"
    )
    assert as_json.status_code == 200
    # Forged: the payload changed to another record, the signature kept.
    head, payload, signature = context.split(".")
    import base64

    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["record"] = "00000000-0000-0000-0000-000000000000"
    other = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    forged = anonymous.post("/marketplace/app/context/verify", {"context": f"{head}.{other}.{signature}"})
    assert forged.status_code == 400 and forged.json() == {"context": ["The signature does not match."]}
    expired = context_sign(_secret(tenant_a), {**data, "tenant": "alpha"}, now=time.time() - 1000)
    late = anonymous.post("/marketplace/app/context/verify", {"context": expired})
    assert late.json() == {"context": ["The context has expired."]}
    assert anonymous.post("/marketplace/app/context/verify", {"context": "junk"}).status_code == 400
    # Tenant A's context on tenant B's host: B installed the same app, with its own secret.
    install(tenant_b, admin_of(tenant_b), maps_manifest())
    on_b = client_for(tenant_b).post("/marketplace/app/context/verify", {"context": context})
    assert on_b.status_code == 400


def test_context_refresh_needs_a_member_who_may_see_the_record(
    tenant_a, tenant_b, admin_of, client_for, member, maps_installed
):
    admin = admin_of(tenant_a)
    org = organisation(tenant_a, admin)
    box = frame_box(client_for(tenant_a, admin).get(f"/m/organizations/{org.pk}/").content.decode())
    fresh = client_for(tenant_a, admin).get(box["refresh"])
    assert fresh.status_code == 200
    assert context_verify(_secret(tenant_a), fresh.json()["context"], tenant="alpha")["record"] == str(org.pk)
    assert client_for(tenant_a).get(box["refresh"]).status_code == 302  # signed out: to the sign-in page
    undeclared = box["refresh"].replace("record_panels.map", "record_panels.other")
    assert client_for(tenant_a, admin).get(undeclared).status_code == 404
    missing = box["refresh"].replace(str(org.pk), "00000000-0000-0000-0000-000000000000")
    assert client_for(tenant_a, admin).get(missing).status_code == 404
    assert client_for(tenant_a, admin).get(box["refresh"].replace(str(org.pk), "x")).status_code == 404
    # The same address on tenant B: no such installation and no such record there.
    admin_b = admin_of(tenant_b)
    assert client_for(tenant_b, admin_b).get(box["refresh"]).status_code == 404


def test_the_app_secret_goes_only_to_the_installations_token(tenant_a, tenant_b, admin_of, client_for):
    _installation, key = install(tenant_a, admin_of(tenant_a), maps_manifest())
    assert key
    ok = client_for(tenant_a).get("/marketplace/app/secret", HTTP_AUTHORIZATION=f"Token {key}")
    assert ok.status_code == 200 and ok.json()["secret"] == _secret(tenant_a)
    assert client_for(tenant_a).get("/marketplace/app/secret").status_code == 401
    assert client_for(tenant_b).get("/marketplace/app/secret", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_the_install_page_says_exactly_what_the_app_shows_and_calls(tenant_a, admin_of, client_for):
    from marketplace.catalog.first_party import first_party_publish

    first_party_publish()
    html = client_for(tenant_a, admin_of(tenant_a)).get("/settings/marketplace/maps-panel/").content.decode()
    assert "Pages of the app at https://maps.crm-labs.example shown in sandboxed frames" in html
    assert "Frame “Map” (record_panels): https://maps.crm-labs.example/panel" in html
    assert "Workflow action “Geocode the organisation”: sends the record to" in html
    assert "<code>organizations:write</code>" in html
    pack = client_for(tenant_a, admin_of(tenant_a)).get("/settings/marketplace/document-pack/").content.decode()
    assert "PDF template of invoices in ru" in pack and "Shared report “Quotes by status”" in pack
