"""Events of partners' Stripe Connect accounts: the account's state (`account.updated`) and its payouts
(`payout.created/updated/paid/failed/canceled`).

They arrive on the Connect webhook endpoint with the connected account's id in `event.account`
(billing.events routes them here with it). The partner is found by that id only - never by an id or
metadata inside the object - so an event about one partner's account cannot change another partner.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import transaction

from billing.stripe_sync import row_apply, row_find, stripe_id, stripe_time
from marketplace.partners.lock_objects import partner_lock
from marketplace.partners.models import PAYOUT_STATUS_RANK, Partner, Payout, PayoutStatus

logger = logging.getLogger(__name__)


def _partner_of(account_id: str) -> Partner | None:
    return row_find(Partner.objects.all(), {"stripe_account_id": account_id})


# The account --------------------------------------------------------------------------------------


def connect_account_apply(*, partner_id: int, account: dict[str, Any], version: int) -> str:
    """Take a connected account's state as Stripe described it at `version`: flags, what is still due."""

    def apply(partner: Partner) -> str:
        requirements = account.get("requirements") or {}
        due = requirements.get("currently_due") if isinstance(requirements, dict) else None
        partner.stripe_details_submitted = bool(account.get("details_submitted"))
        partner.stripe_charges_enabled = bool(account.get("charges_enabled"))
        partner.stripe_payouts_enabled = bool(account.get("payouts_enabled"))
        partner.stripe_requirements_due = [str(item)[:200] for item in (due or [])][:100]
        partner.stripe_disabled_reason = str(requirements.get("disabled_reason") or "")[:200]
        partner.save(
            update_fields=[
                "stripe_details_submitted",
                "stripe_charges_enabled",
                "stripe_payouts_enabled",
                "stripe_requirements_due",
                "stripe_disabled_reason",
                "stripe_account_updated",
                "updated_at",
            ]
        )
        return "applied"

    with transaction.atomic():
        return row_apply(partner_lock(partner_id), stamp="stripe_account_updated", version=version, apply=apply)


def connect_account_fetched(*, partner: Partner, account: dict[str, Any]) -> str:
    """An account just retrieved from Stripe is its state now."""
    return connect_account_apply(partner_id=partner.pk, account=account, version=int(time.time()))


def on_account_updated(account_id: str, obj: dict[str, Any], version: int) -> str:
    """Stripe changed what a connected account may do (charges, payouts) or what it still needs."""
    if stripe_id(obj.get("id")) != account_id:
        logger.warning("account.updated for %s carries account %s", account_id, obj.get("id"))
        return "mismatch"
    partner = _partner_of(account_id)
    if partner is None:
        return "unknown"
    return connect_account_apply(partner_id=partner.pk, account=obj, version=version)


# Payouts ------------------------------------------------------------------------------------------


def _status(obj: dict[str, Any]) -> str:
    status = str(obj.get("status") or "")
    return status if status in PayoutStatus.values else PayoutStatus.PENDING


@transaction.atomic
def on_payout_event(account_id: str, obj: dict[str, Any], version: int) -> str:
    """Mirror one payout of a partner's account, once by its id; a payout never moves back to an earlier
    step (a late `payout.created` after `payout.paid` changes nothing), and at the same step the newer
    event wins."""
    payout_id = stripe_id(obj.get("id"))
    if not payout_id.startswith("po_"):
        return "ignored"
    partner = _partner_of(account_id)
    if partner is None:
        return "unknown"
    status = _status(obj)
    payout = Payout.objects.select_for_update().filter(stripe_payout_id=payout_id).first()
    if payout is not None and payout.partner_id != partner.pk:
        logger.warning("Payout %s of %s was stored for another partner", payout_id, account_id)
        return "other account"
    if payout is None:
        payout = Payout(partner=partner, stripe_payout_id=payout_id)
    elif PAYOUT_STATUS_RANK[PayoutStatus(status)] < PAYOUT_STATUS_RANK[PayoutStatus(payout.status)]:
        return "stale"
    elif PAYOUT_STATUS_RANK[PayoutStatus(status)] > PAYOUT_STATUS_RANK[PayoutStatus(payout.status)]:
        payout.stripe_updated = None  # a later step wins whatever the event times

    def apply(row: Payout) -> str:
        row.status = status
        row.amount_cents = int(obj.get("amount") or 0)
        row.currency = str(obj.get("currency") or "")[:3]
        row.arrival_date = stripe_time(obj.get("arrival_date"))
        row.created = stripe_time(obj.get("created")) or row.created
        row.failure_code = str(obj.get("failure_code") or "")[:100]
        row.failure_message = str(obj.get("failure_message") or "")[:2000]
        row.save()
        return status

    return row_apply(payout, stamp="stripe_updated", version=version, apply=apply)


HANDLERS = {
    "account.updated": on_account_updated,
    "payout.created": on_payout_event,
    "payout.updated": on_payout_event,
    "payout.paid": on_payout_event,
    "payout.failed": on_payout_event,
    "payout.canceled": on_payout_event,
}
