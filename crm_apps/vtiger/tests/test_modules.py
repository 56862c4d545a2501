"""Modules served from their declarations alone: deals with named stages, a tenant's custom module under
a generated name and id, and the Users type."""

from __future__ import annotations

import pytest

from crm_apps.custom_modules.tests.conftest import equipment_in  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_potentials_take_and_give_stage_names(tenant_a, admin_of, ws):
    api = ws(tenant_a, admin_of(tenant_a))
    stages = next(
        f for f in api.get("describe", elementType="Potentials")["result"]["fields"] if f["name"] == "sales_stage"
    )
    names = [v["value"] for v in stages["type"]["picklistValues"]]

    created = api.post(
        "create",
        elementType="Potentials",
        element={"potentialname": "Boxes", "closingdate": "2031-01-31", "sales_stage": names[1], "amount": "10"},
    )
    found = api.get("query", query=f"SELECT potentialname FROM Potentials WHERE sales_stage IN ('{names[1]}');")
    wrong = api.post(
        "create",
        elementType="Potentials",
        element={"potentialname": "X", "closingdate": "2031-01-31", "sales_stage": "Nope"},
    )

    assert created["success"], created
    assert created["result"]["sales_stage"] == names[1] and created["result"]["id"].startswith("5x")
    assert [r["id"] for r in found["result"]] == [created["result"]["id"]]
    assert wrong["success"] is False and "sales_stage" in wrong["error"]["message"]


def test_a_custom_module_is_served_under_a_generated_name(tenant_a, tenant_b, admin_of, ws, equipment_in):  # noqa: F811
    equipment_in(tenant_a)
    api = ws(tenant_a, admin_of(tenant_a))

    types = api.get("listtypes")["result"]["types"]
    described = api.get("describe", elementType="Equipment")["result"]
    created = api.post("create", elementType="Equipment", element={"name": "Drill", "cf_serial": "SN-1"})
    missing = api.post("create", elementType="Equipment", element={"name": "Saw"})
    found = api.get("query", query="SELECT name, cf_serial FROM Equipment WHERE cf_serial LIKE 'sn-%';")
    elsewhere = ws(tenant_b, admin_of(tenant_b)).get("describe", elementType="Equipment")

    assert "Equipment" in types
    assert int(described["idPrefix"]) >= 100 and {"name", "cf_serial"} <= {f["name"] for f in described["fields"]}
    assert created["success"], created
    assert created["result"]["id"].startswith(described["idPrefix"] + "x")
    assert missing["error"]["code"] == "MANDATORY_FIELDS_MISSING"
    assert found["result"] == [{"id": created["result"]["id"], "name": "Drill", "cf_serial": "SN-1"}]
    assert elsewhere["error"]["code"] == "INVALID_MODULE"


def test_users_are_listed_and_retrieved(tenant_a, admin_of, member, ws):
    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    api = ws(tenant_a, rep)

    users = api.get("query", query="SELECT user_name, status FROM Users ORDER BY user_name;")["result"]
    one = api.get("retrieve", id=f"19x{admin.pk}")["result"]

    assert {u["user_name"] for u in users} >= {admin.user.email, rep.user.email}
    assert one["email1"] == admin.user.email and one["is_admin"] == "on"
