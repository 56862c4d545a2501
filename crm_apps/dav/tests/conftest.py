"""DAV fixtures: app passwords and a test client that speaks DAV with HTTP Basic on a tenant host."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from conftest import host_of
from crm_apps.access.models import Member
from crm_apps.dav.services import app_password_create
from tenants.models import Tenant

PROPFIND_ALL = b"""<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>"""


class DavClient:
    """Raw DAV requests as a client sends them (method, Depth, Basic auth, XML body)."""

    def __init__(self, tenant: Tenant, email: str, password: str) -> None:
        self.client = Client(HTTP_HOST=host_of(tenant))
        token = base64.b64encode(f"{email}:{password}".encode()).decode()
        self.auth = f"Basic {token}"

    def request(self, method: str, path: str, body: bytes | str = b"", **headers: str) -> Any:
        data = body.encode() if isinstance(body, str) else body
        extra: dict[str, Any] = {
            f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k.lower() != "content_type"
        }
        return self.client.generic(
            method,
            path,
            data=data,
            content_type=headers.get("content_type", "application/xml; charset=utf-8"),
            HTTP_AUTHORIZATION=self.auth,
            **extra,
        )


@pytest.fixture
def app_password() -> Callable[[Tenant, Member], str]:
    def make(tenant: Tenant, who: Member, name: str = "Phone") -> str:
        with schema_context(tenant.schema_name):
            return app_password_create(member=who, name=name)[1]

    return make


@pytest.fixture
def dav_client(app_password: Callable[..., str]) -> Callable[..., DavClient]:
    """dav_client(tenant, member) -> a DavClient signed in with a fresh app password of that member."""

    def make(tenant: Tenant, who: Member) -> DavClient:
        return DavClient(tenant, who.user.email, app_password(tenant, who))

    return make
