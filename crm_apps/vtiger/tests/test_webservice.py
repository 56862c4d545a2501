from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.vtiger.models import CrmId

pytestmark = pytest.mark.django_db


def test_login_crud_and_query_on_contacts(tenant_a, admin_of, ws):
    admin = admin_of(tenant_a)
    api = ws(tenant_a, admin)

    types = api.get("listtypes")["result"]
    described = api.get("describe", elementType="Contacts")["result"]
    org = api.post("create", elementType="Accounts", element={"accountname": "Initech", "bill_city": "Austin"})
    created = api.post(
        "create",
        elementType="Contacts",
        element={
            "firstname": "Peter",
            "lastname": "Gibbons",
            "email": "Peter@Initech.example",
            "account_id": org["result"]["id"],
        },
    )

    assert {"Contacts", "Accounts", "Leads", "Potentials", "Users"} <= set(types["types"])
    assert described["idPrefix"] == "4"
    assert {"firstname", "lastname", "account_id", "assigned_user_id"} <= {f["name"] for f in described["fields"]}
    assert created["success"], created
    contact = created["result"]
    assert contact["id"].startswith("4x")
    assert contact["account_id"] == org["result"]["id"]
    assert contact["email"] == "peter@initech.example"
    assert contact["assigned_user_id"] == f"19x{admin.pk}"

    fetched = api.get("retrieve", id=contact["id"])["result"]
    revised = api.post("revise", element={"id": contact["id"], "title": "Engineer"})["result"]
    found = api.get("query", query="SELECT firstname, lastname FROM Contacts WHERE lastname = 'Gibbons';")["result"]
    counted = api.get("query", query=f"select count(*) from Contacts where account_id = '{org['result']['id']}';")[
        "result"
    ]

    assert fetched == contact
    assert revised["title"] == "Engineer" and revised["email"] == "peter@initech.example"
    assert found == [{"id": contact["id"], "firstname": "Peter", "lastname": "Gibbons"}]
    assert counted == [{"count": "1"}]

    updated = api.post("update", element={"id": contact["id"], "lastname": "Gibbons", "firstname": "Pete"})["result"]
    assert updated["firstname"] == "Pete" and updated["title"] == "" and updated["email"] == ""

    deleted = api.post("delete", id=contact["id"])
    gone = api.get("retrieve", id=contact["id"])
    assert deleted == {"success": True, "result": {"status": "successful"}}
    assert gone["error"]["code"] == "RECORD_NOT_FOUND"


def test_crmids_are_given_once_per_record(tenant_a, admin_of, ws):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        spec = registry.get("vendors")
        made = [record_create(spec=spec, actor=admin, data={"name": f"V{i}"}) for i in range(3)]
    api = ws(tenant_a, admin)

    first = api.get("query", query="select vendorname from Vendors order by vendorname;")["result"]
    second = api.get("query", query="select vendorname from Vendors order by vendorname;")["result"]

    assert first == second and [r["vendorname"] for r in first] == ["V0", "V1", "V2"]
    with schema_context(tenant_a.schema_name):
        assert CrmId.objects.filter(module_key="vendors", record_id__in=[m.pk for m in made]).count() == 3


def test_errors_use_vtiger_codes_and_never_a_500(tenant_a, admin_of, ws):
    api = ws(tenant_a, admin_of(tenant_a))

    assert api.get("query", query="select * from Contacts where")["error"]["code"] == "QUERY_SYNTAX_ERROR"
    assert api.get("query", query="select nope from Contacts;")["error"]["code"] == "QUERY_SYNTAX_ERROR"
    assert api.get("query", query="select * from Nope;")["error"]["code"] == "INVALID_MODULE"
    assert api.get("describe", elementType="Nope")["error"]["code"] == "INVALID_MODULE"
    assert (
        api.post("create", elementType="Contacts", element={"firstname": "x"})["error"]["code"]
        == "MANDATORY_FIELDS_MISSING"
    )
    assert api.post("create", elementType="Contacts", element="{not json")["error"]["code"] == "FAILED_TO_UPDATE"
    assert api.get("retrieve", id="4x999999")["error"]["code"] == "RECORD_NOT_FOUND"
    assert api.get("retrieve", id="bogus")["error"]["code"] == "INVALID_ID_ATTRIBUTE"
    assert api.get("frobnicate")["error"]["code"] == "UNKNOWN_OPERATION"
    api.session = "nope"
    assert api.get("listtypes")["error"]["code"] == "INVALID_SESSIONID"


def test_groups_are_listed_described_queried_and_retrieved_and_own_records(tenant_a, tenant_b, admin_of, ws):
    from crm_apps.access.services import group_save

    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        team = group_save(actor=admin, group=None, name="Field Team", description="Visits")
    with schema_context(tenant_b.schema_name):
        other = group_save(actor=admin_of(tenant_b), group=None, name="Other Team")
    api = ws(tenant_a, admin)

    types = api.get("listtypes")["result"]
    described = api.get("describe", elementType="Groups")["result"]
    rows = api.get("query", query="SELECT groupname, description FROM Groups WHERE groupname = 'Field Team';")
    one = api.get("retrieve", id=f"20x{team.pk}")["result"]
    owned = api.post(
        "create", elementType="Contacts", element={"lastname": "Gibbons", "assigned_user_id": f"20x{team.pk}"}
    )["result"]

    assert "Groups" in types["types"] and types["information"]["Groups"]["isEntity"] is False
    assert {f["name"] for f in described["fields"]} == {"id", "groupname", "description"}
    assert rows["result"] == [{"id": f"20x{team.pk}", "groupname": "Field Team", "description": "Visits"}]
    assert one == {"id": f"20x{team.pk}", "groupname": "Field Team", "description": "Visits"}
    assert owned["assigned_user_id"] == f"20x{team.pk}"
    # Another workspace's group is not there (ids are per workspace; a guess names nothing here).
    if other.pk != team.pk:
        assert api.get("retrieve", id=f"20x{other.pk}")["error"]["code"] == "RECORD_NOT_FOUND"
    assert api.get("query", query="SELECT * FROM Groups WHERE groupname = 'Other Team';")["result"] == []
