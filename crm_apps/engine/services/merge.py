"""Merging duplicate records into one, moving every reference to the primary."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.engine import events as record_events
from crm_apps.engine import links
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services._common import COMMON_FIELDS
from crm_apps.engine.services.records import _visible_live, record_update
from crm_apps.engine.services.values import _audit_label, _field, _timeline
from crm_apps.engine.spec import ModuleSpec


def _references_to(spec: ModuleSpec) -> list[tuple[Any, models.ForeignKey[Any, Any]]]:
    """Every foreign key in the tenant's models that points at `spec`'s model (modules, campaign
    members, stage history...), as (model, field)."""
    found: list[tuple[Any, models.ForeignKey[Any, Any]]] = []
    for relation in spec.model._meta.get_fields(include_hidden=True):  # related_name="+" ones too
        field = getattr(relation, "field", None)
        if relation.auto_created and not relation.concrete and isinstance(field, models.ForeignKey):
            found.append((relation.related_model, field))
    return found


def _move_references(spec: ModuleSpec, from_ids: list[Any], to_id: Any) -> None:
    """Point every reference at `from_ids` to `to_id`; rows that would then clash with a unique
    constraint (the same contact twice in a campaign) are dropped, and a record never points at itself."""
    for model, field in _references_to(spec):
        rows = model.objects.filter(**{f"{field.name}__in": from_ids})
        if model is spec.model:
            rows.filter(pk=to_id).update(**{field.name: None})
            rows = rows.exclude(pk=to_id)
        try:
            with transaction.atomic():
                rows.update(**{field.name: to_id})
        except IntegrityError:
            for row in list(rows):
                try:
                    with transaction.atomic():
                        model.objects.filter(pk=row.pk).update(**{field.name: to_id})
                except IntegrityError:
                    row.delete()


@transaction.atomic
def records_merge(
    *, spec: ModuleSpec, actor: Member, primary_id: Any, other_ids: list[Any], choices: dict[str, Any]
) -> Any:
    """Merge duplicates into the primary record: chosen field values are copied, every related record,
    record link (comments, timeline, follows...) and custom reference moves to the primary, the others
    go to the recycle bin."""
    records = {str(r.pk): r for r in _visible_live(spec, actor, [primary_id, *other_ids])}
    primary = records.get(str(primary_id))
    others = [records[str(i)] for i in other_ids if str(i) in records and str(i) != str(primary_id)]
    if primary is None or not others or len(others) != len(set(map(str, other_ids)) - {str(primary_id)}):
        raise ValidationError({"ids": [_("Choose a primary record and at least one other visible record.")]})
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, source_id in (choices or {}).items():
        source = records.get(str(source_id))
        if source is None:
            raise ValidationError({name: [_("Choose one of the merged records.")]})
        if name.startswith("custom."):
            custom[name[7:]] = source.custom_data.get(name[7:])
        elif name in spec.form_fields or name in COMMON_FIELDS:
            field = _field(spec, name)
            data[name] = getattr(source, field.attname if isinstance(field, models.ForeignKey) else name)
        else:
            raise ValidationError({name: [_("Unknown field.")]})
    if data or custom:
        primary = record_update(spec=spec, actor=actor, record=primary, data=data, custom=custom or None)
    other_pks = [o.pk for o in others]
    for other in others:
        if not visibility.can_delete(actor=actor, spec=spec, record=other):
            raise PermissionDenied
        # The duplicates go to the recycle bin: a feature app's lock (a pending approval) applies as for a delete.
        record_events.write_check(spec=spec, record=other, fields=None, actor=actor)
    _move_references(spec, other_pks, primary.pk)
    links.links_merge(module=spec.key, from_ids=other_pks, to_id=primary.pk)
    spec.records().filter(pk__in=other_pks).update(deleted_at=timezone.now(), version=models.F("version") + 1)
    _timeline(spec, primary, TimelineEntry.Kind.MERGED, actor, {"merged": [o.number for o in others]})
    audit.audit_log(
        action=audit.RECORDS_MERGED,
        actor=actor,
        module=spec.key,
        record_id=primary.pk,
        record_label=_audit_label(primary),
        details={"merged": [{"id": str(o.pk), "label": _audit_label(o)} for o in others]},
    )
    # The others went to the recycle bin: listeners (webhooks, stock, contract and project roll-ups) hear
    # it as they hear any delete.
    record_events.record_event(module=spec.key, event=record_events.DELETED, record_ids=other_pks)
    return primary
