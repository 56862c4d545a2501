"""saas/bulk.py: COPY writes the same rows as the ORM, in the current tenant's schema only."""

from __future__ import annotations

import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from conftest import statements
from crm_apps.audit.models import AuditEvent
from crm_apps.engine.models import TimelineEntry
from saas.bulk import copy_insert


def test_copy_insert_writes_every_column_like_bulk_create_and_is_counted(tenant_a, admin_of):
    actor = admin_of(tenant_a)
    record_ids = [uuid.uuid4() for _ in range(3)]
    with schema_context(tenant_a.schema_name):
        entries = [
            TimelineEntry(module="contacts", record_id=rid, kind="created", actor=actor, data={"n": i, "ü": "ß"})
            for i, rid in enumerate(record_ids)
        ]
        events = [
            AuditEvent(
                action="record_created",
                actor_id=actor.pk,
                module="contacts",
                record_id=str(rid),
                changes={"a": [None, "x<y>"]},
            )
            for rid in record_ids
        ]
        with CaptureQueriesContext(connection) as queries:
            copy_insert(TimelineEntry, entries)
            copy_insert(AuditEvent, events)

        stored = list(
            TimelineEntry.objects.filter(record_id__in=record_ids)
            .order_by("data__n")
            .values_list("record_id", "kind", "actor_id", "data")
        )
        audited = sorted(
            AuditEvent.objects.filter(record_id__in=[str(r) for r in record_ids]).values_list("record_id", "changes")
        )
    assert stored == [(rid, "created", actor.pk, {"n": i, "ü": "ß"}) for i, rid in enumerate(record_ids)]
    assert audited == sorted((str(rid), {"a": [None, "x<y>"]}) for rid in record_ids)
    assert [sql.split(" (")[0] for sql in statements(queries)] == [
        'COPY "engine_timelineentry"',
        'COPY "audit_auditevent"',
    ]
    assert all(not e._state.adding for e in entries)


def test_copy_insert_lands_in_the_current_tenant_only(tenant_a, tenant_b, admin_of):
    actor = admin_of(tenant_a)
    rid = uuid.uuid4()
    with schema_context(tenant_a.schema_name):
        copy_insert(
            TimelineEntry,
            [
                TimelineEntry(module="contacts", record_id=rid, kind="created", actor=actor),
                TimelineEntry(module="contacts", record_id=rid, kind="related", actor=actor),
            ],
        )
        in_a = TimelineEntry.objects.filter(record_id=rid).count()
    with schema_context(tenant_b.schema_name):
        in_b = TimelineEntry.objects.filter(record_id=rid).count()
    assert (in_a, in_b) == (2, 0)


def test_nothing_to_copy_sends_nothing(tenant_a):
    with schema_context(tenant_a.schema_name), CaptureQueriesContext(connection) as queries:
        copy_insert(TimelineEntry, [])
    assert queries.captured_queries == []
