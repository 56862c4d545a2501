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

from crm_apps.access import visibility
from crm_apps.access.models import Role
from crm_apps.access.services import (
    member_set_role,
    profile_save,
    profile_set_modules,
    role_create,
    sharing_default_set,
    sharing_rule_create,
)
from crm_apps.engine import registry
from crm_apps.modules.deals.services import default_pipeline
from tests.access.test_visibility_property import KINDS, Plan, Reference, build_org_chart, plans

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
        count = draw(st.integers(2, 7))
        counts[key] = count
        parent_module = CHAIN[key][1]
        records = []
        for i in range(count):
            # Organisations point at an earlier organisation (no cycles), mostly the one just before, so
            # that chains longer than MAX_PARENT_DEPTH are common; the others at any parent.
            choices = i if key == "organizations" else counts[parent_module]
            if key == "organizations" and i and draw(st.integers(0, 2)):
                parent: int | None = i - 1
            else:
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
        roles, members, groups = build_org_chart(tenant=tenant_a, admin=admin, plan=base, profile=profile, prefix="C")
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


def test_a_chain_of_parents_opens_records_up_to_max_parent_depth_links(tenant_a, admin_of, member):
    """Given organisations A <- B <- C <- D <- E (each the parent of the next), a contact of each and
    a deal of each contact, all private and following their parent, and a rep who owns only A:
    the rep sees what is at most MAX_PARENT_DEPTH (3) links below A, and nothing further."""
    assert visibility.MAX_PARENT_DEPTH == 3
    with chained_modules(), schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        rep, other = member(tenant_a), member(tenant_a)
        for key in MODULES:
            sharing_default_set(actor=admin, module=key, access="private", follow_parent=True)
        pipeline = default_pipeline()
        orgs: list[Any] = []
        for n in range(5):
            owner = rep if n == 0 else other
            orgs.append(_create("organizations", n, {"owner": owner}, orgs[-1] if orgs else None, pipeline))
        contacts = [_create("contacts", n, {"owner": other}, org, pipeline) for n, org in enumerate(orgs)]
        deals = [_create("deals", n, {"owner": other}, contact, pipeline) for n, contact in enumerate(contacts)]

        def seen(key: str, records: list[Any]) -> list[bool]:
            spec = registry.get(key)
            qs = spec.model.objects.filter(pk__in=[r.pk for r in records])
            visible = set(visibility.visible_records(actor=rep, spec=spec, queryset=qs).values_list("pk", flat=True))
            return [r.pk in visible for r in records]

        # Organisation n is n links below A; contact n is n + 1 links; deal n is n + 2 links.
        assert seen("organizations", orgs) == [True, True, True, True, False]
        assert seen("contacts", contacts) == [True, True, True, False, False]
        assert seen("deals", deals) == [True, True, False, False, False]

        # A public parent opens every child that has one; a parent module the rep may not view, none.
        sharing_default_set(actor=admin, module="contacts", access="public_read")
        assert seen("deals", deals) == [True] * 5
        hidden = profile_save(actor=admin, profile=None, name="No contacts", flags={"default_view": True})
        profile_set_modules(
            actor=admin,
            profile=hidden,
            rights={"contacts": {"view": False, "create": False, "edit": False, "delete": False}},
        )
        role = role_create(
            actor=admin, name="No contacts", parent=Role.objects.get(parent__isnull=True), profile_ids=[hidden.pk]
        )
        rep = member_set_role(actor=admin, member=rep, role=role)
        assert seen("deals", deals) == [False] * 5
        assert seen("organizations", orgs) == [True, True, True, True, False]
