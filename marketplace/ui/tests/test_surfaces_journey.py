"""Browser journey in Debian's Chromium with a test app as a separate process: a member adds the app's
dashboard widget and sees its sandboxed frame get a verified context; then selects two organisations in
the list and opens the app's list action, whose frame is given exactly those records."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from marketplace.ui.context import context_verify
from marketplace.ui.models import AppInstall
from marketplace.ui.tests.conftest import AppProcess, free_port, install
from marketplace.ui.tests.test_surfaces import surfaces_manifest
from tenants.runtime import use_public_schema
from tenants.services import tenant_provision
from tests.e2e.conftest import browser, live_site  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FRAME_APP = Path(__file__).with_name("frame_app.py")


@pytest.fixture
def frame_app():
    port = free_port()
    app = AppProcess({"FRAME_APP_PORT": str(port)}, server=FRAME_APP)
    yield app
    app.stop()


def test_an_app_widget_and_a_list_action_in_the_browser(live_site, browser, committed, settings, frame_app):  # noqa: F811
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the test app listens on 127.0.0.1
    admin = make_user(committed.email(), name="Sue Surface")
    tenant = tenant_provision(slug=committed.slug("surf"), name="Surface Co", admin=admin)
    with schema_context(tenant.schema_name):
        from crm_apps.access.models import Member

        member = Member.objects.get(user=admin)
    installation, _key = install(tenant, member, surfaces_manifest(frame_app.origin), listing_id=9301)
    with schema_context(tenant.schema_name):
        secret = AppInstall.objects.get(installation=installation).secret
        spec = registry.get("organizations")
        first = record_create(spec=spec, actor=member, data={"name": "Alpha Maps"})
        second = record_create(spec=spec, actor=member, data={"name": "Beta Maps"})
    use_public_schema()

    tenant_base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page()
    page.goto(tenant_base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(tenant_base + "/")

    # The dashboard offers the app's widget; once added it is a sandboxed frame that got its context.
    page.goto(tenant_base + "/dashboards/")
    page.locator("[data-widget-add] select[name=kind]").select_option(label="Coverage (Surface test app)")
    page.locator("[data-widget-add] button[type=submit]").click()
    page.wait_for_load_state()
    box = page.locator(".grid-stack [data-app-frame]")
    box.scroll_into_view_if_needed()
    frame_element = box.locator("iframe")
    frame_element.wait_for()
    assert frame_element.get_attribute("sandbox") == "allow-scripts allow-forms allow-same-origin allow-popups"
    assert frame_element.evaluate("f => f.style.height") == "300px"
    widget = page.frame_locator(".grid-stack [data-app-frame] iframe")
    widget.get_by_text("given dashboard_widgets.coverage module= record=null records=").wait_for(timeout=20000)
    page.wait_for_function(
        "() => document.querySelector('.grid-stack [data-app-frame]').dataset.appFrameState === 'ready'"
    )
    page.get_by_text("Hello from dashboard_widgets.coverage").wait_for()
    token = widget.locator("#token").inner_text()
    assert context_verify(secret, token, tenant=tenant.schema_name)["member"] == member.pk

    # The list: select both organisations and open the app's list action with them.
    page.goto(tenant_base + "/m/organizations/")
    for record in (first, second):
        page.locator(f'input[name="ids"][value="{record.pk}"]').check()
    page.get_by_role("button", name="Show on a map (Surface test app)").click()
    page.wait_for_url(re.compile(r".*/marketplace/app/action/.*"))
    action = page.frame_locator("[data-app-frame] iframe")
    given = action.get_by_text(re.compile(r"^given list_actions\.all module=organizations"))
    given.wait_for(timeout=20000)
    records = given.inner_text().split("records=")[1].split(",")
    assert sorted(records) == sorted([str(first.pk), str(second.pk)])
    payload = context_verify(secret, action.locator("#token").inner_text(), tenant=tenant.schema_name)
    assert sorted(payload["records"]) == sorted(records)
