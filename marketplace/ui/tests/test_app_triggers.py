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
