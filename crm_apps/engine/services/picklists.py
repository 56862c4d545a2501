"""Picklists: the values a picklist field offers, added and relabelled by admins."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine.models import Picklist, PicklistValue
from crm_apps.engine.services._common import _clean_label, _clears_metadata
from saas.value_labels import (
    active_language,
    label_in,
    labels_clean,
    labels_of,
    labels_set,
    workspace_language,
)


@_clears_metadata
def picklist_ensure(name: str, values: Iterable[str]) -> Picklist:
    """Create a picklist with default values if it does not exist yet (never touches an existing one)."""
    picklist, created = Picklist.objects.get_or_create(name=name)
    if created:
        language = workspace_language()
        PicklistValue.objects.bulk_create(
            [
                PicklistValue(picklist=picklist, value=v, label=label_in(v, language), labels=labels_of(v), position=i)
                for i, v in enumerate(values)
            ]
        )
    return picklist


def _picklist_module(name: str) -> str:
    """The module of a custom field's own picklist (`cf:<module>:<key>`); standard ones are shared."""
    return name.split(":")[1] if name.startswith("cf:") and name.count(":") == 2 else ""


@_clears_metadata
def picklist_value_add(*, actor: Member, name: str, label: str) -> PicklistValue:
    """Admins add a value at the end of a picklist."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    label = _clean_label(label)
    picklist = Picklist.objects.get(name=name)
    if picklist.values.filter(value__iexact=label).exists():
        raise ValidationError({"label": [_("This value already exists.")]})
    position = (picklist.values.aggregate(m=models.Max("position"))["m"] or 0) + 1
    with transaction.atomic():
        value = PicklistValue.objects.create(picklist=picklist, value=label, label=label, position=position)
        audit.audit_log(
            action=audit.SETTINGS_CHANGED,
            actor=actor,
            module=_picklist_module(name),
            changes={"value": [None, label]},
            details={"setting": "picklist_value_added", "picklist": name},
        )
    return value


@_clears_metadata
def picklist_value_update(
    *,
    actor: Member,
    value: PicklistValue,
    label: str | None = None,
    retired: bool | None = None,
    position: int | None = None,
    labels: dict[str, str] | None = None,
) -> PicklistValue:
    """Rename (records keep the stable value), translate, retire/restore or move a picklist value.

    A rename renames the value in the admin's language (and the stored label); `labels` sets the
    value's label in further languages ({language: text}; an empty text removes that language)."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    before = {"label": value.label, "retired": value.retired, "position": value.position, "labels": value.labels}
    if label is not None:
        value.label = _clean_label(label)
        if value.labels:
            value.labels = labels_set(value.labels, language=active_language(), text=value.label)
    if labels is not None:
        value.labels = labels_clean(value.labels, labels)
    if retired is not None:
        if retired and not value.picklist.values.exclude(pk=value.pk).filter(retired=False).exists():
            raise ValidationError({"retired": [_("A picklist needs at least one active value.")]})
        value.retired = retired
    with transaction.atomic():
        if position is not None:
            siblings = list(value.picklist.values.exclude(pk=value.pk).order_by("position", "id"))
            position = max(0, min(position, len(siblings)))
            siblings.insert(position, value)
            for index, item in enumerate(siblings):
                if item.position != index:
                    item.position = index
                    if item.pk != value.pk:
                        item.save(update_fields=["position"])
        value.save()
        after = {"label": value.label, "retired": value.retired, "position": value.position, "labels": value.labels}
        if before != after:
            audit.audit_log(
                action=audit.SETTINGS_CHANGED,
                actor=actor,
                module=_picklist_module(value.picklist.name),
                changes={k: [before[k], after[k]] for k in before if before[k] != after[k]},
                details={"setting": "picklist_value_changed", "picklist": value.picklist.name, "value": value.value},
            )
    return value
