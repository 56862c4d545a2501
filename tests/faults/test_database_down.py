"""While PostgreSQL is unreachable (restarting, failing over) a request gets 503 with Retry-After, not
500 (issue 26). The database error is raised where a restart raises it: at the first query of the
request (the tenant lookup) or inside a view."""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db

REFUSED = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'


def refuse(*args, **kwargs):
    raise OperationalError(REFUSED) from psycopg.OperationalError(REFUSED)


def test_api_and_pages_answer_503_with_retry_after_when_the_tenant_lookup_fails(client_for, tenant_a, monkeypatch):
    from tenants import middleware

    monkeypatch.setattr(middleware, "tenant_for_host", refuse)
    client = client_for(tenant_a, raise_request_exception=False)

    api = client.get("/api/v1/contacts/")
    page = client.get("/accounts/login/")

    assert api.status_code == 503
    assert api["Retry-After"] == "5"
    assert "try again" in api.json()["detail"]
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert b"briefly unavailable" in page.content


def test_a_database_error_inside_a_view_is_a_503_and_other_errors_stay_500(client_for, tenant_a, admin_of, monkeypatch):
    from crm_apps.engine.api import views

    client = client_for(tenant_a, admin_of(tenant_a), raise_request_exception=False)
    monkeypatch.setattr(views.RecordListView, "get", refuse, raising=False)
    assert client.get("/api/v1/contacts/").status_code == 503

    def boom(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(views.RecordListView, "get", boom, raising=False)
    bug = client.get("/api/v1/contacts/")
    assert bug.status_code == 500 and "Retry-After" not in bug
