from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD
from crm_apps.access.models import ApiToken

pytestmark = pytest.mark.django_db


def obtain(client, email, password=TEST_PASSWORD):
    return client.post("/api/v1/auth/token", {"email": email, "password": password}, content_type="application/json")


def test_member_obtains_a_token_and_reads_me(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a)

    created = obtain(client, "KIM@example.com")
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {created.json()['token']}")

    assert created.status_code == 201
    assert me.status_code == 200
    assert me.json() == {
        "id": m.pk,
        "email": "kim@example.com",
        "name": "Test Person",
        "is_admin": False,
        "active": True,
        "language": "en",
        "timezone": "UTC",
        "date_format": "",
        "time_format": "",
        "number_format": "",
        "joined_at": me.json()["joined_at"],
        "tenant": {"slug": "alpha", "name": "Alpha Ltd"},
        "access_key": me.json()["access_key"],  # the member's vtiger access key (crm_apps/vtiger)
    }
    assert len(me.json()["access_key"]) >= 16


def test_token_is_stored_only_as_a_hash(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")

    key = obtain(client_for(tenant_a), "kim@example.com").json()["token"]

    with schema_context("alpha"):
        token = ApiToken.objects.get()
        assert key not in (token.key_hash, token.prefix)
        assert token.prefix == key[:8]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "kim@example.com", "password": "wrong-password-1"},
        {"email": "nobody@example.com", "password": TEST_PASSWORD},
    ],
)
def test_wrong_credentials_are_400_without_saying_which(client_for, tenant_a, member, body):
    member(tenant_a, email="kim@example.com")

    response = client_for(tenant_a).post("/api/v1/auth/token", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Wrong email or password, or no access to this workspace."]}
    with schema_context("alpha"):
        assert not ApiToken.objects.exists()


def test_bad_token_request_bodies_are_field_errors(client_for, tenant_a):
    client = client_for(tenant_a)

    response = client.post("/api/v1/auth/token", {"email": "x" * 10_000}, content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}


def test_member_of_another_tenant_cannot_obtain_a_token_here(client_for, tenant_a, tenant_b, member):
    member(tenant_b, email="bea@example.com")

    response = obtain(client_for(tenant_a), "bea@example.com")

    assert response.status_code == 400


def test_deactivated_member_cannot_obtain_or_use_tokens(client_for, tenant_a, member, admin_of):
    from crm_apps.access.services import member_deactivate

    m = member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a)
    key = obtain(client, "kim@example.com").json()["token"]
    with schema_context("alpha"):
        member_deactivate(actor=admin_of(tenant_a), member=m)

    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert obtain(client, "kim@example.com").status_code == 400


def test_token_of_tenant_a_is_401_on_tenant_b_and_on_the_public_host(client_for, tenant_a, tenant_b, member):
    user_email = "both@example.com"
    member(tenant_a, email=user_email)
    member(tenant_b, email=user_email)
    key = obtain(client_for(tenant_a), user_email).json()["token"]

    on_b = client_for(tenant_b).get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}")
    on_public = client_for(None).get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}")

    assert on_b.status_code == 401
    assert on_public.status_code == 404  # the public host has no such endpoint at all


def test_list_and_revoke_own_tokens(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a)
    first = obtain(client, "kim@example.com").json()
    second = obtain(client, "kim@example.com").json()
    auth = {"HTTP_AUTHORIZATION": f"Token {first['token']}"}

    listed = client.get("/api/v1/auth/tokens", **auth)
    revoked = client.delete(f"/api/v1/auth/tokens/{second['id']}", **auth)
    again = client.delete(f"/api/v1/auth/tokens/{second['id']}", **auth)

    assert [t["id"] for t in listed.json()] == [second["id"], first["id"]]
    assert set(listed.json()[0]) == {"id", "name", "prefix", "created_at", "last_used_at"}
    assert revoked.status_code == 204
    assert again.status_code == 404
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {second['token']}").status_code == 401


def test_cannot_revoke_someone_elses_token(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    member(tenant_a, email="lee@example.com")
    client = client_for(tenant_a)
    kim = obtain(client, "kim@example.com").json()
    lee = obtain(client, "lee@example.com").json()

    response = client.delete(f"/api/v1/auth/tokens/{lee['id']}", HTTP_AUTHORIZATION=f"Token {kim['token']}")

    assert response.status_code == 404
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {lee['token']}").status_code == 200


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token nonsense", "Bearer abc"])
def test_malformed_or_unknown_tokens_are_401(client_for, tenant_a, header):
    response = client_for(tenant_a).get("/api/v1/me", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401


def test_session_of_tenant_a_is_anonymous_on_tenant_b(client_for, tenant_a, tenant_b, member):
    m = member(tenant_a)
    client = client_for(tenant_a, m)
    session_cookie = client.cookies["sessionid"].value

    from django.test import Client

    other = Client(HTTP_HOST="beta.localhost")
    other.cookies["sessionid"] = session_cookie

    assert client.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 401
    assert other.get("/")["Location"].startswith("/accounts/login/")


def test_user_with_session_but_no_membership_here_is_anonymous(client_for, tenant_a, tenant_b, member):
    """Even a valid session row in B's schema does not help a user who is not B's member."""
    m = member(tenant_a)
    client = client_for(tenant_b, None)
    with schema_context("beta"):
        client.force_login(m.user, backend="tenants.auth.EmailBackend")

    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_openapi_schema_is_served(client_for, tenant_a, member):
    response = client_for(tenant_a, member(tenant_a)).get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/auth/tokens",
        "/api/v1/auth/tokens/{token_id}",
    } <= set(paths)


def test_interactive_api_docs_load_their_assets_locally(client_for, tenant_a, member):
    page = client_for(tenant_a, member(tenant_a)).get("/api/v1/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_token_api_counts_failures_per_email(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    for n in range(10):
        client_for(tenant_a, REMOTE_ADDR=f"10.1.1.{n}").post(
            "/api/v1/auth/token",
            {"email": "kim@example.com", "password": "wrong-one-x"},
            content_type="application/json",
        )

    response = obtain(client_for(tenant_a, REMOTE_ADDR="10.1.1.99"), "kim@example.com")

    assert response.status_code == 429
    assert response["Retry-After"] == "900"


def test_openapi_schema_includes_the_tenants_own_custom_fields(client_for, tenant_a, tenant_b, admin_of):
    from django_tenants.utils import tenant_context

    from crm_apps.engine import registry
    from crm_apps.engine.services import custom_field_create

    with tenant_context(tenant_a):
        custom_field_create(
            actor=admin_of(tenant_a), spec=registry.get("contacts"), key="shoe_size", label="Shoe size", type="integer"
        )

    schema_a = client_for(tenant_a, admin_of(tenant_a)).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    schema_b = client_for(tenant_b, admin_of(tenant_b)).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    assert "shoe_size" in schema_a["components"]["schemas"]["ContactCustom"]["properties"]
    assert "shoe_size" not in schema_b["components"]["schemas"].get("ContactCustom", {}).get("properties", {})
    assert {"/api/v1/contacts/", "/api/v1/leads/{record_id}/", "/api/v1/deals/merge"} <= set(schema_a["paths"])


def test_meta_modules_describe_fields_picklists_and_custom_fields(client_for, tenant_a, admin_of):
    api = client_for(tenant_a, admin_of(tenant_a))

    created = api.post(
        "/api/v1/meta/modules/leads/fields",
        {"key": "budget", "label": "Budget", "type": "currency"},
        content_type="application/json",
    )
    meta = api.get("/api/v1/meta/modules/leads").json()
    bad = api.post(
        "/api/v1/meta/modules/leads/fields",
        {"key": "Bad Key", "label": "", "type": "x"},
        content_type="application/json",
    )
    archived = api.delete("/api/v1/meta/modules/leads/fields/budget")

    assert created.status_code == 201
    status = next(f for f in meta["fields"] if f["name"] == "status")
    assert {"value": "Hot", "label": "Hot", "retired": False} in status["picklist"]
    assert [f["key"] for f in meta["custom_fields"]] == ["budget"]
    assert bad.status_code == 400 and set(bad.json()) == {"key", "label", "type"}
    assert archived.status_code == 204
    assert api.get("/api/v1/meta/modules/leads").json()["custom_fields"] == []


def test_api_requests_are_limited_per_token(client_for, tenant_a, admin_of, monkeypatch):
    from crm_apps.engine.api.views import TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"api": "3/min"})
    api = client_for(tenant_a, admin_of(tenant_a))

    statuses = [api.get("/api/v1/leads/").status_code for _ in range(4)]
    last = api.get("/api/v1/leads/")

    assert statuses == [200, 200, 200, 429]
    assert int(last["Retry-After"]) > 0


def test_an_api_request_reads_the_version_stamps_in_its_budget_round_trip(client_for, tenant_a, admin_of, monkeypatch):
    """The request budget's Redis round trip also reads the tenant's cache version stamps, so the access checks
    that follow make no round trip of their own for them (issue 25); the answers are the same."""
    import redis.connection

    from saas import cache_versions

    api = client_for(tenant_a, admin_of(tenant_a))
    before = api.get("/api/v1/leads/")
    fetched: list[str] = []
    real_fetch = cache_versions._fetch

    def counted_fetch() -> dict[str, str]:
        fetched.append(tenant_a.schema_name)
        return real_fetch()

    sent: list[int] = []
    real_send = redis.connection.AbstractConnection.send_packed_command

    def counted_send(self, command, check_health=True):
        sent.append(1)
        return real_send(self, command, check_health)

    monkeypatch.setattr(cache_versions, "_fetch", counted_fetch)
    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted_send)
    after = api.get("/api/v1/leads/")

    assert before.status_code == after.status_code == 200
    assert after.json() == before.json()
    assert fetched == []  # the stamps came with the budget's pipeline
    assert len(sent) == 1  # budget + stamps, one round trip; everything else kept in the process


def test_stamps_read_elsewhere_are_kept_only_when_all_are_there(tenant_a):
    from django_tenants.utils import tenant_context

    from saas import cache_versions

    with tenant_context(tenant_a):
        cache_versions.versions_memo_clear()
        wanted = cache_versions.stamps_wanted()
        assert wanted is not None and len(wanted) == len(cache_versions.NAMES)
        assert all(tenant_a.schema_name in key for key in wanted)  # the tenant's own keys
        assert not cache_versions.stamps_seen(["a", None, "c"])
        assert not cache_versions.stamps_seen(None)
        assert cache_versions.stamps_wanted() is not None  # nothing kept: `version` reads them itself
        real = cache_versions.version("access")
        assert cache_versions.stamps_wanted() is None  # read in this request now
        cache_versions.versions_memo_clear()
        assert cache_versions.stamps_seen(["s1", "s2", "s3"])
        assert cache_versions.version("access") == "s1" and cache_versions.version("views") == "s3"
        cache_versions.versions_memo_clear()
        assert cache_versions.version("access") == real


def test_a_stamp_that_cannot_be_decoded_still_counts_the_request_once(tenant_a):
    from django.core.cache import cache
    from django_tenants.utils import tenant_context

    from saas.throttle import window_count_reading

    with tenant_context(tenant_a):
        broken = cache.make_and_validate_key("test:undecodable")
        cache._cache.get_client(broken, write=True).set(broken, b"\x80not-a-pickle")  # type: ignore[attr-defined]
        first = window_count_reading("test:budget-decode", window=60, read=[broken])
        second = window_count_reading("test:budget-decode", window=60)
    assert first[2] is None  # nothing usable read beside the count
    assert second[0] == first[0] + 1  # and the first request was counted exactly once
