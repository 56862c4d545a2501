from __future__ import annotations

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from saas.sentry import sentry_init

pytestmark = pytest.mark.django_db


class Captured(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


def test_events_carry_the_tenant_tag_and_no_personal_data(client_for, tenant_a, member, monkeypatch):
    transport = Captured()
    original_init = sentry_sdk.init

    def init_with_transport(*args, **kwargs):
        return original_init(*args, transport=transport, **kwargs)

    def broken_view_helper():
        raise ValueError("boom in a tenant request")

    monkeypatch.setattr(sentry_sdk, "init", init_with_transport)
    monkeypatch.setattr("crm_apps.home.views.member_list", broken_view_helper)
    sentry_init(dsn="https://public@sentry.example.com/1", environment="test")
    try:
        client = client_for(tenant_a, member(tenant_a, email="private.person@example.com"))
        client.raise_request_exception = False
        response = client.get("/", REMOTE_ADDR="203.0.113.9")
        sentry_sdk.flush()
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # back to a disabled client

    events = [item.payload.json for env in transport.envelopes for item in env.items if item.type == "event"]
    assert response.status_code == 500
    assert len(events) == 1
    event = events[0]
    assert event["exception"]["values"][0]["value"] == "boom in a tenant request"
    assert event["tags"]["tenant"] == "alpha"
    serialized = str(events)
    assert "private.person@example.com" not in serialized
    assert "203.0.113.9" not in serialized
    assert sentry_sdk.get_client().options.get("send_default_pii") in (None, False)
