"""Putting a left-out occurrence back into its series (removing an EXDATE).

`services.event_occurrence_delete` leaves an occurrence out; this is its inverse, for a CalDAV client
that drops an EXDATE or an overridden instance ("the occurrence is a normal one again"). It bumps the
series' `sequence` (iTIP), `version` (the CalDAV ETag and sync token) and `updated_at` like every other
change of a series, and invitees get the updated series.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.modules.calendar.models import Event


@transaction.atomic
def event_occurrence_restore(*, actor: Member, event: Event, occurrence: dt.datetime) -> Event:
    """Remove `occurrence` from the series' EXDATEs. Refused when the series does not leave it out, or when
    a live edited occurrence (an exception event) still replaces it (delete that one first)."""
    occurrence = occurrence.astimezone(dt.UTC)
    if not visibility.can_edit(actor=actor, spec=registry.get("events"), record=event):
        raise PermissionDenied
    series = Event.objects.select_for_update().get(pk=event.pk)
    if occurrence not in series.exdates:
        raise ValidationError({"occurrence": [_("The series does not leave out an occurrence at this time.")]})
    if Event.objects.filter(recurrence_parent=series, recurrence_id=occurrence, deleted_at__isnull=True).exists():
        raise ValidationError({"occurrence": [_("An edited occurrence replaces this one; delete it first.")]})
    series.exdates = [moment for moment in series.exdates if moment != occurrence]
    series.sequence += 1
    series.version += 1
    series.updated_at = timezone.now()
    series.save(update_fields=["exdates", "sequence", "version", "updated_at"])
    from crm_apps.modules.calendar.services import _invite

    invitees = series.invitees.values_list("member_id", flat=True)
    _invite(series, [i for i in invitees if i != series.owner_id], "REQUEST")
    return series
