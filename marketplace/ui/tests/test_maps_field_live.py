"""The maps example app's "Address with map" field type, end to end with the app as a separate process on a
live server: an administrator adds a field of the type, the organisation page frames the app's field page
with the value in the signed context, the app geocodes the address from its offline data set and sends it
back; the workspace validates it (a city outside the data set still saves, without a position; bad parts
are refused) and stores it as the member."""

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
from marketplace.ui.fields import app_field_add
from marketplace.ui.tests.conftest import free_port, install, maps_manifest
from tenants.runtime import use_public_schema
from tenants.services import tenant_provision
from tests.e2e.conftest import live_site  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow]


def field_save(origin: str, context: str, value: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{origin}/field/save",
        data=json.dumps({"context": context, "value": value}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_the_maps_app_geocodes_an_address_field_and_the_workspace_stores_it(
    live_site,  # noqa: F811
    committed,
    settings,
    start_app,
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    admin = make_user(committed.email(), name="Mia Maps")
    tenant = tenant_provision(slug=committed.slug("maps"), name="Maps Co", admin=admin)
    port = free_port()
    with schema_context(tenant.schema_name):
        from crm_apps.access.models import Member

        member = Member.objects.get(user=admin)
    installation, key = install(tenant, member, maps_manifest(f"http://127.0.0.1:{port}"))
    with schema_context(tenant.schema_name):
        app_field_add(
            actor=member,
            installation_id=installation.pk,
            type_key="address",
            module="organizations",
            key="hq",
            label="Head office",
        )
        org = record_create(spec=registry.get("organizations"), actor=member, data={"name": "Spree GmbH"})
    use_public_schema()
    app = start_app(MAPS_APP_PORT=str(port), MAPS_APP_TOKEN=str(key), MAPS_APP_CONNECT=f"127.0.0.1:{live_site}")
    client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost:{live_site}")
    with schema_context(tenant.schema_name):
        sign_in(client, member)
    page = client.get(f"/m/organizations/{org.pk}/").content.decode()
    contexts = dict(re.findall(r'data-src="([^"]+)" data-origin="[^"]+" data-context="([^"]+)"', page))
    context = contexts[f"{app.origin}/field"]

    status, answer = field_save(app.origin, context, {"street": "Unter den Linden 1", "city": "Berlin"})
    assert status == 200, answer
    assert answer["value"] == {"street": "Unter den Linden 1", "city": "Berlin", "lat": "52.52", "lon": "13.405"}

    status, answer = field_save(app.origin, context, {"street": "Nowhere 1"})
    assert status == 400
    assert answer == {"custom.hq": ["City: this part is required."]}
    with schema_context(tenant.schema_name):
        org.refresh_from_db()
        assert org.custom_data["hq"]["city"] == "Berlin"
    assert "Unter den Linden 1, Berlin" in client.get(f"/m/organizations/{org.pk}/").content.decode()
