"""Writes of the audit trail: append an event, change the retention, purge what is past it.

`audit_log` is called by the services of every other app, inside their transactions: an event is
written exactly when the change it describes commits (a failed change leaves no event).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.privileges import require_tenant_admin
from crm_apps.audit.context import acting_via, clean_ip, current_ip
from crm_apps.audit.models import (
    RETENTION_MAX_DAYS,
    RETENTION_MIN_DAYS,
    AuditAction,
    AuditEvent,
    AuditSettings,
)
from crm_apps.audit.selectors import audit_settings_get
from saas.bulk import copy_insert

if TYPE_CHECKING:
    from crm_apps.access.models import Member

# The action names, for callers: audit_log(action=audit.PERMISSION_CHANGED, ...).
LOGIN_SUCCEEDED = AuditAction.LOGIN_SUCCEEDED.value
LOGIN_FAILED = AuditAction.LOGIN_FAILED.value
RECORD_CREATED = AuditAction.RECORD_CREATED.value
API_CALL = AuditAction.API_CALL.value
RECORD_UPDATED = AuditAction.RECORD_UPDATED.value
RECORD_DELETED = AuditAction.RECORD_DELETED.value
RECORD_RESTORED = AuditAction.RECORD_RESTORED.value
RECORDS_MERGED = AuditAction.RECORDS_MERGED.value
EXPORT = AuditAction.EXPORT.value
PERMISSION_CHANGED = AuditAction.PERMISSION_CHANGED.value
SETTINGS_CHANGED = AuditAction.SETTINGS_CHANGED.value
TOKEN_CREATED = AuditAction.TOKEN_CREATED.value
TOKEN_REVOKED = AuditAction.TOKEN_REVOKED.value
MEMBER_CHANGED = AuditAction.MEMBER_CHANGED.value
IMPORT = AuditAction.IMPORT.value
IMPORT_UNDONE = AuditAction.IMPORT_UNDONE.value
MFA_CHANGED = AuditAction.MFA_CHANGED.value
MFA_VERIFIED = AuditAction.MFA_VERIFIED.value
MFA_FAILED = AuditAction.MFA_FAILED.value

PURGE_BATCH = 5000
PURGE_GUC = "crm.audit_purge"


def _actor_label(actor: Member) -> str:
    """The actor's email as it is now (from the already loaded user when there is one)."""
    from crm_apps.access.models import Member
    from tenants.models import User

    if Member.user.is_cached(actor):
        return str(actor.user.email)
    return str(User.objects.filter(pk=actor.user_id).values_list("email", flat=True).first() or "")


def audit_event(
    *,
    action: str,
    actor: Member | None = None,
    module: str = "",
    record_id: Any = "",
    record_label: str = "",
    changes: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    actor_label: str = "",
    ip: str | None = None,
) -> AuditEvent:
    """An unsaved event (for `audit_log_many`); the client address defaults to the current request's.
    Never pass secrets (passwords, token keys) in `changes` or `details`."""
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action {action!r}; add it to AuditAction first.")
    if actor is not None and not actor_label:
        actor_label = _actor_label(actor)
    via = acting_via()
    if via:  # an OAuth app acting with this member's rights: the app is the actor people see
        actor_label = f"{via} ({actor_label})" if actor_label else via
        details = {**(details or {}), "app": via}
    return AuditEvent(
        actor_id=actor.pk if actor is not None else None,
        actor_label=(actor_label or "")[:254],
        ip=clean_ip(ip) if ip is not None else current_ip(),
        action=action,
        module=(module or "")[:40],
        record_id="" if record_id is None else str(record_id)[:64],
        record_label=str(record_label or "")[:200],
        changes=changes or {},
        details=details or {},
    )


def audit_log(
    *,
    action: str,
    actor: Member | None = None,
    module: str = "",
    record_id: Any = "",
    record_label: str = "",
    changes: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    actor_label: str = "",
    ip: str | None = None,
) -> AuditEvent:
    """Append one event to the current tenant's audit trail (one INSERT); see `audit_event`."""
    event = audit_event(
        action=action,
        actor=actor,
        module=module,
        record_id=record_id,
        record_label=record_label,
        changes=changes,
        details=details,
        actor_label=actor_label,
        ip=ip,
    )
    event.save(force_insert=True)
    return event


def audit_log_many(events: list[AuditEvent]) -> None:
    """Append several events built by `audit_event` in one statement (COPY for bulk creates)."""
    if len(events) > 1:
        copy_insert(AuditEvent, events)
    elif events:
        AuditEvent.objects.bulk_create(events)


@transaction.atomic
def audit_settings_update(*, actor: Member, retention_days: Any) -> AuditSettings:
    """Admins choose how long events are kept: 30 to 3650 days."""
    require_tenant_admin(actor)
    if isinstance(retention_days, bool) or not isinstance(retention_days, int):
        raise ValidationError({"retention_days": [_("Enter a whole number of days.")]})
    if not RETENTION_MIN_DAYS <= retention_days <= RETENTION_MAX_DAYS:
        bounds = {"min": RETENTION_MIN_DAYS, "max": RETENTION_MAX_DAYS}
        raise ValidationError({"retention_days": [_("Keep events for %(min)d to %(max)d days.") % bounds]})
    settings, _created = AuditSettings.objects.select_for_update().get_or_create(pk=1)
    old = settings.retention_days
    if old != retention_days:
        settings.retention_days = retention_days
        settings.updated_at = timezone.now()
        settings.save()
        audit_log(
            action=SETTINGS_CHANGED,
            actor=actor,
            changes={"retention_days": [old, retention_days]},
            details={"setting": "audit_retention"},
        )
    return settings


@contextmanager
def dangerously_allow_audit_delete() -> Iterator[None]:
    """Lift the append-only trigger for DELETE inside this block (retention purge only).

    The setting lives in a savepoint: leaving the block normally switches it off again, leaving it by an
    exception rolls the savepoint (and the setting) back, so it never outlives the block."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_GUC])
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'off', true)", [PURGE_GUC])


def audit_events_purge_expired(*, now: datetime | None = None) -> int:
    """Delete the events older than the tenant's retention, in batches; returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=audit_settings_get().retention_days)
    total = 0
    while True:
        with dangerously_allow_audit_delete(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM audit_auditevent WHERE id IN "
                '(SELECT id FROM audit_auditevent WHERE "at" < %s ORDER BY "at" LIMIT %s)',
                [cutoff, PURGE_BATCH],
            )
            deleted = cursor.rowcount
        total += deleted
        if deleted < PURGE_BATCH:
            return total
