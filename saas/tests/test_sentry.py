from __future__ import annotations

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from saas.sentry import sentry_init

pytestmark = pytest.mark.django_db
PRIVATE_EMAIL = "@".join(["private.person", "example.com"])


class Captured(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


@pytest.fixture
def transport(monkeypatch):
    captured = Captured()
    original_init = sentry_sdk.init

    def init_with_transport(*args, **kwargs):
        return original_init(*args, transport=captured, **kwargs)

    monkeypatch.setattr(sentry_sdk, "init", init_with_transport)
    return captured


def test_events_carry_the_tenant_tag_and_no_personal_data(client_for, tenant_a, member, monkeypatch, transport):
    def broken_view_helper(**kwargs):
        raise ValueError("boom in a tenant request")

    monkeypatch.setattr("crm_apps.home.views.home_widgets", broken_view_helper)
    sentry_init(dsn="https://public@sentry.example.com/1", environment="test")
    try:
        # Built at run time: Sentry sends source lines around the failure, which would contain a literal.
        client = client_for(tenant_a, member(tenant_a, email=PRIVATE_EMAIL))
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
    assert PRIVATE_EMAIL not in serialized
    assert "203.0.113.9" not in serialized
    assert "vars" not in str(event["exception"]["values"][0]["stacktrace"]["frames"][-1])


def test_task_errors_carry_the_tenant_tag(tenant_a, monkeypatch, transport):
    from django_tenants.utils import tenant_context

    from crm_apps.access import tasks

    def broken_sync(**kwargs):
        raise ValueError("boom in a tenant task")

    monkeypatch.setattr(tasks, "member_directory_sync", broken_sync)
    sentry_init(dsn="https://public@sentry.example.com/1", environment="test")
    try:
        with tenant_context(tenant_a), pytest.raises(ValueError):
            tasks.member_directory_sync_task.delay()
        sentry_sdk.flush()
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()

    events = [item.payload.json for env in transport.envelopes for item in env.items if item.type == "event"]
    assert [e["exception"]["values"][0]["value"] for e in events] == ["boom in a tenant task"]
    assert events[0]["tags"]["tenant"] == "alpha"


def test_task_arguments_are_not_sent_to_sentry(tenant_a, monkeypatch, transport):
    from tenants import tasks

    def broken_send(*args, **kwargs):
        raise OSError("smtp down")

    monkeypatch.setattr(tasks, "send_mail", broken_send)
    sentry_init(dsn="https://public@sentry.example.com/1", environment="test")
    try:
        with pytest.raises(Exception):
            tasks.mail_send_task.apply(args=(["victim@example.com"], "Reset", "SECRET-TOKEN-LINK"), throw=True)
        sentry_sdk.flush()
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()

    serialized = str([item.payload.json for env in transport.envelopes for item in env.items])
    assert "SECRET-TOKEN-LINK" not in serialized
    assert "victim@example.com" not in serialized
