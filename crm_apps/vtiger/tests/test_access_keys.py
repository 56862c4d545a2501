from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from crm_apps.engine import registry
from crm_apps.vtiger.models import AccessKey
from crm_apps.vtiger.tests.conftest import WsClient, basic, key_of

pytestmark = pytest.mark.django_db


def test_me_shows_the_members_own_access_key(tenant_a, member, client_for):
    rep = member(tenant_a)
    other = member(tenant_a)

    body = client_for(tenant_a, rep).get("/api/v1/me").json()

    assert body["access_key"] == key_of(tenant_a, rep)
    assert len(body["access_key"]) >= 16
    assert body["access_key"] != key_of(tenant_a, other)


def test_rotating_the_key_on_the_profile_page_ends_sessions(tenant_a, member, client_for, ws):
    rep = member(tenant_a)
    api = ws(tenant_a, rep)
    old = key_of(tenant_a, rep)
    browser = client_for(tenant_a, rep)

    page = browser.get("/settings/profile/")
    rotated = browser.post("/settings/access-key/rotate/")

    assert page.status_code == 200 and old in page.content.decode()
    assert rotated.status_code == 302
    new = key_of(tenant_a, rep)
    assert new != old
    assert api.get("listtypes")["error"]["code"] == "INVALID_SESSIONID"
    assert WsClient(tenant_a, rep.user.email, old).login()["error"]["code"] == "INVALID_USER_CREDENTIALS"
    assert WsClient(tenant_a, rep.user.email, new).login()["success"]


def test_challenges_are_single_use_and_failures_are_throttled(tenant_a, member):
    rep = member(tenant_a)
    client = WsClient(tenant_a, rep.user.email, key_of(tenant_a, rep))
    without_challenge = client.client.post(
        "/webservice.php", {"operation": "login", "username": rep.user.email, "accessKey": "x"}
    ).json()
    wrong = [WsClient(tenant_a, rep.user.email, "wrong").login()["error"]["code"] for _ in range(10)]
    blocked = client.login()

    assert without_challenge["error"]["code"] == "INVALID_AUTH_TOKEN"
    assert set(wrong) == {"INVALID_USER_CREDENTIALS"}
    assert blocked["success"] is False and "Too many" in blocked["error"]["message"]


def test_inactive_members_cannot_sign_in(tenant_a, member):
    rep = member(tenant_a, active=False)

    assert (
        WsClient(tenant_a, rep.user.email, key_of(tenant_a, rep)).login()["error"]["code"] == "INVALID_USER_CREDENTIALS"
    )


def test_rest_flavour_answers_errors_with_http_status(tenant_a, member, client_for):
    rep = member(tenant_a)
    raw = client_for(tenant_a)

    anonymous = raw.get("/restapi/v1/vtiger/default/me")
    wrong = raw.get("/restapi/v1/vtiger/default/me", HTTP_AUTHORIZATION=basic(rep.user.email, "nope"))
    me = raw.get("/restapi/v1/vtiger/default/me", HTTP_AUTHORIZATION=basic(rep.user.email, key_of(tenant_a, rep)))
    bad_query = raw.get(
        "/restapi/v1/vtiger/default/query",
        {"query": "drop table x"},
        HTTP_AUTHORIZATION=basic(rep.user.email, key_of(tenant_a, rep)),
    )

    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "AUTHENTICATION_REQUIRED"
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "INVALID_USER_CREDENTIALS"
    assert me.status_code == 200 and me.json()["result"]["email1"] == rep.user.email
    assert bad_query.status_code == 400 and bad_query.json()["error"]["code"] == "QUERY_SYNTAX_ERROR"


def test_every_declared_vtiger_field_is_a_field_of_the_model():
    for spec in registry.builtin_specs():
        names = {f.name for f in spec.model._meta.get_fields()}
        assert set(spec.vtiger_fields) <= names, spec.key
        assert len(set(spec.vtiger_fields.values())) == len(spec.vtiger_fields), spec.key


def test_access_keys_are_per_tenant(tenant_a, tenant_b, member):
    rep = member(tenant_a)
    with schema_context(tenant_b.schema_name):
        assert not AccessKey.objects.exists()
    key = key_of(tenant_a, rep)
    assert WsClient(tenant_b, rep.user.email, key).login()["success"] is False
