"""Events cannot be changed or removed, by the ORM or by SQL; only the retention purge deletes, and only
events older than the tenant's retention, in its own tenant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import ProgrammingError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from crm_apps.audit.models import AuditEvent, AuditSettings
from crm_apps.audit.selectors import audit_settings_get
from crm_apps.audit.services import (
    audit_events_purge_expired,
    audit_log,
    audit_settings_update,
    dangerously_allow_audit_delete,
)
from crm_apps.audit.tasks import audit_events_purge_all_task

pytestmark = pytest.mark.django_db


def refused(statement):
    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
        statement()


def test_update_and_delete_are_refused_by_the_database(tenant_a):
    with tenant_context(tenant_a):
        event = audit_log(action="login_failed", details={"email": "x@example.com"})

        refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(record_label="forged"))
        refused(lambda: AuditEvent.objects.filter(pk=event.pk).delete())
        refused(lambda: AuditEvent.objects.all().delete())
        refused(lambda: connection.cursor().execute("UPDATE audit_auditevent SET action = 'export'"))
        refused(lambda: connection.cursor().execute("DELETE FROM audit_auditevent"))
        refused(lambda: connection.cursor().execute("TRUNCATE audit_auditevent"))
        with pytest.raises(TypeError):
            event.save()
        with pytest.raises(TypeError):
            event.delete()

        stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.record_label) == ("login_failed", "")


def test_the_purge_permission_never_outlives_its_block(tenant_a):
    with tenant_context(tenant_a):
        first = audit_log(action="login_failed")
        second = audit_log(action="login_failed")
        with dangerously_allow_audit_delete():
            AuditEvent.objects.filter(pk=first.pk).delete()
        refused(lambda: AuditEvent.objects.filter(pk=second.pk).delete())
        with pytest.raises(RuntimeError), dangerously_allow_audit_delete():
            raise RuntimeError("rolled back")
        refused(lambda: AuditEvent.objects.filter(pk=second.pk).delete())

        assert list(AuditEvent.objects.values_list("pk", flat=True)) == [second.pk]


def _aged(days: int, **fields):
    return AuditEvent.objects.create(at=timezone.now() - timedelta(days=days), action="login_failed", **fields)


def test_retention_purge_deletes_only_old_events_of_its_tenant(tenant_a, tenant_b):
    with tenant_context(tenant_b):
        b_old = _aged(400)
    with tenant_context(tenant_a):
        _aged(400)
        _aged(366)
        kept = [_aged(364).pk, _aged(1).pk]

        purged = audit_events_purge_expired()

        assert purged == 2
        assert sorted(AuditEvent.objects.values_list("pk", flat=True)) == sorted(kept)
    with schema_context("beta"):
        assert AuditEvent.objects.filter(pk=b_old.pk).exists()


def test_purge_task_runs_in_every_tenant_with_its_own_retention(tenant_a, tenant_b, admin_of):
    with tenant_context(tenant_a):
        audit_settings_update(actor=admin_of(tenant_a), retention_days=30)
        _aged(31)
        recent = _aged(29)
    with tenant_context(tenant_b):
        b_month = _aged(31)
        _aged(400)

    assert audit_events_purge_all_task.delay().get() >= 2

    with schema_context("alpha"):
        assert list(AuditEvent.objects.filter(action="login_failed").values_list("pk", flat=True)) == [recent.pk]
    with schema_context("beta"):
        assert list(AuditEvent.objects.values_list("pk", flat=True)) == [b_month.pk]


def test_purge_works_in_batches(tenant_a, monkeypatch):
    from crm_apps.audit import services

    monkeypatch.setattr(services, "PURGE_BATCH", 2)
    with tenant_context(tenant_a):
        for _ in range(5):
            _aged(500)

        assert audit_events_purge_expired() == 5
        assert not AuditEvent.objects.exists()


def test_retention_setting_is_validated_admin_only_and_audited(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    kim = member(tenant_a)
    with tenant_context(tenant_a):
        assert audit_settings_get().retention_days == 365
        for bad in (29, 3651, "90", True, None):
            with pytest.raises(ValidationError) as error:
                audit_settings_update(actor=admin, retention_days=bad)
            assert list(error.value.message_dict) == ["retention_days"]
        with pytest.raises(PermissionDenied):
            audit_settings_update(actor=kim, retention_days=90)

        audit_settings_update(actor=admin, retention_days=90)
        audit_settings_update(actor=admin, retention_days=90)  # unchanged: no second event

        assert AuditSettings.objects.get().retention_days == 90
        event = AuditEvent.objects.get(action="settings_changed")
    assert (event.actor_id, event.changes) == (admin.pk, {"retention_days": [365, 90]})
    assert event.details == {"setting": "audit_retention"}
