"""Emptying the recycle bin: records deleted long enough ago are deleted for good."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from crm_apps.audit import services as audit
from crm_apps.engine import links, registry


def records_purge_deleted(*, older_than: timedelta = timedelta(days=30)) -> dict[str, int]:
    """Delete for good the records that have been in the recycle bin longer than `older_than`."""
    cutoff = timezone.now() - older_than
    purged: dict[str, int] = {}
    for spec in registry.all_specs():
        ids = list(spec.records().filter(deleted_at__lt=cutoff).values_list("pk", flat=True)[:10_000])
        if not ids:
            continue
        with transaction.atomic():
            links.links_purge(module=spec.key, record_ids=ids)
            spec.records().filter(pk__in=ids).delete()  # the collector applies SET_NULL / CASCADE
            audit.audit_log(
                action=audit.RECORD_DELETED,
                module=spec.key,
                details={"purged_from_recycle_bin": len(ids), "older_than_days": older_than.days},
            )
        purged[spec.key] = len(ids)
    return purged
