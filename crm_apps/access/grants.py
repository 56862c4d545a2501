"""What a member may do, computed from the access settings: their role's profiles merged (the most
permissive wins), the groups they belong to, the members below them in the role hierarchy, the
organisation-wide defaults and the sharing rules that reach them.

Computing it reads about ten small tables, so the result is cached per member and per *access
version*: every service that changes roles, profiles, groups, defaults, rules or a member's role
bumps the tenant's version after commit, and the next request computes afresh ("changes take effect
immediately"). Within a request the result is also kept in memory.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import transaction

from crm_apps.access.privileges import Privilege, privilege_of
from saas import cache_versions

if TYPE_CHECKING:
    from crm_apps.access.models import Member

logger = logging.getLogger(__name__)
GRANTS_TTL = 24 * 3600

PRIVATE = "private"
PUBLIC_READ = "public_read"
PUBLIC_READ_WRITE = "public_read_write"
PUBLIC_READ_WRITE_DELETE = "public_read_write_delete"

PRIVILEGES = tuple(p.value for p in Privilege)
ACTIONS = ("view", "create", "edit", "delete")
HIDDEN = "hidden"
READ_ONLY = "readonly"

_local = threading.local()
# Grants by (schema, member, access version): a version names one state of the settings, so entries never
# go stale; a process keeps a bounded number of them and skips the cache read for the rest.
_process: dict[tuple[str, int, str], Grants] = {}
PROCESS_MEMO_SIZE = 2000


@dataclass(frozen=True)
class ModuleRights:
    view: bool = False
    create: bool = False
    edit: bool = False
    delete: bool = False

    def allows(self, action: str) -> bool:
        return bool(getattr(self, action))


@dataclass(frozen=True)
class ModuleSharing:
    """One module's sharing as it applies to one member."""

    access: str = PUBLIC_READ_WRITE_DELETE
    superiors_see: bool = True
    follow_parent: bool = False
    # Owners (members / groups) whose records sharing rules open to this member, beyond their own.
    read_members: frozenset[int] = frozenset()
    read_groups: frozenset[int] = frozenset()
    write_members: frozenset[int] = frozenset()
    write_groups: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Grants:
    member_id: int
    role_id: int | None
    privileges: frozenset[str]
    default_rights: ModuleRights
    modules: dict[str, ModuleRights] = field(default_factory=dict)
    # module -> field -> "hidden" | "readonly" (fields not named are read-write).
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    group_ids: frozenset[int] = frozenset()
    subordinate_ids: frozenset[int] = frozenset()
    sharing: dict[str, ModuleSharing] = field(default_factory=dict)

    def rights(self, module: str) -> ModuleRights:
        return self.modules.get(module, self.default_rights)

    def has(self, privilege: Privilege) -> bool:
        return privilege_of(privilege) in self.privileges


def memo_clear(**_kwargs: Any) -> None:
    _local.grants = None


request_started.connect(memo_clear, dispatch_uid="access-grants-memo-start")
request_finished.connect(memo_clear, dispatch_uid="access-grants-memo-end")


def access_version() -> str | None:
    """The tenant's current access version; None when the cache is unreachable (then nothing is cached
    and grants are computed from the database on every request: slower, never stale)."""
    return cache_versions.version("access")


def access_changed() -> None:
    """Call from every service that changes who may see or do what: after commit, all members' grants
    in this tenant are recomputed on their next request (in every process)."""

    from tenants.runtime import current_schema

    schema = current_schema()

    def bump() -> None:
        memo_clear()
        cache_versions.version_bump("access", schema=schema)

    # Now (this transaction reads its own changes at once) and again after commit: a request that
    # computed grants from the old rows in between cached them under the intermediate version only.
    bump()
    transaction.on_commit(bump)


def grants_for(member: Member) -> Grants:
    """The member's grants (for admins too, though the visibility functions never ask for theirs)."""
    from tenants.runtime import current_schema

    schema = current_schema()
    store: dict[tuple[str, int], Grants] | None = getattr(_local, "grants", None)
    if store is None:
        store = _local.grants = {}
    memo_key = (schema, member.pk)
    found = store.get(memo_key)
    if found is not None:
        return found
    version = access_version()
    if version is None:
        computed = compute_grants(member)
        store[memo_key] = computed
        return computed
    process_key = (schema, member.pk, version)
    grants = _process.get(process_key)
    if grants is None:
        key = f"access:grants:{member.pk}:{version}"
        try:
            cached: Any = cache.get(key)
        except Exception:
            cached = None
        if isinstance(cached, Grants):
            grants = cached
        else:
            grants = compute_grants(member)
            try:
                cache.set(key, grants, GRANTS_TTL)
            except Exception:
                logger.warning("access: cache unavailable, grants not stored", exc_info=True)
        if len(_process) >= PROCESS_MEMO_SIZE:
            _process.clear()
        _process[process_key] = grants
    store[memo_key] = grants
    return grants


@dataclass
class AccessWorld:
    """All access settings of the tenant, read in a handful of queries."""

    role_paths: dict[int, str]
    member_roles: dict[int, int]
    group_members: dict[int, set[int]]
    group_roles: dict[int, set[int]]
    group_role_trees: dict[int, set[int]]
    group_children: dict[int, set[int]]

    @classmethod
    def load(cls) -> AccessWorld:
        from crm_apps.access.models import Group, Member, Role

        role_paths = dict(Role.objects.values_list("id", "path"))
        member_roles = dict(Member.objects.filter(active=True, role__isnull=False).values_list("id", "role_id"))
        group_members: dict[int, set[int]] = defaultdict(set)
        for gid, mid in Group.members.through.objects.values_list("group_id", "member_id"):
            group_members[gid].add(mid)
        group_roles: dict[int, set[int]] = defaultdict(set)
        for gid, rid in Group.roles.through.objects.values_list("group_id", "role_id"):
            group_roles[gid].add(rid)
        group_role_trees: dict[int, set[int]] = defaultdict(set)
        for gid, rid in Group.roles_with_subordinates.through.objects.values_list("group_id", "role_id"):
            group_role_trees[gid].add(rid)
        group_children: dict[int, set[int]] = defaultdict(set)
        for parent, child in Group.subgroups.through.objects.values_list("from_group_id", "to_group_id"):
            group_children[parent].add(child)
        return cls(role_paths, member_roles, group_members, group_roles, group_role_trees, group_children)

    def roles_under(self, role_id: int, *, include_self: bool) -> set[int]:
        path = self.role_paths.get(role_id)
        if path is None:
            return set()
        return {rid for rid, p in self.role_paths.items() if p.startswith(path) and (include_self or rid != role_id)}

    def members_in_roles(self, role_ids: set[int]) -> set[int]:
        return {mid for mid, rid in self.member_roles.items() if rid in role_ids}

    def direct_groups(self, member_id: int, role_id: int | None) -> set[int]:
        found = {gid for gid, mids in self.group_members.items() if member_id in mids}
        if role_id is not None:
            found |= {gid for gid, rids in self.group_roles.items() if role_id in rids}
            path = self.role_paths.get(role_id, "")
            for gid, rids in self.group_role_trees.items():
                if any(path.startswith(self.role_paths.get(rid, "\0")) for rid in rids):
                    found.add(gid)
        return found

    def groups_of(self, member_id: int, role_id: int | None) -> set[int]:
        """Groups the member belongs to directly, through their role, or through nested groups."""
        found = self.direct_groups(member_id, role_id)
        parents: dict[int, set[int]] = defaultdict(set)
        for parent, children in self.group_children.items():
            for child in children:
                parents[child].add(parent)
        todo = list(found)
        while todo:
            gid = todo.pop()
            for parent in parents.get(gid, ()):
                if parent not in found:
                    found.add(parent)
                    todo.append(parent)
        return found

    def matches(
        self, kind: str, role_id: int | None, group_id: int | None, *, member_role: int | None, member_groups: set[int]
    ) -> bool:
        """Does a rule's target (role, role and subordinates, group) include this member?"""
        if kind == "group":
            return group_id in member_groups
        if member_role is None or role_id is None:
            return False
        if kind == "role":
            return member_role == role_id
        return member_role in self.roles_under(role_id, include_self=True)

    def source_members(self, kind: str, role_id: int | None) -> set[int]:
        if kind == "group" or role_id is None:
            return set()
        roles = {role_id} if kind == "role" else self.roles_under(role_id, include_self=True)
        return self.members_in_roles(roles)


def compute_grants(member: Member) -> Grants:
    from crm_apps.access.models import Profile, ProfileField, ProfileModule, SharingDefault, SharingRule
    from crm_apps.engine import registry

    world = AccessWorld.load()
    role_id = member.role_id
    profiles = list(Profile.objects.filter(roles=role_id)) if role_id is not None else []
    profile_ids = [p.pk for p in profiles]
    privileges = frozenset(name for name in PRIVILEGES if any(getattr(p, name) for p in profiles))
    default_rights = ModuleRights(
        **{action: any(getattr(p, f"default_{action}") for p in profiles) for action in ACTIONS}
    )
    rows: dict[int, dict[str, ProfileModule]] = defaultdict(dict)
    for row in ProfileModule.objects.filter(profile_id__in=profile_ids):
        rows[row.profile_id][row.module] = row
    field_rows: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
    for frow in ProfileField.objects.filter(profile_id__in=profile_ids):
        field_rows[(frow.module, frow.field)][frow.profile_id] = frow.access

    modules: dict[str, ModuleRights] = {}
    fields: dict[str, dict[str, str]] = defaultdict(dict)
    for spec in registry.all_specs():
        rights: dict[str, bool] = {}
        for action in ACTIONS:
            rights[action] = any(
                getattr(rows[p.pk][spec.key], f"can_{action}")
                if spec.key in rows[p.pk]
                else getattr(p, f"default_{action}")
                for p in profiles
            )
        modules[spec.key] = ModuleRights(**rights)
    for (module, name), by_profile in field_rows.items():
        # The most permissive profile wins: a profile without a row for the field leaves it read-write.
        if len(by_profile) < len(profiles):
            continue
        fields[module][name] = READ_ONLY if READ_ONLY in by_profile.values() else HIDDEN

    groups = world.groups_of(member.pk, role_id)
    subordinates: set[int] = set()
    if role_id is not None:
        subordinates = world.members_in_roles(world.roles_under(role_id, include_self=False))
    subordinates.discard(member.pk)

    defaults = {d.module: d for d in SharingDefault.objects.all()}
    rules_by_module: dict[str, list[SharingRule]] = defaultdict(list)
    for rule in SharingRule.objects.all():
        rules_by_module[rule.module].append(rule)
    sharing: dict[str, ModuleSharing] = {}
    for spec in registry.all_specs():
        default = defaults.get(spec.key)
        read_m: set[int] = set()
        read_g: set[int] = set()
        write_m: set[int] = set()
        write_g: set[int] = set()
        for rule in rules_by_module.get(spec.key, ()):
            if not world.matches(
                rule.target_kind, rule.target_role_id, rule.target_group_id, member_role=role_id, member_groups=groups
            ):
                continue
            owners = world.source_members(rule.source_kind, rule.source_role_id)
            owner_groups = {rule.source_group_id} if rule.source_kind == "group" and rule.source_group_id else set()
            if rule.access == "read_write":
                write_m |= owners
                write_g |= owner_groups
            else:
                read_m |= owners
                read_g |= owner_groups
        sharing[spec.key] = ModuleSharing(
            access=default.access if default else spec.sharing_default,
            superiors_see=default.superiors_see if default else True,
            follow_parent=bool(spec.sharing_parent)
            and (default.follow_parent if default else spec.sharing_follows_parent),
            read_members=frozenset(read_m),
            read_groups=frozenset(read_g),
            write_members=frozenset(write_m),
            write_groups=frozenset(write_g),
        )
    return Grants(
        member_id=member.pk,
        role_id=role_id,
        privileges=privileges,
        default_rights=default_rights,
        modules=modules,
        fields=dict(fields),
        group_ids=frozenset(groups),
        subordinate_ids=frozenset(subordinates),
        sharing=sharing,
    )
