"""Tenancy at scale benchmark (issue 7): provisioning, routing overhead, migrations across many tenants.

    python -m tests.perf.bench_tenancy            # provisioning with 10 and 2,000 tenants; routing and
                                                  # migrations with 1,000
    python -m tests.perf.bench_tenancy --quick    # 10 and 200; routing and migrations with 100 (development)
    python -m tests.perf.bench_tenancy --check-at 5000   # then provisioning and routing again at 5,000

`make bench-tenancy` runs it on the embedded servers. It works in a database of its own, named after
DATABASE_URL's with `_bench_tenancy` appended, created at the start and dropped at the end (`--keep`
keeps it), so your data is never touched.

One sample = what a signup waits for after its form was validated and its user row written:
`tenant_provision` (schema, tenant and domain rows, CRM defaults, the admin member, committed), the
hand-over key, and the first page: the hand-over GET through Django's test client, followed to the
home page (200). Paths, measured in the same run, one block each:

- pool: a ready pool schema is claimed and renamed (tenants/pool.py) - the new path;
- template copy: the pool is empty, the template schema is copied (tenants/schema_clone.py);
- stock: django-tenants' own creation, `Tenant.save()` with `auto_create_schema` (CREATE SCHEMA and
  every migration through `migrate_schemas`), then the same domain, defaults, member and first page.

Each sample's tenant is deleted (schema dropped) afterwards, untimed, so the count stays put. The
background tenants are copies of one fully provisioned tenant (same tables, indexes, triggers,
defaults and admin member as a signup gives, so the catalogs are as large as with real tenants),
with their tenant, domain and directory rows. Pool schemas for the samples are copies of the
template, registered as the filler would register them: a claim only renames a schema, and
tenants/tests/test_schema_clone.py shows a copy equals a migrated schema. Password hashing (the
user row) is left out: it costs the same whatever creates the schema.

Routing (tests/perf/bench_routing.py) and migrations (tests/perf/bench_migrate.py) run once the database
holds 1,000 tenants (100 with --quick), before it grows further.

Ends with `provisioning_p95_ms=<pool path, largest tenant count>`,
`provisioning_stock_p95_ms=<stock, same tenant count>`, `routing_ratio=<multi-tenant / single-tenant
requests per second>`, `migrate_speedup=<stock migrate_schemas time / migrate_tenants time>` and
`worker_rss_growth_mb=<growth of a gunicorn worker serving every tenant round-robin>`.
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.crm import log, percentile

TARGET_P95_MS = 300
FULL_SIZES = (10, 2_000)
QUICK_SIZES = (10, 200)
# Tenants the routing and migration benchmarks run with (the database is grown to it first).
FULL_SPREAD = 1_000
QUICK_SPREAD = 100
TARGET_ROUTING_RATIO = 0.95
TARGET_RSS_GROWTH_MB = 30
TARGET_MIGRATE_SPEEDUP = 10
SEED_RECORDS = 25
DB_SUFFIX = "_bench_tenancy"
PREFIX = "bt"  # every schema this benchmark creates starts with it (cache keys too)
PASSWORD = "bench-tenancy-not-a-secret"
# Copies per transaction: each copy locks its ~300 new relations, and a transaction holds its locks to
# the end (PostgreSQL's default lock table fits about 6,400).
CLONE_BATCH = 5


def bench_database_url(url: str) -> tuple[str, str, str]:
    """(the benchmark's DATABASE_URL, its database name, a URL of the server's maintenance database)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "crm"
    bench_name = f"{name}{DB_SUFFIX}"
    bench = urlunsplit(parts._replace(path=f"/{bench_name}"))
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    return bench, bench_name, maintenance


def _psycopg_url(url: str) -> str:
    return "postgresql" + url[len("postgres") :] if url.startswith("postgres://") else url


def database_create(maintenance: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_url(maintenance), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(maintenance: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_url(maintenance), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Samples:
    total: list[float] = field(default_factory=list)
    provision: list[float] = field(default_factory=list)
    page: list[float] = field(default_factory=list)

    def p(self, q: float) -> float:
        return percentile(self.total, q)


@dataclass
class World:
    """What the samples need: the admin user, a counter for unique slugs, the template's copy plan."""

    admin: Any
    template_plan: Any
    client: Any
    seq: int = 0

    def slug(self, kind: str) -> str:
        self.seq += 1
        return f"{PREFIX}-{kind}-{self.seq:05d}"


def catalog_figures() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_namespace), (SELECT count(*) FROM pg_class),"
            " (SELECT count(*) FROM pg_attribute), pg_size_pretty(pg_database_size(current_database()))"
        )
        namespaces, classes, attributes, size = cursor.fetchone()
    return f"{namespaces:,} schemas, {classes:,} pg_class rows, {attributes:,} pg_attribute rows, database {size}"


def background_grow(world: World, seed_slug: str, target: int) -> None:
    """Add copies of the seed tenant until `target` tenants exist (CLONE_BATCH per transaction)."""
    from django.conf import settings
    from django.db import connection, transaction

    from tenants.models import Domain, Tenant, WorkspaceMembership
    from tenants.runtime import use_public_schema
    from tenants.schema_clone import schema_clone, schema_clone_plan

    use_public_schema()
    plan = schema_clone_plan(source=seed_slug)
    have = start = Tenant.objects.count()
    started = time.monotonic()
    while have < target:
        batch = min(CLONE_BATCH, target - have)
        with transaction.atomic():
            with connection.cursor() as cursor:  # a benchmark database: no need to wait for each WAL flush
                cursor.execute("SET LOCAL synchronous_commit = off")
            tenants = []
            for _ in range(batch):
                slug = world.slug("bg")
                schema_clone(plan=plan, target=slug)
                tenants.append(Tenant(schema_name=slug, name=f"Background {slug}"))
            Tenant.objects.bulk_create(tenants)
            Domain.objects.bulk_create(
                Domain(domain=f"{t.schema_name}.{settings.BASE_DOMAIN}", tenant=t, is_primary=True) for t in tenants
            )
            WorkspaceMembership.objects.bulk_create(WorkspaceMembership(user=world.admin, tenant=t) for t in tenants)
        have += batch
        if have % 250 < batch or have == target:
            rate = (time.monotonic() - started) / max(1, have - start)
            log(f"  {have:,} tenants ({rate * 1000:.0f} ms per copy)")


def pool_stock(world: World, count: int) -> None:
    """Put `count` ready schemas in the pool: copies of the template, registered as the filler does."""
    from django.db import transaction

    from tenants.models import PoolSchema
    from tenants.pool import POOL_PREFIX, migration_fingerprint
    from tenants.runtime import use_public_schema
    from tenants.schema_clone import schema_clone

    use_public_schema()
    for _ in range(count):
        name = f"{POOL_PREFIX}{secrets.token_hex(6)}"
        with transaction.atomic():
            schema_clone(plan=world.template_plan, target=name)
            PoolSchema.objects.create(name=name, fingerprint=migration_fingerprint())


def pool_hide(hidden: bool) -> None:
    """Make the ready pool schemas unclaimable (template-copy samples) or claimable again."""
    from tenants.models import PoolSchema

    if hidden:
        PoolSchema.objects.filter(claimed_at__isnull=True, is_template=False).update(fingerprint="hidden")
    else:
        from tenants.pool import migration_fingerprint

        PoolSchema.objects.filter(claimed_at__isnull=True, fingerprint="hidden").update(
            fingerprint=migration_fingerprint()
        )


def first_page(client: Any, slug: str, user: Any, tenant: Any) -> None:
    """The hand-over GET, followed to the home page, as a browser does right after signing up. One test
    client serves every sample, as one web process serves every request (a new client would load the
    middleware again, which a running server does not)."""
    from django.conf import settings

    from tenants.services import handover_create

    key = handover_create(user=user, tenant=tenant)
    client.cookies.clear()
    response = client.get(f"/auth/handover/{key}/", follow=True, HTTP_HOST=f"{slug}.{settings.BASE_DOMAIN}")
    if response.status_code != 200 or response.redirect_chain[-1][0] != "/":
        raise RuntimeError(f"{slug}: first page answered {response.status_code} {response.redirect_chain}")


def sample(world: World, path: str, into: Samples | None) -> None:
    """Create one tenant by `path` ("pool", "copy" or "stock"), time it, delete it."""
    from django.conf import settings
    from django.db import transaction
    from django_tenants.utils import schema_context

    from crm_apps.access.services import member_create
    from crm_apps.engine.defaults import crm_defaults_install
    from tenants.models import Domain, PoolSchema, Tenant
    from tenants.runtime import forget_domains, use_public_schema
    from tenants.services import tenant_delete, tenant_provision

    slug = world.slug(path)
    use_public_schema()
    started = time.perf_counter()
    if path == "stock":
        tenant = Tenant(schema_name=slug, name="Stock Co")
        tenant.auto_create_schema = True  # django-tenants: CREATE SCHEMA + migrate_schemas in save()
        tenant.save(verbosity=0)
        use_public_schema()
        with transaction.atomic():
            Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True)
            with schema_context(slug):
                member_create(tenant=tenant, user=world.admin, is_admin=True)
                crm_defaults_install()
        forget_domains()
    else:
        tenant = tenant_provision(slug=slug, name="Pooled Co", admin=world.admin)
    provisioned = time.perf_counter()
    first_page(world.client, slug, world.admin, tenant)
    done = time.perf_counter()
    use_public_schema()
    claimed = PoolSchema.objects.filter(claimed_as=slug).exists()
    if claimed != (path == "pool"):
        raise RuntimeError(f"{slug}: expected the {path} path, pool claim={claimed}")
    if into is not None:
        into.total.append((done - started) * 1000)
        into.provision.append((provisioned - started) * 1000)
        into.page.append((done - provisioned) * 1000)
    tenant_delete(tenant=tenant, drop_schema=True)


def measure(world: World, size: int, counts: dict[str, int]) -> dict[str, Samples]:
    """Each path in a block of its own (one untimed warm-up first), pool first: a stock sample churns
    the catalogs (hundreds of relations created and dropped), which would only add noise to the
    pool's samples if they were interleaved."""
    from tenants.models import Tenant

    log(f"With {Tenant.objects.count():,} tenants: {catalog_figures()}")
    results = {path: Samples() for path in counts}
    pool_stock(world, counts.get("pool", 0) + 1)
    gc.collect()
    gc.freeze()  # as bench.crm: long-lived objects out of the collector's way
    for path, n in counts.items():
        pool_hide(path != "pool")
        sample(world, path, None)
        for _ in range(n):
            sample(world, path, results[path])
    pool_hide(False)
    gc.unfreeze()
    for path, s in results.items():
        log(
            f"  {size:>6,}  {path:<14} n={len(s.total):<3} p50 {s.p(50):8.1f}  p95 {s.p(95):8.1f}"
            f"  max {max(s.total):8.1f}   (provision p50 {statistics.median(s.provision):7.1f},"
            f" first page p50 {statistics.median(s.page):6.1f})"
        )
    return results


def seed_records(slug: str) -> None:
    """SEED_RECORDS organisations in the seed tenant: every background tenant (a copy) has them, and the
    routing benchmark lists them."""
    from django_tenants.utils import schema_context

    from crm_apps.access.models import Member
    from crm_apps.modules.organizations.models import Organization

    with schema_context(slug):
        owner = Member.objects.order_by("id").first()
        Organization.objects.bulk_create(
            Organization(number=f"ORG-B{i:04d}", owner=owner, name=f"Organisation {i}", email=f"org{i}@bench.example")
            for i in range(SEED_RECORDS)
        )


def single_schema_create(seed_slug: str) -> None:
    """The single-tenant baseline's schema (routing_settings_single.SINGLE_SCHEMA): a copy of the seed."""
    from django.db import transaction

    from tenants.schema_clone import schema_clone, schema_clone_plan
    from tests.perf.routing_settings_single import SINGLE_SCHEMA

    with transaction.atomic():
        schema_clone(plan=schema_clone_plan(source=seed_slug), target=SINGLE_SCHEMA)


@dataclass
class Results:
    provisioning: dict[int, dict[str, Samples]]
    routing: Any = None
    migrate: Any = None
    # --check-at: provisioning and routing (over the first `spread` tenants) once the database is larger.
    large_size: int = 0
    large_provisioning: dict[str, Samples] = field(default_factory=dict)
    large_routing: Any = None


def spread_benchmarks(args: argparse.Namespace, results: Results) -> None:
    from django.conf import settings
    from django.db import connections

    from tenants.models import Tenant
    from tests.perf.bench_migrate import migrate_measure
    from tests.perf.bench_routing import routing_measure

    hosts = [
        f"{s}.{settings.BASE_DOMAIN}"
        for s in Tenant.objects.order_by("schema_name").values_list("schema_name", flat=True)
    ]
    if "routing" not in args.skip:
        log(f"Routing: gunicorn, 2 workers, 8 clients, {len(hosts):,} tenants vs single-tenant Django ...")
        connections.close_all()
        results.routing = routing_measure(
            database_url=os.environ["DATABASE_URL"],
            hosts=hosts,
            rounds=args.routing_rounds,
            seconds=args.routing_seconds,
        )
    if "migrate" not in args.skip:
        log(f"Migrations: one additive migration over {len(hosts):,} tenant schemas, stock vs migrate_tenants ...")
        results.migrate = migrate_measure(jobs=args.migrate_jobs)


def run(args: argparse.Namespace) -> Results:
    from django.core.management import call_command
    from django.test import Client

    from tenants.models import User
    from tenants.pool import TEMPLATE_NAME, pool_template_ensure
    from tenants.runtime import use_public_schema
    from tenants.schema_clone import schema_clone_plan
    from tenants.services import tenant_provision

    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    counts = {"pool": args.samples, "copy": args.copy_samples, "stock": args.stock_samples}
    started = time.monotonic()
    call_command("migrate_schemas", "--shared", verbosity=0)
    use_public_schema()
    log("Template schema (one migration run) ...")
    pool_template_ensure()
    admin = User.objects.create_user("bench-tenancy@bench.example.com", PASSWORD, name="Bench Tenancy")
    world = World(admin=admin, template_plan=schema_clone_plan(source=TEMPLATE_NAME), client=Client())
    seed = world.slug("bg")
    tenant_provision(slug=seed, name="Background seed", admin=admin)  # pool empty: a copy of the template
    seed_records(seed)
    single_schema_create(seed)
    log(f"Setup {time.monotonic() - started:.0f}s")
    results = Results(provisioning={})
    spread = args.spread or (QUICK_SPREAD if args.quick else FULL_SPREAD)
    for size in sorted({spread} if args.no_provisioning else {*sizes, spread}):
        log(f"Growing to {size:,} tenants (copies of a provisioned tenant) ...")
        background_grow(world, seed, size)
        if size in sizes and not args.no_provisioning:
            results.provisioning[size] = measure(world, size, counts)
        if size == spread:
            spread_benchmarks(args, results)
    if args.check_at:
        check_at(args, world, seed, spread, results)
    return results


def check_at(args: argparse.Namespace, world: World, seed: str, spread: int, results: Results) -> None:
    """Targets 1 and 2 again with `args.check_at` tenants in the database (issue 7 part 4): provisioning,
    and routing over `spread` of them."""
    from django.conf import settings
    from django.db import connections

    from tenants.models import Tenant
    from tests.perf.bench_routing import routing_measure

    size = args.check_at
    log(f"Growing to {size:,} tenants (copies of a provisioned tenant) ...")
    background_grow(world, seed, size)
    results.large_size = size
    counts = {"pool": args.samples, "copy": args.copy_samples, "stock": args.stock_samples}
    results.large_provisioning = measure(world, size, counts)
    hosts = [
        f"{s}.{settings.BASE_DOMAIN}"
        for s in Tenant.objects.order_by("schema_name").values_list("schema_name", flat=True)[:spread]
    ]
    log(f"Routing with {size:,} tenants in the database: {len(hosts):,} of them vs single-tenant Django ...")
    connections.close_all()
    results.large_routing = routing_measure(
        database_url=os.environ["DATABASE_URL"], hosts=hosts, rounds=args.routing_rounds, seconds=args.routing_seconds
    )


def provisioning_report(results: dict[int, dict[str, Samples]]) -> tuple[float, float]:
    """Print the provisioning table; (pool p95, stock p95) at the largest size."""
    largest = max(results)
    log("")
    log(f"Provisioning, signup call to first page served (ms), target p95 <= {TARGET_P95_MS} ms at every size:")
    log(f"  {'tenants':>7}  {'path':<14} {'p50':>8} {'p95':>8}")
    for size, by_path in results.items():
        for path, s in by_path.items():
            log(f"  {size:>7,}  {path:<14} {s.p(50):8.1f} {s.p(95):8.1f}")
    for size, by_path in results.items():
        p95 = by_path["pool"].p(95)
        log(f"  pool p95 with {size:,} tenants: {p95:.1f} ms -> {'met' if p95 <= TARGET_P95_MS else 'MISSED'}")
    pool = results[largest]["pool"]
    stock = results[largest]["stock"]
    log(f"  stock / pool p50 with {largest:,} tenants: {stock.p(50) / pool.p(50):.0f}x")
    return pool.p(95), stock.p(95)


def report(everything: Results) -> None:
    pool_p95, stock_p95 = float("nan"), float("nan")
    if everything.provisioning:
        pool_p95, stock_p95 = provisioning_report(everything.provisioning)
    routing, migrate = everything.routing, everything.migrate
    if routing is not None:
        log(
            f"Routing over {routing.tenants:,} tenants: {routing.tenant_rps:.1f} req/s vs single-tenant"
            f" {routing.single_rps:.1f} on average ({routing.ratio_of_means:.3f}); median of the rounds' ratios"
            f" {routing.ratio:.3f} (target >= {TARGET_ROUTING_RATIO})"
        )
        log(f"Worker RSS growth: {routing.rss_growth_mb:.1f} MB (target <= {TARGET_RSS_GROWTH_MB})")
    if migrate is not None:
        log(
            f"Migrations over {migrate.schemas:,} schemas: stock {migrate.stock_s:.1f} s, migrate_tenants"
            f" {migrate.fast_s:.2f} s -> {migrate.speedup:.1f}x (target >= {TARGET_MIGRATE_SPEEDUP})"
        )
    if everything.large_size:
        size = everything.large_size
        pool, stock = everything.large_provisioning["pool"], everything.large_provisioning["stock"]
        large_routing = everything.large_routing
        log(
            f"With {size:,} tenants: provisioning p95 {pool.p(95):.1f} ms (stock {stock.p(95):.1f});"
            f" routing over {large_routing.tenants:,} of them {large_routing.ratio:.3f}"
            f" (ratio of means {large_routing.ratio_of_means:.3f})"
        )
    nan = float("nan")
    log(f"provisioning_p95_ms={pool_p95:.1f}")
    log(f"provisioning_stock_p95_ms={stock_p95:.1f}")
    log(f"routing_ratio={routing.ratio if routing is not None else nan:.3f}")
    log(f"migrate_speedup={migrate.speedup if migrate is not None else nan:.1f}")
    log(f"worker_rss_growth_mb={routing.rss_growth_mb if routing is not None else nan:.1f}")
    if everything.large_size:
        size = everything.large_size
        log(f"provisioning_p95_ms_at_{size}={everything.large_provisioning['pool'].p(95):.1f}")
        log(f"provisioning_stock_p95_ms_at_{size}={everything.large_provisioning['stock'].p(95):.1f}")
        log(f"routing_ratio_at_{size}={everything.large_routing.ratio:.3f}")


def cache_forget() -> None:
    """Drop the cache keys of every schema this run created (they are prefixed with the schema)."""
    from django.core.cache import cache

    try:
        client = cache._cache.get_client()  # type: ignore[attr-defined]
        patterns = (f"{PREFIX}-*", f"{PREFIX}_*", "pool_*", "tenancy:domain-generation:*_bench_tenancy")
        keys = [k for pattern in patterns for k in client.scan_iter(match=pattern, count=1000)]
        if keys:
            client.delete(*keys)
    except Exception as exc:  # the benchmark's figures are printed already
        log(f"could not clear the benchmark's cache keys: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.bench_tenancy", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    parser.add_argument("--quick", action="store_true", help="10 and 200 tenants, fewer samples (development)")
    parser.add_argument("--samples", type=int, default=None, help="pool-path samples per size (default 30, quick 15)")
    parser.add_argument("--stock-samples", type=int, default=None, help="stock samples per size (default 10, quick 5)")
    parser.add_argument("--copy-samples", type=int, default=None, help="template-copy samples (default 5, quick 3)")
    parser.add_argument("--routing-rounds", type=int, default=None, help="throughput rounds per config (7, quick 3)")
    parser.add_argument("--routing-seconds", type=float, default=None, help="seconds per round (8, quick 4)")
    parser.add_argument("--migrate-jobs", type=int, default=4, help="connections of migrate_tenants (default 4)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--no-provisioning",
        action="store_true",
        help="routing and migrations only (development; no provisioning lines)",
    )
    parser.add_argument(
        "--spread",
        type=int,
        default=None,
        help="tenants in the database for routing and migrations (default 1,000, quick 100)",
    )
    parser.add_argument(
        "--check-at",
        type=int,
        default=0,
        help="then grow to this many tenants (e.g. 5000) and measure provisioning and routing again",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["routing", "migrate"],
        help="leave out a part (development; repeatable)",
    )
    args = parser.parse_args(argv)
    args.samples = args.samples or (15 if args.quick else 30)
    args.stock_samples = args.stock_samples or (5 if args.quick else 10)
    args.copy_samples = args.copy_samples or (3 if args.quick else 5)
    args.routing_rounds = args.routing_rounds or (3 if args.quick else 7)
    args.routing_seconds = args.routing_seconds or (4.0 if args.quick else 8.0)

    source_url = os.environ.get("DATABASE_URL", "")
    if not source_url:
        log("DATABASE_URL is not set: run `make bench-tenancy` or export it (a database of its own is derived from it)")
        return 1
    bench_url, bench_name, maintenance = bench_database_url(source_url)
    log(f"Tenant provisioning benchmark in database {bench_name} ({'quick' if args.quick else 'full'})")
    database_create(maintenance, bench_name)
    os.environ["DATABASE_URL"] = bench_url
    os.environ["TENANT_POOL_SIZE"] = "0"  # nothing refills behind the benchmark's back
    try:
        with tempfile.TemporaryDirectory(prefix="crm-bench-static-") as static_root:
            from bench import crm

            crm.django_setup(None if os.environ.get("STATIC_ROOT") else static_root)
            results = run(args)
            cache_forget()
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception as exc:  # Django never got set up
            log(f"(no connections to close: {exc})")
        if args.keep:
            log(f"kept database {bench_name}")
        else:
            database_drop(maintenance, bench_name)
            log(f"dropped database {bench_name}")
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
