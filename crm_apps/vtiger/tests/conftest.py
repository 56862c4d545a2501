"""A vtiger webservice client over Django's test client (the real libraries run in tests/e2e)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from conftest import host_of
from crm_apps.access.models import Member
from crm_apps.vtiger.services import access_key_get
from tenants.models import Tenant


def key_of(tenant: Tenant, who: Member) -> str:
    with schema_context(tenant.schema_name):
        return access_key_get(member=who).key


class WsClient:
    def __init__(self, tenant: Tenant, email: str, key: str, host: str | None = None) -> None:
        self.client = Client(HTTP_HOST=host or host_of(tenant))
        self.email = email
        self.key = key
        self.session = ""

    def login(self) -> dict[str, Any]:
        challenge = self.client.get("/webservice.php", {"operation": "getchallenge", "username": self.email}).json()
        token = challenge["result"]["token"]
        answer = self.client.post(
            "/webservice.php",
            {
                "operation": "login",
                "username": self.email,
                "accessKey": hashlib.md5((token + self.key).encode()).hexdigest(),
            },
        ).json()
        if answer["success"]:
            self.session = answer["result"]["sessionName"]
        return answer

    def get(self, operation: str, **params: Any) -> dict[str, Any]:
        response = self.client.get("/webservice.php", {"operation": operation, "sessionName": self.session, **params})
        assert response.status_code == 200, response.content
        return response.json()

    def post(self, operation: str, **params: Any) -> dict[str, Any]:
        data = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}
        response = self.client.post("/webservice.php", {"operation": operation, "sessionName": self.session, **data})
        assert response.status_code == 200, response.content
        return response.json()


@pytest.fixture
def ws() -> Callable[..., WsClient]:
    """ws(tenant, member) -> a WsClient signed in as the member."""

    def make(tenant: Tenant, who: Member, *, login: bool = True) -> WsClient:
        client = WsClient(tenant, who.user.email, key_of(tenant, who))
        if login:
            assert client.login()["success"]
        return client

    return make


def basic(email: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{key}".encode()).decode()
