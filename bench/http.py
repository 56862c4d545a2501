"""Throughput through a real server (issue 25): the main pages served by gunicorn with the production
settings, driven over HTTP by locust, on the CRM benchmark's tenant (1,000,000 contacts; loaded by bench.crm
when missing).

    python -m bench.http            # `make bench-http`: 4 clients, 20 s per page, as the member and the admin
    python -m bench.http --quick    # smoke run: 3 s per page (loads 1/20 of the data when the tenant is empty)

Steps: the tenant is prepared and topped up like bench.crm does; sharing is made private for organisations,
contacts (which follow their organisation) and deals for the run, restored afterwards; a few events this
week, quotes, invoices and tickets are created once when missing. gunicorn then serves `saas.wsgi` with
`DEBUG` off (the worker class and counts of docs/deployment.md unless --worker-class/--workers/--threads
say otherwise), and `bench.http_load` (locust, in a process of its own) runs `--clients` users back to
back for `--seconds` on each page, first as the non-admin member, then as the admin. Every response is
checked (status and content); a page with failures is reported as such.

Prints one line per page and user (req/s, p50, p99, failures) and ends with `list_rps=`, `search_rps=`,
`detail_rps=`, `api_rps=` (the member's contacts list, list with search, contact detail and API list) and
`slowest_page_p99_ms=` (over every page and both users). Exits 1 when a page cannot be measured (failed
checks), 0 otherwise, also when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench import crm

# The targets of issue 25 (10x vtiger 8.2's figures at a tenth of our data, measured on the same machine).
TARGETS = {"list_rps": 127.0, "search_rps": 112.0, "detail_rps": 107.0, "api_rps": 400.0}
TARGET_P99_MS = 150.0
PAGES = (
    "list",
    "list-search",
    "list-deep",
    "detail",
    "global-search",
    "api-list",
    "kanban",
    "events-week",
    "quotes",
    "invoices",
    "tickets",
    "report-run",
    "dashboard",
    "vtiger-query",
)
# Records of the modules bench.crm does not load, created once (by the services, as the member).
EXTRA_RECORDS = 300
EVENTS_THIS_WEEK = 60
# The report run: bench.reports' deals summary (stage x close month, sum and count).
REPORT = {
    "module": "deals",
    "type": "summary",
    "group_by": ["stage", {"field": "close_date", "granularity": "month"}],
    "aggregates": [{"field": "amount", "op": "sum"}, {"op": "count"}],
}
PRIVATE_MODULES = ("organizations", "contacts", "deals")
# The production server's defaults (docs/deployment.md, "Worker processes"); overridable per run.
DEFAULT_SERVER = "gunicorn"
DEFAULT_WORKER_CLASS = "sync"
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 1


@dataclass
class Page:
    key: str
    label: str
    paths: list[tuple[str, list[str]]]  # (path with query, strings every response must contain)
    auth: str  # "session" or "token" or "none"
    method: str = "GET"
    body: str | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# Data the pages need


def _extras_ensure(ctx: crm.Context) -> None:
    """Events this week, quotes, invoices and tickets, created once through the services."""
    from django.utils import timezone

    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create

    org_ids = list(
        registry.get("organizations")
        .model.objects.filter(owner=ctx.member)
        .order_by("id")
        .values_list("pk", flat=True)[:50]
    )
    contact_ids = list(
        registry.get("contacts").model.objects.filter(owner=ctx.member).order_by("id").values_list("pk", flat=True)[:50]
    )
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    events = registry.get("events")
    week_start = timezone.make_aware(dt.datetime.combine(monday, dt.time()))
    have = events.model.objects.filter(start__gte=week_start, start__lt=week_start + dt.timedelta(days=7)).count()
    for i in range(have, EVENTS_THIS_WEEK):
        start = week_start + dt.timedelta(days=i % 5, hours=8 + i % 9)
        record_create(
            spec=events,
            actor=ctx.member if i % 3 else ctx.admin,
            data={
                "subject": f"Bench meeting {i + 1}",
                "start": start.isoformat(),
                "end": (start + dt.timedelta(minutes=45)).isoformat(),
            },
        )
    makers = {
        "quotes": lambda i: {"subject": f"Bench quote {i + 1}", "organization": org_ids[i % len(org_ids)]},
        "invoices": lambda i: {"subject": f"Bench invoice {i + 1}", "organization": org_ids[i % len(org_ids)]},
        "tickets": lambda i: {
            "title": f"Bench ticket {i + 1}",
            "organization": org_ids[i % len(org_ids)],
            "contact": contact_ids[i % len(contact_ids)],
        },
    }
    for key, make in makers.items():
        spec = registry.get(key)
        have = spec.model.objects.count()
        if have < EXTRA_RECORDS:
            crm.log(f"  {key}: creating {EXTRA_RECORDS - have} ...")
        for i in range(have, EXTRA_RECORDS):
            record_create(spec=spec, actor=ctx.member if i % 4 else ctx.admin, data=make(i))


def _deep_cursor(ctx: crm.Context, member: Any) -> str:
    """The cursor of the contacts list page half-way down the member's visible contacts."""
    from crm_apps.engine import registry, selectors

    spec = registry.get("contacts")
    qs = selectors.list_queryset(spec=spec, actor=member).order_by(*selectors.ordering_for(spec, None))
    keys = [t.lstrip("-") for t in selectors.ordering_for(spec, None)]
    count, _exact = selectors.record_count(spec=spec, actor=member)
    row = qs.values(*keys)[max(0, count // 2) : max(0, count // 2) + 1].first()
    if row is None:
        raise crm.BenchError("no contact for the deep page")
    return selectors._encode(["n", *[row[k] for k in keys]])


def _session_cookie(host: str, member: Any) -> str:
    from django.conf import settings
    from django.test import Client

    from crm_apps.access.middleware import SESSION_EPOCH_KEY

    client = Client(HTTP_HOST=host)
    client.force_login(member.user, backend="tenants.auth.EmailBackend")
    session = client.session
    session[SESSION_EPOCH_KEY] = member.session_epoch
    session.save()
    # A browser sends back the CSRF cookie the first page with a form set; without it every page would mint
    # a new secret and set the cookie again, which no signed-in browser makes a server do.
    page = client.get("/m/contacts/")
    crm.expect(page, 200, "/m/contacts/ (for the CSRF cookie)")
    cookies = [settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME]
    return "; ".join(f"{name}={client.cookies[name].value}" for name in cookies)


def _vtiger_session(host: str, member: Any) -> str:
    from django.test import Client

    from crm_apps.vtiger.services import access_key_get

    client = Client(HTTP_HOST=host)
    email = member.user.email
    token = crm.expect(
        client.get("/webservice.php", {"operation": "getchallenge", "username": email}), 200, "getchallenge"
    ).json()["result"]["token"]
    answer = hashlib.md5((token + access_key_get(member=member).key).encode(), usedforsecurity=False).hexdigest()
    login = client.post("/webservice.php", {"operation": "login", "username": email, "accessKey": answer}).json()
    if not login.get("success"):
        raise crm.BenchError(f"vtiger login failed: {login}")
    return str(login["result"]["sessionName"])


def pages_for(ctx: crm.Context, member: Any) -> list[Page]:
    from urllib.parse import urlencode

    from django.utils import timezone

    from crm_apps.engine import registry, selectors
    from crm_apps.reports.dashboards import dashboards_for

    contacts = registry.get("contacts")
    visible = selectors.list_queryset(spec=contacts, actor=member)
    details = list(visible.order_by("-created_at", "-id").values_list("pk", "number")[1000:1020])
    if not details:
        raise crm.BenchError("the member sees no contacts")
    surname = crm.SEARCH_SURNAMES[0]
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    week = {
        "start": f"{monday.isoformat()}T00:00:00Z",
        "end": f"{(monday + dt.timedelta(days=7)).isoformat()}T00:00:00Z",
    }
    board = dashboards_for(actor=member).order_by("id").first()
    if board is None:
        raise crm.BenchError("no dashboard for the member")
    row = "<tr data-row"
    vtql = "select firstname, lastname, email from Contacts limit 20;"
    pages = [
        Page("list", "contacts list", [("/m/contacts/", [row])], "session"),
        Page(
            "list-search",
            "list with search",
            [(f"/m/contacts/?{urlencode({'q': surname})}", [row, surname])],
            "session",
        ),
        Page(
            "list-deep",
            "deep list page",
            [(f"/m/contacts/?{urlencode({'cursor': _deep_cursor(ctx, member)})}", [row])],
            "session",
        ),
        Page("detail", "contact detail", [(f"/m/contacts/{pk}/", [number]) for pk, number in details], "session"),
        Page(
            "global-search",
            "global search",
            [(f"/search/?{urlencode({'q': name})}", [name]) for name in crm.SEARCH_SURNAMES[:4]],
            "session",
        ),
        Page("api-list", "API list (20)", [("/api/v1/contacts/?limit=20", ['"results"', '"number"'])], "token"),
        Page("kanban", "deals kanban board", [("/m/deals/board/", ["data-card"])], "session"),
        Page("events-week", "events week view", [(f"/api/v1/events/?{urlencode(week)}", ["Bench meeting"])], "session"),
        Page("quotes", "quotes list", [("/m/quotes/", [row, "Bench quote"])], "session"),
        Page("invoices", "invoices list", [("/m/invoices/", [row, "Bench invoice"])], "session"),
        Page("tickets", "tickets list", [("/m/tickets/", [row, "Bench ticket"])], "session"),
        Page(
            "report-run",
            # Nothing is written during the run: after the first request, the report cache's result
            # (crm_apps.reports.cache.cached_run); bench.reports times the computation itself.
            "report run (deals summary, cached)",
            [("/api/v1/reports/run", ['"rows"', '"totals"'])],
            "token",
            method="POST",
            body=json.dumps(REPORT),
        ),
        Page("dashboard", "dashboard", [(f"/dashboards/{board.pk}/", ["data-widget"])], "session"),
        Page(
            "vtiger-query",
            "vtiger webservice query (20)",
            [
                (
                    f"/webservice.php?{urlencode({'operation': 'query', 'sessionName': '{vtiger}', 'query': vtql})}",
                    ['"success": true'],
                )
            ],
            "vtiger",
        ),
    ]
    return pages


# ---------------------------------------------------------------------------------------------
# The server


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def server_command(args: argparse.Namespace, port: int) -> list[str]:
    """The production server's command line (docs/deployment.md, "Worker processes") on a local port."""
    if args.server == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "saas.wsgi:application",
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--blocking-threads",
            str(args.threads),
            "--log-level",
            "warning",
            "--no-ws",
        ]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "saas.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--log-level",
        "warning",
        "--worker-tmp-dir",
        "/dev/shm",  # noqa: S108 - gunicorn's heartbeat files, as in the image
    ]


def server_start(args: argparse.Namespace, static_root: str, checkout: str | None = None) -> Server:
    """The server of this checkout, or of `checkout` (another commit's tree, for --compare-with)."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas.settings",
        "DEBUG": "0",
        "STATIC_ROOT": static_root,
        # The per-token API budget would stop a load test after its first minute.
        "API_TOKEN_RATE_PER_MINUTE": "10000000",
    }
    command = server_command(args, port)
    if checkout:
        from django.conf import settings

        env["PYTHONPATH"] = checkout  # its own code before this checkout's (installed in the environment)
        env["SECRET_KEY"] = settings.SECRET_KEY  # the sessions and signatures this checkout made
    proc = subprocess.Popen(command, env=env, cwd=checkout)  # noqa: S603 - our own command line
    server = Server(proc=proc, port=port)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return server
        except (OSError, urllib.error.URLError):
            pass
        if proc.poll() is not None:
            raise crm.BenchError(f"{args.server} exited with {proc.returncode}")
        time.sleep(0.3)
    server.stop()
    raise crm.BenchError(f"{args.server} did not start")


def _plan_pages(pages: list[Page], host: str, creds: dict[str, str], who: str) -> list[dict[str, Any]]:
    out = []
    for page in pages:
        headers = {"Accept-Encoding": "gzip"}
        if page.auth == "session":
            headers["Cookie"] = creds["cookie"]
        elif page.auth == "token":
            headers["Authorization"] = f"Token {creds['token']}"
        if page.method == "POST":
            headers["Content-Type"] = "application/json"
        paths = [(p.replace("%7Bvtiger%7D", creds["vtiger"]), expect) for p, expect in page.paths]
        out.append(
            {
                "name": f"{page.label} ({who})",
                "key": page.key,
                "who": who,
                "host_header": host,
                "paths": [{"path": p, "expect": e} for p, e in paths],
                "headers": headers,
                "method": page.method,
                "body": page.body,
            }
        )
    return out


def _preflight(port: int, plan_pages: list[dict[str, Any]]) -> None:
    """One request per page before the timed runs: a page that fails its check stops the benchmark."""
    for page in plan_pages:
        first = page["paths"][0]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{first['path']}",
            data=page["body"].encode() if page["body"] else None,
            headers={**page["headers"], "Host": page["host_header"], "Accept-Encoding": "identity"},
            method=page["method"],
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - http://127.0.0.1 only
                text = response.read().decode("utf-8", "replace")
                status = response.status
        except urllib.error.HTTPError as exc:
            text, status = exc.read().decode("utf-8", "replace"), exc.code
        missing = [s for s in first["expect"] if s not in text]
        if status != 200 or missing:
            raise crm.BenchError(f"{page['name']}: status {status}, missing {missing}: {text[:300]!r}")


def measure(args: argparse.Namespace, static_root: str) -> list[dict[str, Any]]:
    from django.db import connections
    from django_tenants.utils import schema_context

    from crm_apps.access.models import ApiToken, SharingDefault
    from crm_apps.access.services import api_token_create, sharing_default_set

    ctx = crm.tenant_prepare()
    with schema_context(crm.SLUG):
        sizes = {
            k: v // crm.QUICK_DIVISOR if args.quick and not args.full_data else v for k, v in crm.FULL_SIZE.items()
        }
        if not args.skip_load:
            crm.log("Loading data (reused when present):")
            crm.Loader(ctx, sizes).run()
        _extras_ensure(ctx)
        previous = {
            row.module: (row.access, row.superiors_see, row.follow_parent)
            for row in SharingDefault.objects.filter(module__in=PRIVATE_MODULES)
        }
        for module in PRIVATE_MODULES:
            sharing_default_set(actor=ctx.admin, module=module, access="private", follow_parent=True)
        results: list[dict[str, Any]] = []
        try:
            plan_pages: list[dict[str, Any]] = []
            for who, member in (("member", ctx.member), ("admin", ctx.admin)):
                if who not in args.who:
                    continue
                ApiToken.objects.filter(member=member, name=crm.TOKEN_NAME).delete()
                _token, key = api_token_create(member=member, name=crm.TOKEN_NAME)
                creds = {
                    "cookie": _session_cookie(ctx.host, member),
                    "token": key,
                    "vtiger": _vtiger_session(ctx.host, member),
                }
                pages = [p for p in pages_for(ctx, member) if p.key in args.page]
                plan_pages += _plan_pages(pages, ctx.host, creds, who)
            connections.close_all()
            server_kind = args.worker_class if args.server == "gunicorn" else "wsgi"
            crm.log(
                f"Server: {args.server} saas.wsgi, {args.workers} {server_kind} worker(s) x {args.threads} thread(s), "
                f"DEBUG off; load: locust, {args.clients} clients, {args.seconds:g} s per page "
                f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
            )
            server = server_start(args, static_root)
            baseline = None
            if args.compare_with:
                baseline_args = argparse.Namespace(**{**vars(args), "server": args.baseline_server or args.server})
                baseline = server_start(baseline_args, static_root, args.compare_with)
            try:
                _preflight(server.port, plan_pages)
                if baseline is not None:
                    _preflight(baseline.port, plan_pages)
                results = _drive(server, plan_pages, args, baseline)
            finally:
                server.stop()
                if baseline is not None:
                    baseline.stop()
        finally:
            for module in PRIVATE_MODULES:
                access, superiors_see, follow_parent = previous.get(module, ("public_read_write_delete", True, True))
                sharing_default_set(
                    actor=ctx.admin,
                    module=module,
                    access=access,
                    superiors_see=superiors_see,
                    follow_parent=follow_parent,
                )
            ApiToken.objects.filter(name=crm.TOKEN_NAME).delete()
    return results


def _server_cpu_s(server: Server) -> float:
    """CPU seconds (user + system) the server's processes have used so far: its master and workers."""
    try:
        root = psutil.Process(server.proc.pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _drive(
    server: Server, plan_pages: list[dict[str, Any]], args: argparse.Namespace, baseline: Server | None = None
) -> list[dict[str, Any]]:
    port = server.port
    with tempfile.TemporaryDirectory(prefix="bench-http-") as folder:
        plan_path, result_path = Path(folder, "plan.json"), Path(folder, "result.json")
        plan = {
            "host": f"http://127.0.0.1:{port}",
            "baseline_host": f"http://127.0.0.1:{baseline.port}" if baseline is not None else None,
            "clients": args.clients,
            "seconds": args.seconds,
            "pages": plan_pages,
        }
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        proc = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "bench.http_load", str(plan_path), str(result_path)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert proc.stdout is not None
        # The server's CPU per served request, page by page: steadier than req/s on a machine whose speed
        # varies from run to run (the load generator prints a page's line as soon as the page ends).
        cpu_ms: dict[str, float] = {}
        cpu_before = _server_cpu_s(server)
        for line in proc.stdout:
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                print(line, end="")
                continue
            cpu_now = _server_cpu_s(server)
            served = result["requests"] + result["failures"]
            result["server_cpu_ms"] = (cpu_now - cpu_before) * 1000 / served if served else 0.0
            if baseline is not None:
                result["server_cpu_ms"] = 0.0  # both servers share the CPU: only the ratio means something
            cpu_ms[f"{result['key']}/{result['who']}"] = result["server_cpu_ms"]
            cpu_before = cpu_now
            _show(result)
        if proc.wait() != 0:
            raise crm.BenchError(f"the load generator exited with {proc.returncode}")
        results = list(json.loads(result_path.read_text(encoding="utf-8")))
        for result in results:
            result["server_cpu_ms"] = cpu_ms.get(f"{result['key']}/{result['who']}", 0.0)
        return results


def _show(result: dict[str, Any]) -> None:
    failed = f"   FAILED {result['failures']}: {result['failure_sample'][:1]}" if result["failures"] else ""
    if not result["requests"] and not result["failures"]:
        failed = f"   NO RESPONSE within {result['seconds']:.0f} s"
    cpu = f"server CPU {result['server_cpu_ms']:5.1f} ms/req   " if result.get("server_cpu_ms") else ""
    crm.log(
        f"  {result['name']:<44} {result['rps']:8.1f} req/s   p50 {result['p50']:7.1f} ms   "
        f"p99 {result['p99']:7.1f} ms   {cpu}n={result['requests']}{failed}"
    )
    base = result.get("baseline")
    if base is not None:
        ratio = result["rps"] / base["rps"] if base["rps"] else 0.0
        base_failed = f"   FAILED {base['failures']}" if base["failures"] else ""
        crm.log(
            f"  {'  baseline, same time':<44} {base['rps']:8.1f} req/s   p50 {base['p50']:7.1f} ms   "
            f"p99 {base['p99']:7.1f} ms   n={base['requests']}   ratio {ratio:.2f}{base_failed}"
        )


def report(results: list[dict[str, Any]]) -> int:
    by = {(r["key"], r["who"]): r for r in results}
    summary: dict[str, float] = {}
    for name, key in (
        ("list_rps", "list"),
        ("search_rps", "list-search"),
        ("detail_rps", "detail"),
        ("api_rps", "api-list"),
    ):
        found = by.get((key, "member")) or by.get((key, "admin"))
        if found is not None:
            summary[name] = found["rps"]
    for r in results:  # a page that answered nothing within the run is slower than the run
        if not r["requests"]:
            r["p99"] = max(r["p99"], r["seconds"] * 1000)
    slowest = max(results, key=lambda r: r["p99"], default=None)
    for name, value in summary.items():
        verdict = "met" if value >= TARGETS[name] else "MISSED"
        crm.log(f"target: {name} >= {TARGETS[name]:g} -> {verdict}")
    if slowest is not None:
        verdict = "met" if slowest["p99"] <= TARGET_P99_MS else f"MISSED ({slowest['name']})"
        crm.log(f"target: every page p99 <= {TARGET_P99_MS:g} ms -> {verdict}")
    for name, value in summary.items():
        print(f"{name}={value:.1f}")
    if slowest is not None:
        print(f"slowest_page_p99_ms={slowest['p99']:.1f}")
    for r in results:  # --compare-with: this checkout's req/s over the baseline's, served at the same time
        base = r.get("baseline")
        if base is not None and base["rps"]:
            print(f"vs_baseline_{r['key'].replace('-', '_')}_{r['who']}={r['rps'] / base['rps']:.2f}")
    return 1 if any(r["failures"] for r in results) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 3 s per page, 1/20 of the data when none is loaded"
    )
    parser.add_argument("--full-data", action="store_true", help="with --quick: still load the full-size data")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per page (default 20, --quick 3)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--who", action="append", choices=("member", "admin"), help="user(s) (default both)")
    parser.add_argument("--page", action="append", choices=PAGES, help="page(s) (default all)")
    parser.add_argument("--server", default=DEFAULT_SERVER, choices=("gunicorn", "granian"))
    parser.add_argument("--worker-class", default=DEFAULT_WORKER_CLASS, choices=("sync", "gthread"))
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--skip-load", action="store_true", help="measure whatever data the tenant has")
    parser.add_argument(
        "--compare-with",
        metavar="CHECKOUT",
        help="also serve another checkout of the project (e.g. `git worktree add /tmp/base <commit>`) with the same "
        "server settings, at the same time: half the clients load each server, and each page prints the ratio of "
        "this checkout's req/s to that baseline's (on a machine whose speed drifts, a fair A/B)",
    )
    parser.add_argument(
        "--baseline-server",
        choices=("gunicorn", "granian"),
        help="the baseline's server (default: --server); without --compare-with the baseline is this checkout",
    )
    parser.add_argument(
        "--no-collectstatic", action="store_true", help="reuse the static files already collected in STATIC_ROOT"
    )
    args = parser.parse_args(argv)
    args.seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 20.0)
    args.who = args.who or ["member", "admin"]
    if args.baseline_server and not args.compare_with:
        args.compare_with = "."
    if args.compare_with:
        args.compare_with = str(Path(args.compare_with).resolve())
        if not Path(args.compare_with, "saas", "wsgi.py").is_file():
            parser.error(f"--compare-with {args.compare_with}: not a checkout of this project")
        if args.clients < 2:
            parser.error("--compare-with needs at least 2 clients (half load each server)")
    args.page = args.page or list(PAGES)
    if args.clients < 1 or args.seconds <= 0:
        parser.error("--clients and --seconds must be positive")
    if args.server == "gunicorn" and args.worker_class == "sync" and args.threads != 1:
        # gunicorn silently turns sync workers with threads into gthread ones: say which one is measured.
        parser.error("--worker-class sync takes --threads 1 (gunicorn runs gthread when threads > 1)")
    with tempfile.TemporaryDirectory(prefix="crm-bench-static-") as folder:
        static_root = os.environ.get("STATIC_ROOT") or folder
        if args.no_collectstatic and os.environ.get("STATIC_ROOT"):
            os.environ["DJANGO_SETTINGS_MODULE"] = "saas.settings"
            os.environ["DEBUG"] = "0"
            import django

            django.setup()
        else:
            crm.django_setup(static_root)
        try:
            results = measure(args, static_root)
        except crm.BenchError as exc:
            crm.log(f"benchmark failed: {exc}")
            return 1
    return report(results)


if __name__ == "__main__":
    sys.exit(main())
