"""'Why can this member see this record?': the visibility decision spelled out for an administrator.

It walks the same rules as `visibility` (and is tested to agree with it) but names what granted or
refused access: the admin flag, a profile, the organisation-wide default, ownership, a group, the
role hierarchy path, a sharing rule, or the parent record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.grants import PRIVATE, PUBLIC_READ_WRITE, PUBLIC_READ_WRITE_DELETE, AccessWorld, grants_for
from crm_apps.access.privileges import Privilege, require_tenant_admin

if TYPE_CHECKING:
    from crm_apps.access.models import Member
    from crm_apps.engine.spec import ModuleSpec


@dataclass
class Explanation:
    can_view: bool
    can_edit: bool
    can_delete: bool
    reasons: list[str] = field(default_factory=list)


def _role_chain(role_id: int | None) -> str:
    from crm_apps.access.models import Role

    if role_id is None:
        return "—"
    role = Role.objects.filter(pk=role_id).first()
    if role is None:
        return "—"
    ids = [int(x) for x in role.path.strip(".").split(".") if x]
    names = dict(Role.objects.filter(pk__in=ids).values_list("id", "name"))
    return " › ".join(names.get(i, "?") for i in ids)


def _sharing_rule_reasons(
    *, member: Member, spec: ModuleSpec, grants: Any, sharing: Any, owner_id: Any, group_id: Any
) -> list[str]:
    """The sharing rules that open this record to the member (recomputed rule by rule)."""
    from crm_apps.access.models import SharingRule

    reasons: list[str] = []
    world = AccessWorld.load()
    for rule in SharingRule.objects.filter(module=spec.key).select_related(
        "source_role", "source_group", "target_role", "target_group"
    ):
        opened = (owner_id in sharing.read_members | sharing.write_members and rule.source_kind != "group") or (
            group_id is not None and rule.source_group_id == group_id
        )
        if not opened:
            continue
        source = rule.source_group or rule.source_role
        target = rule.target_group or rule.target_role
        # Does the rule reach this member and cover this owner? Recompute for this one rule.
        if not world.matches(
            rule.target_kind,
            rule.target_role_id,
            rule.target_group_id,
            member_role=member.role_id,
            member_groups=set(grants.group_ids),
        ):
            continue
        if rule.source_kind != "group" and owner_id not in world.source_members(rule.source_kind, rule.source_role_id):
            continue
        reasons.append(
            _("Sharing rule: records of %(source)s (%(skind)s) are shared with %(target)s (%(tkind)s), %(access)s.")
            % {
                "source": source,
                "skind": rule.get_source_kind_display(),
                "target": target,
                "tkind": rule.get_target_kind_display(),
                "access": rule.get_access_display(),
            }
        )
    return reasons


def _parent_reasons(*, member: Member, spec: ModuleSpec, record: Any) -> list[str]:
    """Records that follow their parent's sharing: open when the member sees the linked parent."""
    parent_id = getattr(record, f"{spec.sharing_parent}_id", None)
    parent_spec = visibility._parent_spec(spec) if parent_id is not None else None
    if parent_spec is None:
        return []
    parent_qs = parent_spec.records().filter(pk=parent_id)
    if not visibility.visible_records(actor=member, spec=parent_spec, queryset=parent_qs).exists():
        return []
    return [
        _("The member can see the linked %(parent)s, and %(module)s follow it.")
        % {"parent": parent_spec.label, "module": spec.label_plural}
    ]


def access_explain(*, actor: Member, member: Member, spec: ModuleSpec, record: Any) -> Explanation:
    """Explain `member`'s rights on `record` to `actor` (an administrator)."""

    from crm_apps.access.models import Group, Profile
    from crm_apps.access.models import Member as MemberModel

    require_tenant_admin(actor)
    qs = spec.records().filter(pk=record.pk)
    result = Explanation(
        can_view=visibility.visible_records(actor=member, spec=spec, queryset=qs).exists(),
        can_edit=False,
        can_delete=False,
    )
    if result.can_view:
        result.can_edit = visibility.can_edit(actor=member, spec=spec, record=record)
        result.can_delete = visibility.can_delete(actor=member, spec=spec, record=record)
    reasons = result.reasons
    if not member.active:
        reasons.append(_("The member is deactivated: they see nothing."))
        return result
    if member.is_admin:
        reasons.append(_("The member is an administrator: administrators see and change every record."))
        return result
    grants = grants_for(member)
    profiles = list(Profile.objects.filter(roles=member.role_id).values_list("name", flat=True))
    reasons.append(
        _("Role: %(chain)s; profiles: %(profiles)s.")
        % {"chain": _role_chain(member.role_id), "profiles": ", ".join(profiles) or "—"}
    )
    rights = grants.rights(spec.key)
    if not rights.view:
        reasons.append(_("None of the member's profiles allows viewing %(module)s.") % {"module": spec.label_plural})
        return result
    if grants.has(Privilege.VIEW_ALL):
        reasons.append(_("A profile grants “view all records”."))
    if grants.has(Privilege.EDIT_ALL):
        reasons.append(_("A profile grants “edit all records”."))
    sharing = grants.sharing.get(spec.key)
    access = sharing.access if sharing else PUBLIC_READ_WRITE_DELETE
    labels = {
        "private": _("Private"),
        "public_read": _("Public: read only"),
        "public_read_write": _("Public: read, create/edit"),
        "public_read_write_delete": _("Public: read, create/edit, delete"),
    }
    reasons.append(
        _("Organisation-wide default of %(module)s: %(access)s.")
        % {"module": spec.label_plural, "access": labels[access]}
    )
    owner_id = getattr(record, "owner_id", None)
    group_id = getattr(record, "owner_group_id", None)
    if owner_id == member.pk:
        reasons.append(_("The member owns the record."))
    if group_id is not None and group_id in grants.group_ids:
        group = Group.objects.filter(pk=group_id).first()
        reasons.append(_("The record is owned by the group “%(group)s”, which includes the member.") % {"group": group})
    if owner_id in grants.subordinate_ids and (sharing is None or sharing.superiors_see):
        owner = MemberModel.objects.select_related("user").filter(pk=owner_id).first()
        reasons.append(
            _("The owner %(owner)s is below the member in the role hierarchy (%(chain)s).")
            % {"owner": owner.user.name if owner else "?", "chain": _role_chain(owner.role_id if owner else None)}
        )
    if sharing is not None and access != PUBLIC_READ_WRITE_DELETE:
        reasons += _sharing_rule_reasons(
            member=member, spec=spec, grants=grants, sharing=sharing, owner_id=owner_id, group_id=group_id
        )
    if sharing is not None and sharing.follow_parent and spec.sharing_parent and access == PRIVATE:
        reasons += _parent_reasons(member=member, spec=spec, record=record)
    if access == PUBLIC_READ_WRITE and not result.can_delete and result.can_view:
        reasons.append(_("Deleting needs ownership (or a superior role): the default allows create/edit only."))
    if not result.can_view:
        reasons.append(_("Nothing above opens this record to the member, so they cannot see it."))
    return result
