"""The one shape every Stripe event handler has: find the local row a Stripe object belongs to, refuse
a state older than the one applied, then set the new state and remember its Stripe time.

Used by billing (tenant subscriptions, invoices), the partners' authorised listing and Connect account,
payouts, and extension licences. Handlers keep their own rules (which statuses may move to which);
this module only holds the parts they shared: the look-up order and the ordering check (ADR 0007).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from billing import gateway

M = TypeVar("M", bound=Model)


def stripe_id(value: Any) -> str:
    """An expandable field: an id, or the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def stripe_time(value: Any) -> datetime | None:
    """A Stripe Unix time as an aware datetime (None for none)."""
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def row_find(queryset: QuerySet[M], *lookups: dict[str, Any]) -> M | None:
    """The first row matching one of `lookups`, tried in order; a lookup with an empty value is skipped
    (so a missing Stripe id never matches rows that have none)."""
    for lookup in lookups:
        if not lookup or not all(value not in ("", None) for value in lookup.values()):
            continue
        found = queryset.filter(**lookup).first()
        if found is not None:
            return found
    return None


def row_apply(
    row: M | None,
    *,
    stamp: str,
    version: int,
    apply: Callable[[M], str],
    tie: bool = False,
    tie_refused: Callable[[M], bool] | None = None,
) -> str:
    """Apply the state of a Stripe event taken at Stripe time `version` to `row` (locked by the caller).

    'unknown' without a row; 'stale' when the row already holds a newer state (its `stamp` field,
    a datetime or an int of Unix seconds); 'tie' when `tie` is asked, the times are equal and Stripe
    can be asked which state is current (the caller fetches the object and calls again without `tie`);
    'stale' too on equal times when `tie_refused(row)` says the row's state comes later in the object's
    life than the event's (events of one second arrive in any order).
    Otherwise the stamp is set on the row and `apply(row)` sets the state, saves and returns the outcome.
    """
    if row is None:
        return "unknown"
    current = getattr(row, stamp)
    seen: Any = version if isinstance(current, int) else stripe_time(version)
    if current is not None and seen is not None:
        if seen < current:
            return "stale"
        if seen == current and tie_refused is not None and tie_refused(row):
            return "stale"
        if seen == current and tie and gateway.is_configured():
            return "tie"
    setattr(row, stamp, seen)
    return apply(row)
