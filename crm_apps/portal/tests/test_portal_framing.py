"""Sites allowed to show the portal in a frame (issue 26: frame-ancestors 'none' everywhere except the web-form
embed route and the portal if configured): a tenant admin lists them on the portal's settings page (or the
API); only that workspace's portal pages name them in frame-ancestors, without X-Frame-Options; every other
page, and every other workspace's portal, keeps frame-ancestors 'none' and DENY."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from crm_apps.portal import services
from crm_apps.portal.tests.test_portal import host, portal_client, setup  # noqa: F401
from crm_apps.portal.views import COOKIE

pytestmark = pytest.mark.django_db

SHOP = "https://www.shop.example"
HELP = "https://help.shop.example:8443"


def save_sites(client: Client, sites: str, **extra: str):
    return client.post(
        "/settings/portal/",
        {"action": "settings", "accent_colour": "#2457c5", "ticket_scope": "own", "enabled": "1", **extra}
        | {"frame_origins": sites},
    )


def assert_never_framed(response) -> None:
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"], response.get("Content-Security-Policy")
    assert response["X-Frame-Options"] == "DENY"


def test_listed_sites_frame_this_workspaces_portal_only(tenant_a, tenant_b, setup, client_for, admin_of):  # noqa: F811
    admin = client_for(tenant_a, setup["admin"])
    saved = save_sites(admin, f"{SHOP}/\n{HELP}\nHTTPS://WWW.SHOP.EXAMPLE", title="Help centre")
    assert saved.status_code == 302
    with schema_context(tenant_a.schema_name):
        assert services.settings_get().frame_origins == [SHOP, HELP]  # origins, lowercase, once each
    assert SHOP in admin.get("/settings/portal/").content.decode()  # shown again for editing

    pages = [Client(HTTP_HOST=host(tenant_a)).get("/portal/login/"), Client(HTTP_HOST=host(tenant_a)).get("/portal/")]
    signed_in = portal_client(tenant_a, "ada@customer.example")
    pages += [signed_in.get("/portal/"), signed_in.get("/portal/tickets/"), signed_in.get("/portal/profile/")]
    for page in pages:
        assert page.status_code in (200, 302)
        policy = page["Content-Security-Policy"]
        assert f"frame-ancestors {SHOP} {HELP}" in policy
        assert "script-src 'self'" in policy and "object-src 'none'" in policy  # the rest of the policy is kept
        assert "X-Frame-Options" not in page

    # The rest of workspace A's host: never framed.
    assert_never_framed(admin.get("/settings/portal/"))
    assert_never_framed(admin.get("/"))
    assert_never_framed(admin.get("/m/contacts/"))
    assert_never_framed(Client(HTTP_HOST=host(tenant_a)).get("/accounts/login/"))
    # Workspace B's portal: A's list means nothing there.
    b_login = Client(HTTP_HOST=host(tenant_b)).get("/portal/login/")
    assert b_login.status_code == 200
    assert_never_framed(b_login)
    assert SHOP not in b_login["Content-Security-Policy"]
    with schema_context(tenant_b.schema_name):
        assert services.settings_get().frame_origins == []
    b_admin = client_for(tenant_b, admin_of(tenant_b))
    assert b_admin.get("/api/v1/portal/settings").json()["frame_origins"] == []


def test_an_empty_list_means_never_framed_again(tenant_a, setup, client_for):  # noqa: F811
    admin = client_for(tenant_a, setup["admin"])
    assert save_sites(admin, SHOP).status_code == 302
    assert SHOP in Client(HTTP_HOST=host(tenant_a)).get("/portal/login/")["Content-Security-Policy"]
    assert save_sites(admin, "").status_code == 302
    assert_never_framed(Client(HTTP_HOST=host(tenant_a)).get("/portal/login/"))


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "www.shop.example",
        "https://www.shop.example/embed",
        "https://www.shop.example?x=1",
        "https://www.shop.example#top",
        "https://user@www.shop.example",
        "https://*.shop.example",
        "https://www.shop.example;script-src",
        "https://www.shop.example'",
        "https://-bad-.example",
        "ftp://www.shop.example",
        "https://www.shop.example:99999",
        "'none'",
    ],
)
def test_invalid_sites_are_refused_with_a_form_error_and_nothing_saved(tenant_a, setup, client_for, bad):  # noqa: F811
    admin = client_for(tenant_a, setup["admin"])
    refused = save_sites(admin, f"{SHOP}\n{bad}", title="Must not be saved")
    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'id="ps-frame-error"' in page and "is not a site address" in page
    with schema_context(tenant_a.schema_name):
        kept = services.settings_get()
        assert (kept.frame_origins, kept.title) == ([], "")
    assert_never_framed(Client(HTTP_HOST=host(tenant_a)).get("/portal/login/"))


def test_too_many_sites_and_the_api_answer_field_errors(tenant_a, setup, client_for):  # noqa: F811
    admin = client_for(tenant_a, setup["admin"])
    many = "\n".join(f"https://s{i}.example.com" for i in range(services.FRAME_SITES_MAX + 1))
    refused = save_sites(admin, many)
    assert refused.status_code == 400 and "List at most" in refused.content.decode()
    bad = admin.patch(
        "/api/v1/portal/settings", {"frame_origins": ["https://a.example/x"]}, content_type="application/json"
    )
    assert (bad.status_code, list(bad.json())) == (400, ["frame_origins"])
    wrong_type = admin.patch("/api/v1/portal/settings", {"frame_origins": [1]}, content_type="application/json")
    assert (wrong_type.status_code, list(wrong_type.json())) == (400, ["frame_origins"])
    good = admin.patch("/api/v1/portal/settings", {"frame_origins": [SHOP]}, content_type="application/json")
    assert (good.status_code, good.json()["frame_origins"]) == (200, [SHOP])


def test_http_sites_only_in_development():
    assert services.frame_origins_clean("http://localhost:3000") == ["http://localhost:3000"]  # BASE_DOMAIN localhost
    with override_settings(BASE_DOMAIN="crm.example.com"):
        with pytest.raises(ValidationError) as refused:
            services.frame_origins_clean(["http://www.shop.example"])
        assert "only https" in str(refused.value.message_dict["frame_origins"])
        assert services.frame_origins_clean([SHOP]) == [SHOP]


def test_framed_portal_cookies_are_third_party_over_https_only_when_configured(
    tenant_a,
    tenant_b,
    setup,  # noqa: F811
):
    with schema_context(tenant_a.schema_name):
        services.settings_save(actor=setup["admin"], data={"frame_origins": [SHOP]})
    client = Client(HTTP_HOST=host(tenant_a))
    page = client.get("/portal/login/", secure=True)
    assert page.cookies["csrftoken"]["samesite"] == "None" and page.cookies["csrftoken"]["secure"]
    signed = client.post(
        "/portal/login/", {"email": "ada@customer.example", "password": "portal-Secret-1984"}, secure=True
    )
    assert signed.status_code == 302
    assert (signed.cookies[COOKIE]["samesite"], bool(signed.cookies[COOKIE]["secure"])) == ("None", True)
    assert client.get("/portal/", secure=True).status_code == 200
    # Not configured (workspace B), or plain http: the cookies stay Lax.
    other = Client(HTTP_HOST=host(tenant_b)).get("/portal/login/", secure=True)
    assert other.cookies["csrftoken"]["samesite"] == "Lax"
    plain = Client(HTTP_HOST=host(tenant_a)).get("/portal/login/")
    assert plain.cookies["csrftoken"]["samesite"] == "Lax"
