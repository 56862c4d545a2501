"""Billable seats: a tenant's active members, counted in the public workspace directory.

The platform subscription's extra-seat quantity follows them in a periodic batch
(`services.subscriptions_seats_sync_all`). Other products billed per seat (extensions priced per seat)
register a follower here; every member change that moves the count (member created or reactivated,
invitation accepted, member deactivated, partner member left, directory repaired) calls
`tenant_seats_changed` inside its transaction, and after commit one Celery task runs the followers for
that tenant, retried with backoff while Stripe fails. The periodic batch runs them for every tenant
too, so nothing is lost once the retries are spent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

from billing import gateway
from billing.selectors import active_member_count
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# follower(tenant_id=<id> or None for every tenant) -> how many subscriptions it changed. Followers are
# idempotent (they set absolute quantities) and raise gateway.GatewayError when Stripe failed.
SeatFollower = Callable[..., int]
SEAT_FOLLOWERS: list[SeatFollower] = []


def register_seat_follower(follower: SeatFollower) -> None:
    if follower not in SEAT_FOLLOWERS:
        SEAT_FOLLOWERS.append(follower)


def tenant_seats(*, tenant_id: int) -> int:
    """The seats a tenant is billed for: its active members, at least one."""
    return max(1, active_member_count(tenant=tenant_id))


def tenant_seats_changed(*, tenant: Tenant) -> None:
    """A member change that may move the seat count: queue the followers for this tenant after commit
    (never for a rolled-back change; a failure to queue never breaks the member change)."""
    if not SEAT_FOLLOWERS:
        return
    tenant_id = tenant.pk
    transaction.on_commit(lambda: _enqueue(tenant_id))


def _enqueue(tenant_id: int) -> None:
    from billing.tasks import tenant_seats_follow_task

    try:
        tenant_seats_follow_task.delay(tenant_id)
    except Exception:  # broker down, or (eagerly) retries spent: the periodic seat sync catches up
        logger.exception("Seat followers of tenant %s not run; the periodic sync retries", tenant_id)


def seats_follow(*, tenant_id: int | None) -> int:
    """Run every follower (for one tenant, or all); all run even if one fails, then the first Stripe
    failure is raised so the caller retries."""
    changed = 0
    failure: gateway.GatewayError | None = None
    for follower in SEAT_FOLLOWERS:
        try:
            changed += follower(tenant_id=tenant_id)
        except gateway.GatewayError as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    return changed
