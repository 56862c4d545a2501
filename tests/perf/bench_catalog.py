"""Many tenants in one database (issue 7, part 4): catalog size, pg_dump of one tenant, a simple query.

    python -m tests.perf.bench_catalog --tenants 500            # checkpoints at 10, 100 and 500
    python -m tests.perf.bench_catalog --tenants 5000 --at 1000,2500

It works in a database of its own, named after DATABASE_URL's with `_bench_catalog` appended, created
at the start and dropped at the end (`--keep` keeps it), so your data is never touched.

Tenants are made the fast way: one tenant is provisioned as a signup provisions it (a copy of the
warm pool's template, tenants/pool.py, plus CRM defaults and an admin member), and the others are
copies of it (tenants/schema_clone.py), with their tenant, domain and directory rows, several per
transaction. At each checkpoint it prints:

- the catalog: schemas, pg_class/pg_attribute/pg_index rows, the on-disk size of pg_class,
  pg_attribute, pg_index and pg_depend (with their indexes), and the database size;
- pg_dump of one tenant (`pg_dump -Fc --schema=<one>`, as `manage.py tenant_backup` runs it), and the
  whole `tenant_backup` (dump, per-table checksums, archive), median of 3;
- a simple query, `SELECT count(*) FROM contacts_contact WHERE owner_id = 1`, each time in a tenant
  picked at random (so the `search_path` changes as it does between requests), p50/p95 over 300 runs
  in one connection, the same query repeated in one tenant (no schema change: the baseline), the first
  query of a fresh connection in a random tenant (catalog caches cold), and how much one connection's
  memory grows once it has run the query in every tenant (relation caches are per connection).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PREFIX = "bc"
DB_SUFFIX = "_bench_catalog"
BATCH = 5  # copies per transaction (each locks its ~300 new relations until commit)
QUERY = "SELECT count(*) FROM contacts_contact WHERE owner_id = 1"


def log(message: str) -> None:
    print(message, flush=True)


def _psycopg(url: str) -> str:
    return "postgresql" + url[len("postgres") :] if url.startswith("postgres://") else url


def _admin_sql(maintenance: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg(maintenance), autocommit=True) as conn:
        conn.execute(sql)


def database_remove(maintenance: str, bench_url: str, name: str) -> None:
    """Drop the benchmark database, its schemas first, one per transaction: DROP DATABASE of thousands of
    schemas unlinks hundreds of thousands of files in one step, during which the server cannot serve
    other sessions' DROP DATABASE (they wait for every backend to acknowledge a barrier)."""
    import psycopg

    with psycopg.connect(_psycopg(maintenance), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            return
    with psycopg.connect(_psycopg(bench_url), autocommit=True) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN"
                " ('public', 'information_schema')"
            ).fetchall()
        ]
        for schema in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    _admin_sql(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


def grow(seed: str, admin: Any, target: int, seq: list[int]) -> None:
    from django.conf import settings
    from django.db import connection, transaction

    from tenants.models import Domain, Tenant, WorkspaceMembership
    from tenants.runtime import use_public_schema
    from tenants.schema_clone import schema_clone, schema_clone_plan

    use_public_schema()
    plan = schema_clone_plan(source=seed)
    have = Tenant.objects.count()
    started, first = time.monotonic(), have
    while have < target:
        batch = min(BATCH, target - have)
        with transaction.atomic():
            with connection.cursor() as cursor:  # a throw-away database: no need to wait for each WAL flush
                cursor.execute("SET LOCAL synchronous_commit = off")
            tenants = []
            for _ in range(batch):
                seq[0] += 1
                slug = f"{PREFIX}-{seq[0]:05d}"
                schema_clone(plan=plan, target=slug)
                tenants.append(Tenant(schema_name=slug, name=f"Catalog {slug}"))
            Tenant.objects.bulk_create(tenants)
            Domain.objects.bulk_create(
                Domain(domain=f"{t.schema_name}.{settings.BASE_DOMAIN}", tenant=t, is_primary=True) for t in tenants
            )
            WorkspaceMembership.objects.bulk_create(WorkspaceMembership(user=admin, tenant=t) for t in tenants)
        have += batch
        if have % 250 < batch or have == target:
            log(f"  {have:,} tenants ({(time.monotonic() - started) / max(1, have - first) * 1000:.0f} ms per copy)")


def catalog() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_namespace), (SELECT count(*) FROM pg_class),"
            " (SELECT count(*) FROM pg_attribute), (SELECT count(*) FROM pg_index),"
            " pg_total_relation_size('pg_catalog.pg_class'), pg_total_relation_size('pg_catalog.pg_attribute'),"
            " pg_total_relation_size('pg_catalog.pg_index'), pg_total_relation_size('pg_catalog.pg_depend'),"
            " pg_database_size(current_database())"
        )
        row = cursor.fetchone()
    keys: tuple[str, ...] = ("schemas", "pg_class", "pg_attribute", "pg_index")
    keys += ("class_mb", "attribute_mb", "index_mb", "depend_mb", "db_mb")
    out = dict(zip(keys, row, strict=True))
    for key in keys[4:]:
        out[key] = out[key] / 1024 / 1024
    return out


def time_dump(schema: str) -> tuple[float, float, int]:
    """Median seconds of pg_dump of one schema and of a whole tenant_backup (3 runs each), archive bytes."""
    from tenants.backup import _libpq_env, pg_program, tenant_backup_write
    from tenants.models import Tenant

    dumps, backups, size = [], [], 0
    tenant = Tenant.objects.get(schema_name=schema)
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        for i in range(3):
            started = time.monotonic()
            subprocess.run(
                [pg_program("pg_dump"), "-Fc", f'--schema="{schema}"', "--no-owner", f"--file={tmp}/d{i}.dump"],
                env=_libpq_env(),
                check=True,
            )
            dumps.append(time.monotonic() - started)
            started = time.monotonic()
            result = tenant_backup_write(tenant=tenant, output=Path(tmp) / f"b{i}.tar.gz")
            backups.append(time.monotonic() - started)
            size = result.size
    return statistics.median(dumps), statistics.median(backups), size


def time_queries(slugs: list[str], runs: int = 300) -> tuple[float, float, float, float, float]:
    """p50/p95 ms of the simple query in random tenants (one connection), median ms of a cold first query,
    p50 ms of the same query repeated in one tenant (the baseline without any schema change), and how many
    MB a connection's memory grows by when it has run the query once in every tenant."""
    import psycopg
    from django.db import connection

    db = connection.settings_dict
    params = {
        k: v
        for k, v in {
            "dbname": db["NAME"],
            "user": db["USER"],
            "password": db["PASSWORD"],
            "host": db["HOST"],
            "port": db["PORT"],
        }.items()
        if v
    }
    rng = random.Random(7)
    samples = []
    with psycopg.connect(**params, autocommit=True) as conn:
        for _ in range(runs):
            slug = rng.choice(slugs)
            started = time.perf_counter()
            conn.execute(f'SET search_path = "{slug}", public')
            conn.execute(QUERY).fetchone()
            samples.append((time.perf_counter() - started) * 1000)
    # One connection that has served every tenant keeps their relations in its caches (relcache/catcache).
    memory = "SELECT sum(total_bytes) FROM pg_backend_memory_contexts"
    with psycopg.connect(**params, autocommit=True) as conn:
        fresh = conn.execute(memory).fetchone()[0]  # type: ignore[index]
        for slug in slugs:
            conn.execute(f'SET search_path = "{slug}", public')
            conn.execute(QUERY).fetchone()
        grown = conn.execute(memory).fetchone()[0]  # type: ignore[index]
    same = []
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{slugs[0]}", public')
        for _ in range(runs):
            started = time.perf_counter()
            conn.execute(QUERY).fetchone()
            same.append((time.perf_counter() - started) * 1000)
    cold = []
    for _ in range(15):
        with psycopg.connect(**params, autocommit=True) as conn:
            slug = rng.choice(slugs)
            started = time.perf_counter()
            conn.execute(f'SET search_path = "{slug}", public')
            conn.execute(QUERY).fetchone()
            cold.append((time.perf_counter() - started) * 1000)
    growth = (int(grown) - int(fresh)) / 1024 / 1024
    return percentile(samples, 50), percentile(samples, 95), statistics.median(cold), percentile(same, 50), growth


def checkpoint(size: int, slugs: list[str]) -> dict[str, Any]:
    figures = catalog()
    dump_s, backup_s, archive = time_dump(slugs[len(slugs) // 2])
    q50, q95, cold, same, growth = time_queries(slugs)
    figures.update(tenants=size, dump_s=dump_s, backup_s=backup_s, archive_kb=archive / 1024)
    figures.update(q50=q50, q95=q95, cold=cold, same=same, backend_mb=growth)
    log(
        f"  {size:>6,} tenants: {figures['schemas']:,} schemas, pg_class {figures['pg_class']:,} rows"
        f" ({figures['class_mb']:.0f} MB), pg_attribute {figures['pg_attribute']:,} rows"
        f" ({figures['attribute_mb']:.0f} MB), pg_index {figures['pg_index']:,} rows ({figures['index_mb']:.0f} MB),"
        f" pg_depend {figures['depend_mb']:.0f} MB, database {figures['db_mb']:.0f} MB"
    )
    log(
        f"          pg_dump of one tenant {dump_s:.2f} s, tenant_backup {backup_s:.2f} s ({archive / 1024:.0f} KB);"
        f" simple query p50 {q50:.2f} ms p95 {q95:.2f} ms (one tenant only: p50 {same:.2f} ms),"
        f" first query of a new connection {cold:.1f} ms; a connection that queried every tenant grew by"
        f" {growth:.0f} MB"
    )
    return figures


def run(target: int, points: list[int]) -> list[dict[str, Any]]:
    from django.core.management import call_command

    from tenants.models import Tenant, User
    from tenants.pool import pool_template_ensure
    from tenants.runtime import use_public_schema
    from tenants.services import tenant_provision

    started = time.monotonic()
    call_command("migrate_schemas", "--shared", verbosity=0)
    use_public_schema()
    pool_template_ensure()
    admin = User.objects.create_user("bench-catalog@bench.example.com", "bench-catalog-not-a-secret", name="Bench")
    seq = [1]
    seed = f"{PREFIX}-00001"
    tenant_provision(slug=seed, name="Catalog seed", admin=admin)
    log(f"Setup {time.monotonic() - started:.0f} s (template migrated, seed tenant provisioned)")
    results = []
    for point in points:
        log(f"Growing to {point:,} tenants ...")
        grow(seed, admin, point, seq)
        slugs = list(Tenant.objects.values_list("schema_name", flat=True))
        results.append(checkpoint(point, slugs))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.bench_catalog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=500, help="tenants at the last checkpoint (default 500)")
    parser.add_argument("--at", default="", help="further checkpoints, comma-separated (10 and 100 always)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args(argv)
    points = sorted(
        {
            p
            for p in (10, 100, *(int(x) for x in args.at.split(",") if x.strip()), args.tenants)
            if 0 < p <= args.tenants
        }
    )
    source = os.environ.get("DATABASE_URL", "")
    if not source:
        log("DATABASE_URL is not set (a database of its own is derived from it)")
        return 1
    parts = urlsplit(source)
    name = f"{parts.path.lstrip('/') or 'crm'}{DB_SUFFIX}"
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    log(f"Catalog benchmark in database {name}, checkpoints {points}")
    bench_url = urlunsplit(parts._replace(path=f"/{name}"))
    database_remove(maintenance, bench_url, name)
    _admin_sql(maintenance, f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = bench_url
    os.environ["TENANT_POOL_SIZE"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "saas.settings"
    os.environ["DEBUG"] = "0"
    results: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-catalog-data-") as data_dir:
            os.environ.setdefault("TENANT_BACKUP_ROOT", data_dir)
            import django

            django.setup()
            results = run(args.tenants, points)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception as exc:
            log(f"(no connections to close: {exc})")
        if args.keep:
            log(f"kept database {name}")
        else:
            database_remove(maintenance, bench_url, name)
            log(f"dropped database {name}")
    log("")
    log(
        "tenants | pg_class rows | pg_attribute rows | catalog MB (class+attribute+index+depend) | database MB |"
        " pg_dump one tenant s | tenant_backup s | query p50/p95 ms | same-tenant p50 ms | cold first query ms |"
        " connection growth MB"
    )
    for f in results:
        catalog_mb = f["class_mb"] + f["attribute_mb"] + f["index_mb"] + f["depend_mb"]
        log(
            f"{f['tenants']:,} | {f['pg_class']:,} | {f['pg_attribute']:,} | {catalog_mb:.0f} | {f['db_mb']:.0f} |"
            f" {f['dump_s']:.2f} | {f['backup_s']:.2f} | {f['q50']:.2f}/{f['q95']:.2f} | {f['same']:.2f} |"
            f" {f['cold']:.1f} | {f['backend_mb']:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
