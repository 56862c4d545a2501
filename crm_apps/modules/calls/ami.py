"""An example sender: Asterisk Manager Interface (AMI) events -> signed telephony webhook events.

Runs next to the PBX (`manage.py telephony_ami_relay`), not inside a tenant: it reads AMI events from
a TCP connection (or a recorded stream file), follows each call by its `Linkedid`, and posts one
JSON event per state change, signed with the tenant's webhook secret exactly as the webhook checks it.

Mapping (Asterisk 13+ events, `timestampevents=yes` in manager.conf for exact times):
- `DialBegin`                    -> "ringing", with the dialled extension (from `DestChannel`);
- `DialEnd` DialStatus=ANSWER    -> "answered"; BUSY -> "busy"; NOANSWER/CANCEL -> "missed";
  CHANUNAVAIL/CONGESTION/other   -> "failed";
- `Hangup` of the call's first channel after an answer -> "answered" with the duration in seconds;
- `MixMonitorStart`/`VarSet MIXMONITOR_FILENAME` is not followed: recordings are provider-specific.
A caller whose number matches `internal` (extensions) makes the call outbound, otherwise inbound.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import socket
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

DIAL_STATUS = {"ANSWER": "answered", "BUSY": "busy", "NOANSWER": "missed", "CANCEL": "missed"}
INTERNAL_DEFAULT = r"^\d{2,5}$"


def ami_events(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """AMI messages ("Key: Value" lines, a blank line after each) as dicts; the banner and responses too."""
    current: dict[str, str] = {}
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if current:
                yield current
                current = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            current[key.strip()] = value.strip()
    if current:
        yield current


def _when(event: dict[str, str]) -> dt.datetime:
    stamp = event.get("Timestamp")
    if stamp:
        try:
            return dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC)
        except ValueError:
            pass
    return dt.datetime.now(tz=dt.UTC)


def _extension(channel: str) -> str:
    """ "PJSIP/201-0000002a" -> "201"."""
    match = re.match(r"^[A-Za-z0-9]+/([^-@;]+)", channel or "")
    return match.group(1) if match else ""


@dataclass
class _Call:
    linkedid: str
    direction: str
    caller: str
    callee: str
    extension: str = ""
    answered_at: dt.datetime | None = None
    done: bool = False


@dataclass
class AmiCallTracker:
    """Turns AMI events into webhook payloads (dicts), one call per `Linkedid`."""

    internal: str = INTERNAL_DEFAULT
    calls: dict[str, _Call] = field(default_factory=dict)

    def feed(self, event: dict[str, str]) -> list[dict[str, Any]]:
        name = event.get("Event", "")
        linkedid = event.get("Linkedid") or event.get("Uniqueid") or ""
        if not linkedid:
            return []
        when = _when(event)
        if name == "DialBegin":
            return self._dial_begin(linkedid, event, when)
        call = self.calls.get(linkedid)
        if call is None or call.done:
            return []
        if name == "DialEnd":
            status = DIAL_STATUS.get(event.get("DialStatus", ""), "failed")
            if status == "answered":
                call.answered_at = when
                return [self._payload(call, "answered", when)]
            call.done = True
            return [self._payload(call, status, when)]
        if name == "Hangup" and event.get("Uniqueid") == linkedid:
            call.done = True
            self.calls.pop(linkedid, None)
            if call.answered_at is not None:
                duration = max(0, round((when - call.answered_at).total_seconds()))
                return [self._payload(call, "answered", when, duration=duration)]
        return []

    def _dial_begin(self, linkedid: str, event: dict[str, str], when: dt.datetime) -> list[dict[str, Any]]:
        if linkedid in self.calls:
            return []  # a second leg of the same call (ring groups): the first one is reported
        caller = event.get("CallerIDNum", "")
        dest = event.get("DestCallerIDNum") or event.get("DestExten") or event.get("DialString", "")
        outbound = bool(re.match(self.internal, caller))
        call = _Call(
            linkedid=linkedid,
            direction="outbound" if outbound else "inbound",
            caller=caller,
            callee=dest if outbound else event.get("Exten", dest),
            extension=_extension(event.get("Channel", "")) if outbound else _extension(event.get("DestChannel", "")),
        )
        self.calls[linkedid] = call
        return [self._payload(call, "ringing", when)]

    def _payload(self, call: _Call, status: str, when: dt.datetime, *, duration: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "call_id": f"ami-{call.linkedid}",
            "status": status,
            "direction": call.direction,
            "from": call.caller,
            "to": call.callee,
            "extension": call.extension,
            "timestamp": when.isoformat().replace("+00:00", "Z"),
        }
        if duration is not None:
            payload["duration"] = duration
        return payload


def sign(body: bytes, secret: str) -> str:
    """The X-Signature header value the webhook checks."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


Sender = Callable[[str, bytes, dict[str, str]], int]


def post_signed(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to `url` (stdlib only, so the relay runs on a PBX host without the project)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - operator's URL
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status)


def relay(
    events: Iterable[dict[str, str]],
    *,
    url: str,
    secret: str,
    send: Sender | None = None,
    internal: str = INTERNAL_DEFAULT,
) -> int:
    """Post every call event the AMI stream yields, signed; the number of events posted."""
    send = send or post_signed
    tracker = AmiCallTracker(internal=internal)
    posted = 0
    for event in events:
        for payload in tracker.feed(event):
            body = json.dumps(payload, separators=(",", ":")).encode()
            send(url, body, {"Content-Type": "application/json", "X-Signature": sign(body, secret)})
            posted += 1
    return posted


def ami_socket_lines(*, host: str, port: int, username: str, secret: str) -> Iterator[str]:
    """Log in to the AMI over TCP and yield its lines until the connection closes."""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.settimeout(None)
        login = f"Action: Login\r\nUsername: {username}\r\nSecret: {secret}\r\nEvents: call\r\n\r\n"
        sock.sendall(login.encode())
        with sock.makefile("r", encoding="utf-8", newline="") as stream:
            yield from stream
