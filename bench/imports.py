"""Import benchmark (issue 17, "Performance"): 100,000 contacts from a CSV with e-mail dedupe against
100,000 existing contacts, end to end through the API (upload, mapping, run, summary), then its undo.

    python -m bench.imports              # 100,000 rows against 100,000 existing contacts
    python -m bench.imports --rows 20000 # smaller, for development

The data lives in the tenant `bench-import` (created on the first run; its contacts, timeline and imports
are emptied at the start of every run). The file's rows: 10% have the e-mail of an existing contact (mode
"overwrite": their title and city change), 90% are new. The run goes through the Celery task code in
this process (eager), as a worker runs it. Printed `key=value` lines:

- import_100k_s: upload (POST /api/v1/imports/) to summary (GET /api/v1/imports/<id> says done);
- import_rows_per_s: file rows / import_100k_s;
- undo_100k_s: POST /api/v1/imports/<id>/undo to the GET that says undone;
- baseline_rows_per_s: the same kind of rows, 2,000 of them, one by one through the engine's services
  (duplicates found with one query, then `record_update` or `record_create` per row), and speedup =
  import_rows_per_s / baseline_rows_per_s;
- import_python_cpu_s, load_average_1m: the benchmark process's CPU time during the import, and the
  machine's load (on a shared machine the wall-clock figures grow with the load, the CPU time does not).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import time
from collections.abc import Sequence
from typing import Any

SLUG = "bench-import"
ADMIN = ("Import Admin", "bench-import-admin@bench.example.com")
PASSWORD = "bench-import-not-a-secret-2026"
TARGETS = {"import_100k_s": 20.0, "undo_100k_s": 20.0}
FIRST = ["Anna", "Boris", "Chloé", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ivan", "Júlia", "Karl", "Lena"]
LAST = ["Schmidt", "García", "Rossi", "Kowalski", "Tanaka", "Patel", "Moreau", "Иванов", "Smith", "Novak"]
TITLES = ["CEO", "CTO", "Buyer", "Engineer", "Manager", "Analyst", "Director", "Consultant"]
CITIES = ["Berlin", "Madrid", "Rome", "Warsaw", "Tokyo", "Mumbai", "Paris", "Москва", "London", "Prague"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def django_setup() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    import django

    django.setup()


def tenant_prepare() -> tuple[Any, str, Any]:
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from billing.models import Plan, Subscription
    from billing.services import subscription_grant_complimentary
    from crm_apps.access.models import Member
    from crm_apps.engine.defaults import crm_defaults_install
    from tenants.models import Domain, Tenant, User
    from tenants.runtime import use_public_schema
    from tenants.services import tenant_provision

    call_command("migrate_schemas", "--shared", verbosity=0)
    use_public_schema()
    user = User.objects.filter(email=ADMIN[1]).first() or User.objects.create_user(ADMIN[1], PASSWORD, name=ADMIN[0])
    tenant = Tenant.objects.filter(schema_name=SLUG).first()
    if tenant is None:
        log(f"creating tenant '{SLUG}'")
        tenant = tenant_provision(slug=SLUG, name="Bench Imports", admin=user)
    else:
        call_command("migrate_schemas", "--tenant", f"--schema={SLUG}", verbosity=0)
    use_public_schema()
    if not Subscription.objects.filter(tenant=tenant, plan__code="enterprise", complimentary=True).exists():
        subscription_grant_complimentary(
            operator=None, tenant=tenant, plan=Plan.objects.get(code="enterprise"), reason="Benchmark workspace"
        )
    host = Domain.objects.filter(tenant=tenant).order_by("-is_primary").values_list("domain", flat=True).first()
    with schema_context(SLUG):
        crm_defaults_install()
        admin = Member.objects.select_related("user").get(user=user)
    use_public_schema()
    return tenant, str(host), admin


def reset(schema: str) -> None:
    from django.db import connection
    from django_tenants.utils import schema_context

    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE contacts_contact, organizations_organization, engine_timelineentry, imports_importentry, "
            "imports_importjob, calls_phoneindex CASCADE"
        )


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["First name", "Last name", "E-mail", "Title", "City"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def people(start: int, count: int, rng: random.Random, *, title: str = "") -> list[list[str]]:
    return [
        [
            rng.choice(FIRST),
            f"{rng.choice(LAST)}",
            f"person{n}@example{n % 97}.com",
            title or rng.choice(TITLES),
            rng.choice(CITIES),
        ]
        for n in range(start, start + count)
    ]


def api(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    response = getattr(client, method)(path, **kwargs)
    if response.status_code >= 400:
        raise SystemExit(f"{method.upper()} {path} -> {response.status_code}: {response.content[:500]!r}")
    return response.json()


def import_file(client: Any, body: bytes, *, mode: str) -> tuple[int, float, dict[str, Any]]:
    """Upload and run; poll until the summary says done. Returns (id, seconds, status)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    started = time.perf_counter()
    created = api(
        client,
        "post",
        "/api/v1/imports/",
        data={
            "file": SimpleUploadedFile("people.csv", body, content_type="text/csv"),
            "module": "contacts",
            "mapping": json.dumps(
                {
                    "First name": "first_name",
                    "Last name": "last_name",
                    "E-mail": "email",
                    "Title": "title",
                    "City": "mailing_city",
                }
            ),
            "dedupe": json.dumps({"fields": ["email"], "mode": mode}),
        },
    )
    status = api(client, "get", f"/api/v1/imports/{created['id']}")
    while status["status"] not in ("done", "failed", "cancelled"):
        time.sleep(0.05)
        status = api(client, "get", f"/api/v1/imports/{created['id']}")
    return created["id"], time.perf_counter() - started, status


def baseline(schema: str, admin: Any, rows: list[list[str]]) -> float:
    """The per-row service path: the duplicates found with one query (as the importer finds them; contacts'
    e-mails are not indexed, so a look-up per row would be a scan), then `record_update` or `record_create`
    for each row, inside one transaction that is rolled back."""
    from django.db import transaction
    from django_tenants.utils import schema_context

    from crm_apps.engine import registry, selectors
    from crm_apps.engine.services import record_create, record_update

    with schema_context(schema):
        spec = registry.get("contacts")
        started = time.perf_counter()
        with transaction.atomic():
            emails = [row[2] for row in rows]
            found = {c.email: c for c in selectors.list_queryset(spec=spec, actor=admin).filter(email__in=emails)}
            for first, last, email, title, city in rows:
                data = {"first_name": first, "last_name": last, "email": email, "title": title, "mailing_city": city}
                record = found.get(email)
                if record is not None:
                    record_update(spec=spec, actor=admin, record=record, data=data)
                else:
                    record_create(spec=spec, actor=admin, data=data)
            elapsed = time.perf_counter() - started
            transaction.set_rollback(True)
    return len(rows) / elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the file (and existing contacts)")
    parser.add_argument("--baseline-rows", type=int, default=2_000)
    parser.add_argument("--profile", action="store_true", help="profile the timed import (cProfile, to stderr)")
    args = parser.parse_args(argv)
    django_setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import schema_context

    from saas.celery import app

    app.conf.task_always_eager = True
    settings.ALLOWED_HOSTS = ["*"]
    tenant, host, admin = tenant_prepare()
    reset(tenant.schema_name)
    rng = random.Random(17)  # noqa: S311 - sample data, not secrets
    existing = people(0, args.rows, rng)
    from crm_apps.access.models import ApiToken
    from crm_apps.access.services import api_token_create

    with schema_context(tenant.schema_name):
        ApiToken.objects.filter(member=admin, name="bench-import").delete()
        _token, key = api_token_create(member=admin, name="bench-import")
    client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {key}")
    log(f"loading {args.rows:,} existing contacts (through the importer)")
    _id, seconds, status = import_file(client, csv_bytes(existing), mode="skip")
    log(f"  loaded in {seconds:.1f}s: {status['counts']}")
    with schema_context(tenant.schema_name), connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
    matched = args.rows // 10
    incoming = people(args.rows - matched, args.rows, rng, title="Head of Imports")
    body = csv_bytes(incoming)
    log(f"importing {args.rows:,} rows ({matched:,} existing e-mails, overwrite), {len(body) / 1e6:.1f} MB")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    cpu = time.process_time()
    job_id, seconds, status = import_file(client, body, mode="overwrite")
    cpu = time.process_time() - cpu
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(40)
    counts = status["counts"]
    if status["status"] != "done" or counts["created"] + counts["updated"] != args.rows:
        raise SystemExit(f"import did not do what it should: {status}")
    results: dict[str, Any] = {
        "import_100k_s": round(seconds, 2),
        "import_rows_per_s": round(args.rows / seconds),
        "import_created": counts["created"],
        "import_updated": counts["updated"],
        "import_python_cpu_s": round(cpu, 2),
    }
    for key, value in results.items():
        print(f"{key}={value}", flush=True)
    started = time.perf_counter()
    api(client, "post", f"/api/v1/imports/{job_id}/undo")
    status = api(client, "get", f"/api/v1/imports/{job_id}")
    while status["status"] not in ("undone", "done"):
        time.sleep(0.05)
        status = api(client, "get", f"/api/v1/imports/{job_id}")
    results["undo_100k_s"] = round(time.perf_counter() - started, 2)
    log(f"undo_100k_s={results['undo_100k_s']}")
    if status["status"] != "undone":
        raise SystemExit(f"undo failed: {status}")
    with schema_context(tenant.schema_name):
        from crm_apps.modules.contacts.models import Contact

        left = Contact.objects.filter(deleted_at__isnull=True, title="Head of Imports").count()
        if left:
            raise SystemExit(f"undo left {left} changed contacts")
    sample = people(args.rows - args.baseline_rows // 10, args.baseline_rows, rng, title="Baseline")
    rate = baseline(tenant.schema_name, admin, sample)
    results["baseline_rows_per_s"] = round(rate)
    results["speedup"] = round(results["import_rows_per_s"] / rate, 1)
    results["load_average_1m"] = round(__import__("os").getloadavg()[0], 2)
    for key in ("undo_100k_s", "baseline_rows_per_s", "speedup", "load_average_1m"):
        print(f"{key}={results[key]}", flush=True)
    for key, limit in TARGETS.items():
        verdict = "ok" if results[key] <= limit else "MISSED"
        log(f"{key}: {results[key]} (target <= {limit}) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
