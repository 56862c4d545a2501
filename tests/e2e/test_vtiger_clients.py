"""Real vtiger client libraries from PyPI against a live server: `vtigerpy` (the classic /webservice.php
with challenge, md5 login and sessions) and Vtiger's own `vtiger-cloudsdk-restapi` (the REST flavour with
HTTP Basic), on committed tenants. Names under `.localhost` are mapped to 127.0.0.1 for the libraries."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from vtiger_cloudsdk_restapi import Client as RestClient
from vtigerpy import Vtiger

from conftest import make_user
from crm_apps.access.models import Member
from crm_apps.access.services import member_create, sharing_default_set
from crm_apps.vtiger.services import access_key_get
from tenants.services import tenant_provision

pytestmark = [pytest.mark.slow]


@pytest.fixture
def localhost_names(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def workspaces(committed: Any) -> Iterator[tuple[Any, Any]]:
    first = tenant_provision(
        slug=committed.slug("vta"), name="Vt A", admin=make_user(committed.email(), name="Ada Admin")
    )
    second = tenant_provision(
        slug=committed.slug("vtb"), name="Vt B", admin=make_user(committed.email(), name="Bea Boss")
    )
    yield first, second


def admin_key(tenant: Any) -> tuple[Any, str]:
    with tenant_context(tenant):
        admin = Member.objects.select_related("user").get(is_admin=True)
        return admin, access_key_get(member=admin).key


def base(tenant: Any, port: str) -> str:
    return f"http://{tenant.schema_name}.localhost:{port}"


def test_vtigerpy_crud_query_sync_convertlead_and_related(live_site, workspaces, localhost_names):
    tenant, _other = workspaces
    admin, key = admin_key(tenant)
    client = Vtiger(base(tenant, live_site), admin.user.email, key)  # getchallenge + md5 login

    def get(op: str, **params: Any) -> Any:
        answer = client.get(op, **params).json()
        assert answer["success"], answer
        return answer["result"]

    def post(op: str, **params: Any) -> Any:
        answer = client.post(op, **{k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}).json()
        assert answer["success"], answer
        return answer["result"]

    started = int(time.time()) - 1
    org = post("create", elementType="Accounts", element={"accountname": "Initech", "bill_city": "Austin"})
    contact = post("create", elementType="Contacts", element={"lastname": "Bolton", "account_id": org["id"]})
    deal = post(
        "create",
        elementType="Potentials",
        element={
            "potentialname": "Printers",
            "closingdate": "2031-03-01",
            "related_to": org["id"],
            "amount": "1200.50",
        },
    )
    assert deal["related_to"] == org["id"] and deal["amount"] == "1200.50" and deal["sales_stage"]

    rows = get("query", query=f"SELECT lastname, account_id FROM Contacts WHERE account_id = '{org['id']}';")
    assert rows == [{"id": contact["id"], "lastname": "Bolton", "account_id": org["id"]}]
    assert [
        r["id"] for r in get("retrieve_related", id=org["id"], relatedLabel="Contacts", relatedType="Contacts")
    ] == [contact["id"]]
    assert "Contacts" in get("relatedtypes", elementType="Accounts")["types"]
    assert [
        r["id"]
        for r in get("query_related", id=org["id"], relatedLabel="Potentials", query="SELECT * FROM Potentials;")
    ] == [deal["id"]]

    loose = post("create", elementType="Contacts", element={"lastname": "Waddams"})
    post("add_related", sourceRecordId=org["id"], relatedRecordId=loose["id"], relationIdLabel="Contacts")
    assert get("retrieve", id=loose["id"])["account_id"] == org["id"]

    comment = post(
        "create", elementType="ModComments", element={"commentcontent": "Called them", "related_to": org["id"]}
    )
    assert [c["id"] for c in get("retrieve_related", id=org["id"], relatedLabel="ModComments")] == [comment["id"]]

    lead = post("create", elementType="Leads", element={"lastname": "Lumbergh", "company": "Initrode"})
    converted = post(
        "convertlead",
        element={
            "leadId": lead["id"],
            "entities": {
                "Accounts": {"create": True},
                "Contacts": {"create": True},
                "Potentials": {"create": True, "potentialname": "Initrode deal", "closingdate": "2031-05-01"},
            },
        },
    )
    assert (
        converted["Accounts"].startswith("3x")
        and converted["Contacts"].startswith("4x")
        and converted["Potentials"].startswith("5x")
    )
    assert get("retrieve", id=converted["Potentials"])["potentialname"] == "Initrode deal"
    again = client.post("convertlead", element=json.dumps({"leadId": lead["id"], "entities": {}})).json()
    assert again["error"]["code"] == "LEAD_ALREADY_CONVERTED"

    post("delete", id=loose["id"])
    synced = get("sync", modifiedTime=started, elementType="Contacts")
    assert {r["id"] for r in synced["updated"]} >= {contact["id"], converted["Contacts"]}
    assert synced["deleted"] == [loose["id"]] and synced["more"] is False

    client.post("logout")
    assert client.get("listtypes").json()["error"]["code"] == "INVALID_SESSIONID"


def test_cloudsdk_rest_flavour(live_site, workspaces, localhost_names):
    tenant, _other = workspaces
    admin, key = admin_key(tenant)
    client = RestClient(base(tenant, live_site), admin.user.email, key)

    me = client.me()
    types = client.list_types()
    described = client.describe("Leads")
    lead = client.create("Leads", {"lastname": "Smykowski", "company": "Initech", "leadsource": "Web Site"})
    revised = client.revise({"id": lead["id"], "designation": "Liaison"})
    found = client.query(
        "SELECT lastname, designation FROM Leads WHERE company LIKE 'Init%' ORDER BY lastname LIMIT 0, 10;"
    )
    synced = client.sync(0, "Leads", "application")

    assert me["id"] == f"19x{admin.pk}" and me["email1"] == admin.user.email
    assert "Leads" in types["types"]
    assert described["idPrefix"] == "2" and "leadsource" in {f["name"] for f in described["fields"]}
    assert revised["designation"] == "Liaison"
    assert found == [{"id": lead["id"], "lastname": "Smykowski", "designation": "Liaison"}]
    assert [r["id"] for r in synced["updated"]] == [lead["id"]]
    with pytest.raises(BaseException, match=r"Not Found"):
        client.retrieve("2x99999999")
    assert client.delete(lead["id"]) == {"status": "successful"}

    wrong = RestClient(base(tenant, live_site), admin.user.email, "not-the-key")
    with pytest.raises(BaseException, match="Unauthorized"):
        wrong.me()


def test_keys_and_sessions_of_one_workspace_fail_on_another(live_site, workspaces, localhost_names):
    first, second = workspaces
    admin, key = admin_key(first)
    session = Vtiger(base(first, live_site), admin.user.email, key).sessionName

    import requests

    replayed = requests.get(
        f"{base(second, live_site)}/webservice.php", params={"operation": "listtypes", "sessionName": session}
    ).json()
    with pytest.raises(Exception, match=r"INVALID_AUTH_TOKEN|INVALID_USER_CREDENTIALS"):
        Vtiger(base(second, live_site), admin.user.email, key)
    with pytest.raises(BaseException, match="Unauthorized"):
        RestClient(base(second, live_site), admin.user.email, key).me()
    assert replayed["error"]["code"] == "INVALID_SESSIONID"


def test_a_member_never_sees_records_they_cannot(live_site, workspaces, localhost_names, committed):
    tenant, _other = workspaces
    admin, _key = admin_key(tenant)
    with tenant_context(tenant):
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
        rep = member_create(tenant=tenant, user=make_user(committed.email(), name="Rita Rep"))
        rep_key = access_key_get(member=rep).key
    admin_client = RestClient(base(tenant, live_site), admin.user.email, _key)
    rep_client = RestClient(base(tenant, live_site), rep.user.email, rep_key)
    secret = admin_client.create("Contacts", {"lastname": "Hidden"})
    mine = rep_client.create("Contacts", {"lastname": "Visible"})

    assert [r["id"] for r in rep_client.query("SELECT * FROM Contacts;")] == [mine["id"]]
    assert rep_client.query("SELECT count(*) FROM Contacts;") == [{"count": "1"}]
    assert [r["id"] for r in rep_client.sync(0, "Contacts", "user")["updated"]] == [mine["id"]]
    with pytest.raises(BaseException, match="Not Found"):
        rep_client.retrieve(secret["id"])
    with pytest.raises(BaseException, match="Not Found"):
        rep_client.revise({"id": secret["id"], "lastname": "Mine now"})
    assert admin_client.retrieve(secret["id"])["lastname"] == "Hidden"
