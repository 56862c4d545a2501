"""Property test for records visible through their parent (vtiger's related-module sharing), over
chains of parents: deals follow their contact, contacts their organisation, organisations their
parent organisation. Only contacts follow a parent in the shipped modules; the test registers the
other two links for its duration, so chains up to and past MAX_PARENT_DEPTH are exercised.

For random role trees, groups, per-module defaults (private or public, superiors see subordinates
or not, follow the parent or not), per-module sharing rules, modules a profile may not view, the
"view all" privilege and random ownership, `visible_records` must agree with a reference written
here from the rules in crm_apps/access/README.md: a record of a private module is visible when its
owner is "mine" (me, my group, my subordinate), a sharing rule opens it, or the module follows its
parent and the parent record is visible by the same rules, at most MAX_PARENT_DEPTH links up."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
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
    profile_set_modules,
    role_create,
    sharing_default_set,
    sharing_rule_create,
)
from crm_apps.engine import registry
from crm_apps.modules.deals.services import default_pipeline
from tests.access.test_visibility_property import KINDS, Plan, Reference, plans

# module -> (the reference it follows, the module of that reference)
CHAIN = {
    "deals": ("contact", "contacts"),
    "contacts": ("organization", "organizations"),
    "organizations": ("parent", "organizations"),
}
MODULES = ("organizations", "contacts", "deals")


@dataclass
class ModulePlan:
    access: str
    superiors_see: bool
    follow: bool
    view: bool
    rules: list[tuple[str, int, str, int, str]]
    records: list[tuple[tuple[str, int], int | None]]  # (owner, index of the parent record or None)


@dataclass
class ChainPlan:
    base: Plan  # roles, members and groups (its own records, rules and default are not used)
    view_all: bool
    modules: dict[str, ModulePlan]


@st.composite
def chain_plans(draw: st.DrawFn) -> ChainPlan:
    base = draw(plans())
    n_members, n_groups, n_roles = len(base.member_roles), len(base.groups), len(base.parents)

    def owner() -> tuple[str, int]:
        if n_groups and draw(st.integers(0, 4)) == 0:
            return ("group", draw(st.integers(0, n_groups - 1)))
        return ("member", draw(st.integers(0, n_members - 1)))

    def party(kind: str) -> int:
        return draw(st.integers(0, n_groups - 1)) if kind == "group" else draw(st.integers(1, n_roles))

    modules: dict[str, ModulePlan] = {}
    counts: dict[str, int] = {}
    for key in MODULES:
        count = draw(st.integers(2, 6))
        counts[key] = count
        parent_module = CHAIN[key][1]
        records = []
        for i in range(count):
            # Organisations point at an earlier organisation (no cycles); the others at any parent.
            choices = i if key == "organizations" else counts[parent_module]
            parent = draw(st.one_of(st.none(), st.integers(0, choices - 1))) if choices else None
            records.append((owner(), parent))
        rules = []
        for _ in range(draw(st.integers(0, 2))):
            kinds = [k for k in KINDS if k != "group" or n_groups]
            sk, tk = draw(st.sampled_from(kinds)), draw(st.sampled_from(kinds))
            rules.append((sk, party(sk), tk, party(tk), draw(st.sampled_from(["read", "read_write"]))))
        modules[key] = ModulePlan(
            access=draw(st.sampled_from(["private", "private", "private", "public_read"])),
            superiors_see=draw(st.booleans()),
            follow=draw(st.sampled_from([True, True, False])),
            view=draw(st.sampled_from([True, True, True, True, False])),
            rules=rules,
            records=records,
        )
    return ChainPlan(base=base, view_all=draw(st.sampled_from([False] * 7 + [True])), modules=modules)


class ChainReference:
    def __init__(self, plan: ChainPlan) -> None:
        self.plan = plan
        self.by_module = {
            key: Reference(
                dataclasses.replace(plan.base, access=m.access, superiors_see=m.superiors_see, rules=m.rules)
            )
            for key, m in plan.modules.items()
        }

    def visible(self, member: int, module: str, index: int, depth: int = 0) -> bool:
        config = self.plan.modules[module]
        if not config.view:
            return False
        if self.plan.view_all or config.access != "private":
            return True
        owner, parent = config.records[index]
        reference = self.by_module[module]
        if reference.ownerlike(member, owner) or reference.shared(member, owner, write=False):
            return True
        if config.follow and parent is not None and depth < visibility.MAX_PARENT_DEPTH:
            return self.visible(member, CHAIN[module][1], parent, depth + 1)
        return False


@contextmanager
def chained_modules() -> Iterator[None]:
    """Deals follow their contact and organisations their parent organisation, for this test only."""
    saved = {key: registry.get(key) for key in MODULES}
    try:
        for key in ("deals", "organizations"):
            registry._REGISTRY[key] = dataclasses.replace(
                saved[key], sharing_parent=CHAIN[key][0], sharing_follows_parent=True
            )
        yield
    finally:
        registry._REGISTRY.update(saved)


def _create(key: str, n: int, owner: dict[str, Any], parent: Any, pipeline: Any) -> Any:
    model = registry.get(key).model
    link = {CHAIN[key][0]: parent} if parent is not None else {}
    if key == "organizations":
        return model.objects.create(name=f"Chain org {n}", number=f"CO{n}", **owner, **link)
    if key == "contacts":
        return model.objects.create(last_name=f"Chain contact {n}", number=f"CC{n}", **owner, **link)
    return model.objects.create(
        name=f"Chain deal {n}",
        number=f"CD{n}",
        pipeline=pipeline,
        stage=pipeline.stages.order_by("position").first(),
        close_date=dt.date(2030, 1, 1),
        **owner,
        **link,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=chain_plans())
def test_visibility_through_parent_chains_matches_the_reference(tenant_a, admin_of, plan):
    base = plan.base
    wrong: list[str] = []
    with chained_modules(), schema_context(tenant_a.schema_name), transaction.atomic():
        admin = admin_of(tenant_a)
        profile = profile_save(
            actor=admin,
            profile=None,
            name="Chains",
            flags={
                "default_view": True,
                "default_create": True,
                "default_edit": True,
                "default_delete": True,
                "view_all": plan.view_all,
            },
        )
        hidden = {key: {"view": False, "create": False, "edit": False, "delete": False} for key in MODULES}
        profile_set_modules(
            actor=admin, profile=profile, rights={k: v for k, v in hidden.items() if not plan.modules[k].view}
        )
        roles = [Role.objects.get(parent__isnull=True)]
        for i, parent in enumerate(base.parents):
            roles.append(role_create(actor=admin, name=f"C{i}", parent=roles[parent], profile_ids=[profile.pk]))
        members = []
        for role_index in base.member_roles:
            m = member_create(tenant=tenant_a, user=make_user())
            members.append(member_set_role(actor=admin, member=m, role=roles[role_index]))
        groups: list[Any] = []
        for j, g in enumerate(base.groups):
            groups.append(
                group_save(
                    actor=admin,
                    group=None,
                    name=f"CG{j}",
                    member_ids=[members[i].pk for i in g["members"]],
                    role_ids=[roles[r].pk for r in g["roles"]],
                    role_tree_ids=[roles[r].pk for r in g["trees"]],
                    subgroup_ids=[groups[s].pk for s in g["subgroups"]],
                )
            )
        pipeline = default_pipeline()
        records: dict[str, list[Any]] = {}
        for key in MODULES:
            config = plan.modules[key]
            sharing_default_set(
                actor=admin,
                module=key,
                access=config.access,
                superiors_see=config.superiors_see,
                follow_parent=config.follow,
            )
            for sk, sp, tk, tp, access in config.rules:
                sharing_rule_create(
                    actor=admin,
                    module=key,
                    access=access,
                    source_kind=sk,
                    source_id=(groups[sp] if sk == "group" else roles[sp]).pk,
                    target_kind=tk,
                    target_id=(groups[tp] if tk == "group" else roles[tp]).pk,
                )
            created = records.setdefault(key, [])
            parents = records.get(CHAIN[key][1], [])
            for n, ((kind, index), parent) in enumerate(config.records):
                owner = {"owner": members[index]} if kind == "member" else {"owner_group": groups[index]}
                created.append(_create(key, n, owner, parents[parent] if parent is not None else None, pipeline))
        reference = ChainReference(plan)
        for i, m in enumerate(members):
            for key in MODULES:
                spec = registry.get(key)
                ids = [r.pk for r in records[key]]
                visible = set(
                    visibility.visible_records(
                        actor=m, spec=spec, queryset=spec.model.objects.filter(pk__in=ids)
                    ).values_list("pk", flat=True)
                )
                for n, record in enumerate(records[key]):
                    got, want = record.pk in visible, reference.visible(i, key, n)
                    if got != want:
                        wrong.append(f"member {i} (role {base.member_roles[i]}), {key} #{n}: {got} != {want}")
        transaction.set_rollback(True)
    assert not wrong, "\n".join(wrong) + f"\n{plan}"
