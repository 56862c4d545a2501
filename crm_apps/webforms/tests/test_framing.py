"""The hosted form page is the one page other sites may frame, and only the sites the admin listed
(issue 26: frame-ancestors 'none' everywhere except the web-form embed route)."""

from __future__ import annotations

import pytest

from crm_apps.webforms.tests.test_webforms import SITE, make_form, path_of, visitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def test_a_form_with_listed_sites_may_be_framed_by_them_only(admin_api, tenant_a):
    page = visitor(tenant_a).get(path_of(make_form(admin_api, allowed_origins=[SITE])["public_url"]))
    assert page.status_code == 200
    policy = page["Content-Security-Policy"]
    assert f"frame-ancestors {SITE}" in policy
    assert "script-src 'self'" in policy and "object-src 'none'" in policy  # the rest of the policy is kept
    assert "X-Frame-Options" not in page


def test_a_form_without_listed_sites_is_never_framed_and_other_pages_neither(admin_api, tenant_a):
    page = visitor(tenant_a).get(path_of(make_form(admin_api)["public_url"]))
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] == "DENY"
    login = visitor(tenant_a).get("/accounts/login/")
    assert "frame-ancestors 'none'" in login["Content-Security-Policy"] and login["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "bad", ["https://shop.example;report-uri https://evil.example", "https://shop.example'", "https://*.shop.example"]
)
def test_an_origin_that_would_add_to_the_header_is_refused(admin_api, bad):
    """Origins go into frame-ancestors and CORS headers as they are: only scheme://host[:port] gets in."""
    from crm_apps.webforms.tests.test_webforms import CONTRACT

    refused = admin_api.post(
        "/api/v1/webforms/", {**CONTRACT, "allowed_origins": [bad]}, content_type="application/json"
    )
    assert (refused.status_code, list(refused.json())) == (400, ["allowed_origins"])


def test_an_origin_saved_before_the_strict_check_never_reaches_the_header(admin_api, tenant_a):
    """Forms saved under the older, looser check may hold `https://a.example;report-uri x`: it is dropped as the
    header is written, the valid sites stay."""
    from django_tenants.utils import schema_context

    from crm_apps.webforms.models import WebForm

    made = make_form(admin_api, allowed_origins=[SITE])
    with schema_context(tenant_a.schema_name):
        WebForm.objects.filter(pk=made["id"]).update(
            allowed_origins=["https://shop.example;report-uri https://evil.example", SITE]
        )

    policy = visitor(tenant_a).get(path_of(made["public_url"]))["Content-Security-Policy"]

    assert f"frame-ancestors {SITE};" in policy or policy.endswith(f"frame-ancestors {SITE}")
    assert "evil.example" not in policy and "report-uri" not in policy
