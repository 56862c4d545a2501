"""The incoming-call popup's server-sent events against a live server: a signed provider event for one
member's extension reaches that member's open stream (through Redis pub/sub), and no other member's, nor
the stream of a member with the same extension in another workspace. Real HTTP clients (`requests`), a
real threaded server, real Redis and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from typing import Any

import pytest
import requests
from django.utils import timezone
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.models import Member
from crm_apps.access.services import api_token_create, member_create
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.calls.settings_store import telephony_member_set, telephony_secret_rotate
from tenants.services import tenant_provision

pytestmark = [pytest.mark.slow]


@pytest.fixture
def localhost_names(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


class Stream(threading.Thread):
    """Reads one event stream to its end in the background; `events` are (name, data) pairs."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.events: list[tuple[str, Any]] = []
        self.arrived: list[float] = []  # time.monotonic() of each event
        self.comments: list[str] = []
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.first = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Token {self.token}", "Accept": "text/event-stream"}
        with requests.get(self.url, headers=headers, stream=True, timeout=30) as response:
            self.status, self.headers = response.status_code, dict(response.headers)
            name, data = "message", ""
            for raw in response.iter_lines():
                line = raw.decode()
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    data += line[len("data: ") :]
                elif line == "" and data:
                    self.events.append((name, json.loads(data)))
                    self.arrived.append(time.monotonic())
                    self.first.set()
                    name, data = "message", ""
        self.first.set()

    def calls(self) -> list[dict[str, Any]]:
        return [call for name, data in self.events if name == "ringing" for call in data["results"]]


def _workspace(committed: Any, label: str) -> tuple[Any, Member]:
    admin = make_user(committed.email(), name=f"{label} Admin")
    tenant = tenant_provision(slug=committed.slug(label.lower()), name=f"{label} Co", admin=admin)
    with tenant_context(tenant):
        return tenant, Member.objects.select_related("user").get(user=admin)


def _deliver(base: str, secret: str, payload: dict[str, Any]) -> requests.Response:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(
        f"{base}/api/v1/telephony/events",
        data=body,
        headers={"Content-Type": "application/json", "X-Signature": signature},
        timeout=30,
    )


@pytest.mark.usefixtures("localhost_names")
def test_a_ringing_call_reaches_only_its_members_stream(live_site, committed, settings):
    settings.CALLS_SSE_LIFETIME = 6
    settings.CALLS_SSE_HEARTBEAT = 1
    settings.CALLS_SSE_MAX_STREAMS = 10
    alpha, ann = _workspace(committed, "Alpha")
    beta, bea = _workspace(committed, "Beta")
    with tenant_context(alpha):
        bob = member_create(tenant=alpha, user=make_user(committed.email(), name="Bob Other"))
        record_create(
            spec=registry.get("contacts"),
            actor=ann,
            data={"first_name": "Ada", "last_name": "Lovelace", "phone": "+1 415 555 0132"},
        )
        telephony_member_set(actor=ann, member=ann, extension="101")
        telephony_member_set(actor=ann, member=bob, extension="102")
        secret = telephony_secret_rotate(actor=ann)
        tokens = {"ann": api_token_create(member=ann, name="t")[1], "bob": api_token_create(member=bob, name="t")[1]}
    with tenant_context(beta):
        telephony_member_set(actor=bea, member=bea, extension="101")  # the same extension, another workspace
        tokens["bea"] = api_token_create(member=bea, name="t")[1]
    base_a = f"http://{alpha.schema_name}.localhost:{live_site}"
    base_b = f"http://{beta.schema_name}.localhost:{live_site}"
    streams = {
        "ann": Stream(f"{base_a}/api/v1/telephony/ringing/stream", tokens["ann"]),
        "bob": Stream(f"{base_a}/api/v1/telephony/ringing/stream", tokens["bob"]),
        "bea": Stream(f"{base_b}/api/v1/telephony/ringing/stream", tokens["bea"]),
    }
    for stream in streams.values():
        stream.start()
    for stream in streams.values():
        assert stream.first.wait(20)

    posted = time.monotonic()
    answer = _deliver(
        base_a,
        secret,
        {
            "call_id": "sse-1",
            "status": "ringing",
            "timestamp": timezone.now().isoformat(),
            "from": "(415) 555-0132",
            "to": "4155550100",
            "extension": "101",
        },
    )
    for stream in streams.values():
        stream.join(30)

    assert answer.status_code == 201
    for stream in streams.values():
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.events[0] == ("ringing", {"results": [], "labels": stream.events[0][1]["labels"]})
        assert stream.events[-1][0] == "bye"  # the bounded lifetime
        assert stream.comments  # heartbeats
    [call] = streams["ann"].calls()
    pushed = next(
        t for (n, d), t in zip(streams["ann"].events, streams["ann"].arrived, strict=True) if d.get("results")
    )
    assert pushed - posted < 2.5  # pushed, not found by a 5-second poll
    assert call["number"] == "(415) 555-0132"
    assert [m["title"] for m in call["matches"]] == ["Ada Lovelace"]
    assert streams["bob"].calls() == []
    assert streams["bea"].calls() == []


@pytest.mark.usefixtures("localhost_names")
def test_the_stream_needs_a_member_of_the_workspace(live_site, committed):
    alpha, _ann = _workspace(committed, "Gamma")
    beta, bea = _workspace(committed, "Delta")
    with tenant_context(beta):
        token = api_token_create(member=bea, name="t")[1]
    url = f"http://{alpha.schema_name}.localhost:{live_site}/api/v1/telephony/ringing/stream"

    anonymous = requests.get(url, headers={"Accept": "text/event-stream"}, timeout=30)
    other_workspace = requests.get(
        url, headers={"Accept": "text/event-stream", "Authorization": f"Token {token}"}, timeout=30
    )

    assert anonymous.status_code in (401, 403)
    assert other_workspace.status_code in (401, 403)


@pytest.mark.browser
@pytest.mark.parametrize("stream_works", [True, False], ids=["stream", "polling-fallback"])
def test_the_popup_shows_a_ringing_call_by_stream_or_by_polling(live_site, browser, committed, settings, stream_works):
    settings.CALLS_SSE_MAX_STREAMS = 50
    from crm_apps.modules.calls.services import CallEvent, telephony_event_apply
    from tests.e2e.test_calls_documents_journey import signed_in

    tenant, ann = _workspace(committed, "Popup")
    with tenant_context(tenant):
        record_create(
            spec=registry.get("contacts"),
            actor=ann,
            data={"first_name": "Grace", "last_name": "Hopper", "phone": "+1 415 555 0199"},
        )
        telephony_member_set(actor=ann, member=ann, extension="401")
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    context = browser.new_context()
    if not stream_works:  # a proxy or server that cannot stream: the page must fall back to polling
        context.route("**/api/v1/telephony/ringing/stream", lambda route: route.fulfill(status=503, body="no"))
    page = signed_in(context, base, ann.user.email)
    box = page.locator(".call-popup")
    box.wait_for(state="attached")
    page.wait_for_function(
        "want => document.querySelector('.call-popup').dataset.transport === want",
        arg="stream" if stream_works else "polling",
        timeout=15_000,
    )
    if stream_works:
        page.wait_for_timeout(500)  # the stream's first event: subscribed before the call rings

    with tenant_context(tenant):
        telephony_event_apply(
            event=CallEvent(
                call_id=f"popup-{stream_works}",
                status="ringing",
                timestamp=timezone.now(),
                from_number="(415) 555-0199",
                extension="401",
            )
        )
    card = page.locator(".call-popup__card")
    card.wait_for(timeout=4_000 if stream_works else 15_000)

    assert "Grace Hopper" in card.text_content()
    context.close()
