"""Writes of saved reports: create, change, duplicate, delete. The definition is checked for the member
saving it (a field they may not see cannot be saved); only the owner (or a tenant admin) changes a report."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.models import Group, Member, Role
from crm_apps.access.privileges import is_tenant_admin
from crm_apps.reports.definition import parse
from crm_apps.reports.models import Report, ReportFolder

FIELDS = {
    "name",
    "description",
    "folder",
    "folder_name",
    "definition",
    "sharing",
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
    if "sharing" in data:
        if data["sharing"] not in Report.Sharing.values:
            errors["sharing"] = [_("Choose private or shared.")]
        else:
            target.sharing = data["sharing"]
    if "definition" in data or report is None:
        try:
            checked = parse(data.get("definition"), actor=actor)
            target.definition = checked.raw
            target.module = checked.module
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors[f"definition.{key}"] = messages
    members = _ids(Member, data.get("shared_members"), "shared_members", errors)
    roles = _ids(Role, data.get("shared_roles"), "shared_roles", errors)
    groups = _ids(Group, data.get("shared_groups"), "shared_groups", errors)
    if errors:
        raise ValidationError(errors)
    if "folder_name" in data:
        target.folder, _created = ReportFolder.objects.get_or_create(owner_id=target.owner_id, name=new_folder_name)
    target.updated_at = timezone.now()
    target.save()
    if "shared_members" in data:
        target.shared_members.set(members)
    if "shared_roles" in data:
        target.shared_roles.set(roles)
    if "shared_groups" in data:
        target.shared_groups.set(groups)
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


FOLDER_FIELDS = {"name", "sharing", "shared_members", "shared_roles", "shared_groups"}


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
        elif ReportFolder.objects.filter(owner_id=target.owner_id, name=name.strip()).exclude(pk=target.pk).exists():
            errors["name"] = [_("You already have a folder of this name.")]
        else:
            target.name = name.strip()
    if "sharing" in data:
        if data["sharing"] not in ReportFolder.Sharing.values:
            errors["sharing"] = [_("Choose private or shared.")]
        else:
            target.sharing = data["sharing"]
    members = _ids(Member, data.get("shared_members"), "shared_members", errors)
    roles = _ids(Role, data.get("shared_roles"), "shared_roles", errors)
    groups = _ids(Group, data.get("shared_groups"), "shared_groups", errors)
    if errors:
        raise ValidationError(errors)
    target.save()
    if "shared_members" in data:
        target.shared_members.set(members)
    if "shared_roles" in data:
        target.shared_roles.set(roles)
    if "shared_groups" in data:
        target.shared_groups.set(groups)
    return target


def folder_create(*, actor: Member, name: Any) -> ReportFolder:
    return folder_save(actor=actor, data={"name": name})


def folder_delete(*, actor: Member, folder: ReportFolder) -> None:
    """Its reports stay (without a folder, so no longer shared through it)."""
    if folder.owner_id != actor.pk and not is_tenant_admin(actor):
        raise PermissionDenied(_("Only the folder's owner can change it."))
    folder.delete()
