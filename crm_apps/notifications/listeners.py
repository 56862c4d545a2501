"""Producers inside the engine's writes (through `crm_apps.engine.events.record_changed`):

- **assignment**: a create or update whose new owner is a member other than the actor notifies that
  member (a group owner notifies nobody: a group has no inbox);
- **changes on followed records**: when a record's *followed fields* change (by default its kanban
  field: a deal's stage, a ticket's status; `followed_fields_register` adds others), each member who
  follows it and can still see it is notified, except the actor.

They run inside the write's transaction, so a rolled-back change notifies nobody. Dedupe keys carry the
record's version: the same change can never notify twice.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import override

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine.display import record_url
from crm_apps.engine.models import CrmRecord, Follow
from crm_apps.engine.spec import ModuleSpec
from crm_apps.notifications import kinds
from crm_apps.notifications.services import notification_send

_followed_fields: dict[str, tuple[str, ...]] = {}


def followed_fields_register(module: str, fields: tuple[str, ...]) -> None:
    """Fields of `module` whose change notifies the record's followers (replaces the kanban-field default)."""
    _followed_fields[module] = tuple(fields)


def followed_fields(spec: ModuleSpec) -> tuple[str, ...]:
    if spec.key in _followed_fields:
        return _followed_fields[spec.key]
    return (spec.kanban_field,) if spec.kanban_field else ()


def _shown(spec: ModuleSpec, record: CrmRecord, name: str, value: Any) -> str:
    """A stored value as people read it: a referenced row's name, a choice's label, else the text."""
    if value is None or value == "":
        return "—"
    try:
        field: Any = spec.model._meta.get_field(name)
    except Exception:
        return str(value)
    if isinstance(field, models.ForeignKey):
        target = field.remote_field.model._default_manager.filter(pk=value).first()
        return str(target) if target is not None else str(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def _field_label(spec: ModuleSpec, name: str) -> str:
    try:
        return str(spec.model._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
    except Exception:
        return name


def record_changed(
    spec: ModuleSpec, record: CrmRecord, changes: dict[str, list[Any]], actor: Member, created: bool
) -> None:
    """Turn one create/update into assignment and followed-record notifications."""
    url = record_url(spec, record)
    title = str(record)
    owner_change = changes.get("owner")
    if owner_change and owner_change[1] is not None and str(owner_change[1]) != str(actor.pk):
        owner = Member.objects.select_related("user").filter(pk=owner_change[1], active=True).first()
        if owner is not None:
            notification_send(
                recipient=owner,
                kind=kinds.ASSIGNMENT,
                module=spec.key,
                record_id=record.pk,
                actor=actor,
                params={"record": title, "module": str(spec.label)},
                url=url,
                dedupe_key=f"assignment:{spec.key}:{record.pk}:v{record.version}",
            )
    if created:
        return
    watched = [name for name in followed_fields(spec) if name in changes]
    if not watched:
        return
    followers = Member.objects.select_related("user").filter(
        active=True,
        pk__in=Follow.objects.filter(module=spec.key, record_id=record.pk).values("member_id"),
    )
    shown: dict[tuple[str, str], dict[str, str]] = {}  # (language, field) -> params: looked up once
    for follower in followers.exclude(pk=actor.pk).order_by("pk"):
        if not visibility.visible_records(
            actor=follower, spec=spec, queryset=spec.records().filter(pk=record.pk)
        ).exists():
            continue
        hidden = visibility.hidden_fields(actor=follower, spec=spec)
        for name in watched:
            if name in hidden:
                continue  # a field their profile hides is not shown in a notification either
            params = shown.get((follower.language, name))
            if params is None:
                old, new = changes[name]
                with override(follower.language):  # names of things in the follower's language
                    params = shown[(follower.language, name)] = {
                        "record": title,
                        "field": _field_label(spec, name),
                        "body": f"{_shown(spec, record, name, old)} → {_shown(spec, record, name, new)}",
                    }
            notification_send(
                recipient=follower,
                kind=kinds.RECORD_CHANGED,
                module=spec.key,
                record_id=record.pk,
                actor=actor,
                params=params,
                url=url,
                dedupe_key=f"changed:{spec.key}:{record.pk}:v{record.version}:{name}",
            )
