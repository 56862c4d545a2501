"""Access-control benchmark (issue 4, "Performance"): what the visibility filter costs.

    python -m tests.perf.bench_access          # `make bench-access` runs it on the embedded servers

On the CRM benchmark's tenant (`bench`: 1,000,000 contacts, 100,000 organisations, loaded by
`bench.crm` when missing) it builds, once: a 10-level role tree (Organisation > CEO > two branches
of eight levels), 45 members spread over it, 50 groups (members, roles, role subtrees, nested
groups), 20 sharing rules, and spreads record ownership over the members (2% of contacts owned by
groups). Then it makes contacts and organisations private (contacts follow their organisation, as
in vtiger) and times the first contacts list page, server-side and warm, for an admin (no filter)
and for non-admin members at two places in the tree. It prints both timings and ends with
`visibility_ratio=<member time / admin time>` (medians; the worst member). Sharing defaults are put
back to public at the end, so `bench.crm` measures what it always did.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from bench import crm

LEVELS = 8  # per branch, below the CEO: Organisation + CEO + 8 = a 10-level tree
BRANCHES = ("Sales", "Service")
EXTRA_MEMBERS = 40
GROUPS = 50
RULES = 20
GROUP_OWNED_SHARE = 0.02
MARKER_ROLE = "Bench CEO"
log = crm.log


def _member_for(tenant: Any, index: int) -> Any:
    from crm_apps.access.services import member_create
    from tenants.models import User

    email = f"bench-access-{index:02d}@bench.example.com"
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        email, crm.PASSWORD, name=f"Access Member {index:02d}"
    )
    return member_create(tenant=tenant, user=user, is_admin=False)


def build(ctx: crm.Context) -> dict[str, Any]:
    """Create the roles, members, groups and rules once; return the members to measure as."""
    from django.db import connection

    from crm_apps.access.models import Group, Member, Profile, Role, SharingRule
    from crm_apps.access.services import group_save, member_set_role, role_create, sharing_rule_create
    from crm_apps.engine import registry

    admin = ctx.admin
    rng = random.Random(4)
    top = Role.objects.get(parent__isnull=True)
    sales = Profile.objects.get(name="Sales")
    if not Role.objects.filter(name=MARKER_ROLE).exists():
        started = time.monotonic()
        ceo = role_create(actor=admin, name=MARKER_ROLE, parent=top, profile_ids=[sales.pk])
        for branch in BRANCHES:
            parent = ceo
            for level in range(3, 3 + LEVELS):
                parent = role_create(actor=admin, name=f"{branch} L{level}", parent=parent, profile_ids=[sales.pk])
        branch_roles = list(Role.objects.filter(name__regex=r"^(Sales|Service) L\d+$").order_by("pk"))
        members = [_member_for(ctx.tenant, i) for i in range(EXTRA_MEMBERS)]
        for i, m in enumerate(members):
            member_set_role(actor=admin, member=m, role=branch_roles[i % len(branch_roles)])
        by_name = {r.name: r for r in branch_roles}
        member_set_role(actor=admin, member=ctx.member, role=by_name["Sales L9"])
        colleagues = [m for m in ctx.owners if m.pk not in (admin.pk, ctx.member.pk)]
        for m, role in zip(colleagues, ("Sales L10", "Sales L9", "Service L6"), strict=False):
            member_set_role(actor=admin, member=m, role=by_name[role])
        everyone = list(Member.objects.filter(active=True, is_admin=False))
        groups: list[Group] = []
        for g in range(GROUPS):
            picked = rng.sample(everyone, rng.randint(2, 4))
            if g < 2:
                picked.append(ctx.member)
            groups.append(
                group_save(
                    actor=admin,
                    group=None,
                    name=f"Bench group {g:02d}",
                    member_ids=[m.pk for m in picked],
                    role_ids=[rng.choice(branch_roles).pk] if g % 5 == 0 else [],
                    role_tree_ids=[rng.choice(branch_roles).pk] if g % 7 == 0 else [],
                    subgroup_ids=[groups[g - 1].pk] if g % 10 == 9 else [],
                )
            )
        modules = [s.key for s in registry.all_specs()]
        kinds = ("role", "role_sub", "group")
        # One rule opens a peer branch's contacts to the measured member's role; the rest are random.
        sharing_rule_create(
            actor=admin,
            module="contacts",
            source_kind="role",
            source_id=by_name["Service L8"].pk,
            target_kind="role",
            target_id=by_name["Sales L9"].pk,
            access="read",
        )
        while SharingRule.objects.count() < RULES:
            source_kind, target_kind = rng.choice(kinds), rng.choice(kinds)
            sharing_rule_create(
                actor=admin,
                module="contacts" if SharingRule.objects.count() < RULES // 2 else rng.choice(modules),
                source_kind=source_kind,
                source_id=(rng.choice(groups) if source_kind == "group" else rng.choice(branch_roles)).pk,
                target_kind=target_kind,
                target_id=(rng.choice(groups) if target_kind == "group" else rng.choice(branch_roles)).pk,
                access=rng.choice(("read", "read_write")),
            )
        owners = [m.pk for m in Member.objects.filter(active=True).exclude(pk=admin.pk).order_by("pk")]
        group_ids = [g.pk for g in groups]
        log(f"  spreading ownership of contacts and organisations over {len(owners)} members ...")
        with connection.cursor() as cursor:
            for table in ("contacts_contact", "organizations_organization"):
                cursor.execute(
                    f"UPDATE {table} SET owner_id = (%s::int[])[1 + abs(hashtext(id::text)) %% %s], "
                    "owner_group_id = NULL",
                    [owners, len(owners)],
                )
                cursor.execute(
                    f"UPDATE {table} SET owner_id = NULL, "
                    "owner_group_id = (%s::int[])[1 + abs(hashtext(id::text || 'g')) %% %s] "
                    "WHERE abs(hashtext(id::text || 's')) %% 10000 < %s",
                    [group_ids, len(group_ids), int(GROUP_OWNED_SHARE * 10000)],
                )
                # The update left a dead copy of every row; clean up now so both benchmarks see a tidy table.
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        log(f"  access structure built in {time.monotonic() - started:.0f}s")
    by_role = {m.role.name if m.role else "": m for m in Member.objects.select_related("role", "user")}
    manager = Member.objects.select_related("user").filter(role__name="Sales L5", is_admin=False).first()
    return {
        "leaf-level member (Sales L9)": Member.objects.select_related("user").get(pk=ctx.member.pk),
        "manager (Sales L5)": manager or by_role.get("Sales L5"),
    }


def measure(ctx: crm.Context, members: dict[str, Any], samples: int, warmup: int) -> float:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from crm_apps.access.grants import compute_grants
    from crm_apps.access.services import sharing_default_set
    from crm_apps.engine import registry, selectors

    path = "/m/contacts/"
    contacts = registry.get("contacts")

    def client_for(member: Any) -> Client:
        from crm_apps.access.middleware import SESSION_EPOCH_KEY

        client = Client(HTTP_HOST=ctx.host)
        client.force_login(member.user, backend="tenants.auth.EmailBackend")
        session = client.session
        session[SESSION_EPOCH_KEY] = member.session_epoch
        session.save()
        return client

    def timings(client: Client) -> list[float]:
        for _ in range(warmup):
            crm.expect(client.get(path), 200, path)
        values = []
        for _ in range(samples):
            t0 = time.perf_counter()
            crm.expect(client.get(path), 200, path)
            values.append((time.perf_counter() - t0) * 1000)
        return values

    def show(label: str, values: list[float]) -> None:
        values = sorted(values)
        p95 = values[min(len(values) - 1, round(0.95 * len(values)) - 1)]
        log(f"  {label:<44} p50 {statistics.median(values):8.2f} ms   p95 {p95:8.2f} ms   n={len(values)}")

    sharing_default_set(actor=ctx.admin, module="organizations", access="private")
    sharing_default_set(actor=ctx.admin, module="contacts", access="private", superiors_see=True, follow_parent=True)
    try:
        total = contacts.model.objects.filter(deleted_at__isnull=True).count()
        log(f"Contacts and organisations private (contacts follow their organisation); {total:,} contacts")
        admin_client = client_for(ctx.admin)
        admin_times = timings(admin_client)
        show(f"admin: GET {path}", admin_times)
        with CaptureQueriesContext(connection) as captured:
            admin_client.get(path)
        log(f"  {'SQL statements (admin)':<44} {len(captured.captured_queries)}")
        ratios = []
        for label, member in members.items():
            t0 = time.perf_counter()
            grants = compute_grants(member)
            cold = (time.perf_counter() - t0) * 1000
            visible = selectors.list_queryset(spec=contacts, actor=member, default_view=False).count()
            client = client_for(member)
            member_times = timings(client)
            show(f"{label}: GET {path}", member_times)
            with CaptureQueriesContext(connection) as captured:
                client.get(path)
            log(
                f"  {'':<44} sees {visible:,} contacts ({100 * visible / max(total, 1):.1f}%), "
                f"{len(grants.subordinate_ids)} subordinates, {len(grants.group_ids)} groups; "
                f"{len(captured.captured_queries)} SQL statements; grants computed cold in {cold:.1f} ms"
            )
            ratio = statistics.median(member_times) / statistics.median(admin_times)
            log(f"  {'':<44} ratio to admin (medians) {ratio:.2f}")
            ratios.append(ratio)
    finally:
        for module in ("contacts", "organizations"):
            sharing_default_set(actor=ctx.admin, module=module, access="public_read_write_delete")
    return max(ratios)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.bench_access", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/20 of the data if it must be loaded (development)")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crm-bench-static-") as static_root:
        crm.django_setup(None if os.environ.get("STATIC_ROOT") else static_root)
        from django_tenants.utils import schema_context

        try:
            ctx = crm.tenant_prepare()
            with schema_context(crm.SLUG):
                sizes = {k: v // crm.QUICK_DIVISOR if args.quick else v for k, v in crm.FULL_SIZE.items()}
                loader = crm.Loader(ctx, sizes)
                log("Loading data (reused when present):")
                loader.run()
                log("Access structure (built once, reused):")
                members = build(ctx)
                ratio = measure(ctx, members, args.samples, args.warmup)
        except crm.BenchError as exc:
            log(f"benchmark failed: {exc}")
            return 1
    log(f"target: member time <= 2x admin time -> {'met' if ratio <= 2 else 'MISSED'}")
    log(f"visibility_ratio={ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
