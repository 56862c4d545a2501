"""Load test (issue 26, "Faults and load"): a realistic mix across many workspaces with locust.

    python -m bench.load                      # 200 workspaces, 30 minutes (the issue's run)
    python -m bench.load --quick              # 200 workspaces, 3 minutes
    python -m bench.load --minutes 10 --users 30 --tenants 50

(`make bench-load`, `BENCH_ARGS=--quick`; LOAD_MINUTES overrides the duration; `kill -TERM <pid>` ends a
run early and still prints the figures so far.)

1. Workspaces `load-001` ... `load-200` are created once (tenant_provision: a claimed pool schema or a
   copy of the pool's template, so each takes well under a second) with an admin, 30 contacts, 10
   organisations and 5 deals, then reused by later runs. Each gets a signed-in session and an API token.
2. gunicorn (gthread, 2 workers x 4 threads, production settings, DEBUG off) and a Celery worker (concurrency 2)
   are started on this database and Redis (the image ran gthread then; it now runs sync workers).
3. locust runs headless (bench/locustfile.py): users spread over all workspaces browse lists, open
   records, search, open edit forms, look at the home page, and list, read, edit and create through the API.
4. Prints the p95 per page type, the error count, the resident memory of the web and worker processes
   (every process of each tree) at the start and at the end, and `load_p95_ms=` (all requests),
   `load_errors=`, `load_rss_growth_mb=` (web + worker, end minus start).

A benchmark, not a test: exits 0 with the figures, 1 only when it cannot measure."""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.crm import PASSWORD, django_setup, log

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "load-"
CONTACTS, ORGANIZATIONS, DEALS = 30, 10, 5
# gunicorn gthread workers with keep-alive, as the image ran when this load was measured (it now runs sync
# workers, docs/deployment.md, "Worker processes"). The keep-alive must outlast the
# longest pause of a locust user (bench/locustfile.py, MAX_WAIT_S): with gunicorn's default of 2 s, a user
# pausing 2 s sent its next request on a connection the server was closing at that moment ("Remote end
# closed connection without response", the 1 error of the 80-workspace run): a client/server keep-alive
# race of the benchmark, not an error of the app (browsers resend on such a connection; nginx in front
# opens its own connection to gunicorn per request).
KEEP_ALIVE_S = 5
RNG = random.Random(26)  # noqa: S311 (test data, not secrets)
LAST_NAMES = ("Stone", "Miller", "Smith", "Baker", "Garcia", "Ivanova", "North", "Keller", "Rossi", "Novak")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def workspaces_prepare(count: int, first: int = 1, existing_only: bool = False) -> list[dict[str, Any]]:
    """Create what is missing of `load-001`...; return each one's host, session cookie, token, contacts.
    (`first`: start further on, to provision a range in another process beforehand; `existing_only`:
    create none, use those of the range that exist.)"""
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from crm_apps.access.middleware import SESSION_EPOCH_KEY
    from crm_apps.access.models import Member, MemberSession
    from crm_apps.access.services import api_token_create
    from crm_apps.access.sessions import SEEN_KEY
    from crm_apps.engine import registry
    from crm_apps.engine.services.records import record_create
    from tenants.models import Domain, Tenant, User
    from tenants.pool import pool_template_ensure
    from tenants.runtime import use_public_schema
    from tenants.services import tenant_provision

    call_command("migrate_schemas", "--shared", verbosity=0)
    use_public_schema()
    pool_template_ensure()
    started, created = time.monotonic(), 0
    plan = []
    for number in range(first, count + 1):
        slug = f"{PREFIX}{number:03d}"
        email = f"admin@{slug}.example.com"
        use_public_schema()
        tenant = Tenant.objects.filter(schema_name=slug).first()
        if tenant is None and existing_only:
            continue
        if tenant is None:
            user = User.objects.filter(email=email).first() or User.objects.create_user(email, PASSWORD, name="Load")
            tenant = tenant_provision(slug=slug, name=f"Load {number:03d}", admin=user)
            created += 1
        use_public_schema()
        host = Domain.objects.filter(tenant=tenant, is_primary=True).values_list("domain", flat=True).first()
        with schema_context(slug):
            admin = Member.objects.select_related("user").get(user__email=email)
            contacts = registry.get("contacts")
            deals = registry.get("deals")
            if not contacts.model.objects.exists():
                for _ in range(ORGANIZATIONS):
                    name = f"{RNG.choice(LAST_NAMES)} Ltd"
                    record_create(spec=registry.get("organizations"), actor=admin, data={"name": name})
                for i in range(CONTACTS):
                    data = {"first_name": f"P{i}", "last_name": RNG.choice(LAST_NAMES)}
                    record_create(spec=contacts, actor=admin, data=data)
            if not deals.model.objects.exists():
                for i in range(DEALS):
                    close = (dt.date.today() + dt.timedelta(days=7 * i)).isoformat()
                    record_create(spec=deals, actor=admin, data={"name": f"Deal {i}", "close_date": close})
            ids = [str(pk) for pk in contacts.model.objects.order_by("id").values_list("id", flat=True)[:CONTACTS]]
            _token, key = api_token_create(member=admin, name=f"load {time.strftime('%H%M%S')}")
            session = SessionStore()
            session["_auth_user_id"] = str(admin.user.pk)
            session["_auth_user_backend"] = "tenants.auth.EmailBackend"
            session["_auth_user_hash"] = admin.user.get_session_auth_hash()
            session[SESSION_EPOCH_KEY] = admin.session_epoch
            session[SEEN_KEY] = int(time.time())
            session.create()
            MemberSession.objects.update_or_create(session_key=session.session_key, defaults={"member": admin})
        plan.append({"host": host, "session": session.session_key, "token": key, "contacts": ids})
        if number % 20 == 0:
            log(f"  {number}/{count} workspaces ready ({time.monotonic() - started:.0f}s)")
    log(f"{len(plan)} workspaces ready, {created} created ({time.monotonic() - started:.0f}s)")
    use_public_schema()
    return plan


def _tree_rss_mb(pid: int) -> float:
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total / (1024 * 1024)


def _wait_http(url: str, host: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 (http://127.0.0.1 only)
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the web server did not answer {url} within {timeout:.0f}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _p95_per_type(stats_csv: Path) -> tuple[dict[str, tuple[int, int, float]], float, int]:
    """(requests, failures, p95 ms) per page type, the overall p95 and the failure count."""
    rows = {}
    overall, failures = 0.0, 0
    with stats_csv.open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                overall = float(row["95%"] or 0)
                failures = int(row["Failure Count"])
                continue
            rows[row["Name"]] = (int(row["Request Count"]), int(row["Failure Count"]), float(row["95%"] or 0))
    return rows, overall, failures


def _log_problems(path: Path) -> list[str]:
    """The lines of a server's log that report a problem (errors, tracebacks, killed workers)."""
    if not path.exists():
        return []
    markers = ("[ERROR]", "[CRITICAL]", " ERROR ", " CRITICAL ", "Traceback", "WORKER TIMEOUT", "ERROR/", "CRITICAL/")
    return [line.rstrip() for line in path.read_text(errors="replace").splitlines() if any(m in line for m in markers)]


def run(args: argparse.Namespace) -> int:
    static_root = tempfile.mkdtemp(prefix="crm-load-static-") if not os.environ.get("STATIC_ROOT") else None
    django_setup(static_root)
    plan = workspaces_prepare(args.tenants, existing_only=args.existing)
    work = Path(tempfile.mkdtemp(prefix="crm-load-"))
    (work / "plan.json").write_text(json.dumps({"tenants": plan}))
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "saas.settings", "DEBUG": "0", "CELERY_TASK_ALWAYS_EAGER": "0"}
    web = subprocess.Popen(  # noqa: S603 (our own command line)
        [sys.executable, "-m", "gunicorn", "saas.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--timeout", "60", "--keep-alive", str(KEEP_ALIVE_S),
         "--no-control-socket"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(work / "web.log").open("w"),
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "saas", "worker", "--concurrency", "2", "--loglevel", "WARNING",
         "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(work / "worker.log").open("w"),
    )  # fmt: skip
    try:
        _wait_http(f"http://127.0.0.1:{port}/accounts/login/", plan[0]["host"])
        for tenant in plan[:3]:  # every worker process warm before the start figures
            _wait_http(f"http://127.0.0.1:{port}/accounts/login/", tenant["host"])
        time.sleep(3)
        web_start, worker_start = _tree_rss_mb(web.pid), _tree_rss_mb(worker.pid)
        log(f"rss_start_mb web={web_start:.0f} worker={worker_start:.0f} loadavg_1m={os.getloadavg()[0]:.1f}")
        seconds = int(args.minutes * 60)
        log(f"locust: {args.users} users over {len(plan)} workspaces for {seconds}s")
        locust_log = work / "locust.log"
        started = time.monotonic()
        locust = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "--users", str(args.users), "--spawn-rate", str(max(1, args.users // 10)), "--run-time", f"{seconds}s",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(work / "load"), "--only-summary",
             "--loglevel", "WARNING", "--stop-timeout", "10"],
            cwd=ROOT, env={**env, "LOAD_PLAN": str(work / "plan.json")}, stdout=locust_log.open("w"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        # `kill -TERM <this process>` ends the run early: locust stops and the figures so far are printed.
        previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: locust.send_signal(signal.SIGTERM))
        try:
            while locust.poll() is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    locust.wait(timeout=300)
                if locust.poll() is None:  # memory every 5 minutes: flat or growing
                    elapsed, load = time.monotonic() - started, os.getloadavg()[0]
                    web_now, worker_now = _tree_rss_mb(web.pid), _tree_rss_mb(worker.pid)
                    log(f"  t={elapsed:.0f}s rss_mb web={web_now:.0f} worker={worker_now:.0f} loadavg_1m={load:.1f}")
        finally:
            signal.signal(signal.SIGTERM, previous)
        ran = time.monotonic() - started
        web_end, worker_end = _tree_rss_mb(web.pid), _tree_rss_mb(worker.pid)
        stats = work / "load_stats.csv"
        if not stats.exists():
            log(locust_log.read_text()[-3000:])
            return 1
        if ran < seconds - 30:
            log(f"ended early: {ran:.0f}s of {seconds}s")
        seconds = int(ran)
        rows, overall, failures = _p95_per_type(stats)
        total = sum(count for count, _f, _p in rows.values())
        for name, (count, failed, p95) in sorted(rows.items()):
            log(f"p95_ms[{name}]={p95:.0f} requests={count} errors={failed}")
        failures_csv = work / "load_failures.csv"
        if failures and failures_csv.exists():
            log("errors:\n" + failures_csv.read_text()[:2000])
        for name in ("web.log", "worker.log"):  # what the server said about any error
            problems = _log_problems(work / name)
            log(f"{name.split('.')[0]}_log_problems={len(problems)}")
            if problems:
                log("\n".join(problems[:20]))
        log(f"requests={total} duration_s={seconds} rate_per_s={total / max(seconds, 1):.1f}")
        log(f"rss_end_mb web={web_end:.0f} worker={worker_end:.0f}")
        log(f"load_p95_ms={overall:.0f}")
        log(f"load_errors={failures}")
        log(f"load_rss_growth_mb={(web_end - web_start) + (worker_end - worker_start):.1f}")
        return 0
    finally:
        _stop(web)
        _stop(worker)
        shutil.rmtree(work, ignore_errors=True)
        if static_root:
            shutil.rmtree(static_root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 minutes instead of 30")
    parser.add_argument("--minutes", type=float, default=None, help="duration (default 30, LOAD_MINUTES)")
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument(
        "--existing",
        action="store_true",
        help="use the load-NNN workspaces (up to --tenants) that exist, create none (provisioned beforehand)",
    )
    parser.add_argument("--users", type=int, default=20, help="simulated users (default 20)")
    args = parser.parse_args(argv)
    if args.minutes is None:
        args.minutes = float(os.environ.get("LOAD_MINUTES") or (3 if args.quick else 30))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
