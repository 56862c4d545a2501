"""OAuth app fixtures: a partner's approved app, and requests-oauthlib sessions that talk to the Django
test client through a requests transport adapter (the client library runs unchanged; only the socket
is replaced by the in-process test client)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.test import Client
from django_tenants.utils import schema_context
from requests.adapters import BaseAdapter
from requests_oauthlib import OAuth2Session

from conftest import make_user, sign_in
from crm_apps.access.models import Member
from marketplace.apps import services
from marketplace.apps.models import App
from marketplace.partners.models import Partner, PartnerMember, PartnerRole
from tenants.models import Tenant, User

REDIRECT = "https://app.acme.example/callback"


class DjangoClientAdapter(BaseAdapter):
    """Sends requests' prepared requests to Django's test client, on the URL's host."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        client = Client(HTTP_HOST=parts.hostname or "localhost")
        extra: dict[str, Any] = {
            f"HTTP_{k.upper().replace('-', '_')}": v
            for k, v in request.headers.items()
            if k.lower() not in ("content-type", "content-length", "host")
        }
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        django_response = client.generic(
            request.method or "GET",
            path,
            data=body,
            content_type=str(request.headers.get("Content-Type", "application/octet-stream")),
            **extra,
        )
        response = requests.Response()
        response.status_code = django_response.status_code
        response._content = django_response.content
        response.headers.update({k: v for k, v in django_response.items()})
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def host_url(tenant: Tenant, path: str) -> str:
    return f"https://{tenant.schema_name}.localhost{path}"


@pytest.fixture(autouse=True)
def _oauthlib_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test client speaks plain http behind the "https" URLs; the granted scopes may be narrower.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user("op-apps@platform.example", "x-operator-pass-1", name="Op", is_staff=True)


@pytest.fixture
def app_partner(db: None) -> tuple[Partner, PartnerMember]:
    partner = Partner.objects.create(slug="maps-co", name="Maps Co")
    pm = PartnerMember.objects.create(partner=partner, user=make_user(name="Maps Owner"), role=PartnerRole.OWNER)
    return partner, pm


@pytest.fixture
def make_app(app_partner: tuple[Partner, PartnerMember], operator: User) -> Callable[..., tuple[App, str]]:
    """make_app(scopes=[...], approve=True) -> (app, client secret)."""

    def make(scopes: list[str] | None = None, *, approve: bool = True, name: str = "Maps Sync") -> tuple[App, str]:
        _partner, pm = app_partner
        app, secret = services.app_register(
            pm=pm, name=name, redirect_uris=[REDIRECT], scopes=scopes or ["contacts:read", "deals:write"]
        )
        if approve:
            services.app_version_review(version=app.versions.get(), reviewer=operator, approve=True)
            app.refresh_from_db()
        return app, secret

    return make


@pytest.fixture
def admin_client(admin_of: Callable[[Tenant], Member]) -> Callable[[Tenant], Client]:
    """admin_client(tenant) -> a test client on the tenant's host signed in as its first administrator."""

    def make(tenant: Tenant) -> Client:
        client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost")
        with schema_context(tenant.schema_name):
            sign_in(client, admin_of(tenant))
        return client

    return make


def oauth_session(app: App, **kwargs: Any) -> OAuth2Session:
    scope = kwargs.pop("scope", app.scopes)
    session = OAuth2Session(app.client_id, redirect_uri=REDIRECT, scope=scope, pkce="S256", **kwargs)
    session.mount("https://", DjangoClientAdapter())
    return session


def consent(client: Client, authorization_url: str, *, allow: bool = True) -> Any:
    """The administrator opens the consent screen, then allows (or cancels); returns the POST response."""
    parts = urlsplit(authorization_url)
    page = client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200, page.content[:500]
    data = dict(parse_qsl(parts.query))
    if allow:
        data["allow"] = "Authorize"
    return client.post(parts.path, data)


def authorize(app: App, tenant: Tenant, client: Client, **kwargs: Any) -> tuple[OAuth2Session, str]:
    """The whole front channel: returns the session (holding the PKCE verifier) and the callback URL."""
    session = oauth_session(app, **kwargs)
    url, _state = session.authorization_url(host_url(tenant, "/oauth/authorize/"))
    response = consent(client, url)
    assert response.status_code == 302, response.content[:500]
    return session, response["Location"]
