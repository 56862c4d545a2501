"""Field types from apps (manifest `field_types`): precise manifest errors, an administrator adds a field
of an app's type, the engine stores and validates its value (API, form, the app's endpoint), the app's
panel frames it on the record page with the value and the member's right to change it in the signed
context, and the app saves values only through that context, as the member. Uninstall, suspension,
another workspace and forged contexts are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django_tenants.utils import schema_context

from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.models import CustomField, FieldType
from crm_apps.engine.services import record_create
from marketplace.installs.services import extension_uninstall
from marketplace.manifest import ManifestInvalid, manifest_validate
from marketplace.ui.context import context_sign, context_verify
from marketplace.ui.fields import app_field_add
from marketplace.ui.models import AppInstall
from marketplace.ui.tests.conftest import EXTENSIONS, SHIPPED_ORIGIN, install, maps_manifest
from marketplace.ui.tests.test_surfaces import boxes

pytestmark = pytest.mark.django_db

ADDRESS = {"street": "Unter den Linden 1", "postcode": "10117", "city": "Berlin", "country": "DE"}


def manifest_with(**changes: Any) -> dict[str, Any]:
    data = json.loads((EXTENSIONS / "maps-panel" / "manifest.json").read_text(encoding="utf-8"))
    field_type = {**data["field_types"][0], **changes}
    return {**data, "field_types": [field_type]}


def errors_of(data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ManifestInvalid) as caught:
        manifest_validate(json.dumps(data))
    return caught.value.errors


@pytest.fixture
def maps_app(tenant_a: Any, admin_of: Any) -> Any:
    installation, _key = install(tenant_a, admin_of(tenant_a), maps_manifest())
    return installation


def secret(tenant: Any) -> str:
    with schema_context(tenant.schema_name):
        return AppInstall.objects.get().secret


def add_address_field(tenant: Any, admin: Any, installation: Any, key: str = "hq") -> CustomField:
    with schema_context(tenant.schema_name):
        return app_field_add(
            actor=admin,
            installation_id=installation.pk,
            type_key="address",
            module="organizations",
            key=key,
            label="Head office",
        )


def organisation(tenant: Any, actor: Any, name: str = "Spree GmbH") -> Any:
    with schema_context(tenant.schema_name):
        return record_create(spec=registry.get("organizations"), actor=actor, data={"name": name})


def stored(tenant: Any, org: Any, key: str = "hq") -> Any:
    with schema_context(tenant.schema_name):
        org.refresh_from_db()
        return org.custom_data.get(key)


# -- the manifest ------------------------------------------------------------------------------------------


def test_the_shipped_maps_manifest_declares_an_address_type():
    manifest = maps_manifest()
    [field_type] = manifest.data["field_types"]
    assert field_type["key"] == "address"
    assert [p["key"] for p in field_type["parts"]] == ["street", "postcode", "city", "country", "lat", "lon"]


def test_field_type_mistakes_are_named_by_their_path():
    parts = manifest_with()["field_types"][0]["parts"]
    repeated = [*parts, {"key": "city", "label": "Again", "type": "text"}]
    assert errors_of(manifest_with(parts=repeated)) == {"field_types.0.parts.6.key": ["The key “city” is used twice."]}

    odd = [{"key": "lat", "label": "Latitude", "type": "decimal", "max_length": 5, "min": 10, "max": -10}]
    assert errors_of(manifest_with(parts=odd, display="{lat}")) == {
        "field_types.0.parts.0.max_length": ["Only text parts have a maximum length."],
        "field_types.0.parts.0.min": ["The minimum is above the maximum."],
    }
    assert errors_of(manifest_with(display="{street} {zip}")) == {
        "field_types.0.display": ["The display template names “zip”, which is not a part."]
    }
    assert errors_of(manifest_with(modules=["contacts"])) == {
        "field_types.0.modules.0": ["Fields on contacts save their values: they need the scope “contacts:write”."]
    }
    # Reading the module is not enough: the app saves the field's values.
    read_only = {**manifest_with(), "scopes": ["organizations:read"]}
    assert errors_of(read_only) == {
        "field_types.0.modules.0": [
            "Fields on organizations save their values: they need the scope “organizations:write”."
        ]
    }
    assert errors_of(manifest_with(modules=["spaceships"])) == {
        "field_types.0.modules.0": ["Unknown module “spaceships”."]
    }
    assert errors_of(manifest_with(panel={"url": "https://elsewhere.example/field"})) == {
        "field_types.0.panel.url": [f"The address must be on the app's origin {SHIPPED_ORIGIN}."]
    }
    bad_type = [{"key": "geo", "label": "Geo", "type": "polygon"}]
    assert errors_of(manifest_with(parts=bad_type, display="")) == {
        "field_types.0.parts.0.type": ["Must be one of: text, decimal, integer, boolean."]
    }
    assert errors_of({**manifest_with(), "schema_version": 1})["field_types"] == ["Needs “schema_version”: 2."]


# -- adding a field --------------------------------------------------------------------------------------


def test_an_administrator_adds_a_field_of_the_apps_type(tenant_a, tenant_b, admin_of, client_for, member, maps_app):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    assert 'href="/marketplace/app/fields/"' in client.get("/settings/marketplace/").content.decode()
    page = client.get("/marketplace/app/fields/")
    assert page.status_code == 200
    assert f'value="{maps_app.pk}.address"' in page.content.decode()

    wrong = client.post(
        "/marketplace/app/fields/",
        {"field_type": f"{maps_app.pk}.address", "module": "organizations", "key": "Bad Key", "label": "HQ"},
    )
    assert wrong.status_code == 400
    assert "Use 1-40 lowercase letters" in wrong.content.decode()
    elsewhere = client.post(
        "/marketplace/app/fields/",
        {"field_type": f"{maps_app.pk}.address", "module": "contacts", "key": "hq", "label": "HQ"},
    )
    assert elsewhere.status_code == 400
    assert "This field type is not offered for that module." in elsewhere.content.decode()
    with schema_context(tenant_a.schema_name):
        assert not CustomField.objects.exists()

    done = client.post(
        "/marketplace/app/fields/",
        {"field_type": f"{maps_app.pk}.address", "module": "organizations", "key": "hq", "label": "Head office"},
    )
    assert done.status_code == 302
    with schema_context(tenant_a.schema_name):
        field = CustomField.objects.get()
    assert field.type == FieldType.STRUCTURED and field.module == "organizations"
    assert field.options["source"] == "app:maps-panel.address"
    assert [p["key"] for p in field.options["parts"]] == ["street", "postcode", "city", "country", "lat", "lon"]
    assert "Head office" in client.get("/marketplace/app/fields/").content.decode()

    # Not an administrator; another workspace (no such app there).
    assert client_for(tenant_a, member(tenant_a)).get("/marketplace/app/fields/").status_code == 403
    other = client_for(tenant_b, admin_of(tenant_b))
    refused = other.post(
        "/marketplace/app/fields/",
        {"field_type": f"{maps_app.pk}.address", "module": "organizations", "key": "hq", "label": "HQ"},
    )
    assert refused.status_code == 400
    assert "Choose a field type of an installed app." in refused.content.decode()
    with schema_context(tenant_b.schema_name):
        assert not CustomField.objects.exists()


def test_the_engine_validates_the_value_on_every_path(tenant_a, admin_of, client_for, maps_app):
    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    org = organisation(tenant_a, admin)
    client = client_for(tenant_a, admin)
    url = f"/api/v1/organizations/{org.pk}/"

    bad = client.patch(
        url, {"custom": {"hq": {"city": "Berlin", "lat": "95", "planet": "Mars"}}}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert bad.json()["custom.hq"] == ["Unknown part “planet”.", "Latitude: Must be at most 90."]
    missing = client.patch(url, {"custom": {"hq": {"street": "Main St"}}}, content_type="application/json")
    assert missing.json()["custom.hq"] == ["City: this part is required."]
    assert stored(tenant_a, org) is None

    good = client.patch(url, {"custom": {"hq": {**ADDRESS, "lat": 52.517}}}, content_type="application/json")
    assert good.status_code == 200, good.content
    assert stored(tenant_a, org) == {**ADDRESS, "lat": "52.517"}
    assert good.json()["custom"]["hq"]["city"] == "Berlin"
    # The record page shows it as text through the type's display template.
    page = client.get(f"/m/organizations/{org.pk}/").content.decode()
    assert "Unter den Linden 1, 10117 Berlin, DE" in page


# -- the panel and the app's endpoint --------------------------------------------------------------------


def test_the_record_page_frames_each_field_with_its_value_in_the_context(tenant_a, admin_of, client_for, maps_app):
    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    org = organisation(tenant_a, admin)
    with schema_context(tenant_a.schema_name):
        type(org).objects.filter(pk=org.pk).update(custom_data={"hq": ADDRESS})
    client = client_for(tenant_a, admin)
    page = client.get(f"/m/organizations/{org.pk}/")
    field_box = next(b for b in boxes(page.content.decode()) if b["src"] == f"{SHIPPED_ORIGIN}/field")
    assert f"frame-src 'self' {SHIPPED_ORIGIN}" in page["Content-Security-Policy"]
    payload = context_verify(secret(tenant_a), field_box["context"], tenant=tenant_a.schema_name)
    assert payload["ext"] == "fields.hq" and payload["field"] == "hq"
    assert payload["value"] == ADDRESS and payload["can_edit"] is True
    fresh = client.get(field_box["refresh"])
    assert context_verify(secret(tenant_a), fresh.json()["context"], tenant=tenant_a.schema_name)["value"] == ADDRESS


def save(client: Any, context: str, value: Any) -> Any:
    return client.post(
        "/marketplace/app/field/value",
        json.dumps({"context": context, "value": value}),
        content_type="application/json",
    )


def field_context(tenant: Any, client: Any, org: Any) -> str:
    page = client.get(f"/m/organizations/{org.pk}/")
    return next(b for b in boxes(page.content.decode()) if b["src"].endswith("/field"))["context"]


def test_the_app_saves_a_value_only_through_a_genuine_context_as_the_member(
    tenant_a, tenant_b, admin_of, client_for, maps_app
):
    from crm_apps.audit.models import AuditEvent

    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    org = organisation(tenant_a, admin)
    context = field_context(tenant_a, client_for(tenant_a, admin), org)
    app_side = client_for(tenant_a)  # the app's server: no session

    wrong = save(app_side, context, {**ADDRESS, "lon": 300})
    assert wrong.status_code == 400
    assert wrong.json() == {"custom.hq": ["Longitude: Must be at most 180."]}
    assert stored(tenant_a, org) is None

    done = save(app_side, context, {**ADDRESS, "lat": 52.517, "lon": 13.389})
    assert done.status_code == 200, done.content
    assert done.json()["value"] == {**ADDRESS, "lat": "52.517", "lon": "13.389"}
    with schema_context(tenant_a.schema_name):
        event = AuditEvent.objects.filter(record_id=str(org.pk)).order_by("-id").first()
        assert event is not None and event.actor_id == admin.pk  # made as the member

    forged = context_sign("appsec_guess", {"tenant": tenant_a.schema_name, "ins": maps_app.pk, "ext": "fields.hq"})
    assert save(app_side, forged, ADDRESS).json() == {"context": ["The signature does not match."]}
    assert save(client_for(tenant_b), context, ADDRESS).status_code == 400  # another workspace's host
    panel_context = next(
        b
        for b in boxes(client_for(tenant_a, admin).get(f"/m/organizations/{org.pk}/").content.decode())
        if b["src"].endswith("/panel")
    )["context"]
    assert save(app_side, panel_context, ADDRESS).json() == {"context": ["This context is not for a field."]}
    assert save(app_side, "", ADDRESS).status_code == 400
    assert app_side.post("/marketplace/app/field/value", "[1]", content_type="application/json").status_code == 400

    with schema_context(tenant_a.schema_name):
        extension_uninstall(actor=admin, installation=maps_app)
    assert save(app_side, context, ADDRESS).status_code == 400
    # The field and its value stay the workspace's; no frame any more.
    assert stored(tenant_a, org)["lon"] == "13.389"
    page = client_for(tenant_a, admin).get(f"/m/organizations/{org.pk}/").content.decode()
    assert "/field" not in "".join(b["src"] for b in boxes(page))


def test_a_member_who_may_not_change_the_record_gets_a_read_only_context_and_cannot_save(
    tenant_a, admin_of, client_for, member, maps_app, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    with django_capture_on_commit_callbacks(execute=True), schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="organizations", access="public_read")
    org = organisation(tenant_a, admin)
    reader = member(tenant_a)
    context = field_context(tenant_a, client_for(tenant_a, reader), org)
    assert context_verify(secret(tenant_a), context, tenant=tenant_a.schema_name)["can_edit"] is False
    refused = save(client_for(tenant_a), context, ADDRESS)
    assert refused.status_code == 403
    assert stored(tenant_a, org) is None


def test_suspension_hides_the_field_frame_and_stops_saves(tenant_a, admin_of, client_for, maps_app):
    from marketplace.apps.models import App, AppStatus
    from marketplace.catalog.models import Listing
    from marketplace.installs.models import ExtensionInstallation
    from marketplace.partners.models import Partner

    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    org = organisation(tenant_a, admin)
    client = client_for(tenant_a, admin)
    context = field_context(tenant_a, client, org)
    partner = Partner.objects.create(name="Maps partner", slug="maps-partner")
    listing = Listing.objects.create(partner=partner, slug="maps-panel", name="Maps", summary="M", category="sales")
    with schema_context(tenant_a.schema_name):
        ExtensionInstallation.objects.filter(pk=maps_app.pk).update(listing_id=listing.pk)
        from crm_apps.engine.metadata import metadata_changed

        metadata_changed()
    App.objects.create(
        name="Maps",
        partner=partner,
        listing=listing,
        client_type="confidential",
        authorization_grant_type="authorization-code",
        status=AppStatus.SUSPENDED,
    )
    assert save(client_for(tenant_a), context, ADDRESS).status_code == 400
    page = client.get(f"/m/organizations/{org.pk}/").content.decode()
    assert not boxes(page)
    assert stored(tenant_a, org) is None


# -- review fixes: write scope, acting app, bad input, deleted records, budget, queries ----------------------


def only_read_scope(tenant: Any, installation: Any) -> None:
    """An installation made before field types needed `<module>:write` (its manifest holds only read)."""
    from crm_apps.engine.metadata import metadata_changed
    from marketplace.installs.models import ExtensionInstallation

    with schema_context(tenant.schema_name):
        manifest = {**installation.manifest, "scopes": ["organizations:read"]}
        ExtensionInstallation.objects.filter(pk=installation.pk).update(manifest=manifest)
        metadata_changed()


def test_an_installation_without_the_write_scope_shows_the_field_read_only_and_cannot_save(
    tenant_a, admin_of, client_for, maps_app
):
    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    org = organisation(tenant_a, admin)
    genuine = field_context(tenant_a, client_for(tenant_a, admin), org)  # issued while it could write
    only_read_scope(tenant_a, maps_app)
    context = field_context(tenant_a, client_for(tenant_a, admin), org)
    assert context_verify(secret(tenant_a), context, tenant=tenant_a.schema_name)["can_edit"] is False
    for token in (context, genuine):
        refused = save(client_for(tenant_a), token, ADDRESS)
        assert refused.status_code == 403
        assert refused.json() == {
            "detail": "The app may not change organizations: it lacks the scope “organizations:write”."
        }
    assert stored(tenant_a, org) is None


def test_a_save_acts_via_the_app_and_is_audited_as_an_api_call(tenant_a, admin_of, client_for, maps_app):
    from crm_apps.audit.models import AuditEvent

    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    org = organisation(tenant_a, admin)
    context = field_context(tenant_a, client_for(tenant_a, admin), org)
    assert save(client_for(tenant_a), context, ADDRESS).status_code == 200
    with schema_context(tenant_a.schema_name):
        call = AuditEvent.objects.get(action="api_call", record_id=str(org.pk))
        updated = AuditEvent.objects.get(action="record_updated", record_id=str(org.pk))
    assert call.details == {
        "method": "POST",
        "path": "/marketplace/app/field/value",
        "installation": maps_app.pk,
        "app": maps_app.name,
    }
    assert call.actor_id == admin.pk and call.actor_label.startswith(f"{maps_app.name} (")
    assert updated.details["app"] == maps_app.name and updated.actor_label.startswith(f"{maps_app.name} (")


def test_expired_forged_and_malformed_contexts_are_400_never_500(tenant_a, admin_of, client_for, maps_app):
    import time

    from marketplace.ui.context import context_payload_unverified

    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    org = organisation(tenant_a, admin)
    context = field_context(tenant_a, client_for(tenant_a, admin), org)
    payload = {k: v for k, v in context_payload_unverified(context).items() if k not in ("iat", "exp")}
    expired = context_sign(secret(tenant_a), payload, now=time.time() - 301)
    app_side = client_for(tenant_a)
    assert save(app_side, expired, ADDRESS).json() == {"context": ["The context has expired."]}
    head, body, _signature = context.split(".")
    for signature in ("²" * 43, "é", "x" * 43):
        answer = save(app_side, f"{head}.{body}.{signature}", ADDRESS)
        assert answer.status_code == 400 and answer.json() == {"context": ["The signature does not match."]}
    deep = app_side.post("/marketplace/app/field/value", "[" * 100_000, content_type="application/json")
    assert deep.status_code == 400 and deep.json() == {"non_field_errors": ["Send a JSON object."]}
    assert stored(tenant_a, org) is None


def test_a_deleted_record_is_404_and_a_deactivated_member_is_refused(tenant_a, admin_of, client_for, member, maps_app):
    from django.utils import timezone

    from crm_apps.access.models import Member

    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    colleague = member(tenant_a, is_admin=True)
    org, other = organisation(tenant_a, admin), organisation(tenant_a, admin, "Havel AG")
    context = field_context(tenant_a, client_for(tenant_a, admin), org)
    colleagues = field_context(tenant_a, client_for(tenant_a, colleague), other)
    with schema_context(tenant_a.schema_name):
        type(org).objects.filter(pk=org.pk).update(deleted_at=timezone.now())
        Member.objects.filter(pk=colleague.pk).update(active=False)
    gone = save(client_for(tenant_a), context, ADDRESS)
    assert gone.status_code == 404 and gone.json() == {"detail": "The record does not exist or was deleted."}
    assert save(client_for(tenant_a), colleagues, ADDRESS).json() == {"context": ["This context is not for a field."]}
    assert stored(tenant_a, org) is None and stored(tenant_a, other) is None


def test_saves_count_in_the_apps_budget(tenant_a, admin_of, client_for, maps_app, settings):
    settings.OAUTH_APP_RATE_PER_MINUTE = 1
    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    org = organisation(tenant_a, admin)
    context = field_context(tenant_a, client_for(tenant_a, admin), org)
    assert save(client_for(tenant_a), context, ADDRESS).status_code == 200
    over = save(client_for(tenant_a), context, {**ADDRESS, "city": "Potsdam"})
    assert over.status_code == 429 and 1 <= int(over["Retry-After"]) <= 60
    assert stored(tenant_a, org)["city"] == "Berlin"


def test_a_second_app_field_adds_no_query_to_the_record_page(tenant_a, admin_of, client_for, member, maps_app):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = admin_of(tenant_a)
    add_address_field(tenant_a, admin, maps_app)
    org = organisation(tenant_a, admin)
    seller = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        type(org).objects.filter(pk=org.pk).update(owner=seller)
    client = client_for(tenant_a, seller)

    def page_queries() -> tuple[int, int]:
        client.get(f"/m/organizations/{org.pk}/")  # warm the metadata after the change
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/m/organizations/{org.pk}/")
        assert page.status_code == 200
        fields = [b for b in boxes(page.content.decode()) if b["src"].endswith("/field")]
        return len(queries), len(fields)

    one, one_frames = page_queries()
    add_address_field(tenant_a, admin, maps_app, key="branch")
    two, two_frames = page_queries()
    assert (one_frames, two_frames) == (1, 2)
    assert two == one
