"""SAML 2.0 sign-in: a pysaml2 identity provider signing assertions with a key and certificate made here."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD, host_of
from crm_apps.access.models import Member, MemberSession, Role
from crm_apps.audit.models import AuditEvent
from crm_apps.sso.models import IdentityProvider, SamlAssertionSeen
from crm_apps.sso.services import provider_save
from crm_apps.sso.tests.idp import SamlIdp
from tenants.models import Tenant, User

pytestmark = pytest.mark.django_db


def sp_metadata(tenant: Tenant) -> str:
    response = Client(HTTP_HOST=host_of(tenant)).get("/sso/saml/metadata/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/samlmetadata+xml"
    return response.content.decode()


@pytest.fixture
def idp(tenant_a: Tenant, tenant_b: Tenant) -> Iterator[SamlIdp]:
    """An IdP that knows both workspaces' service providers (as one company's IdP could)."""
    server = SamlIdp(name="corp", sp_metadata=[sp_metadata(tenant_a), sp_metadata(tenant_b)])
    yield server
    server.stop()


def configure(tenant: Tenant, admin: Member, idp: SamlIdp, **extra: Any) -> IdentityProvider:
    from crm_apps.sso.saml import metadata_parse
    from tenants.services import tenant_url

    xml = idp.metadata()
    with schema_context(tenant.schema_name):
        role = Role.objects.filter(parent__isnull=False).order_by("-path")[0]
        values = {
            "protocol": "saml",
            "name": "CorpSAML",
            "enabled": True,
            "saml_metadata_xml": xml,
            "saml_entity_id": metadata_parse(xml=xml, base_url=tenant_url(tenant.schema_name)),
            "jit_enabled": True,
            "jit_role": role,
            **extra,
        }
        return provider_save(actor=admin, values=values)


def start(client: Client) -> str:
    response = client.get("/sso/start/")
    assert response.status_code == 302
    assert "SAMLRequest=" in response["Location"]
    return str(response["Location"])


def member_of_session(client: Client, tenant: Tenant) -> Member:
    """The member whose recorded session this client holds (fails when it holds none)."""
    with schema_context(tenant.schema_name):
        return MemberSession.objects.select_related("member").get(session_key=client.session.session_key).member


def test_sp_metadata_per_workspace(tenant_a, tenant_b) -> None:
    from tenants.services import tenant_url

    a, b = sp_metadata(tenant_a), sp_metadata(tenant_b)
    assert f'entityID="{tenant_url("alpha", "/sso/saml/metadata/")}"' in a
    assert f'Location="{tenant_url("alpha", "/sso/saml/acs/")}"' in a
    assert 'WantAssertionsSigned="true"' in a
    assert "beta.localhost" in b and "alpha.localhost" not in b


def test_signed_assertion_signs_in_and_creates_member(tenant_a, admin_of, idp) -> None:
    configure(tenant_a, admin_of(tenant_a), idp)
    client = Client(HTTP_HOST=host_of(tenant_a))
    saml_response, _xml = idp.respond(start(client), email="saml.new@alpha.example.com", name="Sam L")
    response = client.post("/sso/saml/acs/", {"SAMLResponse": saml_response})
    assert response.status_code == 302, response.content.decode()[:500]
    user = User.objects.get(email="saml.new@alpha.example.com")
    assert member_of_session(client, tenant_a).user_id == user.pk
    with schema_context(tenant_a.schema_name):
        event = AuditEvent.objects.filter(action="login_succeeded").latest("id")
        assert event.details["protocol"] == "saml"
        assert "PasswordProtectedTransport" in event.details["idp_authn"]


def test_links_existing_member_by_email(tenant_a, admin_of, member, idp) -> None:
    existing = member(tenant_a, email="linked@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), idp, jit_enabled=False, jit_role=None)
    client = Client(HTTP_HOST=host_of(tenant_a))
    saml_response, _xml = idp.respond(start(client), email="linked@alpha.example.com")
    response = client.post("/sso/saml/acs/", {"SAMLResponse": saml_response})
    assert response.status_code == 302 and response["Location"] == "/sso/link/"
    assert client.post("/sso/link/", {"password": TEST_PASSWORD}).status_code == 302
    assert member_of_session(client, tenant_a).pk == existing.pk


def _refused(client: Client, saml_response: str, tenant: Tenant, reason: str) -> None:
    """The ACS answers 403, opens no session, and the audit trail names why (pysaml2's refusal)."""
    response = client.post("/sso/saml/acs/", {"SAMLResponse": saml_response})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    with schema_context(tenant.schema_name):
        details = AuditEvent.objects.filter(action="login_failed").latest("id").details
        assert details["protocol"] == "saml"
        assert reason in details["reason"]


def test_unsigned_assertion_refused(tenant_a, admin_of, member, idp) -> None:
    member(tenant_a, email="victim@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), idp)
    client = Client(HTTP_HOST=host_of(tenant_a))
    saml_response, _xml = idp.respond(start(client), email="victim@alpha.example.com", sign=False)
    _refused(client, saml_response, tenant_a, "Signature missing")


def test_forged_assertion_refused(tenant_a, admin_of, member, idp) -> None:
    """A signed assertion whose email was changed afterwards: the signature no longer matches."""
    member(tenant_a, email="victim@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), idp)
    client = Client(HTTP_HOST=host_of(tenant_a))
    _response, xml = idp.respond(start(client), email="mallory@alpha.example.com")
    forged = xml.replace("mallory@alpha.example.com", "victim@alpha.example.com")
    _refused(client, base64.b64encode(forged.encode()).decode(), tenant_a, "Failed to verify signature")


def test_assertion_signed_by_another_idp_refused(tenant_a, tenant_b, admin_of, member, idp) -> None:
    member(tenant_a, email="victim@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), idp)
    rogue = SamlIdp(name="corp", sp_metadata=[sp_metadata(tenant_a)])  # same entity id, other key
    try:
        client = Client(HTTP_HOST=host_of(tenant_a))
        saml_response, _xml = rogue.respond(start(client), email="victim@alpha.example.com")
        _refused(client, saml_response, tenant_a, "Failed to verify signature")
    finally:
        rogue.stop()


def test_expired_assertion_refused(tenant_a, admin_of, member, idp) -> None:
    member(tenant_a, email="victim@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), idp)
    client = Client(HTTP_HOST=host_of(tenant_a))
    saml_response, _xml = idp.respond(start(client), email="victim@alpha.example.com", lifetime_minutes=-10)
    _refused(client, saml_response, tenant_a, "Condition not OK")


def test_replayed_assertion_refused(tenant_a, admin_of, member, idp) -> None:
    member(tenant_a, email="victim@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), idp)
    first = Client(HTTP_HOST=host_of(tenant_a))
    saml_response, _xml = idp.respond(start(first), email="victim@alpha.example.com")
    flow_cookie = first.cookies["kestrel_saml_flow"].value
    assert first.post("/sso/saml/acs/", {"SAMLResponse": saml_response}).status_code == 302
    # the same response, with the same (stolen) flow cookie, in another browser
    second = Client(HTTP_HOST=host_of(tenant_a))
    second.cookies["kestrel_saml_flow"] = flow_cookie
    second.cookies["kestrel_saml_flow"]["path"] = "/sso/saml/"
    _refused(second, saml_response, tenant_a, "replayed")
    with schema_context(tenant_a.schema_name):
        assert SamlAssertionSeen.objects.count() == 1


def test_unsolicited_response_refused(tenant_a, admin_of, member, idp) -> None:
    """A response to a request this browser never made (IdP-initiated or stolen) is refused."""
    member(tenant_a, email="victim@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), idp)
    attacker = Client(HTTP_HOST=host_of(tenant_a))
    saml_response, _xml = idp.respond(start(attacker), email="victim@alpha.example.com")
    victim = Client(HTTP_HOST=host_of(tenant_a))
    _refused(victim, saml_response, tenant_a, "no_flow")


def test_assertion_for_other_workspace_refused(tenant_a, tenant_b, admin_of, member, idp) -> None:
    """The same IdP serves alpha and beta. At beta: alpha's response (another request) is unsolicited; one
    answering beta's request but addressed to alpha's audience, or to alpha's ACS, fails those checks."""
    from urllib.parse import parse_qs, urlsplit

    from saml2 import BINDING_HTTP_REDIRECT

    from tenants.services import tenant_url

    member(tenant_a, email="victim@alpha.example.com")
    member(tenant_b, email="victim@alpha.example.com")
    configure(tenant_a, admin_of(tenant_a), idp)
    configure(tenant_b, admin_of(tenant_b), idp)
    alpha = Client(HTTP_HOST=host_of(tenant_a))
    alpha_response, _xml = idp.respond(start(alpha), email="victim@alpha.example.com")
    cases: dict[str, dict[str, Any]] = {
        "Unsolicited": {"alpha_response": True},
        "AudienceRestrictions": {"audience": tenant_url("alpha", "/sso/saml/metadata/")},
        "destination": {"acs": tenant_url("alpha", "/sso/saml/acs/")},
    }
    for reason, kwargs in cases.items():
        beta = Client(HTTP_HOST=host_of(tenant_b))
        beta_start = start(beta)
        if kwargs.get("alpha_response"):
            saml_response = alpha_response
        else:
            saml_response, _xml = idp.respond(beta_start, email="victim@alpha.example.com", **kwargs)
        request_id = idp.server.parse_authn_request(
            parse_qs(urlsplit(beta_start).query)["SAMLRequest"][0], BINDING_HTTP_REDIRECT
        ).message.id
        assert request_id
        _refused(beta, saml_response, tenant_b, reason)


def test_settings_upload_metadata_and_bad_file(tenant_a, admin_of, client_for, idp) -> None:
    client = client_for(tenant_a, admin_of(tenant_a))
    with schema_context(tenant_a.schema_name):
        role = Role.objects.filter(parent__isnull=False).order_by("path")[0]
    common = {"protocol": "saml", "name": "Corp", "enabled": "on", "jit_enabled": "on", "jit_role": role.pk}
    bad = client.post(
        "/settings/sso/",
        {**common, "saml_metadata_file": SimpleUploadedFile("m.xml", b"<not-metadata/>", "text/xml")},
    )
    assert bad.status_code == 400
    assert "not SAML 2.0 identity provider metadata" in bad.content.decode()
    with schema_context(tenant_a.schema_name):
        assert not IdentityProvider.objects.exists()
    good = client.post(
        "/settings/sso/",
        {**common, "saml_metadata_file": SimpleUploadedFile("m.xml", idp.metadata().encode(), "text/xml")},
    )
    assert good.status_code == 302
    with schema_context(tenant_a.schema_name):
        assert IdentityProvider.objects.get().saml_entity_id == idp.entity_id
