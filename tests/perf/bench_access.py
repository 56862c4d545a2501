"""Access-control benchmark (issue 4, "Performance"): what the visibility filter costs.

    python -m tests.perf.bench_access          # `make bench-access` runs it on the embedded servers

On the CRM benchmark's tenant (`bench`: 1,000,000 contacts, 100,000 organisations, loaded by
`bench.crm` when missing; the run refuses a tenant holding records beyond the load, so every figure
comes from the same data) it builds, once: a 10-level role tree (Organisation > CEO > two branches
of eight levels), 45 members spread over it, 50 groups (members, roles, role subtrees, nested
groups), 20 sharing rules, and spreads record ownership over the members (2% of contacts owned by
groups). Then it makes contacts and organisations private (contacts follow their organisation, as
in vtiger), refreshes the planner's statistics and times, server-side and warm, for an admin (no
filter), a leaf-level member, a manager at the fifth level and a narrow member (a role of its own
below the CEO, owning 2% of the contacts and organisations: sees a few per cent):

- the first contacts list page;
- a deep page (keyset cursor below the 100,000 newest contacts, where the newest rows' owners no
  longer decide anything);
- the detail page of contacts the member sees only through their organisation (the admin opens
  the same contacts);
- global search (surnames of `bench.crm`);
- the API list (`GET /api/v1/contacts/`, token);
- the CSV export of the surname whose contacts come closest to 1,000 rows for the admin.

Each line prints the p50 and p95 and, for members, the ratio of the p50 to the admin's. The run
ends with `visibility_ratio=<worst member p50 / admin p50 over every measurement>` (target <= 2).
Sharing defaults are put back to public at the end, so `bench.crm` measures what it always did.
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
NARROW_ROLE = "Bench narrow"
NARROW_INDEX = 99  # bench-access-99@...: the narrow member
NARROW_SHARE = 0.02
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
    narrow_build(ctx)
    by_role = {m.role.name if m.role else "": m for m in Member.objects.select_related("role", "user")}
    manager = Member.objects.select_related("user").filter(role__name="Sales L5", is_admin=False).first()
    return {
        "leaf-level member (Sales L9)": Member.objects.select_related("user").get(pk=ctx.member.pk),
        "manager (Sales L5)": manager or by_role.get("Sales L5"),
    }


EXPORT_ROWS = 1_000
DEEP_OFFSET = 100_000  # the deep page starts below the 100,000 newest contacts
VIA_PARENT_SAMPLES = 10


def _client_for(ctx: crm.Context, member: Any) -> Any:
    from django.test import Client

    from crm_apps.access.middleware import SESSION_EPOCH_KEY

    client = Client(HTTP_HOST=ctx.host)
    client.force_login(member.user, backend="tenants.auth.EmailBackend")
    session = client.session
    session[SESSION_EPOCH_KEY] = member.session_epoch
    session.save()
    return client


def narrow_build(ctx: crm.Context) -> None:
    """Once: a member who sees a few per cent of the contacts, in a role of its own right below the CEO
    (no subordinates; outside both branches, so no group or sharing rule reaches it), owning NARROW_SHARE of the
    contacts and organisations (taken from their owners by a hash of the id, so every build is alike)."""
    from django.db import connection

    from crm_apps.access.models import Role
    from crm_apps.access.services import member_set_role, role_create

    if Role.objects.filter(name=NARROW_ROLE).exists():
        return
    started = time.monotonic()
    ceo = Role.objects.get(name=MARKER_ROLE)
    role = role_create(
        actor=ctx.admin, name=NARROW_ROLE, parent=ceo, profile_ids=list(ceo.profiles.values_list("pk", flat=True))
    )
    member = member_set_role(actor=ctx.admin, member=_member_for(ctx.tenant, NARROW_INDEX), role=role)
    with connection.cursor() as cursor:
        for table in ("contacts_contact", "organizations_organization"):
            cursor.execute(
                f"UPDATE {table} SET owner_id = %s, owner_group_id = NULL "
                "WHERE abs(hashtext(id::text || 'narrow')) %% 10000 < %s",
                [member.pk, int(NARROW_SHARE * 10000)],
            )
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    log(f"  narrow member built in {time.monotonic() - started:.0f}s")


def narrow_member(ctx: crm.Context, members: dict[str, Any]) -> tuple[str, Any]:
    """The member built by `narrow_build`."""
    from crm_apps.access.models import Member

    member = Member.objects.select_related("user", "role").get(role__name=NARROW_ROLE)
    return f"narrow member ({NARROW_ROLE})", member


def via_parent_ids(member: Any, count: int) -> list[str]:
    """Contacts `member` sees only because they see the contact's organisation."""
    import dataclasses

    from crm_apps.access import visibility
    from crm_apps.access.grants import grants_for
    from crm_apps.engine import registry

    contacts = registry.get("contacts")
    grants = grants_for(member)
    own = dataclasses.replace(grants.sharing["contacts"], follow_parent=False)
    without_parent = dataclasses.replace(grants, sharing={**grants.sharing, "contacts": own})
    own_q = visibility._read_q(without_parent, contacts)
    qs = visibility.visible_records(actor=member, spec=contacts, queryset=contacts.model.objects.all())
    if own_q is not None:
        qs = qs.exclude(own_q)
    ids = [str(pk) for pk in qs.filter(deleted_at__isnull=True).order_by().values_list("pk", flat=True)[:count]]
    if not ids:
        raise crm.BenchError(f"{member} sees no contact only through its organisation")
    return ids


def export_term() -> tuple[str, int]:
    """The surname whose contacts (as the admin sees them) come closest to EXPORT_ROWS rows."""
    from crm_apps.engine import registry, selectors

    contacts = registry.get("contacts").model
    counted = []
    for word in crm.SEARCH_SURNAMES:
        query = selectors.search_query(word)
        n = contacts.objects.filter(deleted_at__isnull=True, search_vector=query).count()
        counted.append((abs(n - EXPORT_ROWS), word, n))
    _distance, word, n = min(counted)
    return word, n


def measure(ctx: crm.Context, members: dict[str, Any], samples: int, warmup: int) -> float:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from crm_apps.access.grants import compute_grants
    from crm_apps.access.models import ApiToken
    from crm_apps.access.services import api_token_create, sharing_default_set
    from crm_apps.engine import registry, selectors

    contacts = registry.get("contacts")

    def show(label: str, values: list[float], extra: str = "") -> float:
        values = sorted(values)
        p95 = values[min(len(values) - 1, round(0.95 * len(values)) - 1)]
        p50 = statistics.median(values)
        log(f"  {label:<52} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   n={len(values)}{extra}")
        return p50

    sharing_default_set(actor=ctx.admin, module="organizations", access="private")
    sharing_default_set(actor=ctx.admin, module="contacts", access="private", superiors_see=True, follow_parent=True)
    tokens: list[Any] = []
    try:
        with connection.cursor() as cursor:
            # Fresh statistics whatever ran before (a load, the ownership spread, another benchmark).
            for table in ("contacts_contact", "organizations_organization"):
                cursor.execute(f"ANALYZE {table}")
        total = contacts.model.objects.filter(deleted_at__isnull=True).count()
        log(f"Contacts and organisations private (contacts follow their organisation); {total:,} contacts")
        label, narrow = narrow_member(ctx, members)
        actors = {"admin": ctx.admin, **members, label: narrow}
        deep_at = (
            contacts.model.objects.filter(deleted_at__isnull=True)
            .order_by("-created_at", "-id")
            .values_list("created_at", "id")[DEEP_OFFSET]
        )
        deep_cursor = selectors._encode(["n", deep_at[0], deep_at[1]])
        word, word_rows = export_term()
        via_parent = {name: via_parent_ids(m, VIA_PARENT_SAMPLES) for name, m in actors.items() if m is not ctx.admin}
        via_parent["admin"] = [pk for ids in via_parent.values() for pk in ids]
        log(
            f"deep page: below the {DEEP_OFFSET:,} newest contacts; export: ?q={word} ({word_rows:,} rows for the "
            f"admin); detail: contacts each member sees only through their organisation; search: "
            + ", ".join(crm.SEARCH_SURNAMES)
        )
        paths: dict[str, Any] = {
            "page 1": lambda i, name: "/m/contacts/",
            "deep page": lambda i, name: f"/m/contacts/?cursor={deep_cursor}",
            "detail via parent": lambda i, name: f"/m/contacts/{via_parent[name][i % len(via_parent[name])]}/",
            "global search": lambda i, name: f"/search/?q={crm.SEARCH_SURNAMES[i % len(crm.SEARCH_SURNAMES)]}",
            "API list": lambda i, name: "/api/v1/contacts/",
            f"export ({word})": lambda i, name: f"/m/contacts/export.csv?q={word}",
        }
        ratios: list[tuple[float, str]] = []
        clients: dict[str, dict[str, Any]] = {}
        for name, member in actors.items():
            t0 = time.perf_counter()
            grants = compute_grants(member)
            cold = (time.perf_counter() - t0) * 1000
            visible = selectors.list_queryset(spec=contacts, actor=member, default_view=False).count()
            log(
                f"{name}: sees {visible:,} contacts ({100 * visible / max(total, 1):.1f}%), "
                f"{len(grants.subordinate_ids)} subordinates, {len(grants.group_ids)} groups; "
                f"grants computed cold in {cold:.1f} ms"
            )
            ApiToken.objects.filter(member=member, name=crm.TOKEN_NAME).delete()
            token, key = api_token_create(member=member, name=crm.TOKEN_NAME)
            tokens.append(token)
            clients[name] = {
                "session": _client_for(ctx, member),
                "api": Client(HTTP_HOST=ctx.host, HTTP_AUTHORIZATION=f"Token {key}"),
            }
        for what, path_of in paths.items():
            # Actors take turns sample by sample: a machine whose load drifts during the run (other
            # processes) weighs on the admin and the members alike, so the ratios do not drift with it.
            log("")
            rows: dict[str, list[int]] = {name: [] for name in actors}

            def call(i: int, name: str, what: str = what, path_of: Any = path_of) -> None:
                client = clients[name]["api" if what == "API list" else "session"]
                path = path_of(i, name)
                response = crm.expect(client.get(path), 200, path)
                if response.streaming:
                    rows[name].append(sum(chunk.count(b"\r\n") for chunk in response.streaming_content) - 1)

            statements: dict[str, int] = {}
            n_warmup = max(warmup, len(crm.SEARCH_SURNAMES)) if what == "global search" else warmup
            for name in actors:
                with CaptureQueriesContext(connection) as captured:
                    call(0, name)
                statements[name] = len(captured.captured_queries)
                for i in range(n_warmup):
                    call(i, name)
            values: dict[str, list[float]] = {name: [] for name in actors}
            for i in range(samples):
                for name in actors:
                    t0 = time.perf_counter()
                    call(i, name)
                    values[name].append((time.perf_counter() - t0) * 1000)
            admin_p50 = 0.0
            for name, member in actors.items():
                extra = f"   {statements[name]} SQL" + (f", {rows[name][-1]:,} rows" if rows[name] else "")
                p50 = show(f"{what}: {name}", values[name], extra)
                if member is ctx.admin:
                    admin_p50 = p50
                else:
                    ratio = p50 / admin_p50
                    ratios.append((ratio, f"{name}: {what}"))
                    log(f"  {'':<52} ratio to admin (p50) {ratio:.2f}")
    finally:
        ApiToken.objects.filter(pk__in=[t.pk for t in tokens]).delete()
        for module in ("contacts", "organizations"):
            sharing_default_set(actor=ctx.admin, module=module, access="public_read_write_delete")
    worst, where = max(ratios)
    log("")
    log(f"worst ratio: {where} ({worst:.2f})")
    return worst


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
                leftovers = {
                    key: spec.model.objects.count() - sizes[key]
                    for key, spec in loader.specs.items()
                    if spec.model.objects.count() != sizes[key]
                }
                if leftovers:
                    # Records beyond the load (an old bench.crm run, a manual test) would decide what the
                    # first pages show, and so what is measured: refuse instead of measuring them.
                    raise crm.BenchError(
                        "the bench tenant holds records beyond the loaded data "
                        + ", ".join(f"{key}: {n:+,}" for key, n in leftovers.items())
                        + f"; drop schema '{crm.SLUG}' (and its tenant) and load again"
                    )
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
