"""Writes of saved reports: create, change, duplicate, delete. The definition is checked for the member
saving it (a field they may not see cannot be saved); only the owner (or a tenant admin) changes a report."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.models import Group, Member, Role
from crm_apps.access.privileges import is_tenant_admin
from crm_apps.reports.definition import parse
from crm_apps.reports.models import Audience, Report, ReportFolder

FIELDS = {
    "name",
    "description",
    "folder",
    "folder_name",
    "definition",
    "sharing",
    "audience",
    "shared_members",
    "shared_roles",
    "shared_groups",
}


def _may_change(actor: Member, report: Report) -> None:
    if report.owner_id != actor.pk and not is_tenant_admin(actor):
        raise PermissionDenied(_("Only the report's owner can change it."))


def _ids(model: Any, raw: Any, key: str, errors: dict[str, list[str]]) -> list[Any]:
    if raw in (None, ""):
        return []
    if (
        not isinstance(raw, list)
        or len(raw) > 200
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw)
    ):
        errors[key] = [_("Send a list of ids.")]
        return []
    found = list(model.objects.filter(pk__in=raw))
    if len(found) != len(set(raw)):
        errors[key] = [_("Unknown id.")]
    return found


SHARE_KEYS = ("shared_members", "shared_roles", "shared_groups")


def _sharing(target: Report | ReportFolder, data: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, list[Any]]:
    """Sets `sharing` and `audience` on `target` from `data`; returns the lists to store (only those sent).

    `audience` is explicit: "everyone", or "listed" (the members, roles and groups listed only - none listed is
    nobody). A write that sends lists but no audience gets the API's original meaning, decided now and stored:
    nothing listed is everyone, anything listed is those only. Emptied lists later (a role or group deleted)
    never widen a "listed" audience."""
    if "sharing" in data:
        if data["sharing"] not in target.Sharing.values:
            errors["sharing"] = [_("Choose private or shared.")]
        else:
            target.sharing = data["sharing"]
    lists = {
        "shared_members": _ids(Member, data.get("shared_members"), "shared_members", errors),
        "shared_roles": _ids(Role, data.get("shared_roles"), "shared_roles", errors),
        "shared_groups": _ids(Group, data.get("shared_groups"), "shared_groups", errors),
    }
    sent = {key: value for key, value in lists.items() if key in data}

    def anyone_listed() -> bool:
        if any(sent.values()):
            return True
        kept = [key for key in SHARE_KEYS if key not in sent]
        return target.pk is not None and any(getattr(target, key).exists() for key in kept)

    if "audience" in data:
        if data["audience"] not in Audience.values:
            errors["audience"] = [_("Choose everyone or the chosen members, roles and groups.")]
        else:
            target.audience = data["audience"]
            if target.audience == Audience.LISTED and target.sharing == target.Sharing.SHARED and not anyone_listed():
                errors["shared_members"] = [_("Choose at least one member, role or group, or share with everyone.")]
    elif sent or target.pk is None:
        target.audience = Audience.LISTED if anyone_listed() else Audience.EVERYONE
    return sent


def _sharing_store(target: Report | ReportFolder, sent: dict[str, list[Any]]) -> None:
    for key, found in sent.items():
        getattr(target, key).set(found)


def _folder(target: Report, data: dict[str, Any], errors: dict[str, list[str]]) -> str:
    """Sets `folder` (one of the owner's, or None); returns the name of a folder to use or create
    (`folder_name`), done only once nothing else failed."""
    new_folder_name = ""
    if "folder" in data:
        folder_id = data.get("folder")
        if folder_id is None:
            target.folder = None
        else:
            folder = (
                ReportFolder.objects.filter(pk=folder_id, owner=target.owner_id).first()
                if isinstance(folder_id, int)
                else None
            )
            if folder is None:
                errors["folder"] = [_("Unknown folder.")]
            else:
                target.folder = folder
    if "folder_name" in data:
        # A folder of the owner's by name: the existing one, or a new one (created only if nothing else fails).
        folder_name = data.get("folder_name")
        if not isinstance(folder_name, str) or not folder_name.strip() or len(folder_name.strip()) > 100:
            errors["folder_name"] = [_("Enter a name of at most 100 characters.")]
        else:
            new_folder_name = folder_name.strip()
    return new_folder_name


@transaction.atomic
def report_save(*, actor: Member, data: dict[str, Any], report: Report | None = None) -> Report:
    """Create a report (`report` None) or change one; every error is a field error, nothing half-written."""
    if report is not None:
        _may_change(actor, report)
    errors: dict[str, list[str]] = {}
    for extra in sorted(set(data) - FIELDS):
        errors[str(extra)[:50]] = [_("Unknown field.")]
    target = report or Report(owner=actor)
    if "name" in data or report is None:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 150:
            errors["name"] = [_("Enter a name of at most 150 characters.")]
        else:
            target.name = name.strip()
    if "description" in data:
        description = data.get("description") or ""
        if not isinstance(description, str) or len(description) > 500:
            errors["description"] = [_("Enter at most 500 characters.")]
        else:
            target.description = description
    new_folder_name = _folder(target, data, errors)
    shared = _sharing(target, data, errors)
    if "definition" in data or report is None:
        try:
            checked = parse(data.get("definition"), actor=actor)
            target.definition = checked.raw
            target.module = checked.module
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors[f"definition.{key}"] = messages
    if errors:
        raise ValidationError(errors)
    if "folder_name" in data:
        target.folder, _created = ReportFolder.objects.get_or_create(owner_id=target.owner_id, name=new_folder_name)
    target.updated_at = timezone.now()
    target.save()
    _sharing_store(target, shared)
    return target


@transaction.atomic
def report_duplicate(*, actor: Member, report: Report) -> Report:
    """A private copy owned by `actor` (its definition re-checked for them)."""
    return report_save(
        actor=actor,
        data={
            "name": (_("Copy of %(name)s") % {"name": report.name})[:150],
            "definition": report.definition,
            "description": report.description,
        },
    )


def report_delete(*, actor: Member, report: Report) -> None:
    _may_change(actor, report)
    report.delete()


FOLDER_FIELDS = {"name", "sharing", "audience", "shared_members", "shared_roles", "shared_groups"}


@transaction.atomic
def folder_save(*, actor: Member, data: dict[str, Any], folder: ReportFolder | None = None) -> ReportFolder:
    """Create a folder of `actor`'s (`folder` None) or change one (its owner or a tenant admin): its name and
    whom its reports are shared with. Every error is a field error, nothing half-written."""
    if folder is not None and folder.owner_id != actor.pk and not is_tenant_admin(actor):
        raise PermissionDenied(_("Only the folder's owner can change it."))
    errors: dict[str, list[str]] = {}
    for extra in sorted(set(data) - FOLDER_FIELDS):
        errors[str(extra)[:50]] = [_("Unknown field.")]
    target = folder or ReportFolder(owner=actor)
    if "name" in data or folder is None:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
            errors["name"] = [_("Enter a name of at most 100 characters.")]
        elif _folder_name_taken(target, name.strip()):
            errors["name"] = [_("You already have a folder of this name.")]
        else:
            target.name = name.strip()
    shared = _sharing(target, data, errors)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():  # a savepoint: the unique name may be taken by a concurrent save meanwhile
            target.save()
    except IntegrityError:
        raise ValidationError({"name": [_("You already have a folder of this name.")]}) from None
    _sharing_store(target, shared)
    return target


def _folder_name_taken(folder: ReportFolder, name: str) -> bool:
    return ReportFolder.objects.filter(owner_id=folder.owner_id, name=name).exclude(pk=folder.pk).exists()


def folder_create(*, actor: Member, name: Any) -> ReportFolder:
    return folder_save(actor=actor, data={"name": name})


def folder_delete(*, actor: Member, folder: ReportFolder) -> None:
    """Its reports stay (without a folder, so no longer shared through it)."""
    if folder.owner_id != actor.pk and not is_tenant_admin(actor):
        raise PermissionDenied(_("Only the folder's owner can change it."))
    folder.delete()
