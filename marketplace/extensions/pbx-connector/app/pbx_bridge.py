"""The click-to-call PBX connector's example app: a separate process (standard library only) standing in
for a partner's PBX bridge. It never runs inside the platform; the tests start it.

The manifest declares the app a **telephony provider** (`telephony`: events and a click-to-call page), so
the workspace accepts its call events signed with the app secret, and every phone number in the CRM links
to the app's click-to-call page while it is installed (uninstalling or a suspension stops both at once).

- `GET /panel`: the contact page's frame: a "Call" button; it gets the signed context through the SDK and
  asks `/dial`.
- `GET /call`: the click-to-call frame (phone links open it): the number comes in the signed context.
- `POST /dial` `{"context"}`: verifies the context with the workspace, takes the number from the context
  (click-to-call) or reads the contact's number through the REST API with the installation's token,
  "dials" it from the member's extension (the simulated PBX) and reports the call to the workspace's
  telephony webhook (`/api/v1/telephony/events`, headers `X-Telephony-Provider: app-<installation>` and
  `X-Signature: sha256=<HMAC-SHA256 of the body keyed with the app secret>`): ringing, answered, then the
  end of the call (answered with its duration and the recording's URL). Answers
  `{"call_id", "to", "crm": <the webhook's answer to the last event>, "crm_status"}`.

The app secret and installation id come from `GET /marketplace/app/secret` with the installation's token.

Configuration (environment): PBX_APP_TOKEN (the installation's API token), PBX_APP_EXTENSION (the
extension that dials), PBX_APP_CONNECT (host:port to reach the workspace at, for development),
PBX_APP_SDK (path of the built app-sdk.js), PBX_APP_PORT, PBX_APP_SECRET_OVERRIDE (tests: sign with
another secret). Prints `listening <port>` once it serves.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

PANEL_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Call</title></head>
<body data-state="idle"><button type="button" id="call">Call</button> <span id="status" role="status"></span>
<script src="/sdk.js"></script><script src="/panel.js"></script></body></html>
"""

CALL_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Call</title></head>
<body data-state="idle"><button type="button" id="call">Call</button> <span id="status" role="status"></span>
<script src="/sdk.js"></script><script src="/call.js"></script></body></html>
"""

CALL_JS = """
const host = decodeURIComponent((location.hash.match(/host=([^&]+)/) || [])[1] || "");
KestrelApp.init({ host });
KestrelApp.getContext().then((context) => {
  const payload = JSON.parse(atob(context.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  document.getElementById("call").textContent = `Call ${payload.number}`;
});
document.getElementById("call").addEventListener("click", async () => {
  const context = await KestrelApp.getContext();
  const response = await fetch("/dial", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ context }) });
  const answer = await response.json();
  document.getElementById("status").textContent = response.ok ? `Called ${answer.to}` : answer.error;
  document.body.dataset.state = response.ok ? "called" : "error";
});
"""

PANEL_JS = """
const host = decodeURIComponent((location.hash.match(/host=([^&]+)/) || [])[1] || "");
KestrelApp.init({ host });
document.getElementById("call").addEventListener("click", async () => {
  const context = await KestrelApp.getContext();
  const response = await fetch("/dial", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ context }) });
  const answer = await response.json();
  document.getElementById("status").textContent = response.ok ? `Calling ${answer.to}` : answer.error;
  if (response.ok) KestrelApp.toast(`Calling ${answer.to}`, "success");
  document.body.dataset.state = response.ok ? "calling" : "error";
});
"""


def workspace_call(
    host: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    connect = os.environ.get("PBX_APP_CONNECT") or host
    name, _sep, port = connect.partition(":")
    conn = http.client.HTTPConnection(name, int(port or 80), timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw or b"null")
        except ValueError:
            return response.status, None
    finally:
        conn.close()


def app_identity(host: str) -> tuple[str, int] | None:
    """(app secret, installation id) in this workspace, asked with the installation's token."""
    status, answer = workspace_call(
        host,
        "GET",
        "/marketplace/app/secret",
        headers={"Authorization": f"Token {os.environ.get('PBX_APP_TOKEN', '')}"},
    )
    if status != 200 or not isinstance(answer, dict):
        return None
    return str(os.environ.get("PBX_APP_SECRET_OVERRIDE") or answer["secret"]), int(answer["installation"])


def telephony_event(host: str, identity: tuple[str, int], event: dict[str, Any]) -> tuple[int, Any]:
    secret, installation = identity
    body = json.dumps(event).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return workspace_call(
        host,
        "POST",
        "/api/v1/telephony/events",
        body,
        {
            "Content-Type": "application/json",
            "X-Telephony-Provider": f"app-{installation}",
            "X-Signature": f"sha256={signature}",
        },
    )


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def send(self, status: int, body: bytes | str, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/panel":
            self.send(200, PANEL_HTML, "text/html; charset=utf-8")
        elif path == "/panel.js":
            self.send(200, PANEL_JS, "text/javascript")
        elif path == "/call":
            self.send(200, CALL_HTML, "text/html; charset=utf-8")
        elif path == "/call.js":
            self.send(200, CALL_JS, "text/javascript")
        elif path == "/sdk.js":
            sdk = Path(os.environ.get("PBX_APP_SDK", HERE.parents[3] / "frontend/build/frontend/app-sdk.js"))
            self.send(200, sdk.read_bytes(), "text/javascript")
        else:
            self.send(404, "{}")

    def do_POST(self) -> None:
        if self.path != "/dial":
            self.send(404, "{}")
            return
        raw = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 100_000))
        try:
            context = json.loads(raw)["context"]
            encoded = context.split(".")[1]
            host = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))["ws"]
            host = os.environ.get("PBX_APP_HOST_OVERRIDE") or host  # tests: ask another workspace
        except (ValueError, KeyError, IndexError, TypeError):
            self.send(400, '{"error": "no context"}')
            return
        status, verified = workspace_call(
            host,
            "POST",
            "/marketplace/app/context/verify",
            json.dumps({"context": context}).encode(),
            {"Content-Type": "application/json"},
        )
        if status != 200:
            self.send(403, json.dumps({"error": "context refused", "detail": verified}))
            return
        payload = verified["payload"]
        number = payload.get("number")  # click-to-call: the number the member clicked
        if not number:
            status, contact = workspace_call(
                host,
                "GET",
                f"/api/v1/contacts/{payload['record']}/",
                headers={"Authorization": f"Token {os.environ.get('PBX_APP_TOKEN', '')}", "Accept": "application/json"},
            )
            number = (contact or {}).get("phone") or (contact or {}).get("mobile") if status == 200 else None
        if not number:
            self.send(404, '{"error": "no number to call"}')
            return
        identity = app_identity(host)
        if identity is None:
            self.send(403, '{"error": "not installed"}')
            return
        call_id = f"pbx-{uuid.uuid4().hex[:12]}"
        extension = os.environ.get("PBX_APP_EXTENSION", "")
        now = dt.datetime.now(dt.UTC)
        event = {"call_id": call_id, "direction": "outbound", "from": extension, "to": number, "extension": extension}
        answers = [
            telephony_event(host, identity, {**event, "status": "ringing", "timestamp": now.isoformat()}),
            telephony_event(
                host,
                identity,
                {**event, "status": "answered", "timestamp": (now + dt.timedelta(seconds=3)).isoformat()},
            ),
            # The call ends: the final answered event carries its duration and recording.
            telephony_event(
                host,
                identity,
                {
                    **event,
                    "status": "answered",
                    "timestamp": (now + dt.timedelta(seconds=45)).isoformat(),
                    "duration": 42,
                    "recording_url": f"https://pbx.crm-labs.example/recordings/{call_id}.mp3",
                },
            ),
        ]
        status, crm = answers[-1]
        self.send(
            200 if all(code in (200, 201) for code, _body in answers) else 502,
            json.dumps({"call_id": call_id, "to": number, "crm": crm, "crm_status": status}),
        )


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PBX_APP_PORT", "0"))), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
