"""Field-level security through the webservice: hidden fields are absent from describe, retrieve, query
and sync and cannot be filtered, sorted or written; read-only fields are refused on writes."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, profile_set_fields, role_create
from crm_apps.engine import registry, services
from crm_apps.engine.services import custom_field_create

pytestmark = pytest.mark.django_db
SECRET = "hidden.value@example.com"


@pytest.fixture
def setup(tenant_a, admin_of, member, ws):
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        profile = profile_save(actor=admin, profile=None, name="FLS", flags={})
        role = role_create(
            actor=admin, name="FLS role", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
        custom_field_create(
            actor=admin, spec=registry.get("contacts"), key="secret_score", label="Secret score", type="integer"
        )
        profile_set_fields(
            actor=admin,
            profile=profile,
            module="contacts",
            access={"email": "hidden", "custom.secret_score": "hidden", "phone": "readonly"},
        )
        rep = member(tenant_a, role=role)
        services.record_create(
            spec=registry.get("contacts"),
            actor=admin,
            data={"last_name": "Fieldson", "email": SECRET, "phone": "+1 555 0100", "owner": rep.pk},
            custom={"secret_score": 987654},
        )
    return ws(tenant_a, rep), ws(tenant_a, admin)


def test_hidden_fields_are_absent_and_unusable(setup):
    rep, admin = setup

    described = {f["name"]: f for f in rep.get("describe", elementType="Contacts")["result"]["fields"]}
    rows = rep.get("query", query="SELECT * FROM Contacts;")["result"]
    synced = rep.get("sync", modifiedTime=0, elementType="Contacts", syncType="user")["result"]["updated"]
    by_email = rep.get("query", query=f"SELECT lastname FROM Contacts WHERE email = '{SECRET}';")
    by_score = rep.get("query", query="SELECT lastname FROM Contacts ORDER BY cf_secret_score;")
    admin_rows = admin.get("query", query="SELECT email, cf_secret_score FROM Contacts;")["result"]

    assert "email" not in described and "cf_secret_score" not in described
    assert described["phone"]["editable"] is False and described["lastname"]["editable"] is True
    assert len(rows) == 1 and "email" not in rows[0] and "cf_secret_score" not in rows[0]
    assert SECRET not in str(rows) + str(synced) and "987654" not in str(rows) + str(synced)
    assert by_email["error"]["code"] == "QUERY_SYNTAX_ERROR"
    assert by_score["error"]["code"] == "QUERY_SYNTAX_ERROR"
    assert admin_rows[0]["email"] == SECRET and admin_rows[0]["cf_secret_score"] == "987654"


def test_writes_to_hidden_or_read_only_fields_are_refused_and_change_nothing(setup, tenant_a):
    rep, _admin = setup
    record = rep.get("query", query="SELECT lastname FROM Contacts;")["result"][0]

    phone = rep.post("revise", element={"id": record["id"], "phone": "+1 555 0199"})
    email = rep.post("create", elementType="Contacts", element={"lastname": "New", "email": "x@example.com"})
    fine = rep.post("revise", element={"id": record["id"], "lastname": "Renamed"})

    assert phone["error"]["code"] == "ACCESS_DENIED" and "phone" in phone["error"]["message"]
    assert email["error"]["code"] == "ACCESS_DENIED"
    assert fine["success"] and fine["result"]["lastname"] == "Renamed"
    with schema_context(tenant_a.schema_name):
        contacts = registry.get("contacts").records()
        assert contacts.count() == 1
        stored = contacts.get()
        assert (stored.phone, stored.email) == ("+1 555 0100", SECRET)
