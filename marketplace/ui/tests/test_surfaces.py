"""Dashboard widgets, record and list actions and settings pages of an installed app: each drawn as a
sandboxed frame with a verifiable context for an installed app only (never after uninstall or a
platform-wide suspension, never on another workspace), `frame-src` only for the app's origin on those
pages, settings for administrators only, and action ids limited to the records the member may see."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django_tenants.utils import schema_context

from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.reports.models import Widget
from marketplace.installs.services import extension_uninstall
from marketplace.manifest import ManifestInvalid, manifest_validate
from marketplace.ui.context import context_verify
from marketplace.ui.models import AppInstall
from marketplace.ui.panels import SANDBOX
from marketplace.ui.tests.conftest import install

pytestmark = pytest.mark.django_db

ORIGIN = "https://surfaces.crm-labs.example"


def surfaces_manifest(origin: str = ORIGIN, **changes: Any) -> Any:
    data: dict[str, Any] = {
        "schema_version": 2,
        "key": "surface-app",
        "name": "Surface test app",
        "version": "1.0.0",
        "min_platform_version": "0.1.0",
        "app": {"origin": origin},
        "scopes": ["organizations:read"],
        "ui": {
            "dashboard_widgets": [
                {"key": "coverage", "label": "Coverage", "url": f"{origin}/widget", "height": 300, "width": 4}
            ],
            "record_actions": [
                {"key": "route", "label": "Plan a route", "modules": ["organizations"], "url": f"{origin}/record"}
            ],
            "list_actions": [
                {"key": "all", "label": "Show on a map", "modules": ["organizations"], "url": f"{origin}/bulk"}
            ],
            "settings_pages": [{"key": "cfg", "label": "Maps settings", "url": f"{origin}/settings"}],
        },
        **changes,
    }
    return manifest_validate(json.dumps(data))


@pytest.fixture
def app_installed(tenant_a: Any, admin_of: Any) -> Any:
    installation, _key = install(tenant_a, admin_of(tenant_a), surfaces_manifest(), listing_id=9201)
    return installation


def organisation(tenant: Any, actor: Any, name: str = "Spree GmbH") -> Any:
    with schema_context(tenant.schema_name):
        return record_create(spec=registry.get("organizations"), actor=actor, data={"name": name})


def boxes(page: str) -> list[dict[str, str]]:
    return [
        {name: html.unescape(value) for name, value in re.findall(r'data-([a-z-]+)="([^"]*)"', match)}
        for match in re.findall(r"<section[^>]*data-app-frame[^>]*>", page, re.S)
    ]


def secret(tenant: Any) -> str:
    with schema_context(tenant.schema_name):
        return AppInstall.objects.get().secret


def dashboard_id(client: Any) -> int:
    response = client.get("/dashboards/")
    return int(response["Location"].rstrip("/").split("/")[-1])


def add_app_widget(client: Any, installation: Any) -> Any:
    board = dashboard_id(client)
    return board, client.post(f"/dashboards/{board}/widgets/", {"kind": f"app:{installation.pk}.coverage"})


# -- dashboard widgets --------------------------------------------------------------------------------


def test_an_app_widget_is_offered_added_with_its_size_and_drawn_as_a_sandboxed_frame(
    tenant_a, admin_of, client_for, app_installed
):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    board = dashboard_id(client)
    page = client.get(f"/dashboards/{board}/").content.decode()
    assert f'<option value="app:{app_installed.pk}.coverage">Coverage (Surface test app)</option>' in page
    assert (
        "data-app-frame" not in page
        and "frame-src" not in client.get(f"/dashboards/{board}/")["Content-Security-Policy"]
    )

    _board, added = add_app_widget(client, app_installed)
    assert added.status_code == 302
    with schema_context(tenant_a.schema_name):
        widget = Widget.objects.get(kind="app")
    assert widget.config == {"ref": f"{app_installed.pk}.coverage"}
    assert (widget.w, widget.h) == (4, 5)  # 4 columns; (300 px + the title bar) / 80 px rows, rounded up
    response = client.get(f"/dashboards/{board}/")
    [box] = boxes(response.content.decode())
    assert box["src"] == f"{ORIGIN}/widget" and box["origin"] == ORIGIN and box["height"] == "300"
    assert box["sandbox"] == SANDBOX
    assert f"frame-src 'self' {ORIGIN}" in response["Content-Security-Policy"]
    payload = context_verify(secret(tenant_a), box["context"], tenant="alpha")
    assert payload["ext"] == "dashboard_widgets.coverage" and payload["member"] == admin.pk
    assert payload["record"] is None and "records" not in payload
    fresh = client.get(box["refresh"])
    assert fresh.status_code == 200
    assert context_verify(secret(tenant_a), fresh.json()["context"], tenant="alpha")["ext"] == payload["ext"]


def test_a_widget_kind_the_workspace_has_no_app_for_is_refused(tenant_a, tenant_b, admin_of, client_for, app_installed):
    client_b = client_for(tenant_b, admin_of(tenant_b))
    board_b, refused = add_app_widget(client_b, app_installed)  # tenant B never installed it
    assert refused.status_code == 302
    with schema_context(tenant_b.schema_name):
        assert not Widget.objects.filter(kind="app").exists()
    page_b = client_b.get(f"/dashboards/{board_b}/")
    assert "Surface test app" not in page_b.content.decode() and "data-app-frame" not in page_b.content.decode()
    client_a = client_for(tenant_a, admin_of(tenant_a))
    board = dashboard_id(client_a)
    client_a.post(f"/dashboards/{board}/widgets/", {"kind": f"app:{app_installed.pk}.nothing"})
    client_a.post(f"/dashboards/{board}/widgets/", {"kind": "app:x.coverage"})
    with schema_context(tenant_a.schema_name):
        assert not Widget.objects.filter(kind="app").exists()


def test_uninstalling_deletes_the_widgets_and_suspension_hides_them(tenant_a, admin_of, client_for, app_installed):
    from marketplace.apps.models import App, AppStatus
    from marketplace.catalog.models import Listing
    from marketplace.installs.models import ExtensionInstallation
    from marketplace.partners.models import Partner

    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    board, _added = add_app_widget(client, app_installed)
    assert len(boxes(client.get(f"/dashboards/{board}/").content.decode())) == 1

    # The OAuth app of the same listing (marketplace/apps), suspended platform-wide by operators.
    partner = Partner.objects.create(name="Surface partner", slug="surface-partner")
    listing = Listing.objects.create(
        partner=partner, slug="surface-app", name="Surface test app", summary="Frames", category="sales"
    )
    with schema_context(tenant_a.schema_name):
        ExtensionInstallation.objects.filter(pk=app_installed.pk).update(listing_id=listing.pk)
        from crm_apps.engine.metadata import metadata_changed

        metadata_changed()
    app = App.objects.create(
        name="Surface test app",
        partner=partner,
        listing=listing,
        client_type="confidential",
        authorization_grant_type="authorization-code",
    )
    App.objects.filter(pk=app.pk).update(status=AppStatus.SUSPENDED)
    suspended = client.get(f"/dashboards/{board}/")
    assert "data-app-frame" not in suspended.content.decode()
    assert "frame-src" not in suspended["Content-Security-Policy"]
    assert "Surface test app" not in suspended.content.decode()  # not offered either
    App.objects.filter(pk=app.pk).update(status=AppStatus.ACTIVE)
    assert len(boxes(client.get(f"/dashboards/{board}/").content.decode())) == 1

    with schema_context(tenant_a.schema_name):
        extension_uninstall(actor=admin, installation=app_installed)
        assert not Widget.objects.filter(kind="app").exists()
    assert "data-app-frame" not in client.get(f"/dashboards/{board}/").content.decode()


# -- record and list actions ----------------------------------------------------------------------------


def test_record_and_list_actions_show_only_on_the_declared_module_of_an_installed_app(
    tenant_a, tenant_b, admin_of, client_for, app_installed
):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    org = organisation(tenant_a, admin)
    record_page = client.get(f"/m/organizations/{org.pk}/").content.decode()
    action_url = f"/marketplace/app/action/{app_installed.pk}/record_actions.route/organizations/?ids={org.pk}"
    assert f'href="{action_url}"' in record_page and "Plan a route (Surface test app)" in record_page
    list_page = client.get("/m/organizations/").content.decode()
    assert f'formaction="/marketplace/app/action/{app_installed.pk}/list_actions.all/organizations/"' in list_page
    assert "Show on a map (Surface test app)" in list_page
    # Not on another module, and nothing on tenant B.
    assert "Surface test app" not in client.get("/m/contacts/").content.decode()
    admin_b = admin_of(tenant_b)
    org_b = organisation(tenant_b, admin_b)
    client_b = client_for(tenant_b, admin_b)
    assert "Surface test app" not in client_b.get(f"/m/organizations/{org_b.pk}/").content.decode()
    assert "Surface test app" not in client_b.get("/m/organizations/").content.decode()
    assert client_b.get(action_url.replace(str(org.pk), str(org_b.pk))).status_code == 404

    with schema_context(tenant_a.schema_name):
        extension_uninstall(actor=admin, installation=app_installed)
    assert "Surface test app" not in client.get(f"/m/organizations/{org.pk}/").content.decode()
    assert "Surface test app" not in client.get("/m/organizations/").content.decode()
    assert client.get(action_url).status_code == 404


def test_a_record_action_frames_the_app_with_the_record_in_a_verified_context(
    tenant_a, admin_of, client_for, app_installed
):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    org = organisation(tenant_a, admin)
    response = client.get(
        f"/marketplace/app/action/{app_installed.pk}/record_actions.route/organizations/?ids={org.pk}"
    )
    assert response.status_code == 200
    assert f"frame-src 'self' {ORIGIN}" in response["Content-Security-Policy"]
    [box] = boxes(response.content.decode())
    assert box["src"] == f"{ORIGIN}/record" and box["sandbox"] == SANDBOX
    payload = context_verify(secret(tenant_a), box["context"], tenant="alpha")
    assert (payload["ext"], payload["module"], payload["record"]) == (
        "record_actions.route",
        "organizations",
        str(org.pk),
    )
    fresh = client.get(box["refresh"])
    assert context_verify(secret(tenant_a), fresh.json()["context"], tenant="alpha")["record"] == str(org.pk)
    two = organisation(tenant_a, admin, "Second")
    both = f"/marketplace/app/action/{app_installed.pk}/record_actions.route/organizations/?ids={org.pk}&ids={two.pk}"
    assert client.get(both).status_code == 400


def test_a_list_action_gets_only_the_selected_records_the_member_may_see(
    tenant_a, admin_of, client_for, member, app_installed, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    alice, bob = member(tenant_a), member(tenant_a)
    with django_capture_on_commit_callbacks(execute=True), schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="organizations", access="private")
    mine = organisation(tenant_a, bob, "Bob's own")
    hidden = organisation(tenant_a, alice, "Alice's own")
    url = f"/marketplace/app/action/{app_installed.pk}/list_actions.all/organizations/"
    client = client_for(tenant_a, bob)
    response = client.get(url, {"ids": [str(mine.pk), str(hidden.pk), "not-an-id", str(mine.pk)]})
    assert response.status_code == 200
    [box] = boxes(response.content.decode())
    payload = context_verify(secret(tenant_a), box["context"], tenant="alpha")
    assert payload["records"] == [str(mine.pk)] and payload["record"] is None
    assert payload["ext"] == "list_actions.all" and payload["member"] == bob.pk
    assert "Records you cannot see were left out." in response.content.decode()
    fresh = client.get(box["refresh"])
    assert context_verify(secret(tenant_a), fresh.json()["context"], tenant="alpha")["records"] == [str(mine.pk)]
    # Only records they cannot see: nothing to give the app.
    assert client.get(url, {"ids": [str(hidden.pk)]}).status_code == 404
    assert client.get(url).status_code == 404
    too_many = client.get(url, {"ids": ",".join(str(mine.pk) for _ in range(101))})
    assert too_many.status_code == 400 and "ids" in too_many.json()
    # Alice, who owns the hidden one, may pass it.
    alice_page = client_for(tenant_a, alice).get(url, {"ids": [str(hidden.pk)]})
    [alice_box] = boxes(alice_page.content.decode())
    assert context_verify(secret(tenant_a), alice_box["context"], tenant="alpha")["records"] == [str(hidden.pk)]


def test_actions_need_the_module_in_the_apps_scopes():
    with pytest.raises(ManifestInvalid) as caught:
        surfaces_manifest(scopes=["contacts:read"])
    assert caught.value.errors["ui.record_actions.0.modules.0"] == [
        "Actions on organizations need the scope “organizations:read” or “organizations:write”."
    ]
    assert "ui.list_actions.0.modules.0" in caught.value.errors
    assert surfaces_manifest(scopes=["organizations:write"]).data["scopes"] == ["organizations:write"]


# -- settings pages ------------------------------------------------------------------------------------


def test_the_settings_page_is_for_administrators_only(tenant_a, tenant_b, admin_of, client_for, member, app_installed):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    url = f"/marketplace/app/settings/{app_installed.pk}/cfg/"
    assert f'href="{url}"' in client.get("/settings/marketplace/").content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert f"frame-src 'self' {ORIGIN}" in response["Content-Security-Policy"]
    [box] = boxes(response.content.decode())
    assert box["src"] == f"{ORIGIN}/settings" and box["sandbox"] == SANDBOX
    payload = context_verify(secret(tenant_a), box["context"], tenant="alpha")
    assert payload["ext"] == "settings_pages.cfg" and payload["member"] == admin.pk
    assert client.get(f"{url}?context=1").status_code == 200

    plain = client_for(tenant_a, member(tenant_a))
    assert plain.get(url).status_code == 403
    assert plain.get(f"{url}?context=1").status_code == 403
    assert client.get(f"/marketplace/app/settings/{app_installed.pk}/other/").status_code == 404
    assert client_for(tenant_b, admin_of(tenant_b)).get(url).status_code == 404
    assert url not in client_for(tenant_b, admin_of(tenant_b)).get("/settings/marketplace/").content.decode()
    with schema_context(tenant_a.schema_name):
        extension_uninstall(actor=admin, installation=app_installed)
    assert client.get(url).status_code == 404
    assert url not in client.get("/settings/marketplace/").content.decode()


def test_pages_without_an_app_surface_keep_the_strict_policy(tenant_a, admin_of, client_for, app_installed):
    client = client_for(tenant_a, admin_of(tenant_a))
    for url in ("/m/organizations/", "/settings/marketplace/", "/m/contacts/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "frame-src" not in response["Content-Security-Policy"]
