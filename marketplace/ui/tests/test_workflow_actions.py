"""An installed app's workflow action: offered in the designer only where it applies and only to the
workspace that installed it, POSTed signed to the example app (a separate process) with retries, visible
in the run log, and gone with the app."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from crm_apps.automation import services
from crm_apps.automation.models import Delivery, DeliveryStatus, RunStatus
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from marketplace.installs.services import extension_uninstall
from marketplace.ui.models import AppInstall
from marketplace.ui.tests.conftest import free_port, install, maps_manifest

pytestmark = pytest.mark.django_db
ACTION = "app.maps-panel.geocode"


def workflow(admin: Any, module: str = "organizations") -> Any:
    return services.workflow_create(
        actor=admin,
        name="Geocode",
        module=module,
        definition={"trigger": {"type": "manual"}, "actions": [{"id": "geo", "type": ACTION}]},
    )


def designer_state(client: Any, module: str) -> dict[str, Any]:
    html = client.get(f"/settings/automation/new/?module={module}").content.decode()
    start = html.index('id="workflow-designer-state"')
    body = html[html.index(">", start) + 1 : html.index("</script>", start)]
    return dict(json.loads(body))


def test_the_designer_offers_the_action_only_where_the_app_is_installed(
    tenant_a, tenant_b, admin_of, client_for, maps_installed
):
    state = designer_state(client_for(tenant_a, admin_of(tenant_a)), "organizations")
    assert ACTION in state["actions"]
    assert state["labels"][f"a_{ACTION}"] == "Geocode the organisation (Organisation maps)"
    assert ACTION not in designer_state(client_for(tenant_a, admin_of(tenant_a)), "deals")["actions"]
    assert ACTION not in designer_state(client_for(tenant_b, admin_of(tenant_b)), "organizations")["actions"]
    # Publishing it: fine on A's organisations, a field error on B (no such action there) and on deals.
    with schema_context("alpha"):
        workflow(admin_of(tenant_a))
        with pytest.raises(ValidationError) as on_deals:
            workflow(admin_of(tenant_a), "deals")
    assert "definition.actions.0.type" in on_deals.value.message_dict
    with schema_context("beta"), pytest.raises(ValidationError) as on_b:
        workflow(admin_of(tenant_b))
    assert "definition.actions.0.type" in on_b.value.message_dict


def test_the_action_is_posted_signed_with_retries_and_logged(
    tenant_a, admin_of, client_for, settings, start_app, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the example app listens on 127.0.0.1
    admin = admin_of(tenant_a)
    port = free_port()
    installation, _key = install(tenant_a, admin, maps_manifest(f"http://127.0.0.1:{port}"))
    with schema_context("alpha"):
        secret = AppInstall.objects.get(installation=installation).secret
    app = start_app(MAPS_APP_PORT=str(port), MAPS_APP_SECRET=secret, MAPS_APP_FAIL_FIRST="1")
    with schema_context("alpha"):
        org = record_create(
            spec=registry.get("organizations"), actor=admin, data={"name": "Kazan Works", "billing_city": "Kazan"}
        )
        flow = workflow(admin)
        with django_capture_on_commit_callbacks(execute=True):
            (run,) = services.workflow_run_manually(actor=admin, workflow=flow, record_ids=[str(org.pk)])
        assert run.status == RunStatus.SUCCEEDED
        delivery = Delivery.objects.get(run_step__run=run)
        # The app answered 500 first (retried), then accepted the correctly signed call.
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 2
        assert delivery.url == f"http://127.0.0.1:{port}/actions/geocode"
    received = app.received()
    assert len(received) == 1
    assert received[0]["action"] == ACTION and received[0]["record"] == str(org.pk)
    assert received[0]["workspace"] == "alpha" and received[0]["point"] == [55.7887, 49.1221]
    # The run log shows the step and its delivery.
    page = client_for(tenant_a, admin).get(f"/settings/automation/{flow.pk}/runs/{run.pk}/").content.decode()
    assert "geo" in page and ACTION in page


def test_a_wrong_signature_is_refused_by_the_app_and_retried_until_failed(
    tenant_a, admin_of, settings, start_app, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    admin = admin_of(tenant_a)
    port = free_port()
    install(tenant_a, admin, maps_manifest(f"http://127.0.0.1:{port}"))
    app = start_app(MAPS_APP_PORT=str(port), MAPS_APP_SECRET="not-the-installations-secret")
    with schema_context("alpha"):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Nope"})
        flow = workflow(admin)
        with django_capture_on_commit_callbacks(execute=True):
            (run,) = services.workflow_run_manually(actor=admin, workflow=flow, record_ids=[str(org.pk)])
        delivery = Delivery.objects.get(run_step__run=run)
        assert delivery.status == DeliveryStatus.FAILED and delivery.response_status == 401
        assert delivery.attempts == 6
    assert app.received() == []


def test_private_targets_are_refused_without_the_development_switch(
    tenant_a, admin_of, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # to install an http://127.0.0.1 app at all
    admin = admin_of(tenant_a)
    install(tenant_a, admin, maps_manifest("http://127.0.0.1:9"))
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with schema_context("alpha"):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "SSRF"})
        flow = workflow(admin)
        with django_capture_on_commit_callbacks(execute=True):
            (run,) = services.workflow_run_manually(actor=admin, workflow=flow, record_ids=[str(org.pk)])
        assert Delivery.objects.get(run_step__run=run).status == DeliveryStatus.REFUSED


def test_after_uninstall_the_step_fails_and_says_why(tenant_a, admin_of, maps_installed):
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Gone"})
        flow = workflow(admin)
        extension_uninstall(actor=admin, installation=maps_installed)
        time.sleep(0)  # the provider reads installed apps per call: no cache to wait for
        (run,) = services.workflow_run_manually(actor=admin, workflow=flow, record_ids=[str(org.pk)])
        assert run.status == RunStatus.FAILED
        assert "no longer" in run.error or "removed" in run.error
        assert not Delivery.objects.filter(run_step__run=run).exists()
