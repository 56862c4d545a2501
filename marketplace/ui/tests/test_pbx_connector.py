"""The click-to-call PBX connector, end to end with its example app as a separate process on a live
server. The app is a telephony provider: the contact page carries the Call panel's signed context and
phone numbers link to the app's click-to-call page; the app verifies the context with the workspace,
reads the contact's number with the installation's token (or takes the clicked number from the context),
fetches its secret and reports the call through the telephony webhook under its provider key (ringing,
answered, ended with duration and recording). The call is then on the CRM, matched to the contact and to
the member whose extension dialled. A context of another workspace and a forged secret are refused."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from conftest import make_user, sign_in
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from marketplace.manifest import manifest_validate
from marketplace.ui.tests.conftest import EXTENSIONS, free_port, install
from tenants.runtime import use_public_schema
from tenants.services import tenant_provision
from tests.e2e.conftest import live_site  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow]


def pbx_manifest(origin: str) -> Any:
    text = (EXTENSIONS / "pbx-connector" / "manifest.json").read_text(encoding="utf-8")
    return manifest_validate(text.replace("https://pbx.crm-labs.example", origin))


def dial(origin: str, context: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{origin}/dial", data=json.dumps({"context": context}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_click_to_call_reports_the_call_through_the_telephony_webhook(
    live_site,  # noqa: F811
    committed,
    settings,
    start_pbx,
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    admin = make_user(committed.email(), name="Pia Phone")
    tenant = tenant_provision(slug=committed.slug("pbx"), name="PBX Co", admin=admin)
    other = tenant_provision(slug=committed.slug("other"), name="Other Co", admin=make_user(committed.email()))
    port = free_port()
    with schema_context(tenant.schema_name):
        from crm_apps.access.models import Member
        from crm_apps.modules.calls.models import Call, CallMatch, TelephonyMember

        member = Member.objects.get(user=admin)
        TelephonyMember.objects.create(member=member, extension="201")
        contact = record_create(
            spec=registry.get("contacts"), actor=member, data={"last_name": "Callee", "phone": "+14155550132"}
        )
    _installation, key = install(tenant, member, pbx_manifest(f"http://127.0.0.1:{port}"))
    use_public_schema()
    app = start_pbx(
        PBX_APP_PORT=str(port),
        PBX_APP_TOKEN=str(key),
        PBX_APP_EXTENSION="201",
        PBX_APP_CONNECT=f"127.0.0.1:{live_site}",
    )
    host = f"{tenant.schema_name}.localhost:{live_site}"
    client = Client(HTTP_HOST=host)
    with schema_context(tenant.schema_name):
        sign_in(client, member)
    page = client.get(f"/m/contacts/{contact.pk}/")
    assert page.status_code == 200
    assert f"frame-src 'self' http://127.0.0.1:{port}" in page["Content-Security-Policy"]
    found = re.search(r'data-context="([^"]+)"', page.content.decode())
    assert found is not None
    context = found.group(1)

    status, answer = dial(app.origin, context)
    assert status == 200, answer
    assert answer["to"] == "+14155550132" and answer["crm_status"] == 200
    with schema_context(tenant.schema_name):
        from crm_apps.audit.models import AuditEvent

        call = Call.objects.get(provider_call_id=answer["call_id"])
        assert call.status.lower() == "answered" and call.direction.lower() == "outbound"
        assert call.member_id == member.pk
        assert call.duration == 42 and call.recording_url.endswith(f"/recordings/{answer['call_id']}.mp3")
        assert CallMatch.objects.filter(call=call, record_id=str(contact.pk)).exists()
        created = AuditEvent.objects.get(module="calls", record_id=str(call.pk), action="record_created")
        assert created.actor_label == "Telephony (Click-to-call PBX connector)"

    # Click-to-call: the phone number links to the app's page, whose context carries the number.
    link = re.search(r'href="(/marketplace/app/call/\d+/\?number=[^"]+)"', page.content.decode())
    assert link is not None
    call_page = client.get(link.group(1).replace("&amp;", "&"))
    assert call_page.status_code == 200
    clicked = re.search(r'data-context="([^"]+)"', call_page.content.decode())
    assert clicked is not None
    status, answer = dial(app.origin, clicked.group(1))
    assert status == 200, answer
    assert answer["to"] == "+14155550132"
    with schema_context(tenant.schema_name):
        assert Call.objects.filter(provider_call_id=answer["call_id"], member=member).exists()

    # Signed with anything but the app secret: every event refused, nothing written.
    forger = start_pbx(
        PBX_APP_TOKEN=str(key),
        PBX_APP_EXTENSION="201",
        PBX_APP_CONNECT=f"127.0.0.1:{live_site}",
        PBX_APP_SECRET_OVERRIDE="appsec_forged",
    )
    status, answer = dial(forger.origin, context)
    assert status == 502 and answer["crm_status"] == 401
    with schema_context(tenant.schema_name):
        assert not Call.objects.filter(provider_call_id=answer["call_id"]).exists()
    # The same context presented as if it came from the other workspace: refused there.
    forged_host = context  # unchanged token: its "ws" names the first workspace, so point the app elsewhere
    other_app = start_pbx(
        PBX_APP_TOKEN=str(key),
        PBX_APP_CONNECT=f"127.0.0.1:{live_site}",
        PBX_APP_HOST_OVERRIDE=f"{other.schema_name}.localhost:{live_site}",
    )
    status, answer = dial(other_app.origin, forged_host)
    assert status == 403 and answer["error"] == "context refused"
    with schema_context(other.schema_name):
        assert not Call.objects.exists()
