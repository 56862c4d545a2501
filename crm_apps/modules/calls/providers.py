"""Telephony providers contributed by other apps (an installed marketplace app that declares `telephony`).

The workspace's own webhook secret stays the default provider. A contributed provider has a key of its
own, its own HMAC secret and optionally its own click-to-call page; a sender names the provider in the
`X-Telephony-Provider` header and signs with that provider's secret, either `X-Signature: t=<unix>,v1=<hex
HMAC-SHA256 of "<t>.<body>">` (within 5 minutes; preferred) or the workspace webhook's `sha256=<hex>`.
Its events count in its `budget` (429 with Retry-After when over). Call ids are its own: the same id from
another provider or the workspace webhook is another call. Sources are asked on every webhook
call and every page that links phone numbers, so a provider that goes away (uninstalled, suspended)
stops being accepted at once; sources must be cheap (memoised per tenant by their owner).

The calls module names no contributing app: sources register at start-up (`provider_source_add`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TelephonyProvider:
    key: str  # what the sender puts in X-Telephony-Provider
    label: str  # who reported a call (audit trail)
    secret: str  # the HMAC-SHA256 key of its events
    click_to_call_url: str = ""  # a page of this workspace taking `?number=`; "" = no click-to-call
    # Counts one event in the provider's request budget: (allowed, seconds to wait); None = no budget.
    budget: Callable[[], tuple[bool, int]] | None = None


_sources: list[Callable[[], list[TelephonyProvider]]] = []


def provider_source_add(source: Callable[[], list[TelephonyProvider]]) -> None:
    """Ask `source()` for the providers of the current workspace (webhook, click-to-call links)."""
    if source not in _sources:
        _sources.append(source)


def telephony_providers() -> list[TelephonyProvider]:
    """The contributed providers of the current workspace, in the order their sources give them."""
    return [provider for source in _sources for provider in source()]


def telephony_provider(key: str) -> TelephonyProvider | None:
    """The contributed provider named `key` in the current workspace, or None."""
    return next((p for p in telephony_providers() if p.key == key), None) if key else None
