"""What members attach to a record: comments (with mentions), follows and tags."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine.mentions import mentioned_members
from crm_apps.engine.models import (
    Comment,
    CrmRecord,
    Follow,
    TimelineEntry,
)
from crm_apps.engine.services.records import access_record_for_update, record_update
from crm_apps.engine.services.values import _clean_tags, _timeline
from crm_apps.engine.spec import ModuleSpec


def _access_linked_record(*, spec: ModuleSpec, actor: Member, record: CrmRecord) -> Any:
    """The live record, if `actor` may see it (links follow their record's visibility); else not found."""
    qs = spec.records().filter(pk=record.pk, deleted_at__isnull=True)
    found = visibility.visible_records(actor=actor, spec=spec, queryset=qs).first()
    if found is None or not visibility.can_view_module(actor=actor, spec=spec):
        raise spec.model.DoesNotExist
    return found


@transaction.atomic
def comment_add(*, spec: ModuleSpec, actor: Member, record: CrmRecord, body: str) -> Comment:
    """Comment on a record the actor can see; mentions (`@[Name](member:ID)` or `@email`) of active
    members who may see the record notify them (`notifications.mention_notify`)."""
    record = _access_linked_record(spec=spec, actor=actor, record=record)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("This field is required.")]})
    if len(body) > 10_000 or "\x00" in body:
        raise ValidationError({"body": [_("Ensure this value has at most %(max)d characters.") % {"max": 10_000}]})
    comment = Comment.objects.create(module=spec.key, record_id=record.pk, author=actor, body=body)
    mentioned = mentioned_members(body=body, author=actor)
    if mentioned:
        comment.mentions.set(mentioned)
        # The email quotes the record's title and the comment: only to those who may see the record.
        readers = [
            m
            for m in mentioned
            if visibility.visible_records(actor=m, spec=spec, queryset=spec.records().filter(pk=record.pk)).exists()
        ]
        if readers:
            from crm_apps.engine.notifications import mention_notify

            mention_notify(spec=spec, record=record, comment=comment, members=readers)
    _timeline(spec, record, TimelineEntry.Kind.COMMENTED, actor, {"comment": comment.pk})
    return comment


def follow_set(*, spec: ModuleSpec, actor: Member, record: CrmRecord, following: bool) -> bool:
    """Follow (star) or unfollow a record the actor can see; repeating either is harmless."""
    record = _access_linked_record(spec=spec, actor=actor, record=record)
    if following:
        Follow.objects.get_or_create(member=actor, module=spec.key, record_id=record.pk)
    else:
        Follow.objects.filter(member=actor, module=spec.key, record_id=record.pk).delete()
    return following


@transaction.atomic
def record_tags_change(
    *,
    spec: ModuleSpec,
    actor: Member,
    record: CrmRecord,
    tags: Any = None,
    add: Any = (),
    remove: Any = (),
    expected_version: int | None = None,
) -> Any:
    """Replace a record's tags (`tags`) or add and remove some against the stored ones (under the row
    lock, so two people tagging at once both keep theirs); a change like any other (rights, version,
    timeline, audit)."""
    locked = access_record_for_update(spec=spec, actor=actor, record_id=record.pk)
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, list[str]] = {}
    for name, value in (("tags", tags), ("add", add), ("remove", remove)):
        if value is None or (name != "tags" and not value):
            continue
        try:
            cleaned[name] = _clean_tags(value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    if "tags" in cleaned and ("add" in cleaned or "remove" in cleaned):
        raise ValidationError({"tags": [_("Send either the whole list of tags or the tags to add and remove.")]})
    if "tags" in cleaned:
        new = cleaned["tags"]
    else:
        dropped = {t.lower() for t in cleaned.get("remove", [])}
        new = [t for t in locked.tags or [] if t.lower() not in dropped]
        new += [t for t in cleaned.get("add", []) if t.lower() not in {n.lower() for n in new}]
    return record_update(spec=spec, actor=actor, record=locked, data={"tags": new}, expected_version=expected_version)
