"""Browser journey in Debian's Chromium with the maps example app as a separate process: the app's panel
appears on an organisation's page (sandboxed, lazily, with a verified context and data read through the
API with the installation's token), talks to the page through the SDK, messages from anything but the
app's frame and origin are ignored; then the admin builds a workflow with the app's action and runs it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from marketplace.ui.models import AppInstall
from marketplace.ui.tests.conftest import free_port, install, maps_manifest
from tenants.runtime import use_public_schema
from tenants.services import tenant_provision
from tests.e2e.conftest import browser, live_site  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_app_panel_on_a_record_and_its_workflow_action(live_site, browser, committed, settings, start_app):  # noqa: F811
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the example app listens on 127.0.0.1
    admin = make_user(committed.email(), name="Mia Maps")
    tenant = tenant_provision(slug=committed.slug("maps"), name="Maps Co", admin=admin)
    port = free_port()
    with schema_context(tenant.schema_name):
        from crm_apps.access.models import Member

        member = Member.objects.get(user=admin)
    installation, key = install(tenant, member, maps_manifest(f"http://127.0.0.1:{port}"))
    with schema_context(tenant.schema_name):
        secret = AppInstall.objects.get(installation=installation).secret
        org = record_create(
            spec=registry.get("organizations"), actor=member, data={"name": "Spree GmbH", "billing_city": "Berlin"}
        )
    use_public_schema()
    app = start_app(
        MAPS_APP_PORT=str(port),
        MAPS_APP_TOKEN=str(key),
        MAPS_APP_SECRET=secret,
        MAPS_APP_CONNECT=f"127.0.0.1:{live_site}",
    )

    tenant_base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page()
    page.goto(tenant_base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(tenant_base + "/")
    page.goto(f"{tenant_base}/m/organizations/{org.pk}/")

    # The panel: a sandboxed frame of the app's page, which verified its context and read the record.
    box = page.locator("[data-app-frame]")
    box.scroll_into_view_if_needed()
    frame_element = box.locator("iframe")
    frame_element.wait_for()
    assert frame_element.get_attribute("sandbox") == "allow-scripts allow-forms allow-same-origin allow-popups"
    frame = page.frame_locator("[data-app-frame] iframe")
    frame.get_by_text("Spree GmbH: Berlin (52.52, 13.405)").wait_for(timeout=20000)
    page.wait_for_function("() => document.querySelector('[data-app-frame]').dataset.appFrameState === 'ready'")
    # SDK calls from the app reached the host: a toast and a resize.
    page.get_by_text("Map: Berlin").wait_for()
    height = frame_element.evaluate("f => f.style.height")
    assert height != "260px" and height.endswith("px")

    # Messages from anything but the app's frame and origin are ignored: the page itself, and a frame of
    # the page's own origin (not the app's).
    page.evaluate("() => window.postMessage({kestrel: 1, type: 'toast', text: 'forged by the page'}, '*')")
    page.evaluate("() => { const f = document.createElement('iframe'); f.name = 'intruder'; document.body.append(f); }")
    intruder = None
    for _ in range(50):
        intruder = next((f for f in page.frames if f.name == "intruder"), None)
        if intruder is not None:
            break
        time.sleep(0.1)
    assert intruder is not None
    intruder.evaluate("() => parent.postMessage({kestrel: 1, type: 'toast', text: 'forged by a frame'}, '*')")
    page.wait_for_timeout(500)
    assert page.get_by_text("forged by the page").count() == 0
    assert page.get_by_text("forged by a frame").count() == 0
    # The genuine app frame can still talk: openRecord navigates the host to the record.
    frame.get_by_role("button", name="Open organisation").click()
    page.wait_for_url(re.compile(rf".*/m/organizations/{org.pk}/$"))

    # The admin adds the app's action to a manual workflow in the designer and runs it from the record.
    page.goto(f"{tenant_base}/settings/automation/new/?module=organizations")
    page.get_by_label("Name").fill("Geocode")
    page.locator(".wf-node--trigger select").first.select_option("manual")
    page.locator(".wf-add select").select_option(label="Geocode the organisation (Organisation maps)")
    page.get_by_role("button", name="Add an action").click()
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("Published as version 1.").wait_for()
    page.goto(f"{tenant_base}/m/organizations/{org.pk}/")
    page.get_by_role("button", name="Run “Geocode”").click()
    page.get_by_text(re.compile("The workflow ran")).wait_for()
    received: list[dict[str, Any]] = []
    for _ in range(100):
        received = app.received()
        if received:
            break
        time.sleep(0.1)
    assert received and received[0]["record"] == str(org.pk) and received[0]["point"] == [52.52, 13.405]
    assert received[0]["workspace"] == tenant.schema_name
