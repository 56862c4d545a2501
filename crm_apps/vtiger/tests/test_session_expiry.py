"""Webservice sessions expire: at most 24 hours after login whatever the use, and 30 minutes after the last use
(the cache entry's lifetime, renewed by use at most once a minute); an expired session is INVALID_SESSIONID."""

from __future__ import annotations

import time
from types import SimpleNamespace
from unittest import mock

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

from crm_apps.vtiger import sessions

pytestmark = pytest.mark.django_db


def _later(seconds: int) -> object:
    start = time.time()
    return SimpleNamespace(time=lambda: start + seconds)


def test_a_session_ends_after_its_maximum_age_even_in_use(tenant_a, admin_of, ws):
    api = ws(tenant_a, admin_of(tenant_a))
    assert api.get("listtypes")["success"]
    with mock.patch.object(sessions, "time", _later(sessions.SESSION_MAX - 60)):
        assert api.get("listtypes")["success"]  # used the whole day: still open
    with mock.patch.object(sessions, "time", _later(sessions.SESSION_MAX + 1)):
        answer = api.get("listtypes")
    assert answer["success"] is False and answer["error"]["code"] == "INVALID_SESSIONID"


def test_a_session_lives_thirty_idle_minutes_renewed_by_use(tenant_a, admin_of, ws):
    api = ws(tenant_a, admin_of(tenant_a))
    with schema_context(tenant_a.schema_name):
        key = cache.make_and_validate_key(sessions._session_key(api.session))
    client = cache._cache.get_client()  # type: ignore[attr-defined]
    assert 0 < client.ttl(key) <= sessions.SESSION_IDLE
    client.expire(key, 5)  # nearly idle for 30 minutes
    with mock.patch.object(sessions, "time", _later(sessions.TOUCH_EVERY + 1)):
        assert api.get("listtypes")["success"]  # a use renews the idle time
    assert client.ttl(key) > 5
    client.delete(key)  # what the cache does when the idle time runs out
    answer = api.get("listtypes")
    assert answer["success"] is False and answer["error"]["code"] == "INVALID_SESSIONID"
