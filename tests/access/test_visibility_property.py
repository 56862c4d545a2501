"""Property test: for random role trees, groups, defaults, sharing rules and records, the visibility
function agrees with a plain reference implementation written here from the rules in
crm_apps/access/README.md (vtiger's model), for view, edit and delete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_user
from crm_apps.access import visibility
from crm_apps.access.models import Role
from crm_apps.access.services import (
    group_save,
    member_create,
    member_set_role,
    profile_save,
    role_create,
    sharing_default_set,
    sharing_rule_create,
)
from crm_apps.engine import registry

MODULE = "vendors"  # no parent to follow: the reference stays about roles, groups and rules
KINDS = ("role", "role_sub", "group")


@dataclass
class Plan:
    parents: list[int]  # role i (1-based below the top, index 0 = top) reports to parents[i-1] (< i)
    member_roles: list[int]
    groups: list[dict[str, list[int]]]
    access: str
    superiors_see: bool
    rules: list[tuple[str, int, str, int, str]]
    records: list[tuple[str, int]]  # ("member", i) or ("group", j)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    n_roles = draw(st.integers(2, 6))
    parents = [draw(st.integers(0, i)) for i in range(n_roles)]  # role i+1 under an earlier role (0 = top)
    n_members = draw(st.integers(2, 6))
    member_roles = [draw(st.integers(1, n_roles)) for _ in range(n_members)]
    n_groups = draw(st.integers(0, 3))
    groups = []
    for g in range(n_groups):
        groups.append(
            {
                "members": draw(st.lists(st.integers(0, n_members - 1), max_size=2, unique=True)),
                "roles": draw(st.lists(st.integers(1, n_roles), max_size=1, unique=True)),
                "trees": draw(st.lists(st.integers(1, n_roles), max_size=1, unique=True)),
                "subgroups": draw(st.lists(st.integers(0, g - 1), max_size=1, unique=True)) if g else [],
            }
        )
    access = draw(st.sampled_from(["private", "public_read", "public_read_write", "public_read_write_delete"]))

    def party(kind: str) -> int:
        if kind == "group":
            return draw(st.integers(0, n_groups - 1))
        return draw(st.integers(1, n_roles))

    rules = []
    for _ in range(draw(st.integers(0, 3))):
        kinds = [k for k in KINDS if k != "group" or n_groups]
        source_kind, target_kind = draw(st.sampled_from(kinds)), draw(st.sampled_from(kinds))
        rules.append(
            (
                source_kind,
                party(source_kind),
                target_kind,
                party(target_kind),
                draw(st.sampled_from(["read", "read_write"])),
            )
        )
    owners = [("member", i) for i in range(n_members)] + [("group", j) for j in range(n_groups)]
    records = draw(st.lists(st.sampled_from(owners), min_size=1, max_size=8))
    return Plan(parents, member_roles, groups, access, draw(st.booleans()), rules, records)


class Reference:
    """vtiger's rules, computed the slow and obvious way."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def ancestors(self, role: int) -> list[int]:
        chain = []
        while role != 0:
            role = self.plan.parents[role - 1]
            chain.append(role)
        return chain

    def below(self, role: int, other: int) -> bool:
        """Is `other` strictly below `role`?"""
        return role in self.ancestors(other)

    def in_group(self, member: int, group: int, seen: frozenset[int] = frozenset()) -> bool:
        if group in seen:
            return False
        g = self.plan.groups[group]
        role = self.plan.member_roles[member]
        if member in g["members"] or role in g["roles"]:
            return True
        if any(t == role or self.below(t, role) for t in g["trees"]):
            return True
        return any(self.in_group(member, sub, seen | {group}) for sub in g["subgroups"])

    def targeted(self, member: int, kind: str, party: int) -> bool:
        role = self.plan.member_roles[member]
        if kind == "group":
            return self.in_group(member, party)
        return role == party if kind == "role" else (role == party or self.below(party, role))

    def covers(self, kind: str, party: int, owner: tuple[str, int]) -> bool:
        if kind == "group":
            return owner == ("group", party)
        if owner[0] != "member":
            return False
        role = self.plan.member_roles[owner[1]]
        return role == party if kind == "role" else (role == party or self.below(party, role))

    def ownerlike(self, member: int, owner: tuple[str, int]) -> bool:
        if owner == ("member", member):
            return True
        if owner[0] == "group":
            return self.in_group(member, owner[1])
        return self.plan.superiors_see and self.below(self.plan.member_roles[member], self.plan.member_roles[owner[1]])

    def shared(self, member: int, owner: tuple[str, int], *, write: bool) -> bool:
        return any(
            self.targeted(member, tk, tp) and self.covers(sk, sp, owner) and (access == "read_write" or not write)
            for sk, sp, tk, tp, access in self.plan.rules
        )

    def rights(self, member: int, owner: tuple[str, int]) -> tuple[bool, bool, bool]:
        access = self.plan.access
        mine = self.ownerlike(member, owner)
        view = access != "private" or mine or self.shared(member, owner, write=False)
        edit = view and (
            access in ("public_read_write", "public_read_write_delete")
            or mine
            or self.shared(member, owner, write=True)
        )
        delete = view and (access == "public_read_write_delete" or mine)
        return view, edit, delete


def build_org_chart(*, tenant: Any, admin: Any, plan: Plan, profile: Any, prefix: str) -> tuple[list[Any], ...]:
    """The roles, members and groups a plan draws (roles under the root, each with `profile`)."""
    roles = [Role.objects.get(parent__isnull=True)]
    for i, parent in enumerate(plan.parents):
        roles.append(role_create(actor=admin, name=f"{prefix}{i}", parent=roles[parent], profile_ids=[profile.pk]))
    members = []
    for role_index in plan.member_roles:
        m = member_create(tenant=tenant, user=make_user())
        members.append(member_set_role(actor=admin, member=m, role=roles[role_index]))
    groups: list[Any] = []
    for j, g in enumerate(plan.groups):
        groups.append(
            group_save(
                actor=admin,
                group=None,
                name=f"{prefix}G{j}",
                member_ids=[members[i].pk for i in g["members"]],
                role_ids=[roles[r].pk for r in g["roles"]],
                role_tree_ids=[roles[r].pk for r in g["trees"]],
                subgroup_ids=[groups[s].pk for s in g["subgroups"]],
            )
        )
    return roles, members, groups


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans())
def test_visibility_matches_the_reference(tenant_a, admin_of, plan):
    spec = registry.get(MODULE)
    with schema_context(tenant_a.schema_name), transaction.atomic():
        admin = admin_of(tenant_a)
        profile = profile_save(
            actor=admin,
            profile=None,
            name="Property",
            flags={"default_view": True, "default_create": True, "default_edit": True, "default_delete": True},
        )
        roles, members, groups = build_org_chart(tenant=tenant_a, admin=admin, plan=plan, profile=profile, prefix="P")
        sharing_default_set(actor=admin, module=MODULE, access=plan.access, superiors_see=plan.superiors_see)
        for sk, sp, tk, tp, access in plan.rules:
            sharing_rule_create(
                actor=admin,
                module=MODULE,
                access=access,
                source_kind=sk,
                source_id=(groups[sp] if sk == "group" else roles[sp]).pk,
                target_kind=tk,
                target_id=(groups[tp] if tk == "group" else roles[tp]).pk,
            )
        records = []
        for n, (kind, index) in enumerate(plan.records):
            owner = {"owner": members[index]} if kind == "member" else {"owner_group": groups[index]}
            records.append(spec.model.objects.create(name=f"Property vendor {n}", number=f"PV{n}", **owner))
        reference = Reference(plan)
        wrong = []
        for i, m in enumerate(members):
            visible = set(
                visibility.visible_records(
                    actor=m, spec=spec, queryset=spec.model.objects.filter(pk__in=[r.pk for r in records])
                ).values_list("pk", flat=True)
            )
            for record, owner in zip(records, plan.records, strict=True):
                got = (
                    record.pk in visible,
                    record.pk in visible and visibility.can_edit(actor=m, spec=spec, record=record),
                    record.pk in visible and visibility.can_delete(actor=m, spec=spec, record=record),
                )
                want = reference.rights(i, owner)
                if got != want:
                    wrong.append(f"member {i} (role {plan.member_roles[i]}) on record of {owner}: {got} != {want}")
        transaction.set_rollback(True)
    assert not wrong, "\n".join(wrong)
