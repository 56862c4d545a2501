"""A test app for the frame surfaces (dashboard widgets, record/list actions, settings pages): a separate
process (standard library only) serving one page at every declared address. The page uses the SDK
(the built frontend/assets/app-sdk.js) to get its signed context and shows what it was given, and the
context itself, for the test to verify with the installation's secret. Prints `listening <port>`.
Environment: FRAME_APP_PORT (0: any free port)."""

from __future__ import annotations

import contextlib
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SDK = Path(__file__).resolve().parents[3] / "frontend/build/frontend/app-sdk.js"

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Surface</title></head>
<body><p id="given">Waiting…</p><pre id="token"></pre>
<script src="/sdk.js"></script><script src="/page.js"></script></body></html>
"""

PAGE_JS = """
(async () => {
  const host = decodeURIComponent((location.hash.match(/host=([^&]+)/) || [])[1] || "");
  KestrelApp.init({ host });
  const context = await KestrelApp.getContext();
  const payload = JSON.parse(atob(context.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  const records = (payload.records || []).join(",");
  document.getElementById("given").textContent =
    `given ${payload.ext} module=${payload.module} record=${payload.record} records=${records}`;
  document.getElementById("token").textContent = context;
  KestrelApp.toast(`Hello from ${payload.ext}`, "success");
})();
"""


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet in tests
        return

    def send(self, status: int, body: str | bytes, content_type: str) -> None:
        raw = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/sdk.js":
            self.send(200, SDK.read_bytes(), "text/javascript")
        elif path == "/page.js":
            self.send(200, PAGE_JS, "text/javascript")
        elif path in ("/widget", "/record", "/bulk", "/settings"):
            self.send(200, PAGE, "text/html; charset=utf-8")
        else:
            self.send(404, "not found", "text/plain")


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("FRAME_APP_PORT", "0"))), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
