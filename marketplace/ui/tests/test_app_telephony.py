"""Apps as telephony providers (manifest `telephony`): the workspace's telephony webhook accepts the app's
call events signed with its secret under its provider key, phone numbers link to the app's click-to-call
page with the number in the signed context; uninstalling or suspending the app stops both at once; forged
signatures, the workspace secret under the app's key, and another workspace's installation are refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest
from django_tenants.utils import schema_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from marketplace.installs.services import extension_uninstall
from marketplace.manifest import ManifestInvalid, manifest_validate
from marketplace.ui.context import context_verify
from marketplace.ui.models import AppInstall
from marketplace.ui.tests.conftest import EXTENSIONS, install
from marketplace.ui.tests.test_surfaces import boxes

pytestmark = pytest.mark.django_db

ORIGIN = "https://pbx.crm-labs.example"


def pbx_data(**changes: Any) -> dict[str, Any]:
    data = json.loads((EXTENSIONS / "pbx-connector" / "manifest.json").read_text(encoding="utf-8"))
    return {**data, **changes}


@pytest.fixture
def pbx(tenant_a: Any, admin_of: Any) -> Any:
    installation, _key = install(tenant_a, admin_of(tenant_a), manifest_validate(json.dumps(pbx_data())))
    return installation


def app_secret(tenant: Any) -> str:
    with schema_context(tenant.schema_name):
        return AppInstall.objects.get().secret


def event(call_id: str = "pbx-1", status: str = "ringing", **more: Any) -> bytes:
    return json.dumps(
        {
            "call_id": call_id,
            "status": status,
            "direction": "outbound",
            "from": "201",
            "to": "+14155550132",
            "extension": "201",
            "timestamp": dt.datetime(2027, 1, 11, 9, 30, tzinfo=dt.UTC).isoformat(),
            **more,
        }
    ).encode()


def post_event(client: Any, body: bytes, *, secret: str, provider: str | None) -> Any:
    headers = {"HTTP_X_SIGNATURE": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}
    if provider is not None:
        headers["HTTP_X_TELEPHONY_PROVIDER"] = provider
    return client.post("/api/v1/telephony/events", body, content_type="application/json", **headers)


def calls(tenant: Any) -> list[Any]:
    from crm_apps.modules.calls.models import Call

    with schema_context(tenant.schema_name):
        return list(Call.objects.order_by("pk"))


# -- the manifest ------------------------------------------------------------------------------------------


def test_the_shipped_pbx_manifest_is_a_telephony_provider():
    manifest = manifest_validate(json.dumps(pbx_data()))
    assert manifest.data["telephony"]["events"] is True
    assert manifest.data["telephony"]["click_to_call"]["url"] == f"{ORIGIN}/call"


def test_telephony_mistakes_are_named_by_their_path():
    with pytest.raises(ManifestInvalid) as no_scope:
        manifest_validate(json.dumps(pbx_data(scopes=["contacts:read"])))
    assert no_scope.value.errors == {"telephony": ["A telephony provider needs the scope “calls:write”."]}
    with pytest.raises(ManifestInvalid) as elsewhere:
        manifest_validate(
            json.dumps(
                pbx_data(telephony={"events": True, "click_to_call": {"label": "Call", "url": "https://x.example/c"}})
            )
        )
    assert elsewhere.value.errors == {
        "telephony.click_to_call.url": [f"The address must be on the app's origin {ORIGIN}."]
    }
    with pytest.raises(ManifestInvalid) as nothing:
        manifest_validate(json.dumps(pbx_data(telephony={"events": False})))
    assert nothing.value.errors == {"telephony": ["Declare “events”: true, a “click_to_call” page, or both."]}
    with pytest.raises(ManifestInvalid) as missing:
        manifest_validate(json.dumps(pbx_data(telephony={"click_to_call": {"label": "Call", "url": f"{ORIGIN}/c"}})))
    assert missing.value.errors == {"telephony.events": ["This field is required."]}


# -- call events -----------------------------------------------------------------------------------------


def test_the_app_reports_a_call_through_the_webhook_signed_with_its_secret(tenant_a, admin_of, client_for, pbx):
    from crm_apps.audit.models import AuditEvent

    client = client_for(tenant_a)
    provider = f"app-{pbx.pk}"
    secret = app_secret(tenant_a)

    ringing = post_event(client, event(), secret=secret, provider=provider)
    answered = post_event(client, event(status="answered"), secret=secret, provider=provider)
    ended = post_event(
        client,
        event(status="answered", duration=42, recording_url="https://pbx.crm-labs.example/r/1.mp3"),
        secret=secret,
        provider=provider,
    )

    assert (ringing.status_code, answered.status_code, ended.status_code) == (201, 200, 200)
    [call] = calls(tenant_a)
    assert (call.status, call.direction, call.duration) == ("Answered", "Outbound", 42)
    assert call.recording_url == "https://pbx.crm-labs.example/r/1.mp3"
    with schema_context(tenant_a.schema_name):
        created = AuditEvent.objects.get(module="calls", record_id=str(call.pk), action="record_created")
    assert created.actor_label == "Telephony (Click-to-call PBX connector)"
    assert created.details["provider"] == provider


def test_forged_and_misdirected_events_are_refused_and_write_nothing(tenant_a, tenant_b, admin_of, client_for, pbx):
    from crm_apps.modules.calls.settings_store import telephony_secret_rotate

    with schema_context(tenant_a.schema_name):
        workspace_secret = telephony_secret_rotate(actor=admin_of(tenant_a))
    secret = app_secret(tenant_a)
    provider = f"app-{pbx.pk}"
    on_a = client_for(tenant_a)

    assert post_event(on_a, event(), secret="appsec_guess", provider=provider).status_code == 401
    # The workspace's own secret does not sign for the app, nor the app's for the workspace.
    assert post_event(on_a, event(), secret=workspace_secret, provider=provider).status_code == 401
    assert post_event(on_a, event(), secret=secret, provider=None).status_code == 401
    assert post_event(on_a, event(), secret=secret, provider="app-999999").status_code == 401
    assert post_event(on_a, event(), secret=secret, provider="").status_code == 401
    # Another workspace: the same provider key names nothing there (no app installed) ...
    assert post_event(client_for(tenant_b), event(), secret=secret, provider=provider).status_code == 401
    # ... nor with the same app installed there (its secret is its own).
    other, _key = install(tenant_b, admin_of(tenant_b), manifest_validate(json.dumps(pbx_data())))
    assert post_event(client_for(tenant_b), event(), secret=secret, provider=f"app-{other.pk}").status_code == 401
    assert calls(tenant_a) == [] and calls(tenant_b) == []
    # Bad input under a good signature: a field error, nothing written.
    bad = post_event(on_a, event(status="exploded"), secret=secret, provider=provider)
    assert bad.status_code == 400 and "status" in bad.json()
    assert calls(tenant_a) == []


def test_uninstall_and_suspension_stop_the_app_at_once(tenant_a, admin_of, client_for, pbx):
    from marketplace.apps.models import App, AppStatus
    from marketplace.catalog.models import Listing
    from marketplace.installs.models import ExtensionInstallation
    from marketplace.partners.models import Partner

    client = client_for(tenant_a)
    provider, secret = f"app-{pbx.pk}", app_secret(tenant_a)
    partner = Partner.objects.create(name="PBX partner", slug="pbx-partner")
    listing = Listing.objects.create(partner=partner, slug="pbx-connector", name="PBX", summary="P", category="sales")
    with schema_context(tenant_a.schema_name):
        ExtensionInstallation.objects.filter(pk=pbx.pk).update(listing_id=listing.pk)
        from crm_apps.engine.metadata import metadata_changed

        metadata_changed()
    app = App.objects.create(
        name="PBX",
        partner=partner,
        listing=listing,
        client_type="confidential",
        authorization_grant_type="authorization-code",
    )
    assert post_event(client, event("c-1"), secret=secret, provider=provider).status_code == 201

    App.objects.filter(pk=app.pk).update(status=AppStatus.SUSPENDED)
    assert post_event(client, event("c-2"), secret=secret, provider=provider).status_code == 401
    App.objects.filter(pk=app.pk).update(status=AppStatus.ACTIVE)
    assert post_event(client, event("c-3"), secret=secret, provider=provider).status_code == 201

    with schema_context(tenant_a.schema_name):
        extension_uninstall(actor=admin_of(tenant_a), installation=pbx)
    assert post_event(client, event("c-4"), secret=secret, provider=provider).status_code == 401
    assert sorted(c.provider_call_id for c in calls(tenant_a)) == ["c-1", "c-3"]


def test_an_app_offering_only_click_to_call_cannot_report_calls(tenant_a, admin_of, client_for):
    data = pbx_data(telephony={"events": False, "click_to_call": {"label": "Call", "url": f"{ORIGIN}/call"}})
    installation, _key = install(tenant_a, admin_of(tenant_a), manifest_validate(json.dumps(data)))
    response = post_event(client_for(tenant_a), event(), secret=app_secret(tenant_a), provider=f"app-{installation.pk}")
    assert response.status_code == 401
    assert calls(tenant_a) == []


# -- click-to-call ---------------------------------------------------------------------------------------


def test_phone_numbers_link_to_the_apps_click_to_call_page(tenant_a, tenant_b, admin_of, client_for, member, pbx):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        contact = record_create(
            spec=registry.get("contacts"), actor=admin, data={"last_name": "Callee", "phone": "+1 415 555 0132"}
        )
    client = client_for(tenant_a, admin)
    url = f"/marketplace/app/call/{pbx.pk}/"
    page = client.get(f"/m/contacts/{contact.pk}/").content.decode()
    assert f'href="{url}?number=%2B14155550132"' in page

    caller = member(tenant_a)
    call_page = client_for(tenant_a, caller).get(url, {"number": "+14155550132"})
    assert call_page.status_code == 200
    assert f"frame-src 'self' {ORIGIN}" in call_page["Content-Security-Policy"]
    box = next(b for b in boxes(call_page.content.decode()) if b["src"] == f"{ORIGIN}/call")
    payload = context_verify(app_secret(tenant_a), box["context"], tenant=tenant_a.schema_name)
    assert payload["number"] == "+14155550132" and payload["member"] == caller.pk
    assert payload["ext"] == "telephony.click_to_call"
    fresh = client.get(box["refresh"])
    assert context_verify(app_secret(tenant_a), fresh.json()["context"], tenant=tenant_a.schema_name)["number"] == (
        "+14155550132"
    )

    bad = client.get(url, {"number": "call me"})
    assert bad.status_code == 400 and bad.json() == {"number": ["Enter a valid phone number."]}
    assert client_for(tenant_a).get(url, {"number": "+14155550132"}).status_code == 302  # sign in first
    assert client_for(tenant_b, admin_of(tenant_b)).get(url, {"number": "+14155550132"}).status_code == 404

    with schema_context(tenant_a.schema_name):
        extension_uninstall(actor=admin, installation=pbx)
    assert client.get(url, {"number": "+14155550132"}).status_code == 404
    after = client.get(f"/m/contacts/{contact.pk}/").content.decode()
    assert url not in after
    assert 'href="tel:+14155550132"' in after  # the workspace's own template again


# -- one provider never updates another's calls -------------------------------------------------------------


def test_an_app_cannot_update_the_workspace_webhooks_call_of_the_same_id(tenant_a, admin_of, client_for, pbx):
    """Call ids are unique per provider: the app's event for "pbx-1" makes its own call and leaves the
    workspace webhook's "pbx-1" as it was; each provider's later events update its own row, and the
    app's update is audited under the app's name."""
    from crm_apps.audit.models import AuditEvent
    from crm_apps.modules.calls.settings_store import telephony_secret_rotate

    client = client_for(tenant_a)
    with schema_context(tenant_a.schema_name):
        own_secret = telephony_secret_rotate(actor=admin_of(tenant_a))
    assert post_event(client, event(), secret=own_secret, provider=None).status_code == 201

    provider = f"app-{pbx.pk}"
    answered = post_event(client, event(status="answered"), secret=app_secret(tenant_a), provider=provider)
    assert answered.status_code == 201 and answered.json()["created"] is True
    ended = post_event(client, event(status="missed"), secret=app_secret(tenant_a), provider=provider)
    assert ended.status_code == 200 and ended.json()["created"] is False
    by_provider = {c.provider: (c.provider_call_id, c.status) for c in calls(tenant_a)}
    assert by_provider == {"": ("pbx-1", "Ringing"), provider: ("pbx-1", "Missed")}
    again = post_event(client, event(status="busy"), secret=own_secret, provider=None)
    assert again.status_code == 200
    assert {c.provider: c.status for c in calls(tenant_a)} == {"": "Busy", provider: "Missed"}
    with schema_context(tenant_a.schema_name):
        app_call = next(c for c in calls(tenant_a) if c.provider == provider)
        updated = AuditEvent.objects.filter(action="record_updated", module="calls", record_id=str(app_call.pk))
        assert [(e.actor_label, e.details["provider"]) for e in updated] == [(f"Telephony ({pbx.name})", provider)]
        workspace_call = next(c for c in calls(tenant_a) if c.provider == "")
        assert not AuditEvent.objects.filter(action="record_updated", record_id=str(workspace_call.pk)).exists()


def test_a_second_app_cannot_update_the_first_apps_call(tenant_a, admin_of, client_for, pbx):
    second, _key = install(
        tenant_a, admin_of(tenant_a), manifest_validate(json.dumps(pbx_data(key="pbx-two", name="PBX two"))), 9102
    )
    client = client_for(tenant_a)
    with schema_context(tenant_a.schema_name):
        secrets = {row.installation_id: row.secret for row in AppInstall.objects.all()}
    assert post_event(client, event(), secret=secrets[pbx.pk], provider=f"app-{pbx.pk}").status_code == 201
    other = post_event(client, event(status="failed"), secret=secrets[second.pk], provider=f"app-{second.pk}")
    assert other.status_code == 201
    assert {c.provider: (c.provider_call_id, c.status) for c in calls(tenant_a)} == {
        f"app-{pbx.pk}": ("pbx-1", "Ringing"),
        f"app-{second.pk}": ("pbx-1", "Failed"),
    }


def test_the_app_may_sign_events_with_a_timestamp_and_old_ones_are_refused(tenant_a, client_for, pbx):
    import time

    from saas.webhooks import sign

    client = client_for(tenant_a)
    provider = f"app-{pbx.pk}"
    body = event("ts-1")

    def post(signature: str) -> Any:
        return client.post(
            "/api/v1/telephony/events",
            body,
            content_type="application/json",
            HTTP_X_SIGNATURE=signature,
            HTTP_X_TELEPHONY_PROVIDER=provider,
        )

    assert post(sign(app_secret(tenant_a), body, int(time.time()) - 3600)).status_code == 401
    assert post(sign("appsec_guess", body, int(time.time()))).status_code == 401
    assert post(f"t=\u00b2,v1={'0' * 64}").status_code == 401
    assert post(sign(app_secret(tenant_a), body, int(time.time()))).status_code == 201
    assert [c.provider_call_id for c in calls(tenant_a)] == ["ts-1"]


def test_the_apps_call_events_count_in_its_budget(tenant_a, client_for, pbx, settings):
    settings.OAUTH_APP_RATE_PER_MINUTE = 1
    client = client_for(tenant_a)
    provider = f"app-{pbx.pk}"
    assert post_event(client, event("b-1"), secret=app_secret(tenant_a), provider=provider).status_code == 201
    over = post_event(client, event("b-2"), secret=app_secret(tenant_a), provider=provider)
    assert over.status_code == 429 and 1 <= int(over["Retry-After"]) <= 60
    assert [c.provider_call_id for c in calls(tenant_a)] == ["b-1"]
