"""Calls: provider events applied idempotently, calls matched to records by phone number, calls logged by hand.

Ordering rules of provider events (`telephony_event_apply`), which may arrive twice, late or out of order:
- one row per (provider, `call_id`) (a partial unique constraint): a contributed provider (an app) sees
  and updates only its own calls, the workspace webhook only its own (provider ""); the row is locked
  (`SELECT ... FOR UPDATE`) while an event is applied, so concurrent deliveries of one call apply one
  after the other; an app's updates are audited under its name;
- the status only moves forward: ringing < answered < missed, busy, failed; between two final statuses the
  event with the later timestamp wins; a "ringing" after "answered" changes nothing but fills blanks;
- `started_at` is the earliest timestamp seen, `answered_at` the first "answered" event's, `duration`
  and `recording_url` the last values sent; numbers, direction and extension fill blanks only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.engine.services.numbering import number_allocate
from crm_apps.engine.services.values import _search_vector
from crm_apps.modules.calls.live import call_change_publish
from crm_apps.modules.calls.models import Call, CallMatch, PhoneIndex, TelephonyMember
from crm_apps.modules.calls.notify import missed_call_announce
from crm_apps.modules.calls.phones import MATCH_MODULES, normalise
from crm_apps.modules.calls.settings_store import telephony_settings

# Provider statuses -> the call_status picklist values.
STATUSES = {"ringing": "Ringing", "answered": "Answered", "missed": "Missed", "busy": "Busy", "failed": "Failed"}
DIRECTIONS = {"inbound": "Inbound", "outbound": "Outbound"}
_RANK = {"Ringing": 0, "Answered": 1, "Missed": 2, "Busy": 2, "Failed": 2}
FINAL = 2


@dataclass(frozen=True)
class CallEvent:
    """One validated provider event (`api.TelephonyEventSerializer` builds it)."""

    call_id: str
    status: str  # a key of STATUSES
    timestamp: dt.datetime
    direction: str = ""  # a key of DIRECTIONS, or "" (then inbound)
    from_number: str = ""
    to_number: str = ""
    extension: str = ""
    duration: int | None = None
    recording_url: str = ""


def _calls_spec() -> Any:
    return registry.get("calls")


def phone_matches(*, number: str) -> list[tuple[str, Any]]:
    """(module, record id) of every live contact, lead and organisation with this E.164 number,
    contacts first; more than one means the number is ambiguous."""
    if not number:
        return []
    found: dict[str, list[Any]] = {}
    for module, record_id in PhoneIndex.objects.filter(number=number).values_list("module", "record_id"):
        found.setdefault(module, []).append(record_id)
    matches: list[tuple[str, Any]] = []
    for module in MATCH_MODULES:
        ids = found.get(module)
        if not ids:
            continue
        spec = registry.get(module)
        live = spec.records().filter(pk__in=ids, deleted_at__isnull=True).order_by("created_at", "pk")
        matches += [(module, pk) for pk in live.values_list("pk", flat=True)]
    return matches


def _customer_raw(call: Call) -> str:
    return call.to_number if call.direction == DIRECTIONS["outbound"] else call.from_number


def call_match(*, call: Call, actor: Member | None) -> None:
    """Link the call to the records its customer number matches and tell their timelines."""
    call.customer_number = normalise(_customer_raw(call), region=telephony_settings().default_region)
    call.save(update_fields=["customer_number"])
    matches = phone_matches(number=call.customer_number)
    CallMatch.objects.bulk_create(
        [CallMatch(module=m, record_id=pk, call=call) for m, pk in matches], ignore_conflicts=True
    )
    TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(
                module=m,
                record_id=pk,
                kind=TimelineEntry.Kind.RELATED,
                actor=actor,
                data={"module": "calls", "id": str(call.pk), "label": str(call), "number": call.number},
            )
            for m, pk in matches
        ]
    )


def _default_owner(member: Member | None) -> Member:
    if member is not None:
        return member
    admin = Member.objects.filter(is_admin=True, active=True).order_by("pk").first()
    if admin is None:
        raise ValidationError({"extension": [_("No active administrator to own calls of unknown extensions.")]})
    return admin


def _new_call(event: CallEvent, *, source: str, provider: str) -> Call:
    spec = _calls_spec()
    link = TelephonyMember.objects.select_related("member").filter(extension=event.extension).first()
    member = link.member if link is not None and event.extension and link.member.active else None
    call = Call(
        provider_call_id=event.call_id,
        provider=provider,
        direction=DIRECTIONS[event.direction or "inbound"],
        status=STATUSES[event.status],
        from_number=event.from_number,
        to_number=event.to_number,
        started_at=event.timestamp,
        member=member,
    )
    call.owner = call.created_by = call.updated_by = _default_owner(member)
    call.number = number_allocate(spec)
    _apply_event(call, event)
    call.search_vector = _search_vector(spec, call)
    call.save()
    TimelineEntry.objects.create(module=spec.key, record_id=call.pk, kind=TimelineEntry.Kind.CREATED)
    audit.audit_log(
        action=audit.RECORD_CREATED,
        actor_label=_("Telephony (%(provider)s)") % {"provider": source} if source else _("Telephony"),
        module=spec.key,
        record_id=call.pk,
        record_label=f"{call.number} {call}",
        details={"call_id": event.call_id, "status": event.status, **({"provider": provider} if provider else {})},
    )
    call_match(call=call, actor=None)
    _announce_if_missed(call, was="")
    call_change_publish(call)
    return call


def _announce_if_missed(call: Call, *, was: str) -> None:
    if call.status == STATUSES["missed"] and was != call.status and call.direction == DIRECTIONS["inbound"]:
        missed_call_announce(member_id=call.member_id, call_id=call.pk)


def _apply_event(call: Call, event: CallEvent) -> None:
    """Merge one event into the call (see the module docstring for the ordering rules)."""
    new_status = STATUSES[event.status]
    old_rank, new_rank = _RANK.get(call.status, 0), _RANK[new_status]
    last = call.last_event_at
    if new_rank > old_rank or (new_rank == old_rank == FINAL and (last is None or event.timestamp >= last)):
        call.status = new_status
    if call.started_at is None or event.timestamp < call.started_at:
        call.started_at = event.timestamp
    if new_status == STATUSES["answered"] and call.answered_at is None:
        call.answered_at = event.timestamp
    if event.duration is not None:
        call.duration = event.duration
    if event.recording_url:
        call.recording_url = event.recording_url
    for name, value in (("from_number", event.from_number), ("to_number", event.to_number)):
        if value and not getattr(call, name):
            setattr(call, name, value)
    if call.last_event_at is None or event.timestamp > call.last_event_at:
        call.last_event_at = event.timestamp


def telephony_event_apply(*, event: CallEvent, source: str = "", provider: str = "") -> tuple[Call, bool]:
    """Apply one signed provider event: create the call on its first event, update it on later ones.
    Returns (call, created). Safe under concurrent deliveries of the same call. `source` names a
    contributed provider (providers.py) in the audit trail, `provider` is its key."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                call = (
                    Call.objects.select_for_update().filter(provider=provider, provider_call_id=event.call_id).first()
                )
                if call is None:
                    return _new_call(event, source=source, provider=provider), True
                numbers_before = (call.from_number, call.to_number)
                status_before = call.status
                _apply_event(call, event)
                call.search_vector = _search_vector(_calls_spec(), call)
                call.version += 1
                call.updated_at = timezone.now()
                call.save()
                if not call.customer_number and (call.from_number, call.to_number) != numbers_before:
                    call_match(call=call, actor=None)
                _announce_if_missed(call, was=status_before)
                if call.status != status_before:
                    call_change_publish(call)
                if provider:
                    # A contributed provider (an app) changed the call: the trail names it.
                    audit.audit_log(
                        action=audit.RECORD_UPDATED,
                        actor_label=_("Telephony (%(provider)s)") % {"provider": source or provider},
                        module=_calls_spec().key,
                        record_id=call.pk,
                        record_label=f"{call.number} {call}",
                        details={"call_id": event.call_id, "status": event.status, "provider": provider},
                    )
                return call, False
        except IntegrityError:
            # Another delivery created the call between our SELECT and INSERT: apply to its row.
            continue
    raise ValidationError({"call_id": [_("The call is being updated by another delivery; send the event again.")]})


@transaction.atomic
def call_log(*, actor: Member, data: dict[str, Any], record: tuple[str, Any] | None = None) -> Call:
    """A member logs a call by hand (from a record's page): created through the engine's services, so
    rights, validation, audit and timeline apply, then matched by number and linked to `record`."""
    spec = _calls_spec()
    call: Call = record_create(spec=spec, actor=actor, data={"member": actor.pk, **data})
    call_match(call=call, actor=actor)
    _announce_if_missed(call, was="")
    if record is not None:
        module, record_id = record
        if not CallMatch.objects.filter(call=call, module=module, record_id=record_id).exists():
            CallMatch.objects.create(call=call, module=module, record_id=record_id)
            TimelineEntry.objects.create(
                module=module,
                record_id=record_id,
                kind=TimelineEntry.Kind.RELATED,
                actor=actor,
                data={"module": spec.key, "id": str(call.pk), "label": str(call), "number": call.number},
            )
    return call
