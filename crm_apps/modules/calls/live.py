"""The incoming-call popup, live: server-sent events fed from Redis pub/sub.

When a provider event changes a call that rings (or rang) at a member's extension, `call_change_publish`
publishes a small notice - `{"call": <id>, "status": <status>}` - after the commit, on the member's own
channel `calls:ringing:<tenant schema>:<member id>`. The tenant's schema and the member's id are both in
the name, so a subscriber only ever hears its own member's calls in its own workspace.

`ringing_stream(member)` is the body of `GET /api/v1/telephony/ringing/stream` (text/event-stream): it
subscribes first, then sends the member's ringing calls (`ringing_calls`, the same list the polling
endpoint gives, with the matched records the member may see), and sends the list again on every notice.
The notice carries no data of its own: every list is read through the member's visibility at that moment.
A comment line every `HEARTBEAT` seconds keeps proxies from closing the connection (and finds closed
ones); after `LIFETIME` seconds the stream ends with a `retry:` hint, and EventSource reconnects, so a
worker is never held for longer than that. See docs/calls.md for the deployment note (a threaded or async
worker class) and the polling fallback.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

from crm_apps.access.models import Member
from crm_apps.modules.calls.models import Call
from saas.redis_clients import redis_client
from tenants.runtime import current_schema

logger = logging.getLogger(__name__)

# Seconds between heartbeats, the longest a stream lives, and what EventSource waits before reconnecting
# (milliseconds); overridable in settings (CALLS_SSE_HEARTBEAT, CALLS_SSE_LIFETIME, CALLS_SSE_RETRY_MS).
HEARTBEAT = 15.0
LIFETIME = 120.0
RETRY_MS = 2000
# Streams one server process keeps open at once (CALLS_SSE_MAX_STREAMS): each holds a worker thread for
# its lifetime, so under gunicorn's gthread workers (`--threads 4`) two leave room for pages. Past the cap
# the stream answers 503 and the page polls instead. Raise it for gevent/eventlet workers.
MAX_STREAMS = 2

_slots_lock = threading.Lock()
_slots_open = 0


def _redis() -> redis.Redis:
    """No timeouts: the pub/sub listener blocks on its reads."""
    return redis_client(connect_timeout=None, timeout=None, health_check_interval=0)


def stream_slot_take() -> bool:
    """Reserve one of the process's stream slots; False when all are taken."""
    global _slots_open
    with _slots_lock:
        if _slots_open >= int(_setting("CALLS_SSE_MAX_STREAMS", MAX_STREAMS)):
            return False
        _slots_open += 1
        return True


def stream_slot_give() -> None:
    global _slots_open
    with _slots_lock:
        _slots_open = max(0, _slots_open - 1)


def streams_open() -> int:
    return _slots_open


class SlotStream:
    """A stream body that gives its slot back when the server closes the response (finished, client gone,
    or never started), exactly once."""

    def __init__(self, body: Iterator[bytes]) -> None:
        self._body = body
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self._body

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                close = getattr(self._body, "close", None)
                if close is not None:
                    close()
            finally:
                stream_slot_give()


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def channel_name(*, schema: str, member_id: int) -> str:
    """The pub/sub channel of one member of one workspace."""
    return f"calls:ringing:{schema}:{member_id}"


def call_change_publish(call: Call) -> None:
    """After the commit: tell the call's member's open pages that it changed (nothing without a member;
    a Redis outage is logged and the popup falls back to what polling shows)."""
    if call.member_id is None:
        return
    channel = channel_name(schema=current_schema(), member_id=call.member_id)
    notice = json.dumps({"call": str(call.pk), "status": call.status})

    def send() -> None:
        try:
            _redis().publish(channel, notice)
        except redis.RedisError:
            logger.exception("could not publish a call notice")

    transaction.on_commit(send)


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def ringing_stream(
    *, member: Member, labels: dict[str, str], lifetime: float | None = None, heartbeat: float | None = None
) -> Iterator[bytes]:
    """The member's ringing calls as server-sent events (`event: ringing`, data `{"results": [...],
    "labels": {...}}`), again on every notice, heartbeats in between, for at most `lifetime` seconds."""
    from crm_apps.modules.calls.selectors import ringing_calls

    lifetime = _setting("CALLS_SSE_LIFETIME", LIFETIME) if lifetime is None else lifetime
    heartbeat = _setting("CALLS_SSE_HEARTBEAT", HEARTBEAT) if heartbeat is None else heartbeat
    retry = int(_setting("CALLS_SSE_RETRY_MS", RETRY_MS))
    pubsub = _redis().pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(channel_name(schema=current_schema(), member_id=member.pk))
    except redis.RedisError:
        # No pub/sub: send the list once and end; EventSource reconnects after `retry` (polling, in effect).
        logger.exception("could not subscribe to call notices")
        pubsub.close()
        yield f"retry: {max(retry, 5000)}\n\n".encode()
        yield _event("ringing", {"results": ringing_calls(member=member), "labels": labels})
        return
    try:
        yield f"retry: {retry}\n\n".encode()
        yield _event("ringing", {"results": ringing_calls(member=member), "labels": labels})
        ends = time.monotonic() + lifetime
        beat = time.monotonic() + heartbeat
        while (now := time.monotonic()) < ends:
            message = pubsub.get_message(timeout=max(0.0, min(beat, ends) - now))
            if message is not None and message.get("type") == "message":
                yield _event("ringing", {"results": ringing_calls(member=member), "labels": labels})
                continue
            if time.monotonic() >= beat:
                yield b": heartbeat\n\n"
                beat = time.monotonic() + heartbeat
        yield b"event: bye\ndata: {}\n\n"
    finally:
        pubsub.close()
