"""Service contract accounting (vtiger's `updateServiceContractState`): used units come from the linked
closed tickets - one per ticket for incidents, their hours spent for hours, hours / 24 for days; progress,
durations, the end date and the usage warning follow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.utils import timezone

from crm_apps.engine.models import TimelineEntry
from crm_apps.modules.servicecontracts import picklists as P
from crm_apps.modules.servicecontracts.models import ServiceContract

TWO = Decimal("0.01")


def units_used(*, tracking_unit: str, closed_tickets: int, hours: Decimal) -> Decimal:
    """Units a contract has used, from its closed tickets."""
    if tracking_unit == "Incidents":
        return Decimal(closed_tickets).quantize(TWO)
    if tracking_unit == "Hours":
        return hours.quantize(TWO)
    if tracking_unit == "Days":
        return (hours / 24).quantize(TWO)
    return Decimal("0.00")


def contract_state_apply(contract: Any, *, today: dt.date | None = None) -> None:
    """Progress, durations, end date and usage warning from the contract's own values (a hook: every
    write of the contract keeps them true)."""
    today = today or timezone.localdate()
    total = contract.total_units or Decimal(0)
    used = Decimal(contract.used_units or 0)
    contract.progress = min(Decimal("100.00"), (used * 100 / total).quantize(TWO)) if total > 0 else Decimal("0.00")
    exhausted = total > 0 and used >= total
    if (exhausted or contract.status == P.COMPLETE) and contract.end_date is None:
        contract.end_date = today
    elif not exhausted and contract.status != P.COMPLETE and contract.end_date == today:
        contract.end_date = None  # a closed ticket reopened the same day
    start = contract.start_date
    contract.planned_duration = (contract.due_date - start).days if start and contract.due_date else None
    finish = contract.end_date or today
    contract.actual_duration = max(0, (finish - start).days) if start else None
    if exhausted:
        contract.usage_warning = P.EXHAUSTED
    elif contract.due_date and contract.due_date < today and contract.status not in (P.COMPLETE, P.ARCHIVED):
        contract.usage_warning = P.EXPIRED
    elif total > 0 and used * 100 >= total * P.NEAR_SHARE:
        contract.usage_warning = P.NEAR_EXHAUSTION
    else:
        contract.usage_warning = ""


DERIVED = ("used_units", "progress", "end_date", "planned_duration", "actual_duration", "usage_warning")


def contracts_usage_refresh(*, contract_ids: Iterable[Any], today: dt.date | None = None) -> list[ServiceContract]:
    """Recount the used units of these contracts from their live closed tickets and keep the derived
    fields; a change is a new version with a timeline line (no actor: the tickets did it)."""
    from crm_apps.modules.tickets.picklists import CLOSED

    ids = {pk for pk in contract_ids if pk}
    changed = []
    for contract in ServiceContract.objects.select_for_update().filter(pk__in=ids, deleted_at__isnull=True):
        totals = contract.tickets.filter(deleted_at__isnull=True, status=CLOSED).aggregate(
            count=Count("id"), hours=Sum("hours_spent")
        )
        before = {name: getattr(contract, name) for name in DERIVED}
        contract.used_units = units_used(
            tracking_unit=contract.tracking_unit, closed_tickets=totals["count"], hours=totals["hours"] or Decimal(0)
        )
        contract_state_apply(contract, today=today)
        changes = {
            name: [_text(before[name]), _text(getattr(contract, name))]
            for name in DERIVED
            if before[name] != getattr(contract, name)
        }
        tickets_flag_refresh(contract=contract, today=today)
        if not changes:
            continue
        contract.version += 1
        contract.updated_at = timezone.now()
        contract.save(update_fields=[*DERIVED, "version", "updated_at"])
        TimelineEntry.objects.create(
            module="service-contracts",
            record_id=contract.pk,
            kind=TimelineEntry.Kind.UPDATED,
            actor=None,
            data={"changes": changes},
        )
        changed.append(contract)
    return changed


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def contract_flag_for(contract: ServiceContract | None, *, today: dt.date | None = None) -> str:
    """The warning a ticket on this contract carries: exhausted or expired (else empty)."""
    from crm_apps.modules.tickets.picklists import CONTRACT_EXHAUSTED, CONTRACT_EXPIRED

    if contract is None:
        return ""
    today = today or timezone.localdate()
    total = contract.total_units or Decimal(0)
    if total > 0 and Decimal(contract.used_units or 0) >= total:
        return CONTRACT_EXHAUSTED
    if contract.due_date and contract.due_date < today and contract.status not in (P.COMPLETE, P.ARCHIVED):
        return CONTRACT_EXPIRED
    if contract.status in (P.COMPLETE, P.ARCHIVED):
        return CONTRACT_EXPIRED
    return ""


def tickets_flag_refresh(*, contract: ServiceContract, today: dt.date | None = None) -> int:
    """Give the contract's live tickets the warning the contract now calls for (a derived display flag:
    one UPDATE, no new version); how many changed."""
    flag = contract_flag_for(contract, today=today)
    return contract.tickets.filter(deleted_at__isnull=True).exclude(contract_flag=flag).update(contract_flag=flag)


def contracts_expiry_refresh(*, today: dt.date | None = None) -> int:
    """The daily check: contracts past their due date get their "Expired" warning, and their tickets the
    flag. How many contracts changed."""
    today = today or timezone.localdate()
    ids = list(
        ServiceContract.objects.filter(deleted_at__isnull=True, due_date__lt=today)
        .exclude(usage_warning__in=[P.EXPIRED, P.EXHAUSTED])
        .exclude(status__in=[P.COMPLETE, P.ARCHIVED])
        .values_list("pk", flat=True)[:1000]
    )
    return len(contracts_usage_refresh(contract_ids=ids, today=today))
