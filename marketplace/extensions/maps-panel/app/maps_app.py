"""The maps panel's example app: a separate process (standard library only) that a partner would host on
its own origin. It never runs inside the platform; the tests start it (marketplace/ui/tests/).

- `GET /panel`: the framed page; it uses the SDK (`/sdk.js`, the platform's frontend/assets/app-sdk.js
  bundle) to get the signed context, asks `/api/location` for the organisation's position and draws it.
- `POST /api/location` `{"context"}`: verifies the context with the workspace's verification endpoint,
  reads the organisation through the REST API with the installation's token, geocodes its billing city
  from the offline `cities.json` and answers `{name, city, lat, lon}`.
- `POST /actions/geocode`: the workflow action; checks `X-CRM-Signature` with the app secret, ignores a
  repeated `X-CRM-Delivery`, geocodes the record's billing city; answers 500 to the first
  `MAPS_APP_FAIL_FIRST` calls (to show retries).
- `GET /received`: what the action endpoint accepted (for the tests).

Configuration (environment): MAPS_APP_TOKEN (the installation's API token), MAPS_APP_SECRET (the app
secret; fetched with the token from /marketplace/app/secret when unset), MAPS_APP_CONNECT (host:port to
reach the workspace at, for development where its host name does not resolve), MAPS_APP_SDK (path of
the built app-sdk.js), MAPS_APP_FAIL_FIRST. Prints `listening <port>` once it serves.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CITIES: dict[str, list[float]] = json.loads((HERE / "cities.json").read_text(encoding="utf-8"))
SIGNATURE_TOLERANCE = 300
STATE: dict[str, Any] = {
    "received": [],
    "seen": set(),
    "failures_left": int(os.environ.get("MAPS_APP_FAIL_FIRST", "0")),
}
LOCK = threading.Lock()

PANEL_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Map</title>
<style>body{font:14px sans-serif;margin:0;padding:8px} svg{width:100%;height:160px;background:#e8f1f8}</style>
</head><body data-state="loading">
<p id="where">Locating…</p>
<svg viewBox="-180 -90 360 180" role="img" aria-label="Map">
<rect x="-180" y="-90" width="360" height="180" fill="#e8f1f8"/>
<circle id="pin" r="3" fill="#c0392b" cx="0" cy="0" visibility="hidden"/></svg>
<button type="button" id="open">Open organisation</button>
<script src="/sdk.js"></script><script src="/panel.js"></script>
</body></html>
"""

PANEL_JS = """
(async () => {
  const host = decodeURIComponent((location.hash.match(/host=([^&]+)/) || [])[1] || "");
  KestrelApp.init({ host });
  const context = await KestrelApp.getContext();
  const response = await fetch("/api/location", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ context }) });
  const where = document.getElementById("where");
  if (!response.ok) {
    where.textContent = "No position: " + (await response.text());
    document.body.dataset.state = "error";
    return;
  }
  const place = await response.json();
  where.textContent = `${place.name}: ${place.city} (${place.lat}, ${place.lon})`;
  const pin = document.getElementById("pin");
  pin.setAttribute("cx", place.lon); pin.setAttribute("cy", -place.lat); pin.setAttribute("visibility", "visible");
  document.getElementById("open").addEventListener("click", () => KestrelApp.openRecord(place.module, place.record));
  KestrelApp.resize(Math.ceil(document.getElementById("open").getBoundingClientRect().bottom) + 12);
  KestrelApp.toast(`Map: ${place.city}`, "success");
  document.body.dataset.state = "ready";
})();
"""


def _workspace_call(
    host: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    connect = os.environ.get("MAPS_APP_CONNECT") or host
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


def geocode(city: str) -> list[float] | None:
    return CITIES.get(" ".join(city.lower().split()))


def secret_for(host: str | None) -> str:
    if os.environ.get("MAPS_APP_SECRET"):
        return os.environ["MAPS_APP_SECRET"]
    status, data = _workspace_call(
        host or "",
        "GET",
        "/marketplace/app/secret",
        headers={"Authorization": f"Token {os.environ.get('MAPS_APP_TOKEN', '')}"},
    )
    return str(data["secret"]) if status == 200 and isinstance(data, dict) else ""


def signature_ok(secret: str, header: str, body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        stamp = int(parts.get("t", ""))
    except ValueError:
        return False
    expected = hmac.new(secret.encode(), str(stamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return abs(time.time() - stamp) < SIGNATURE_TOLERANCE and hmac.compare_digest(expected, parts.get("v1", ""))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def send(self, status: int, body: bytes | str, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        # The panel may be framed by any workspace; it shows nothing without a genuine context.
        self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/panel":
            self.send(200, PANEL_HTML, "text/html; charset=utf-8")
        elif path == "/panel.js":
            self.send(200, PANEL_JS, "text/javascript")
        elif path == "/sdk.js":
            sdk = Path(os.environ.get("MAPS_APP_SDK", HERE.parents[3] / "frontend/build/frontend/app-sdk.js"))
            self.send(200, sdk.read_bytes(), "text/javascript")
        elif path == "/received":
            with LOCK:
                self.send(200, json.dumps(STATE["received"]))
        else:
            self.send(404, "{}")

    def body(self) -> bytes:
        return self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1_000_000))

    def do_POST(self) -> None:
        if self.path == "/api/location":
            self.location(self.body())
        elif self.path == "/actions/geocode":
            self.action(self.body())
        else:
            self.send(404, "{}")

    def location(self, raw: bytes) -> None:
        try:
            context = json.loads(raw)["context"]
            encoded = context.split(".")[1]
            host = json.loads(__import__("base64").urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))["ws"]
        except (ValueError, KeyError, IndexError, TypeError):
            self.send(400, '{"error": "no context"}')
            return
        status, verified = _workspace_call(
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
        if payload["module"] != "organizations" or not payload.get("record"):
            self.send(400, '{"error": "organisations only"}')
            return
        status, org = _workspace_call(
            host,
            "GET",
            f"/api/v1/organizations/{payload['record']}/",
            headers={"Authorization": f"Token {os.environ.get('MAPS_APP_TOKEN', '')}", "Accept": "application/json"},
        )
        if status != 200 or not isinstance(org, dict):
            self.send(502, json.dumps({"error": f"workspace answered {status}"}))
            return
        city = str(org.get("billing_city") or "")
        point = geocode(city)
        if point is None:
            self.send(404, json.dumps({"error": f"unknown city {city!r}"}))
            return
        self.send(
            200,
            json.dumps(
                {
                    "name": org.get("name"),
                    "city": city,
                    "lat": point[0],
                    "lon": point[1],
                    "module": "organizations",
                    "record": payload["record"],
                }
            ),
        )

    def action(self, raw: bytes) -> None:
        try:
            data = json.loads(raw)
        except ValueError:
            self.send(400, "{}")
            return
        if not signature_ok(
            secret_for(os.environ.get("MAPS_APP_WORKSPACE")), self.headers.get("X-CRM-Signature", ""), raw
        ):
            self.send(401, '{"error": "bad signature"}')
            return
        with LOCK:
            if STATE["failures_left"] > 0:
                STATE["failures_left"] -= 1
                self.send(500, '{"error": "try again"}')
                return
            delivery = self.headers.get("X-CRM-Delivery", "")
            if delivery in STATE["seen"]:
                self.send(200, '{"duplicate": true}')
                return
            STATE["seen"].add(delivery)
            record = data.get("record") or {}
            point = geocode(str(record.get("billing_city") or ""))
            STATE["received"].append(
                {
                    "delivery": delivery,
                    "action": data.get("action"),
                    "record": record.get("id"),
                    "workspace": data.get("workspace"),
                    "point": point,
                }
            )
        self.send(200, json.dumps({"point": point}))


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("MAPS_APP_PORT", "0"))), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
