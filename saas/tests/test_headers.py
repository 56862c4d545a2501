"""Security headers on every page type: a Content-Security-Policy without inline or foreign script (and
no inline script in the HTML it guards), Permissions-Policy, Referrer-Policy, nosniff, framing refused;
HSTS over HTTPS."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from saas.headers import csp_header

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


def _checked(response, *, html: bool = True, path: str = "") -> str:
    assert response.status_code == 200, (path, response.status_code, response.get("Location"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    body = response.content.decode()
    if html:
        assert not INLINE_SCRIPT.findall(body), INLINE_SCRIPT.findall(body)[:3]
        assert not INLINE_HANDLER.findall(body), INLINE_HANDLER.findall(body)[:3]
    return body


def test_every_page_type_of_a_workspace_carries_the_headers(tenant_a, admin_of, client_for):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Stone"})
    anonymous = client_for(tenant_a)
    signed_in = client_for(tenant_a, admin)

    _checked(anonymous.get("/accounts/login/"))
    _checked(anonymous.get("/portal/login/"), path="/portal/login/")  # no framing sites listed: never framed
    for path in (
        "/",
        "/m/contacts/",
        "/m/contacts/new/",
        f"/m/contacts/{contact.pk}/",
        f"/m/contacts/{contact.pk}/edit/",
        "/m/deals/board/",
        "/calendar/",
        "/settings/access/security/",
        "/mfa/",
        "/mfa/totp/",
        "/settings/audit/",
        "/settings/billing/",
        "/settings/marketplace/",
        "/imports/",
        "/mail/",
        "/notifications/",
        "/api/v1/docs/",
    ):
        _checked(signed_in.get(path), path=path)
    script = signed_in.get("/api/v1/docs/?script")
    assert script["Content-Type"].startswith("application/javascript")
    _checked(script, html=False)
    api = signed_in.get("/api/v1/contacts/")
    assert api.status_code == 200 and "default-src 'self'" in api["Content-Security-Policy"]


def test_the_public_site_partner_portal_and_operator_console_carry_the_headers(public_client):
    for path in ("/", "/signup/", "/pricing/", "/partners/", "/partner-portal/login/", "/admin/login/"):
        response = public_client.get(path, follow=True)
        _checked(response)


def test_hsts_is_sent_over_https_only(tenant_a, client_for, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    plain = client_for(tenant_a).get("/accounts/login/")
    secure = client_for(tenant_a).get("/accounts/login/", secure=True)

    assert "Strict-Transport-Security" not in plain
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_overrides_change_one_directive_and_keep_the_rest(settings):
    settings.CSP_OVERRIDES = {"img-src": "'self' https://cdn.example"}

    policy = csp_header()

    assert "img-src 'self' https://cdn.example" in policy and "script-src 'self'" in policy
