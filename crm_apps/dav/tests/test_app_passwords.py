from __future__ import annotations

import base64

import pytest
from django_tenants.utils import schema_context

from crm_apps.audit.models import AuditEvent
from crm_apps.dav.models import AppPassword
from crm_apps.dav.services import app_password_authenticate
from crm_apps.dav.tests.conftest import DavClient

pytestmark = pytest.mark.django_db


def test_create_shows_the_password_once_and_stores_only_its_hash(tenant_a, member, client_for):
    rep = member(tenant_a)
    api = client_for(tenant_a, rep)

    created = api.post("/api/v1/me/app-passwords", {"name": "Phone"}, content_type="application/json")
    listed = api.get("/api/v1/me/app-passwords")

    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "name", "password", "username", "server"}
    assert body["username"] == rep.user.email
    assert body["server"] == "http://alpha.localhost/dav/"
    assert [(p["id"], p["name"], p["last_used_at"]) for p in listed.json()] == [(body["id"], "Phone", None)]
    assert "password" not in listed.json()[0]
    with schema_context("alpha"):
        stored = AppPassword.objects.get(pk=body["id"])
        assert body["password"] not in (stored.key_hash, stored.prefix + "x")
        assert AuditEvent.objects.filter(record_id=str(stored.pk), details__kind="app_password").count() == 1


def test_a_name_is_required(tenant_a, member, client_for):
    api = client_for(tenant_a, member(tenant_a))

    answer = api.post("/api/v1/me/app-passwords", {"name": "  "}, content_type="application/json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["name"]
    with schema_context("alpha"):
        assert AppPassword.objects.count() == 0


def test_last_use_is_recorded_and_revoke_signs_the_client_out(tenant_a, member, client_for):
    rep = member(tenant_a)
    api = client_for(tenant_a, rep)
    body = api.post("/api/v1/me/app-passwords", {"name": "Laptop"}, content_type="application/json").json()
    dav = DavClient(tenant_a, rep.user.email, body["password"])

    assert dav.request("PROPFIND", "/dav/", Depth="0").status_code == 207
    assert api.get("/api/v1/me/app-passwords").json()[0]["last_used_at"] is not None
    assert api.delete(f"/api/v1/me/app-passwords/{body['id']}").status_code == 204
    assert dav.request("PROPFIND", "/dav/", Depth="0").status_code == 401


def test_a_member_cannot_list_or_revoke_anothers_password(tenant_a, member, client_for, app_password):
    owner, other = member(tenant_a), member(tenant_a)
    app_password(tenant_a, owner)
    with schema_context("alpha"):
        pk = AppPassword.objects.get(member=owner).pk
    api = client_for(tenant_a, other)

    assert api.get("/api/v1/me/app-passwords").json() == []
    assert api.delete(f"/api/v1/me/app-passwords/{pk}").status_code == 404
    with schema_context("alpha"):
        assert AppPassword.objects.filter(pk=pk).exists()


def test_anonymous_calls_are_refused(tenant_a, client_for):
    answer = client_for(tenant_a).post("/api/v1/me/app-passwords", {"name": "x"}, content_type="application/json")

    assert answer.status_code == 401
    with schema_context("alpha"):
        assert AppPassword.objects.count() == 0


def test_the_account_password_and_a_wrong_email_are_refused(tenant_a, member, app_password):
    rep = member(tenant_a)
    password = app_password(tenant_a, rep)
    from conftest import TEST_PASSWORD

    with schema_context("alpha"):
        assert app_password_authenticate(email=rep.user.email, password=TEST_PASSWORD) is None
        assert app_password_authenticate(email="someone@example.com", password=password) is None
        assert app_password_authenticate(email=rep.user.email.upper(), password=password) == rep


def test_an_inactive_member_is_refused(tenant_a, member, app_password):
    rep = member(tenant_a)
    password = app_password(tenant_a, rep)
    with schema_context("alpha"):
        type(rep).objects.filter(pk=rep.pk).update(active=False)

        assert app_password_authenticate(email=rep.user.email, password=password) is None


def test_a_password_of_one_workspace_is_worthless_on_another(tenant_a, tenant_b, member, app_password):
    person = member(tenant_a)
    member(tenant_b, email=person.user.email)
    password = app_password(tenant_a, person)

    on_b = DavClient(tenant_b, person.user.email, password).request("PROPFIND", "/dav/", Depth="0")

    assert on_b.status_code == 401


def test_failures_are_throttled_with_the_sign_in_limits(tenant_a, member):
    rep = member(tenant_a)
    dav = DavClient(tenant_a, rep.user.email, "wrong-password")

    codes = [dav.request("PROPFIND", "/dav/", Depth="0").status_code for _i in range(11)]

    assert codes == [401] * 10 + [429]


def test_the_profile_page_creates_shows_once_and_revokes(tenant_a, member, client_for):
    rep = member(tenant_a)
    web = client_for(tenant_a, rep)

    created = web.post("/settings/app-passwords/", {"app_password-name": "iPhone"})
    with schema_context("alpha"):
        stored = AppPassword.objects.get(member=rep)
    profile = web.get("/settings/profile/")
    revoked = web.post(f"/settings/app-passwords/{stored.pk}/revoke/")

    assert created.status_code == 200
    assert "iPhone" in created.content.decode()
    assert stored.prefix in created.content.decode()
    page = profile.content.decode()
    assert "Calendar and contact sync" in page
    assert "http://alpha.localhost/dav/" in page
    assert f"{stored.prefix}…" in page
    assert revoked.status_code == 302
    with schema_context("alpha"):
        assert not AppPassword.objects.filter(member=rep).exists()


def test_basic_header_garbage_is_a_401(tenant_a):
    dav = DavClient(tenant_a, "x", "y")
    dav.auth = "Basic " + base64.b64encode(b"\xff\xfe").decode()

    assert dav.request("PROPFIND", "/dav/", Depth="0").status_code == 401


def test_the_api_schema_documents_app_passwords(tenant_a, member, client_for):
    schema = client_for(tenant_a, member(tenant_a)).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    create = schema["paths"]["/api/v1/me/app-passwords"]["post"]
    assert "delete" in schema["paths"]["/api/v1/me/app-passwords/{app_password_id}"]
    created = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][created]["properties"]) == {
        "id",
        "name",
        "password",
        "username",
        "server",
    }


def test_dav_failures_block_dav_but_never_the_browser_sign_in(tenant_a, member):
    from django.test import Client

    from conftest import TEST_PASSWORD, host_of

    rep = member(tenant_a)
    revoked_phone = DavClient(tenant_a, rep.user.email, "revoked-app-password")

    codes = [revoked_phone.request("PROPFIND", "/dav/", Depth="0").status_code for _i in range(11)]
    browser = Client(HTTP_HOST=host_of(tenant_a)).post(
        "/accounts/login/", {"username": rep.user.email, "password": TEST_PASSWORD}
    )

    assert codes == [401] * 10 + [429]
    assert browser.status_code == 302
