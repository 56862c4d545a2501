"""The one place that decides which CRM records a member may see and change.

Every read path (lists, detail, search, related lists, kanban totals, exports, API, and every later
feature: reports, dashboards, webhooks) restricts its queryset with `visible_records`; every write
asks `can_create` / `can_edit` / `can_delete`, and the engine's services check field-level rights
with `field_access` / `check_field_writes`. The rules (vtiger's model):

- tenant admins see and change everything; inactive members nothing;
- a module the member's profiles do not allow to view is empty for them;
- the "view all" / "edit all" privileges open every record of the modules they may view / edit;
- public modules (organisation-wide default) are readable by all; private ones show the member's own
  records, records owned by their groups, their subordinates' records (when superiors see them),
  records that sharing rules open to them and, for modules that follow a parent (contacts follow
  their organisation), records whose parent they can see.

The inputs are computed once per member and access version (`crm_apps.access.grants`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet

from crm_apps.access.grants import (
    HIDDEN,
    PRIVATE,
    PUBLIC_READ,
    PUBLIC_READ_WRITE,
    PUBLIC_READ_WRITE_DELETE,
    READ_ONLY,
    Grants,
    grants_for,
)
from crm_apps.access.privileges import Privilege, is_tenant_admin, privilege_of

if TYPE_CHECKING:
    from crm_apps.access.models import Member
    from crm_apps.engine.spec import ModuleSpec

M = TypeVar("M", bound=Model)
MAX_PARENT_DEPTH = 3


class FieldPermissionDenied(PermissionDenied):
    """A write touched fields the member may not change; `fields` names them."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(fields)
        self.fields = fields


def _bypass(actor: Member) -> bool:
    return is_tenant_admin(actor)


def _parent_spec(spec: ModuleSpec) -> ModuleSpec | None:
    from crm_apps.engine import registry

    if not spec.sharing_parent:
        return None
    target = spec.model._meta.get_field(spec.sharing_parent).related_model
    return registry.spec_for_model(target)  # type: ignore[arg-type]


def _owners_q(prefix: str, members: set[int], groups: set[int]) -> Q:
    q = Q(**{f"{prefix}owner_id__in": sorted(members)})
    if groups:
        q |= Q(**{f"{prefix}owner_group_id__in": sorted(groups)})
    return q


def _read_q(grants: Grants, spec: ModuleSpec, depth: int = 0, prefix: str = "") -> Q | None:
    """None: every record; otherwise the condition a visible record meets.

    `prefix` is the lookup path from the filtered model to `spec`'s records ("" for the records
    themselves, "organization__" for a contact's organisation, ...). A parent's condition is written
    through that many-to-one join, never as `parent_id IN (SELECT id FROM parent WHERE ...)`: inside
    the OR, PostgreSQL can only run such a subquery as a hashed subplan over *every* parent the member
    may see (tens of thousands of rows for a manager), whatever the size of the page. Through the
    join, the parent's owner is checked only for the rows the query actually reaches (the LEFT JOIN
    is the one `select_related` makes anyway, and a forward foreign key never duplicates a row).
    """
    if not grants.rights(spec.key).view:
        return Q(pk__in=[])
    if grants.has(Privilege.VIEW_ALL):
        return None
    sharing = grants.sharing.get(spec.key)
    if sharing is None or sharing.access != PRIVATE:
        return None
    members = {grants.member_id} | set(sharing.read_members) | set(sharing.write_members)
    if sharing.superiors_see:
        members |= grants.subordinate_ids
    groups = set(grants.group_ids) | set(sharing.read_groups) | set(sharing.write_groups)
    q = _owners_q(prefix, members, groups)
    parent = _parent_spec(spec) if sharing.follow_parent and depth < MAX_PARENT_DEPTH else None
    if parent is not None and spec.sharing_parent and grants.rights(parent.key).view:
        # A parent the member may not view opens nothing, so it adds no branch at all.
        path = f"{prefix}{spec.sharing_parent}__"
        parent_q = _read_q(grants, parent, depth + 1, path)
        q |= Q(**{f"{path}isnull": False}) if parent_q is None else parent_q
    return q


def visible_q(*, actor: Member, spec: ModuleSpec) -> Q | None:
    """The visibility condition as a Q (None: no restriction). Prefer `visible_records`."""
    if not actor.active:
        return Q(pk__in=[])
    if _bypass(actor):
        return None
    return _read_q(grants_for(actor), spec)


def visible_records(*, actor: Member, spec: ModuleSpec, queryset: QuerySet[M]) -> QuerySet[M]:
    """Restrict `queryset` to the records of `spec` that `actor` may see."""
    q = visible_q(actor=actor, spec=spec)
    if q is None:
        return queryset
    return queryset.filter(q)


def can_view_module(*, actor: Member, spec: ModuleSpec) -> bool:
    if not actor.active:
        return False
    return _bypass(actor) or grants_for(actor).rights(spec.key).view


def can_create(*, actor: Member, spec: ModuleSpec) -> bool:
    if not actor.active:
        return False
    return _bypass(actor) or grants_for(actor).rights(spec.key).create


def _owned_by_me_or_below(grants: Grants, spec: ModuleSpec, record: Model) -> bool:
    sharing = grants.sharing.get(spec.key)
    owner_id = getattr(record, "owner_id", None)
    group_id = getattr(record, "owner_group_id", None)
    if owner_id == grants.member_id or (group_id is not None and group_id in grants.group_ids):
        return True
    superiors = sharing.superiors_see if sharing else True
    return bool(superiors and owner_id in grants.subordinate_ids)


def _parent_allows(grants: Grants, spec: ModuleSpec, record: Model, action: str, depth: int) -> bool:
    sharing = grants.sharing.get(spec.key)
    parent = _parent_spec(spec) if sharing and sharing.follow_parent and depth < MAX_PARENT_DEPTH else None
    if parent is None or spec.sharing_parent is None:
        return False
    parent_id = getattr(record, f"{spec.sharing_parent}_id", None)
    if parent_id is None:
        return False
    parent_record = _loaded_parent(record, spec.sharing_parent, parent)
    if parent_record is None:
        parent_record = parent.records().filter(pk=parent_id).first()
    if parent_record is None:
        return False
    return _write_allowed(grants, parent, parent_record, action, depth + 1)


def _loaded_parent(record: Model, name: str, parent: ModuleSpec) -> Model | None:
    """The parent row the query that read `record` already joined (`select_related`, as lists and record
    pages do), when it carries what the rights depend on (its owner and group); None otherwise, and the
    caller reads it. A list of 25 contacts seen through their organisations asked once per row before."""
    field: Any = record._meta.get_field(name)
    if parent.scope or not field.is_cached(record):
        return None
    found: Model | None = field.get_cached_value(record)
    # Deferred columns are the ones missing from the instance's __dict__ (what `get_deferred_fields` works
    # out for every column of the model, asked here per row).
    if found is None or "owner_id" not in found.__dict__ or "owner_group_id" not in found.__dict__:
        return None
    return found


def _write_allowed(grants: Grants, spec: ModuleSpec, record: Model, action: str, depth: int = 0) -> bool:
    if not grants.rights(spec.key).allows(action):
        return False
    if grants.has(Privilege.EDIT_ALL):
        return True
    sharing = grants.sharing.get(spec.key)
    access = sharing.access if sharing else PUBLIC_READ_WRITE_DELETE
    if access == PUBLIC_READ_WRITE_DELETE or (action == "edit" and access == PUBLIC_READ_WRITE):
        return True
    if _owned_by_me_or_below(grants, spec, record):
        return True
    if action == "edit" and sharing is not None:
        owner_id = getattr(record, "owner_id", None)
        group_id = getattr(record, "owner_group_id", None)
        if owner_id in sharing.write_members or (group_id is not None and group_id in sharing.write_groups):
            return True
    return _parent_allows(grants, spec, record, action, depth)


def can_edit(*, actor: Member, spec: ModuleSpec, record: Model) -> bool:
    """May `actor` change `record` (which the caller has already found visible)?"""
    if not actor.active:
        return False
    return _bypass(actor) or _write_allowed(grants_for(actor), spec, record, "edit")


def can_delete(*, actor: Member, spec: ModuleSpec, record: Model) -> bool:
    if not actor.active:
        return False
    return _bypass(actor) or _write_allowed(grants_for(actor), spec, record, "delete")


def has_privilege(*, actor: Member, privilege: Privilege) -> bool:
    """Global privileges (`Privilege`: view_all, edit_all, can_import, can_export, manage_settings,
    manage_members, manage_billing). Admins hold them all; a string naming none is refused."""
    privilege = privilege_of(privilege)
    if not actor.active:
        return False
    return _bypass(actor) or grants_for(actor).has(privilege)


def field_access(*, actor: Member, spec: ModuleSpec) -> dict[str, str]:
    """Fields of `spec` the actor may not change: name -> "hidden" | "readonly". Custom fields are named
    "custom.<key>". Fields not named are read-write."""
    if _bypass(actor) or not actor.active:
        return {}
    return grants_for(actor).fields.get(spec.key, {})


def hidden_fields(*, actor: Member, spec: ModuleSpec) -> set[str]:
    return {name for name, access in field_access(actor=actor, spec=spec).items() if access == HIDDEN}


def readonly_fields(*, actor: Member, spec: ModuleSpec) -> set[str]:
    return {name for name, access in field_access(actor=actor, spec=spec).items() if access == READ_ONLY}


def check_field_writes(*, actor: Member, spec: ModuleSpec, names: Any) -> None:
    """Refuse a write that changes any field the actor may only read (or may not see)."""
    locked = field_access(actor=actor, spec=spec)
    denied = sorted(name for name in names if name in locked)
    if denied:
        raise FieldPermissionDenied(denied)


__all__ = [
    "PRIVATE",
    "PUBLIC_READ",
    "PUBLIC_READ_WRITE",
    "PUBLIC_READ_WRITE_DELETE",
    "FieldPermissionDenied",
    "can_create",
    "can_delete",
    "can_edit",
    "can_view_module",
    "check_field_writes",
    "field_access",
    "has_privilege",
    "hidden_fields",
    "readonly_fields",
    "visible_q",
    "visible_records",
]
