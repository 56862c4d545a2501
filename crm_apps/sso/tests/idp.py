"""Real identity providers for the SSO tests.

- `OidcProvider`: django-oauth-toolkit's OpenID Connect provider in its own process (oidc_provider/),
  signing ID tokens with an RSA key made here; `oidc_sign_in` walks its login and consent like a browser.
- `SamlIdp`: a pysaml2 identity provider (in process) with a key and self-signed certificate made here,
  answering our AuthnRequests with signed assertions (or, for the refusal tests, unsigned/forged ones).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

IDP_PASSWORD = "idp-pass-123"


def rsa_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def self_signed(common_name: str) -> tuple[bytes, bytes]:
    """(key PEM, certificate PEM) for a SAML signer."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OidcProvider:
    def __init__(self, *, users: list[dict[str, Any]], clients: list[dict[str, str]]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kestrel-oidc-idp-"))
        self.key_pem = rsa_key_pem()
        (self.dir / "key.pem").write_bytes(self.key_pem)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.base}/o"
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"
        self.users = users
        env = {
            **os.environ,
            "IDP_PORT": str(self.port),
            "IDP_DB": str(self.dir / "idp.sqlite3"),
            "IDP_RSA_KEY": str(self.dir / "key.pem"),
            "IDP_USERS": json.dumps(users),
            "IDP_CLIENTS": json.dumps(clients),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.log = open(self.dir / "idp.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crm_apps.sso.tests.oidc_provider.serve"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=str(Path(__file__).resolve().parents[3]),
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.discovery_url, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the test OIDC provider did not start: " + (self.dir / "idp.log").read_text())
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def oidc_sign_in(authorize_url: str, *, username: str, password: str = IDP_PASSWORD) -> str:
    """Follow the provider's login like a browser; returns the redirect back to the client (callback URL)."""
    session = requests.Session()
    response = session.get(authorize_url, allow_redirects=False, timeout=10)
    if response.status_code == 302 and "/accounts/login/" in response.headers["Location"]:
        login_url = urljoin(authorize_url, response.headers["Location"])
        page = session.get(login_url, timeout=10)
        token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        next_url = parse_qs(urlsplit(login_url).query)["next"][0]
        response = session.post(
            login_url,
            data={"csrfmiddlewaretoken": token, "username": username, "password": password, "next": next_url},
            headers={"Referer": login_url},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:500]
        response = session.get(urljoin(authorize_url, response.headers["Location"]), allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    return str(response.headers["Location"])


class SamlIdp:
    """A pysaml2 IdP that knows one or more SPs by their metadata."""

    def __init__(self, *, name: str, sp_metadata: list[str]) -> None:
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS
        from saml2.server import Server

        self.dir = Path(tempfile.mkdtemp(prefix="kestrel-saml-idp-"))
        key, cert = self_signed(f"{name} test IdP")
        (self.dir / "key.pem").write_bytes(key)
        (self.dir / "cert.pem").write_bytes(cert)
        self.entity_id = f"https://{name}.idp.test/saml/metadata"
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": shutil.which("xmlsec1"),
                "key_file": str(self.dir / "key.pem"),
                "cert_file": str(self.dir / "cert.pem"),
                "metadata": {"inline": sp_metadata},
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [(f"https://{name}.idp.test/saml/sso", BINDING_HTTP_REDIRECT)]
                        },
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                        "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None}},
                    }
                },
            }
        )
        self.config = config
        self.server = Server(config=config)

    def metadata(self) -> str:
        from saml2.metadata import create_metadata_string

        return create_metadata_string(None, config=self.config, valid=24).decode()

    def respond(
        self,
        redirect_url: str,
        *,
        email: str,
        name: str = "SAML Person",
        sign: bool = True,
        acs: str | None = None,
        audience: str | None = None,
        lifetime_minutes: int = 5,
        in_response_to: str | None = None,
    ) -> tuple[str, str]:
        """(SAMLResponse form value, assertion XML) answering the AuthnRequest in our redirect URL."""
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID

        saml_request = parse_qs(urlsplit(redirect_url).query)["SAMLRequest"][0]
        request = self.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT).message
        from saml2.assertion import Policy

        policy = Policy(
            {"default": {"lifetime": {"minutes": lifetime_minutes}, "attribute_restrictions": None}},
            mds=self.server.metadata,
        )
        xml = self.server.create_authn_response(
            {"mail": [email], "displayName": [name]},
            in_response_to=in_response_to or request.id,
            destination=acs or request.assertion_consumer_service_url,
            sp_entity_id=audience or request.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
            sign_assertion=sign,
            sign_response=False,
            release_policy=policy,
        )
        return base64.b64encode(str(xml).encode()).decode(), str(xml)

    def stop(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def new_id() -> str:
    return uuid.uuid4().hex
