"""`occurrences.event_occurrence_restore`: an occurrence left out of a series comes back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import schema_context

from crm_apps.modules.calendar import services
from crm_apps.modules.calendar.models import Event
from crm_apps.modules.calendar.occurrences import event_occurrence_restore

pytestmark = pytest.mark.django_db

START = dt.datetime(2031, 1, 6, 9, tzinfo=dt.UTC)


def _series(admin):
    return services.event_create(
        actor=admin,
        data={
            "subject": "Weekly review",
            "start": START.isoformat(),
            "end": (START + dt.timedelta(minutes=30)).isoformat(),
            "rrule": "FREQ=WEEKLY;BYDAY=MO",
            "owner": admin.pk,
        },
    )


def test_a_deleted_occurrence_comes_back_and_the_series_version_moves(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    second = START + dt.timedelta(days=7)
    with schema_context("alpha"):
        series = services.event_occurrence_delete(actor=admin, event=_series(admin), occurrence=second)
        before = (series.version, series.sequence)

        restored = event_occurrence_restore(actor=admin, event=series, occurrence=second)

        stored = Event.objects.get(pk=series.pk)
        assert stored.exdates == [] == restored.exdates
        assert (stored.version, stored.sequence) == (before[0] + 1, before[1] + 1)
        with pytest.raises(ValidationError):  # not left out (any more)
            event_occurrence_restore(actor=admin, event=stored, occurrence=second)


def test_an_occurrence_replaced_by_an_edited_one_is_not_restored(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    third = START + dt.timedelta(days=14)
    with schema_context("alpha"):
        series = _series(admin)
        services.event_occurrence_update(
            actor=admin, event=series, occurrence=third, scope="this", data={"subject": "Moved"}
        )
        with pytest.raises(ValidationError):
            event_occurrence_restore(actor=admin, event=Event.objects.get(pk=series.pk), occurrence=third)
        assert Event.objects.get(pk=series.pk).exdates == [third]


def test_only_a_member_who_may_edit_the_series_restores(tenant_a, admin_of, member):
    from crm_apps.access.models import Role
    from crm_apps.access.services import profile_save, profile_set_modules, role_create

    admin = admin_of(tenant_a)
    second = START + dt.timedelta(days=7)
    with schema_context("alpha"):
        profile = profile_save(actor=admin, profile=None, name="Readers", flags={})
        rights = {"events": {"view": True, "create": False, "edit": False, "delete": False}}
        profile_set_modules(actor=admin, profile=profile, rights=rights)
        top = Role.objects.get(parent__isnull=True)
        role = role_create(actor=admin, name="Read only", parent=top, profile_ids=[profile.pk])
    reader = member(tenant_a, role=role)
    with schema_context("alpha"):
        series = services.event_occurrence_delete(actor=admin, event=_series(admin), occurrence=second)
        with pytest.raises(PermissionDenied):
            event_occurrence_restore(actor=reader, event=series, occurrence=second)
        assert Event.objects.get(pk=series.pk).exdates == [second]
