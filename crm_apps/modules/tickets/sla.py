"""A ticket's SLA figures, derived from its policy, its calendar and its history.

The clock runs from the ticket's creation and stands still while the ticket waits for the customer or is
closed (each such period is a pause in `sla_pauses`). The first-response target is met by the first public
reply of a member, the resolution target by closing. Figures are stored on the ticket (due instants,
breach flags, the status shown as a badge) so lists, queues and reports read them without recomputing;
the beat task (services.tickets_sla_escalate) moves "on track" to "near breach" and "breached" as time
passes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crm_apps.modules.tickets import picklists as P
from crm_apps.support.selectors import calendar_for, policy_for
from crm_apps.support.sla_clock import Pause, due_at

# "Near breach" from this share of a target's business time on.
NEAR_SHARE = 0.8
STOPPED = (P.WAITING, P.CLOSED)


def pauses_of(ticket: Any) -> list[Pause]:
    found: list[Pause] = []
    for item in ticket.sla_pauses or []:
        try:
            start = dt.datetime.fromisoformat(item[0])
            end = dt.datetime.fromisoformat(item[1]) if item[1] else None
        except (TypeError, ValueError, IndexError):
            continue
        found.append((start, end))
    return found


def _stored(pauses: list[Pause]) -> list[list[str | None]]:
    return [[start.isoformat(), end.isoformat() if end else None] for start, end in pauses]


def ticket_sla_apply(ticket: Any, *, now: dt.datetime) -> None:
    """Bring the ticket's derived SLA fields in line with its status, priority, team and history."""
    pauses = pauses_of(ticket)
    running = not pauses or pauses[-1][1] is not None
    if ticket.status in STOPPED and running:
        pauses.append((now, None))
    elif ticket.status not in STOPPED and not running:
        pauses[-1] = (pauses[-1][0], now)
    ticket.sla_pauses = _stored(pauses)
    if ticket.status == P.CLOSED:
        ticket.closed_at = ticket.closed_at or now
    else:
        ticket.closed_at = None
    team_id = ticket.team_id or ticket.owner_group_id
    policy = policy_for(priority=ticket.priority, team_id=team_id)
    ticket.sla_policy = policy
    # Breaches are worked out afresh on every write (a looser policy or priority can lift one).
    ticket.first_response_breached = ticket.resolution_breached = False
    if policy is None:
        ticket.first_response_due = ticket.resolution_due = ticket.sla_warn_at = None
        ticket.sla_status = P.SLA_NONE
        return
    calendar = calendar_for(policy=policy, team_id=team_id)
    start = ticket.created_at
    response_target = policy.first_response_minutes * 60
    resolution_target = policy.resolution_minutes * 60
    if ticket.first_response_at is None:
        ticket.first_response_due = due_at(calendar, start, response_target, pauses)
    else:  # met: the due instant the reply was measured against (the clock up to the reply)
        before = [(s, e) for s, e in pauses if s < ticket.first_response_at]
        ticket.first_response_due = due_at(calendar, start, response_target, before)
    if ticket.closed_at is None:
        ticket.resolution_due = due_at(calendar, start, resolution_target, pauses)
    else:  # closed: the due instant the closing was measured against (the clock up to the closing)
        before = [(s, e) for s, e in pauses if s < ticket.closed_at]
        ticket.resolution_due = due_at(calendar, start, resolution_target, before)
        if ticket.resolution_due is not None and ticket.closed_at > ticket.resolution_due:
            ticket.resolution_breached = True
    if ticket.first_response_at is not None and ticket.first_response_due is not None:
        ticket.first_response_breached = ticket.first_response_at > ticket.first_response_due
    _pending_apply(ticket, calendar=calendar, pauses=pauses, now=now, targets=(response_target, resolution_target))


def _pending_apply(
    ticket: Any, *, calendar: Any, pauses: list[Pause], now: dt.datetime, targets: tuple[int, int]
) -> None:
    """Breaches of targets still running, the "near breach" instant and the status shown."""
    start = ticket.created_at
    warn: list[dt.datetime] = []
    if ticket.first_response_at is None:
        near = due_at(calendar, start, targets[0] * NEAR_SHARE, pauses)
        if near is not None:
            warn.append(near)
    if ticket.closed_at is None:
        near = due_at(calendar, start, targets[1] * NEAR_SHARE, pauses)
        if near is not None:
            warn.append(near)
    if ticket.first_response_at is None and ticket.first_response_due and now >= ticket.first_response_due:
        ticket.first_response_breached = True
    if ticket.closed_at is None and ticket.resolution_due and now >= ticket.resolution_due:
        ticket.resolution_breached = True
    breached = ticket.resolution_breached or ticket.first_response_breached
    # The beat task looks at tickets from this instant on: not while closed, nor while waiting (the clock
    # stands still) unless a target was already missed (the breach still gets its escalation).
    running = ticket.closed_at is None and (ticket.status != P.WAITING or breached)
    ticket.sla_warn_at = min(warn) if warn and running else None
    if ticket.closed_at is not None:
        ticket.sla_status = P.SLA_BREACHED if breached else P.SLA_MET
    elif breached:
        ticket.sla_status = P.SLA_BREACHED
    elif ticket.status == P.WAITING:
        ticket.sla_status = P.SLA_PAUSED
    elif ticket.sla_warn_at is not None and now >= ticket.sla_warn_at:
        ticket.sla_status = P.SLA_NEAR
    else:
        ticket.sla_status = P.SLA_ON_TRACK


SLA_FIELDS = (
    "sla_pauses",
    "closed_at",
    "sla_policy",
    "first_response_due",
    "resolution_due",
    "first_response_breached",
    "resolution_breached",
    "sla_warn_at",
    "sla_status",
)
