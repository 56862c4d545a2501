"""The click-to-call PBX connector's example app: a separate process (standard library only) standing in
for a partner's PBX bridge. It never runs inside the platform; the tests start it.

- `GET /panel`: the framed page (contacts): a "Call" button; it gets the signed context through the SDK
  and asks `/dial`.
- `POST /dial` `{"context"}`: verifies the context with the workspace, reads the contact's number through
  the REST API with the installation's token, "dials" it from the member's extension (the simulated PBX)
  and reports the call to the workspace's **telephony webhook** (`/api/v1/telephony/events`, signed
  `X-Signature: sha256=<HMAC of the body>` with the workspace's telephony secret): ringing, then
  answered. Answers `{"call_id", "to", "crm": <the webhook's answer>}`.

Configuration (environment): PBX_APP_TOKEN (the installation's API token), PBX_APP_TELEPHONY_SECRET (the
workspace's telephony webhook secret, given by its admin), PBX_APP_EXTENSION (the extension that dials),
PBX_APP_CONNECT (host:port to reach the workspace at, for development), PBX_APP_SDK (path of the built
app-sdk.js), PBX_APP_PORT. Prints `listening <port>` once it serves.
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


def telephony_event(host: str, event: dict[str, Any]) -> tuple[int, Any]:
    body = json.dumps(event).encode()
    secret = os.environ.get("PBX_APP_TELEPHONY_SECRET", "")
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return workspace_call(
        host,
        "POST",
        "/api/v1/telephony/events",
        body,
        {"Content-Type": "application/json", "X-Signature": f"sha256={signature}"},
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
        call_id = f"pbx-{uuid.uuid4().hex[:12]}"
        extension = os.environ.get("PBX_APP_EXTENSION", "")
        now = dt.datetime.now(dt.UTC)
        event = {"call_id": call_id, "direction": "outbound", "from": extension, "to": number, "extension": extension}
        telephony_event(host, {**event, "status": "ringing", "timestamp": now.isoformat()})
        answer = telephony_event(
            host, {**event, "status": "answered", "timestamp": (now + dt.timedelta(seconds=3)).isoformat()}
        )
        self.send(200, json.dumps({"call_id": call_id, "to": number, "crm": answer[1], "crm_status": answer[0]}))


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PBX_APP_PORT", "0"))), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
