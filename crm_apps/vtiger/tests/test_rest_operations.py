"""The REST flavour (`/restapi/v1/vtiger/default/<operation>`, HTTP Basic) serves every operation the issue lists
with the classic endpoint's parameters: me, listtypes, describe, create, retrieve, update, revise, delete,
query, sync, convertlead, retrieve_related, query_related, add_related, relatedtypes - and another workspace's
ids are not found there."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from conftest import host_of
from crm_apps.vtiger.tests.conftest import basic, key_of

pytestmark = pytest.mark.django_db
LISTED = {
    "me", "listtypes", "describe", "create", "retrieve", "update", "revise", "delete", "query", "sync",
    "convertlead", "retrieve_related", "query_related", "add_related", "relatedtypes",
}  # fmt: skip


class Rest:
    def __init__(self, tenant: Any, who: Any) -> None:
        self.client = Client(HTTP_HOST=host_of(tenant))
        self.auth = basic(who.user.email, key_of(tenant, who))
        self.used: set[str] = set()

    def call(self, method: str, operation: str, **params: Any) -> Any:
        self.used.add(operation)
        url = f"/restapi/v1/vtiger/default/{operation}"
        data = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}
        if method == "GET":
            response = self.client.get(url, data, HTTP_AUTHORIZATION=self.auth)
        else:
            response = self.client.post(url, data, HTTP_AUTHORIZATION=self.auth)
        return response.status_code, response.json()

    def ok(self, method: str, operation: str, **params: Any) -> Any:
        status, body = self.call(method, operation, **params)
        assert status == 200 and body["success"] is True, (operation, body)
        return body["result"]


def test_every_listed_operation_answers_over_the_rest_flavour(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    rest = Rest(tenant_a, admin)
    started = int(time.time()) - 1

    assert rest.ok("GET", "me")["id"] == f"19x{admin.pk}"
    assert {"Accounts", "Contacts", "Potentials", "Leads"} <= set(rest.ok("GET", "listtypes")["types"])
    assert rest.ok("GET", "describe", elementType="Accounts")["idPrefix"] == "3"
    org = rest.ok("POST", "create", elementType="Accounts", element={"accountname": "Initech"})
    contact = rest.ok("POST", "create", elementType="Contacts", element={"lastname": "Bolton", "account_id": org["id"]})
    deal = rest.ok(
        "POST",
        "create",
        elementType="Potentials",
        element={"potentialname": "Printers", "closingdate": "2031-03-01", "related_to": org["id"]},
    )
    assert rest.ok("GET", "retrieve", id=contact["id"])["account_id"] == org["id"]
    full = rest.ok("POST", "update", element={"id": contact["id"], "lastname": "Bolton", "title": "Engineer"})
    assert full["title"] == "Engineer" and full["account_id"] == ""  # a full update empties what it leaves out
    assert rest.ok("POST", "revise", element={"id": contact["id"], "account_id": org["id"]})["account_id"] == org["id"]
    assert rest.ok("GET", "query", query="SELECT lastname FROM Contacts WHERE lastname = 'Bolton';") == [
        {"id": contact["id"], "lastname": "Bolton"}
    ]
    assert "Contacts" in rest.ok("GET", "relatedtypes", elementType="Accounts")["types"]
    related = rest.ok("GET", "retrieve_related", id=org["id"], relatedLabel="Contacts", relatedType="Contacts")
    assert [r["id"] for r in related] == [contact["id"]]
    in_list = rest.ok(
        "GET", "query_related", id=org["id"], relatedLabel="Potentials", query="SELECT * FROM Potentials;"
    )
    assert [r["id"] for r in in_list] == [deal["id"]]
    loose = rest.ok("POST", "create", elementType="Contacts", element={"lastname": "Waddams"})
    rest.ok("POST", "add_related", sourceRecordId=org["id"], relatedRecordId=loose["id"], relationIdLabel="Contacts")
    assert rest.ok("GET", "retrieve", id=loose["id"])["account_id"] == org["id"]
    lead = rest.ok("POST", "create", elementType="Leads", element={"lastname": "Lumbergh", "company": "Initrode"})
    converted = rest.ok(
        "POST",
        "convertlead",
        element={"leadId": lead["id"], "entities": {"Accounts": {"create": True}, "Contacts": {"create": True}}},
    )
    assert converted["Accounts"].startswith("3x") and converted["Contacts"].startswith("4x")
    status, again = rest.call(
        "POST", "convertlead", element={"leadId": lead["id"], "entities": {"Contacts": {"create": True}}}
    )
    assert status == 400 and again["error"]["code"] == "LEAD_ALREADY_CONVERTED"
    assert rest.ok("POST", "delete", id=loose["id"]) == {"status": "successful"}
    synced = rest.ok("GET", "sync", modifiedTime=started, elementType="Contacts")
    assert contact["id"] in {r["id"] for r in synced["updated"]} and synced["deleted"] == [loose["id"]]

    assert rest.used >= LISTED, LISTED - rest.used


def test_the_rest_flavour_refuses_another_workspaces_ids_and_bad_input(tenant_a, tenant_b, admin_of):
    alpha = Rest(tenant_a, admin_of(tenant_a))
    org = alpha.ok("POST", "create", elementType="Accounts", element={"accountname": "Alpha only"})
    beta = Rest(tenant_b, admin_of(tenant_b))
    status, body = beta.call("GET", "retrieve", id=org["id"])
    assert status == 404 and body["error"]["code"] == "RECORD_NOT_FOUND"
    status, body = beta.call("POST", "revise", element={"id": org["id"], "accountname": "Mine"})
    assert status == 404
    assert alpha.ok("GET", "retrieve", id=org["id"])["accountname"] == "Alpha only"
    status, body = alpha.call("POST", "create", elementType="Contacts", element={"firstname": "No last name"})
    assert status == 400 and body["error"]["code"] == "MANDATORY_FIELDS_MISSING"
    status, body = alpha.call("GET", "describe", elementType="NoSuchModule")
    assert status == 404 and body["error"]["code"] == "INVALID_MODULE"
    # Alpha's key is no key to beta's host.
    foreign = Client(HTTP_HOST=host_of(tenant_b))
    assert foreign.get("/restapi/v1/vtiger/default/me", HTTP_AUTHORIZATION=alpha.auth).status_code == 401
