"""SAML 2.0 service provider per workspace (pysaml2; XML signatures checked by Debian's `xmlsec1`).

The SP's entity id is its metadata URL on the workspace's configured address, and its one assertion
consumer service (HTTP-POST) is on that host too, so an assertion made for one workspace fails the
audience and recipient checks of every other. Assertions must be signed by a certificate in the IdP
metadata the admin gave; pysaml2 checks the signature, the audience, the recipient/destination, the
InResponseTo of a request this browser's session made, and NotBefore/NotOnOrAfter (60 s of clock skew);
an assertion id is accepted once (`SamlAssertionSeen`).
"""

from __future__ import annotations

import base64
import calendar
import logging
import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS
from saml2.time_util import str_to_time

from crm_apps.sso.models import IdentityProvider, Protocol, SamlAssertionSeen
from crm_apps.sso.services import Identity, SsoRefused
from saas import webhooks
from saas.webhooks import UnsafeTarget, resolve_target

log = logging.getLogger(__name__)
METADATA_MAX_BYTES = 1_000_000
CLOCK_SKEW_SECONDS = 60
EMAIL_ATTRIBUTES = ("email", "mail", "emailAddress", "urn:oid:0.9.2342.19200300.100.1.3")
NAME_ATTRIBUTES = ("displayName", "cn", "name", "urn:oid:2.16.840.1.113730.3.1.241")


class MetadataError(Exception):
    pass


def xmlsec_binary() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        raise MetadataError(_("SAML needs the xmlsec1 program on the server."))
    return path


def sp_entity_id(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/sso/saml/metadata/"


def sp_acs_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/sso/saml/acs/"


def _config(*, base_url: str, idp_metadata: str | None) -> SPConfig:
    conf: dict[str, Any] = {
        "entityid": sp_entity_id(base_url),
        "xmlsec_binary": xmlsec_binary(),
        "accepted_time_diff": CLOCK_SKEW_SECONDS,
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "name": "Kestrel",
                "endpoints": {"assertion_consumer_service": [(sp_acs_url(base_url), BINDING_HTTP_POST)]},
                "want_assertions_signed": True,
                "want_response_signed": False,
                "authn_requests_signed": False,
                "allow_unsolicited": False,
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
            }
        },
    }
    if idp_metadata:
        conf["metadata"] = {"inline": [idp_metadata]}
    config = SPConfig()
    config.load(conf)
    return config


def sp_metadata(*, base_url: str) -> str:
    """This workspace's SP metadata (entity id, ACS, wants signed assertions)."""
    return create_metadata_string(None, config=_config(base_url=base_url, idp_metadata=None), valid=24 * 30).decode()


def metadata_fetch(url: str) -> str:
    """The IdP metadata at `url` (public addresses only, 1 MB at most)."""
    try:
        resolve_target(url)
    except UnsafeTarget as exc:
        raise MetadataError(_("This address cannot be reached from here (%(why)s).") % {"why": exc}) from exc
    try:
        status, body = webhooks.get(url, limit=METADATA_MAX_BYTES + 1)
        if status != 200:
            raise ValueError(f"HTTP {status}")
    except (UnsafeTarget, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        # Redirects are not followed (the target was checked, not where it points); the cause goes to
        # the log, the administrator sees a generic message.
        log.info("sso: fetching SAML metadata %s failed: %s", url, exc)
        raise MetadataError(_("The metadata could not be read from this address.")) from exc
    if len(body) > METADATA_MAX_BYTES:
        raise MetadataError(_("The metadata is larger than 1 MB."))
    return body.decode("utf-8", errors="replace")


def metadata_parse(*, xml: str, base_url: str) -> str:
    """The entity id of the one identity provider in `xml`, which must carry a signing certificate."""
    if len(xml.encode()) > METADATA_MAX_BYTES:
        raise MetadataError(_("The metadata is larger than 1 MB."))
    try:
        client = Saml2Client(config=_config(base_url=base_url, idp_metadata=xml))
        idps = list(client.metadata.identity_providers())
    except MetadataError:
        raise
    except Exception as exc:  # pysaml2 raises many kinds for malformed XML
        raise MetadataError(_("This is not SAML 2.0 identity provider metadata.")) from exc
    if not idps:
        raise MetadataError(_("This is not SAML 2.0 identity provider metadata."))
    if len(idps) > 1:
        raise MetadataError(_("The metadata must describe exactly one identity provider."))
    if not client.metadata.certs(idps[0], "idpsso", "signing"):
        raise MetadataError(_("The identity provider's metadata has no signing certificate."))
    if not client.metadata.single_sign_on_service(idps[0], BINDING_HTTP_REDIRECT):
        raise MetadataError(_("The identity provider offers no single sign-on service with the HTTP-Redirect binding."))
    return idps[0]


def flow_start(*, provider: IdentityProvider, base_url: str) -> tuple[str, dict[str, Any]]:
    """The IdP's sign-in URL for a new AuthnRequest, and what the session keeps (the request id)."""
    client = Saml2Client(config=_config(base_url=base_url, idp_metadata=provider.saml_metadata_xml))
    request_id, info = client.prepare_for_authenticate(entityid=provider.saml_entity_id, binding=BINDING_HTTP_REDIRECT)
    location = dict(info["headers"])["Location"]
    return location, {"request_id": request_id, "provider": provider.pk}


def flow_finish(
    *, provider: IdentityProvider, base_url: str, flow: dict[str, Any] | None, saml_response: str
) -> Identity:
    """The identity in a posted SAMLResponse, once pysaml2 accepted it and its assertion id is new here."""
    generic = _("Single sign-on did not complete. Please try again.")
    if not flow or flow.get("provider") != provider.pk or not saml_response:
        raise SsoRefused(generic, reason="no_flow")
    try:
        base64.b64decode(saml_response, validate=True)
    except ValueError as exc:
        raise SsoRefused(generic, reason="not_base64") from exc
    client = Saml2Client(config=_config(base_url=base_url, idp_metadata=provider.saml_metadata_xml))
    try:
        response = client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding={flow["request_id"]: "/"}
        )
    except Exception as exc:  # signature, audience, destination, time, status, unsolicited: pysaml2's own types
        raise SsoRefused(generic, reason=f"saml: {type(exc).__name__}: {exc}"[:200]) from exc
    if response is None or response.assertion is None:
        raise SsoRefused(generic, reason="saml: no valid response (destination, status or assertion)")
    assertion = response.assertion
    if response.issuer() != provider.saml_entity_id:
        raise SsoRefused(generic, reason="saml: issuer")
    _assertion_once(assertion)
    identity = response.get_identity() or {}
    name_id = response.name_id
    email = _first(identity, EMAIL_ATTRIBUTES)
    if not email and name_id is not None and name_id.format == NAMEID_FORMAT_EMAILADDRESS:
        email = name_id.text or ""
    contexts = [str(info[0]) for info in response.authn_info() if info and info[0]]
    return Identity(
        protocol=Protocol.SAML,
        subject=f"saml|{provider.saml_entity_id}|{name_id.text if name_id is not None else email}",
        email=email.strip(),
        # The signed assertion of the workspace's own IdP is its statement of the address.
        email_verified=bool(email),
        name=_first(identity, NAME_ATTRIBUTES),
        mfa=" ".join(contexts),
    )


def _first(identity: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        values = identity.get(name)
        if values:
            return str(values[0])
    return ""


def _assertion_once(assertion: Any) -> None:
    """Record the assertion id; a second use (replay, even from another browser) is refused."""
    expires = timezone.now() + timedelta(hours=1)
    conditions = getattr(assertion, "conditions", None)
    if conditions is not None and conditions.not_on_or_after:
        expires = datetime.fromtimestamp(calendar.timegm(str_to_time(conditions.not_on_or_after)), tz=UTC) + timedelta(
            seconds=CLOCK_SKEW_SECONDS
        )
    SamlAssertionSeen.objects.filter(expires_at__lt=timezone.now()).delete()
    try:
        with transaction.atomic():
            SamlAssertionSeen.objects.create(assertion_id=str(assertion.id)[:255], expires_at=expires)
    except IntegrityError as exc:
        raise SsoRefused(_("Single sign-on did not complete. Please try again."), reason="saml: replayed") from exc
