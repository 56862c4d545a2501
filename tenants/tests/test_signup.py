from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from crm_apps.access.models import Member
from tenants.models import Domain, Tenant, User, WorkspaceMembership
from tenants.services import tenant_signup

pytestmark = pytest.mark.django_db

GOOD = {
    "organization": "Acme Corp",
    "subdomain": "acme-corp",
    "name": "Ada Lovelace",
    "email": "Ada@Example.com",
    "password": "analytical-engine-1843",
}


def api_signup(client: Client, REMOTE_ADDR: str = "127.0.0.1", **overrides: object):
    return client.post(
        "/api/v1/signup", {**GOOD, **overrides}, content_type="application/json", REMOTE_ADDR=REMOTE_ADDR
    )


def test_api_signup_creates_tenant_schema_domain_and_admin(public_client):
    response = api_signup(public_client)

    assert response.status_code == 201
    assert response.json() == {"tenant": "acme-corp", "url": "http://acme-corp.localhost:8000/"}
    tenant = Tenant.objects.get(schema_name="acme-corp")
    assert tenant.name == "Acme Corp"
    assert Domain.objects.get(tenant=tenant).domain == "acme-corp.localhost"
    assert schema_exists("acme-corp")
    user = User.objects.get(email="ada@example.com")
    assert user.name == "Ada Lovelace"
    with schema_context("acme-corp"):
        admin = Member.objects.get()
        assert (admin.user_id, admin.is_admin, admin.active) == (user.pk, True, True)
    assert WorkspaceMembership.objects.filter(user=user, tenant=tenant, is_active=True).exists()


def test_html_signup_lands_signed_in_on_the_new_tenant_home(public_client):
    response = public_client.post("/signup/", GOOD)

    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert target.netloc == "acme-corp.localhost:8000"
    assert target.path.startswith("/auth/handover/")
    tenant_client = Client(HTTP_HOST="acme-corp.localhost")
    landed = tenant_client.get(target.path, follow=True)
    assert landed.status_code == 200
    assert landed.redirect_chain[-1][0] == "/"
    assert "Hello, Ada" in landed.content.decode()


def test_handover_link_works_only_once(public_client):
    target = urlparse(public_client.post("/signup/", GOOD)["Location"])
    first = Client(HTTP_HOST="acme-corp.localhost")
    second = Client(HTTP_HOST="acme-corp.localhost")

    assert first.get(target.path)["Location"] == "/"
    assert second.get(target.path)["Location"] == "/accounts/login/"
    assert second.get("/")["Location"].startswith("/accounts/login/")


def test_handover_link_is_refused_on_another_tenant(public_client, tenant_b):
    target = urlparse(public_client.post("/signup/", GOOD)["Location"])

    response = Client(HTTP_HOST="beta.localhost").get(target.path)

    assert response["Location"] == "/accounts/login/"


@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("ab", "between 3 and 40"),
        ("a" * 41, "between 3 and 40"),
        ("-acme", "do not start or end with a hyphen"),
        ("acme-", "do not start or end with a hyphen"),
        ("Acme_Corp", "Use only lowercase letters"),
        ("acme.corp", "Use only lowercase letters"),
        ("acme corp", "Use only lowercase letters"),
        ("xn--acme", "third and fourth"),
        ("ünicode", "Use only lowercase letters"),
        ("", "This field is required."),
    ],
)
def test_subdomain_rules(public_client, subdomain, message):
    response = api_signup(public_client, subdomain=subdomain)

    assert response.status_code == 400
    assert list(response.json()) == ["subdomain"]
    assert message in response.json()["subdomain"][0]
    assert Tenant.objects.count() == 2  # only the shared test tenants


def test_uppercase_subdomain_is_lowercased(public_client):
    assert api_signup(public_client, subdomain="ACME-Corp").json()["tenant"] == "acme-corp"


@pytest.mark.parametrize(
    "reserved",
    [
        "www",
        "api",
        "admin",
        "app",
        "static",
        "media",
        "mail",
        "ftp",
        "public",
        "root",
        "support",
        "help",
        "status",
        "billing",
        "partners",
        "marketplace",
    ],
)
def test_reserved_subdomains_are_refused(public_client, reserved):
    response = api_signup(public_client, subdomain=reserved)

    assert response.status_code == 400
    assert response.json() == {"subdomain": ["This subdomain is reserved. Please choose another."]}


def test_taken_subdomain_is_refused(public_client, tenant_a):
    response = api_signup(public_client, subdomain="alpha")

    assert response.status_code == 400
    assert response.json() == {"subdomain": ["This subdomain is already taken."]}


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@b.com", "a b@c.com", "a@b", "<script>@x.com"])
def test_bad_emails_are_refused(public_client, email):
    response = api_signup(public_client, email=email)

    assert response.status_code == 400
    assert response.json() == {"email": ["Enter a valid email address."]}
    assert not Tenant.objects.filter(schema_name="acme-corp").exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("1234567890123", "entirely numeric"),
        ("ada@example.com", "too similar"),
    ],
)
def test_weak_passwords_are_refused(public_client, password, message):
    response = api_signup(public_client, password=password)

    assert response.status_code == 400
    assert list(response.json()) == ["password"]
    assert any(message in m for m in response.json()["password"])
    assert not User.objects.filter(email="ada@example.com").exists()


@pytest.mark.parametrize("field", ["organization", "subdomain", "name", "email", "password"])
def test_ten_thousand_character_fields_get_a_field_error(public_client, field):
    response = api_signup(public_client, **{field: "x" * 10_000})

    assert response.status_code == 400
    assert field in response.json()
    assert not Tenant.objects.filter(schema_name="acme-corp").exists()


def test_html_form_shows_field_errors_and_keeps_nothing(public_client):
    response = public_client.post("/signup/", {**GOOD, "subdomain": "admin", "email": "nope"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "This subdomain is reserved" in html
    assert "Enter a valid email address." in html
    assert not User.objects.filter(email="ada@example.com").exists()


def test_missing_fields_and_non_object_bodies_are_400(public_client):
    empty = public_client.post("/api/v1/signup", {}, content_type="application/json")
    listed = public_client.post("/api/v1/signup", [1, 2], content_type="application/json")
    broken = public_client.post("/api/v1/signup", "{not json", content_type="application/json")

    assert empty.status_code == 400
    assert set(empty.json()) == {"organization", "subdomain", "name", "email", "password"}
    assert listed.status_code == 400
    assert broken.status_code == 400


def test_markup_in_organisation_name_is_shown_escaped(public_client):
    target = urlparse(
        public_client.post("/signup/", {**GOOD, "organization": "<b>Evil</b><script>x()</script>"})["Location"]
    )
    client = Client(HTTP_HOST="acme-corp.localhost")
    page = client.get(target.path, follow=True).content.decode()

    assert "<script>x()</script>" not in page
    assert "&lt;b&gt;Evil&lt;/b&gt;&lt;script&gt;x()&lt;/script&gt;" in page


def test_existing_email_is_told_to_sign_in_and_no_password_is_checked(public_client, tenant_a, admin_of):
    admin = admin_of(tenant_a)

    wrong = api_signup(public_client, email=admin.user.email.upper(), password="not-the-password-1")
    right = api_signup(public_client, email=admin.user.email.upper(), password="correct-horse-battery-9")

    # The same answer whatever the password: signup is not a password oracle.
    assert wrong.status_code == right.status_code == 400
    assert wrong.json() == right.json()
    assert list(wrong.json()) == ["email"]
    assert "Sign in to one of your workspaces" in wrong.json()["email"][0]
    assert not Tenant.objects.filter(schema_name="acme-corp").exists()


def test_signed_in_member_creates_another_workspace_and_is_handed_over(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)

    response = client.post("/settings/new-workspace/", {"organization": "Second Co", "subdomain": "second-co"})

    target = urlparse(response["Location"])
    assert target.netloc == "second-co.localhost:8000"
    landed = Client(HTTP_HOST="second-co.localhost").get(target.path, follow=True)
    assert "Second Co" in landed.content.decode()
    with schema_context("second-co"):
        assert Member.objects.get(user=admin.user).is_admin is True
    assert User.objects.filter(email=admin.user.email).count() == 1


def test_new_workspace_page_validates_like_signup(client_for, tenant_a, admin_of):
    response = client_for(tenant_a, admin_of(tenant_a)).post(
        "/settings/new-workspace/", {"organization": "", "subdomain": "admin"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "organization": ["This field is required."],
        "subdomain": ["This subdomain is reserved. Please choose another."],
    }


@pytest.mark.parametrize("field", ["organization", "name", "password"])
@pytest.mark.parametrize("bad", ["nul\x00byte", "lone\ud800surrogate"])
def test_nul_bytes_and_lone_surrogates_are_field_errors(public_client, field, bad):
    response = api_signup(public_client, **{field: bad})

    assert response.status_code == 400
    assert field in response.json()
    assert not Tenant.objects.filter(schema_name="acme-corp").exists()


@pytest.mark.parametrize("value", [12, ["a"], True, {"x": 1}])
def test_wrong_json_types_say_so(public_client, value):
    response = api_signup(public_client, organization=value)

    assert response.status_code == 400
    assert response.json()["organization"] == ["Enter text."]


def test_signup_attempts_are_limited_per_address(public_client):
    for n in range(20):
        api_signup(public_client, subdomain="x", REMOTE_ADDR="10.7.7.7")

    html = public_client.post("/signup/", {**GOOD}, REMOTE_ADDR="10.7.7.7")
    api = public_client.post("/api/v1/signup", GOOD, content_type="application/json", REMOTE_ADDR="10.7.7.7")

    assert html.status_code == 429
    assert api.status_code == 429
    assert api["Retry-After"] == "3600"
    assert not Tenant.objects.filter(schema_name="acme-corp").exists()


def test_failed_provisioning_leaves_no_tenant_user_or_schema(public_client, monkeypatch):
    import crm_apps.access.services as access_services

    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(access_services, "member_create", boom)

    with pytest.raises(RuntimeError):
        tenant_signup(**GOOD)

    assert not Tenant.objects.filter(schema_name="acme-corp").exists()
    assert not User.objects.filter(email="ada@example.com").exists()
    assert not schema_exists("acme-corp")
