"""Outgoing webhooks of installed extensions: record events of this tenant only, signed, SSRF-safe.

A record write announces `<module>.<event>` (crm_apps/engine/events.py). After the transaction commits,
and only if an active subscription of *this* schema wants that event, a Celery task (carrying the
tenant) writes one WebhookDelivery per subscription and record, with the record as the installing
member sees it through the visibility filter, then each delivery is sent by its own task and retried
with exponential backoff.

Signature: header `X-CRM-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the
secret being the subscription's own. Targets must resolve only to public addresses (not private,
loopback, link-local, multicast or reserved); the connection goes to the address that was checked, so
a DNS answer that changes between check and connect cannot redirect it. `WEBHOOKS_ALLOW_PRIVATE`
(development and tests only) lifts the address check.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants.runtime import current_schema, in_public_schema

TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 6
SIGNATURE_HEADER = "X-CRM-Signature"


class UnsafeTarget(Exception):
    """The URL is not http(s) or resolves to an address webhooks may not reach."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to) for a webhook URL; UnsafeTarget when refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("scheme")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget("unresolvable") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeTarget("unresolvable")
    if not settings.WEBHOOKS_ALLOW_PRIVATE and not all(_address_allowed(a) for a in addresses):
        raise UnsafeTarget("private address")
    return parts.scheme, parts.hostname, port, addresses[0]


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to the checked address of `url` (TLS verified against the URL's host name); the status."""
    scheme, host, port, address = resolve_target(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port=port,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            timeout=TIMEOUT_SECONDS,
            retries=False,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port=port, timeout=TIMEOUT_SECONDS, retries=False)
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            assert_same_host=False,
        )
        return int(response.status)
    finally:
        pool.close()


def record_event_queue(module: str, event: str, record_ids: list[str]) -> None:
    """Engine listener: after commit, queue delivery if this tenant subscribes to the event."""
    if in_public_schema():
        return
    name = f"{module}.{event}"
    schema = current_schema()

    def queue() -> None:
        from crm_apps.engine import metadata
        from marketplace.installs.models import WebhookSubscription
        from marketplace.installs.tasks import webhook_fanout_task

        if current_schema() != schema:  # on_commit runs in the same schema; never deliver elsewhere
            return

        def subscribed() -> frozenset[str]:
            rows = WebhookSubscription.objects.filter(active=True, installation__state="installed")
            return frozenset(e for events in rows.values_list("events", flat=True) for e in events)

        # Shared like custom fields (installs, upgrades and uninstalls call metadata_changed()): a
        # create costs no query when nobody subscribes.
        if name in metadata.memoised(("webhook_events",), subscribed):
            webhook_fanout_task.delay(name, record_ids)

    transaction.on_commit(queue)


def payload_for(*, subscription: Any, event: str, record: Any, record_id: str) -> dict[str, Any]:
    """The body of one delivery: the event and the record as the installing member may see it."""
    from crm_apps.engine import metadata
    from crm_apps.engine.api.representation import api_fields, record_to_api
    from crm_apps.engine.fieldaccess import field_rules
    from crm_apps.engine.registry import get

    module = event.split(".")[0]
    data: dict[str, Any] = {"id": record_id}
    if record is not None and not event.endswith(".deleted"):
        spec = get(module)
        member = subscription.installation.installed_by
        rules = field_rules(actor=member, spec=spec)
        data = record_to_api(
            spec, record, rules.custom(metadata.custom_fields(spec.key)), rules.visible(api_fields(spec))
        )
    return {
        "event": event,
        "workspace": current_schema(),
        "extension": subscription.installation.slug,
        "occurred_at": timezone.now().isoformat(),
        "record": json.loads(json.dumps(data, default=str)),
    }


def body_and_headers(delivery: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"delivery": delivery.pk, **delivery.payload}, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CRM-Webhooks/1",
        "X-CRM-Event": delivery.event,
        "X-CRM-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: sign(delivery.subscription.secret, body, int(time.time())),
    }
    return body, headers
