"""The popup's live notices: published on the member's own tenant-scoped channel, after the commit only."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.modules.calls import live
from crm_apps.modules.calls.services import CallEvent, telephony_event_apply
from crm_apps.modules.calls.settings_store import telephony_member_set

pytestmark = pytest.mark.django_db


def _next(pubsub, timeout: float = 2.0):
    message = pubsub.get_message(timeout=timeout)
    return None if message is None else json.loads(message["data"])


def test_a_call_notice_goes_to_its_members_channel_after_commit(
    tenant_a, tenant_b, admin_of, member, django_capture_on_commit_callbacks
):
    ann, other = admin_of(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        telephony_member_set(actor=ann, member=ann, extension="301")
    channels = {
        "ann": live.channel_name(schema="alpha", member_id=ann.pk),
        "other": live.channel_name(schema="alpha", member_id=other.pk),
        "beta": live.channel_name(schema="beta", member_id=ann.pk),  # the same id in another workspace
    }
    subs = {}
    for key, channel in channels.items():
        subs[key] = live._redis().pubsub(ignore_subscribe_messages=True)
        subs[key].subscribe(channel)
        subs[key].get_message(timeout=1)
    event = CallEvent(call_id="live-1", status="ringing", timestamp=timezone.now(), from_number="+14155550132")

    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=False) as callbacks:
        call, _created = telephony_event_apply(event=CallEvent(**{**event.__dict__, "extension": "301"}))
    before_commit = _next(subs["ann"], 0.3)
    for callback in callbacks:
        callback()

    assert before_commit is None
    assert _next(subs["ann"]) == {"call": str(call.pk), "status": "Ringing"}
    assert _next(subs["other"], 0.3) is None
    assert _next(subs["beta"], 0.3) is None
    assert len({*channels.values()}) == 3 and all(str(c).startswith("calls:ringing:") for c in channels.values())
    for sub in subs.values():
        sub.close()


def test_a_call_without_a_member_publishes_nothing(tenant_a, django_capture_on_commit_callbacks):
    sub = live._redis().pubsub(ignore_subscribe_messages=True)
    sub.psubscribe("calls:ringing:alpha:*")
    sub.get_message(timeout=1)

    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        telephony_event_apply(
            event=CallEvent(call_id="live-2", status="ringing", timestamp=timezone.now(), extension="999")
        )

    assert sub.get_message(timeout=0.5) is None
    sub.close()


def test_a_status_change_publishes_again_and_a_repeat_does_not(tenant_a, admin_of, django_capture_on_commit_callbacks):
    ann = admin_of(tenant_a)
    with tenant_context(tenant_a):
        telephony_member_set(actor=ann, member=ann, extension="302")
    sub = live._redis().pubsub(ignore_subscribe_messages=True)
    sub.subscribe(live.channel_name(schema="alpha", member_id=ann.pk))
    sub.get_message(timeout=1)
    ringing = CallEvent(call_id="live-3", status="ringing", timestamp=timezone.now(), extension="302")

    heard = []
    for event in (ringing, ringing, CallEvent(**{**ringing.__dict__, "status": "answered"})):
        with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
            telephony_event_apply(event=event)
        heard.append(_next(sub, 0.5))

    assert [h and h["status"] for h in heard] == ["Ringing", None, "Answered"]
    sub.close()


def test_the_stream_endpoint_sends_the_list_and_gives_its_slot_back(tenant_a, admin_of, client_for, settings):
    settings.CALLS_SSE_LIFETIME = 0.2
    settings.CALLS_SSE_HEARTBEAT = 0.05
    settings.CALLS_SSE_MAX_STREAMS = 1
    client = client_for(tenant_a, admin_of(tenant_a))
    threaded = {"HTTP_ACCEPT": "text/event-stream", "wsgi.multithread": True}  # as gunicorn's gthread workers

    response = client.get("/api/v1/telephony/ringing/stream", **threaded)
    busy = client.get("/api/v1/telephony/ringing/stream", **threaded)  # the one slot is taken
    body = b"".join(response.streaming_content).decode()  # the test client closes the response at its end
    after = client.get("/api/v1/telephony/ringing/stream", **threaded)
    b"".join(after.streaming_content)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response["Cache-Control"] == "no-cache, no-store"
    assert body.startswith("retry: ")
    assert 'event: ringing\ndata: {"results":[]' in body
    assert ": heartbeat" in body
    assert body.endswith("event: bye\ndata: {}\n\n")
    assert busy.status_code == 503
    assert busy["Retry-After"] == "60"
    assert after.status_code == 200
    assert live.streams_open() == 0


def test_a_server_process_without_threads_never_streams(tenant_a, admin_of, client_for, settings):
    """gunicorn's sync workers (wsgi.multithread false) would be held whole by a stream: the page polls."""
    settings.CALLS_SSE_MAX_STREAMS = 5
    client = client_for(tenant_a, admin_of(tenant_a))

    response = client.get("/api/v1/telephony/ringing/stream", HTTP_ACCEPT="text/event-stream")
    polled = client.get("/api/v1/telephony/ringing")

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert live.streams_open() == 0
    assert polled.status_code == 200


def test_a_stream_closed_before_it_ran_gives_its_slot_back(settings):
    settings.CALLS_SSE_MAX_STREAMS = 1
    started = []

    def body():
        started.append(True)
        yield b""

    assert live.stream_slot_take()
    assert not live.stream_slot_take()
    stream = live.SlotStream(body())
    stream.close()
    stream.close()  # once only

    assert started == []
    assert live.streams_open() == 0


def test_the_stream_refuses_anonymous_and_other_workspaces(tenant_a, tenant_b, admin_of, client_for):
    anonymous = client_for(tenant_a).get("/api/v1/telephony/ringing/stream", HTTP_ACCEPT="text/event-stream")
    foreign = client_for(tenant_b, admin_of(tenant_b)).get(
        "/api/v1/telephony/ringing/stream", HTTP_HOST="alpha.localhost", HTTP_ACCEPT="text/event-stream"
    )

    assert anonymous.status_code in (401, 403)
    assert foreign.status_code in (302, 401, 403)
    assert live.streams_open() == 0


def test_without_redis_the_stream_sends_the_list_once_and_ends(tenant_a, admin_of, settings, caplog):
    ann = admin_of(tenant_a)
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }

    with tenant_context(tenant_a):
        body = b"".join(live.ringing_stream(member=ann, labels={}, lifetime=5, heartbeat=1)).decode()

    assert body.startswith("retry: 5000\n\n")
    assert body.count("event: ringing") == 1
    assert "bye" not in body


def test_without_redis_the_webhook_still_records_the_call(
    tenant_a, admin_of, settings, django_capture_on_commit_callbacks
):
    from crm_apps.modules.calls.models import Call

    ann = admin_of(tenant_a)
    with tenant_context(tenant_a):
        telephony_member_set(actor=ann, member=ann, extension="303")
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }

    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        call, created = telephony_event_apply(
            event=CallEvent(call_id="live-4", status="ringing", timestamp=timezone.now(), extension="303")
        )

    assert created
    with tenant_context(tenant_a):
        assert Call.objects.filter(pk=call.pk, member=ann).exists()


def test_the_api_schema_documents_the_stream(tenant_a, admin_of, client_for):
    schema = client_for(tenant_a, admin_of(tenant_a)).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    stream = schema["paths"]["/api/v1/telephony/ringing/stream"]["get"]

    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert "503" in stream["responses"]
