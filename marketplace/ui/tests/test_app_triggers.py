"""Workflow triggers from apps (manifest `workflow_triggers`): offered in the designer of the declared
modules, accepted in definitions while the app is installed, fired by the app's signed report; forged,
old, other-workspace, undeclared and malformed reports are refused and start nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from crm_apps.automation import services
from crm_apps.automation.models import RunStatus, WorkflowRun
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from marketplace.installs.services import extension_uninstall
from marketplace.manifest import ManifestInvalid, manifest_validate
from marketplace.ui.models import AppInstall
from marketplace.ui.tests.conftest import EXTENSIONS, install, maps_manifest
from saas.webhooks import sign

pytestmark = pytest.mark.django_db

TRIGGER = "app.maps-panel.located"


@pytest.fixture
def maps_app(tenant_a: Any, admin_of: Any) -> Any:
    installation, _key = install(tenant_a, admin_of(tenant_a), maps_manifest())
    return installation


def app_secret(tenant: Any) -> str:
    with schema_context(tenant.schema_name):
        return AppInstall.objects.get().secret


def report(client: Any, installation: Any, body: dict[str, Any], *, secret: str, at: int | None = None) -> Any:
    raw = json.dumps(body).encode()
    return client.post(
        "/marketplace/app/trigger",
        raw,
        content_type="application/json",
        HTTP_X_CRM_INSTALLATION=str(installation.pk),
        HTTP_X_CRM_SIGNATURE=sign(secret, raw, at if at is not None else int(time.time())),
    )


def workflow_on_located(tenant: Any, admin: Any) -> Any:
    with schema_context(tenant.schema_name):
        return services.workflow_create(
            actor=admin,
            name="When located",
            module="organizations",
            definition={
                "trigger": {"type": TRIGGER},
                "conditions": {"match": "all", "rules": []},
                "actions": [{"id": "c", "type": "add_comment", "body": {"expr": "'At ' & steps.trigger.city"}}],
            },
        )


def test_manifest_triggers_need_readable_modules_and_unique_keys():
    data = json.loads((EXTENSIONS / "maps-panel" / "manifest.json").read_text(encoding="utf-8"))
    item = data["workflow_triggers"][0]
    with pytest.raises(ManifestInvalid) as caught:
        manifest_validate(json.dumps({**data, "workflow_triggers": [item, {**item, "modules": ["contacts"]}]}))
    assert caught.value.errors == {
        "workflow_triggers.1.key": ["The key “located” is used twice."],
        "workflow_triggers.1.modules.0": ["Triggers on contacts need the scope “contacts:read” or “contacts:write”."],
    }


def test_the_designer_offers_the_apps_trigger_on_its_modules_only(tenant_a, tenant_b, admin_of, client_for, maps_app):
    client = client_for(tenant_a, admin_of(tenant_a))
    page = client.get("/settings/automation/new/?module=organizations").content.decode()
    assert TRIGGER in page and "Position found (Organisation maps)" in page
    assert TRIGGER not in client.get("/settings/automation/new/?module=contacts").content.decode()
    other = client_for(tenant_b, admin_of(tenant_b)).get("/settings/automation/new/?module=organizations")
    assert TRIGGER not in other.content.decode()


def test_a_signed_report_runs_the_workflows_with_that_trigger(
    tenant_a, admin_of, client_for, maps_app, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    workflow = workflow_on_located(tenant_a, admin)
    with schema_context(tenant_a.schema_name):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Spree GmbH"})
    body = {"trigger": "located", "module": "organizations", "records": [str(org.pk)], "data": {"city": "Berlin"}}

    with django_capture_on_commit_callbacks(execute=True):
        response = report(client_for(tenant_a), maps_app, body, secret=app_secret(tenant_a))

    assert response.status_code == 202, response.content
    assert response.json() == {"trigger": TRIGGER, "records": 1, "workflows": 1}
    with schema_context(tenant_a.schema_name):
        [run] = WorkflowRun.objects.filter(workflow=workflow)
        assert (run.trigger, run.status, run.record_id) == (TRIGGER, RunStatus.SUCCEEDED, str(org.pk))
        assert run.outputs["trigger"]["city"] == "Berlin"


def test_bad_reports_are_refused_and_start_nothing(
    tenant_a, tenant_b, admin_of, client_for, maps_app, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    workflow = workflow_on_located(tenant_a, admin)
    with schema_context(tenant_a.schema_name):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Spree GmbH"})
    good = {"trigger": "located", "module": "organizations", "records": [str(org.pk)], "data": {}}
    secret = app_secret(tenant_a)
    on_a = client_for(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert report(on_a, maps_app, good, secret="appsec_guess").status_code == 401
        assert report(on_a, maps_app, good, secret=secret, at=int(time.time()) - 3600).status_code == 401
        assert report(client_for(tenant_b), maps_app, good, secret=secret).status_code == 401
        undeclared = report(on_a, maps_app, {**good, "module": "contacts"}, secret=secret)
        assert undeclared.json() == {"trigger": ["The app declares no such trigger for this module."]}
        unknown = report(on_a, maps_app, {**good, "records": ["00000000-0000-0000-0000-000000000000"]}, secret=secret)
        assert unknown.status_code == 400 and "records" in unknown.json()
        assert report(on_a, maps_app, {**good, "records": []}, secret=secret).status_code == 400
        assert report(on_a, maps_app, {**good, "data": "x"}, secret=secret).json() == {
            "data": ["Send an object of at most 16 KB."]
        }
    with schema_context(tenant_a.schema_name):
        assert not WorkflowRun.objects.filter(workflow=workflow).exists()

    # Uninstalled: reports refused, and the trigger is no longer valid in a definition.
    with schema_context(tenant_a.schema_name):
        extension_uninstall(actor=admin, installation=maps_app)
    assert report(on_a, maps_app, good, secret=secret).status_code == 401
    with pytest.raises(ValidationError) as caught:
        workflow_on_located(tenant_a, admin)
    assert list(caught.value.message_dict) == ["definition.trigger.type"]


def post_raw(client: Any, installation: Any, raw: bytes, signature: str) -> Any:
    return client.post(
        "/marketplace/app/trigger",
        raw,
        content_type="application/json",
        HTTP_X_CRM_INSTALLATION=str(installation.pk),
        HTTP_X_CRM_SIGNATURE=signature,
    )


def test_a_replayed_report_is_refused_and_runs_nothing_twice(
    tenant_a, admin_of, client_for, maps_app, django_capture_on_commit_callbacks
):
    from crm_apps.audit.models import AuditEvent

    admin = admin_of(tenant_a)
    workflow = workflow_on_located(tenant_a, admin)
    with schema_context(tenant_a.schema_name):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Spree GmbH"})
    raw = json.dumps({"trigger": "located", "module": "organizations", "records": [str(org.pk)]}).encode()
    signature = sign(app_secret(tenant_a), raw, int(time.time()))
    with django_capture_on_commit_callbacks(execute=True):
        first = post_raw(client_for(tenant_a), maps_app, raw, signature)
        replay = post_raw(client_for(tenant_a), maps_app, raw, signature)
    assert first.status_code == 202
    assert replay.status_code == 409
    assert replay.json() == {"signature": ["This report was received already; sign each report anew."]}
    with schema_context(tenant_a.schema_name):
        assert WorkflowRun.objects.filter(workflow=workflow).count() == 1
        calls = AuditEvent.objects.filter(action="api_call", details__installation=maps_app.pk)
        assert [(e.actor_label, e.details["path"]) for e in calls] == [
            (maps_app.name, "/marketplace/app/trigger"),
            (maps_app.name, "/marketplace/app/trigger"),
        ]
    # Signed anew (another second), the same event is accepted again.
    again = sign(app_secret(tenant_a), raw, int(time.time()) + 1)
    assert post_raw(client_for(tenant_a), maps_app, raw, again).status_code == 202


def test_odd_signatures_and_bodies_are_refused_never_500(tenant_a, admin_of, client_for, maps_app):
    raw = b'{"trigger": "located"}'
    on_a = client_for(tenant_a)
    now = int(time.time())
    for signature in (f"t=\u00b2,v1={'0' * 64}", f"t={now},v1={'é' * 64}", f"t={now},v1=²", "t=,v1=", "garbage"):
        answer = post_raw(on_a, maps_app, raw, signature)
        assert answer.status_code == 401, signature
        assert answer.json() == {"signature": ["Missing or wrong signature."]}
    deep = b"[" * 50_000
    answer = post_raw(on_a, maps_app, deep, sign(app_secret(tenant_a), deep, now))
    assert answer.status_code == 400 and answer.json() == {"non_field_errors": ["Send a JSON object."]}


def test_reports_count_in_the_apps_budget(tenant_a, admin_of, client_for, maps_app, settings):
    settings.OAUTH_APP_RATE_PER_MINUTE = 1
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Spree GmbH"})
    body = {"trigger": "located", "module": "organizations", "records": [str(org.pk)]}
    assert report(client_for(tenant_a), maps_app, body, secret=app_secret(tenant_a)).status_code == 202
    over = report(client_for(tenant_a), maps_app, {**body, "data": {"n": 2}}, secret=app_secret(tenant_a))
    assert over.status_code == 429 and 1 <= int(over["Retry-After"]) <= 60
