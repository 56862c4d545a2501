"""A local HTTP server that answers the Stripe API calls billing makes with JSON shaped like Stripe's
objects, and records every request. The code under test uses the real stripe SDK pointed at it.

Objects are kept in memory per server, so a subscription created with `put` can be retrieved and
updated through the API. Unknown routes answer 404 with Stripe's error shape.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`items[0][price]=x`, `metadata[tenant]=y`) back into nested values."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


def error(status: int, message: str, code: str = "resource_missing") -> tuple[int, dict[str, Any]]:
    return status, {"error": {"type": "invalid_request_error", "message": message, "code": code}}


def subscription_object(
    sub_id: str,
    *,
    customer: str,
    status: str = "active",
    items: list[tuple[str, int]] | None = None,
    current_period_end: int | None = None,
    trial_end: int | None = None,
    cancel_at_period_end: bool = False,
    metadata: dict[str, str] | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """A Subscription as Stripe's API (2026 versions) returns it: period dates live on the items."""
    now = int(time.time())
    period_end = current_period_end or now + 30 * 86400
    counter = itertools.count(1)
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "cancel_at": period_end if cancel_at_period_end else None,
        "canceled_at": None,
        "created": created or now - 60,
        "currency": "usd",
        "livemode": False,
        "metadata": metadata or {},
        "trial_start": None if trial_end is None else now - 86400,
        "trial_end": trial_end,
        "items": {
            "object": "list",
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
            "data": [
                {
                    "id": f"si_{sub_id[4:]}_{next(counter)}",
                    "object": "subscription_item",
                    "subscription": sub_id,
                    "quantity": quantity,
                    "current_period_start": period_end - 30 * 86400,
                    "current_period_end": period_end,
                    "created": created or now - 60,
                    "metadata": {},
                    "price": price_object(price_id),
                }
                for price_id, quantity in (items or [])
            ],
        },
    }


def price_object(price_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "currency": "usd",
        "unit_amount": 1500,
        "type": "recurring",
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        "product": "prod_fixture",
        "lookup_key": None,
        "metadata": {},
        "livemode": False,
        "created": int(time.time()),
        **extra,
    }


Handler = Callable[[Recorded, "re.Match[str]"], tuple[int, dict[str, Any]]]


@dataclass
class StripeFixtureServer:
    requests: list[Recorded] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    overrides: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)
    # Like Stripe: the first answer to a POST with an Idempotency-Key is kept and replayed for that key.
    idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # The next `lose_answers` requests are carried out but their answer is lost (connection closed).
    lose_answers: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # Control ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StripeFixtureServer:
        fixture = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fixture._serve(self, "GET")

            def do_POST(self) -> None:
                fixture._serve(self, "POST")

            def do_DELETE(self) -> None:
                fixture._serve(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def on(self, method: str, path_regex: str, handler: Handler) -> None:
        """Answer matching requests with `handler(request, match) -> (status, json)` before the defaults."""
        self.overrides.insert(0, (method, re.compile(f"^{path_regex}$"), handler))

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def calls(self, method: str, path: str) -> list[Recorded]:
        """Requests with this method to exactly this path, or to any path matching it as a regex."""
        pattern = re.compile(f"^{path}$")
        return [r for r in self.requests if r.method == method and pattern.match(r.path)]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fixture{next(self._ids)}"

    # Serving ---------------------------------------------------------------------------------

    def _serve(self, http: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length).decode() if length else split.query
        request = Recorded(method, split.path, decode_form(body), {k.lower(): v for k, v in http.headers.items()})
        self.requests.append(request)
        key = request.headers.get("idempotency-key") if method == "POST" else None
        if key is None:
            status, payload = self._answer(request)
        else:
            with self._lock:  # one request per key at a time (Stripe answers a concurrent one with 409)
                if key not in self.idempotent:
                    self.idempotent[key] = self._answer(request)
                status, payload = self.idempotent[key]
        with self._lock:
            lost = self.lose_answers > 0
            self.lose_answers -= lost
        if lost:
            http.close_connection = True
            return
        data = json.dumps(payload).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(data)))
        http.send_header("Request-Id", f"req_{next(self._ids)}")
        http.end_headers()
        http.wfile.write(data)

    def _answer(self, request: Recorded) -> tuple[int, dict[str, Any]]:
        if not request.headers.get("authorization", "").startswith("Bearer sk_"):
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        for method, pattern, handler in self.overrides:
            match = pattern.match(request.path)
            if method == request.method and match:
                return handler(request, match)
        for method, pattern, name in DEFAULTS:
            match = pattern.match(request.path)
            if method == request.method and match:
                answer: tuple[int, dict[str, Any]] = getattr(self, name)(request, match)
                return answer
        return error(404, f"Unrecognized request URL ({request.method}: {request.path}).", "")

    # Default behaviour of the resources billing uses ----------------------------------------

    def _create(self, prefix: str, obj: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        obj = {"id": self.new_id(prefix), "livemode": False, "created": int(time.time()), **obj}
        return 200, self.put(obj)

    def _get(self, obj_id: str, name: str) -> tuple[int, dict[str, Any]]:
        if obj_id not in self.objects:
            return error(404, f"No such {name}: '{obj_id}'")
        return 200, self.objects[obj_id]

    def product_create(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        p = r.params
        return self._create(
            "prod",
            {
                "object": "product",
                "name": p.get("name"),
                "description": p.get("description"),
                "active": p.get("active", "true") == "true",
                "metadata": p.get("metadata", {}),
            },
        )

    def product_update(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        status, obj = self._get(m["id"], "product")
        if status == 200:
            obj.update({k: v for k, v in r.params.items() if k != "active"})
            if "active" in r.params:
                obj["active"] = r.params["active"] == "true"
        return status, obj

    def price_create(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        p = r.params
        price = price_object(
            self.new_id("price"),
            currency=p["currency"],
            unit_amount=int(p["unit_amount"]),
            recurring={"interval": p["recurring"]["interval"], "interval_count": 1, "usage_type": "licensed"},
            product=p["product"],
            lookup_key=p.get("lookup_key"),
            metadata=p.get("metadata", {}),
        )
        return 200, self.put(price)

    def price_update(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        obj = self.objects.get(m["id"]) or self.put(price_object(m["id"]))
        if "active" in r.params:
            obj["active"] = r.params["active"] == "true"
        return 200, obj

    def customer_create(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        p = r.params
        return self._create(
            "cus",
            {"object": "customer", "name": p.get("name"), "email": p.get("email"), "metadata": p.get("metadata", {})},
        )

    def checkout_create(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        session_id = self.new_id("cs_test")
        p = r.params
        return 200, self.put(
            {
                "id": session_id,
                "object": "checkout.session",
                "mode": p.get("mode"),
                "customer": p.get("customer"),
                "client_reference_id": p.get("client_reference_id"),
                "metadata": p.get("metadata", {}),
                "status": "open",
                "payment_status": "unpaid",
                "subscription": None,
                "success_url": p.get("success_url"),
                "cancel_url": p.get("cancel_url"),
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                "livemode": False,
                "created": int(time.time()),
            }
        )

    def portal_create(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        session_id = self.new_id("bps")
        return 200, {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": r.params.get("customer"),
            "return_url": r.params.get("return_url"),
            "url": f"https://billing.stripe.com/p/session/test_{session_id}",
            "livemode": False,
            "created": int(time.time()),
        }

    def subscription_get(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        return self._get(m["id"], "subscription")

    def subscription_update(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        status, sub = self._get(m["id"], "subscription")
        if status != 200:
            return status, sub
        p = r.params
        if "cancel_at_period_end" in p:
            sub["cancel_at_period_end"] = p["cancel_at_period_end"] == "true"
        items = sub["items"]["data"]
        for change in p.get("items", []):
            existing = next((i for i in items if i["id"] == change.get("id")), None)
            if change.get("deleted") == "true" and existing is not None:
                items.remove(existing)
                continue
            if existing is None:
                existing = {
                    "id": self.new_id("si"),
                    "object": "subscription_item",
                    "subscription": sub["id"],
                    "quantity": 1,
                    "current_period_end": items[0]["current_period_end"] if items else int(time.time()),
                    "metadata": {},
                    "price": price_object("price_unknown"),
                }
                items.append(existing)
            if "price" in change:
                existing["price"] = self.objects.get(change["price"]) or price_object(change["price"])
            if "quantity" in change:
                existing["quantity"] = int(change["quantity"])
        return 200, sub

    def account_create(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        p = r.params
        return self._create(
            "acct",
            {
                "object": "account",
                "type": p.get("type"),
                "email": p.get("email"),
                "metadata": p.get("metadata", {}),
                "details_submitted": False,
                "charges_enabled": False,
                "payouts_enabled": False,
            },
        )

    def account_get(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        return self._get(m["id"], "account")

    def account_link_create(self, r: Recorded, m: re.Match[str]) -> tuple[int, dict[str, Any]]:
        p = r.params
        if p.get("account") not in self.objects:
            return error(400, f"No such account: '{p.get('account')}'")
        return 200, {
            "object": "account_link",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 300,
            "url": f"https://connect.stripe.com/setup/e/{p['account']}/{self.new_id('link')}",
        }


DEFAULTS: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/v1/accounts$"), "account_create"),
    ("GET", re.compile(r"^/v1/accounts/(?P<id>[^/]+)$"), "account_get"),
    ("POST", re.compile(r"^/v1/account_links$"), "account_link_create"),
    ("POST", re.compile(r"^/v1/products$"), "product_create"),
    ("POST", re.compile(r"^/v1/products/(?P<id>[^/]+)$"), "product_update"),
    ("POST", re.compile(r"^/v1/prices$"), "price_create"),
    ("POST", re.compile(r"^/v1/prices/(?P<id>[^/]+)$"), "price_update"),
    ("POST", re.compile(r"^/v1/customers$"), "customer_create"),
    ("POST", re.compile(r"^/v1/checkout/sessions$"), "checkout_create"),
    ("POST", re.compile(r"^/v1/billing_portal/sessions$"), "portal_create"),
    ("GET", re.compile(r"^/v1/subscriptions/(?P<id>[^/]+)$"), "subscription_get"),
    ("POST", re.compile(r"^/v1/subscriptions/(?P<id>[^/]+)$"), "subscription_update"),
]
