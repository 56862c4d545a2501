"""Profile the pages `bench.crm` measures (a development aid, not a benchmark).

Runs on the tenant `bench.crm` loaded (it does not load data) and prints, per page, the functions
with the most own time and the most cumulative time over N warm calls, under cProfile (or, with
`--timing`, `--templates`, `--sql`, `--garbage`, what those options say):

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.profile_pages --page list --calls 200
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from bench import crm
from bench.http import PRIVATE_MODULES, REPORT

PAGES = ("list", "list-search", "detail", "search", "api-list", "kanban", "report-run", "api-create", "api-batch")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_pages")
    parser.add_argument("--page", choices=PAGES, action="append", help="page(s) to profile (default: all)")
    parser.add_argument("--calls", type=int, default=100, help="profiled calls per page")
    parser.add_argument("--top", type=int, default=35, help="rows printed per table")
    parser.add_argument(
        "--wall", action="store_true", help="wall-clock time (default: CPU time of this process, steadier when busy)"
    )
    parser.add_argument("--dump", metavar="DIR", help="also write <DIR>/<page>.pstats for pstats/snakeviz")
    parser.add_argument(
        "--private",
        action="store_true",
        help="as bench.http: organisations, contacts (following them) and deals private for the run",
    )
    parser.add_argument(
        "--sql",
        action="store_true",
        help="print each page's statements, their time once and PostgreSQL's planning / execution time (medians "
        "of 5 EXPLAIN ANALYZE runs)",
    )
    parser.add_argument(
        "--templates",
        action="store_true",
        help="print each page's templates by inclusive and own wall time per call (no cProfile overhead)",
    )
    parser.add_argument(
        "--garbage",
        action="store_true",
        help="per GET page, the objects a request leaves to the garbage collector (in reference cycles), through "
        "the WSGI handler itself (no test client), and their commonest types",
    )
    parser.add_argument(
        "--timing",
        action="store_true",
        help="print each page's CPU and wall time per call (medians, no profiler): steadier A/B comparisons "
        "than throughput on a shared machine",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crm-profile-static-") as static_root:
        crm.django_setup(None if os.environ.get("STATIC_ROOT") else static_root)
        return run(args)


def run(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.test import Client
    from django_tenants.utils import schema_context

    from crm_apps.access.middleware import SESSION_EPOCH_KEY
    from crm_apps.access.models import ApiToken
    from crm_apps.access.services import api_token_create
    from crm_apps.engine import registry
    from crm_apps.engine.api.views import TokenRateThrottle

    ctx = crm.tenant_prepare()
    TokenRateThrottle.THROTTLE_RATES = {**TokenRateThrottle.THROTTLE_RATES, "api": "1000000/min"}
    spec = registry.get("contacts")
    created: list[str] = []
    with schema_context(crm.SLUG):
        client = Client(HTTP_HOST=ctx.host)
        client.force_login(ctx.member.user, backend="tenants.auth.EmailBackend")
        session = client.session
        session[SESSION_EPOCH_KEY] = ctx.member.session_epoch
        session.save()
        token, key = api_token_create(member=ctx.member, name="profile-pages")
        api = Client(HTTP_HOST=ctx.host, HTTP_AUTHORIZATION=f"Token {key}")
        previous = _private(ctx) if args.private else None
        from crm_apps.engine import selectors

        # Contacts the member sees (under --private too): a detail page, not a 404.
        visible = selectors.list_queryset(spec=spec, actor=ctx.member).order_by()
        ids = [str(pk) for pk in visible.values_list("pk", flat=True)[:2000:100]]

        def keep(response: object) -> None:
            data = getattr(response, "json", None)
            if getattr(response, "status_code", 0) == 201 and data is not None:
                body = data()
                created.extend(str(r["id"]) for r in body.get("results", [body]))

        calls: dict[str, Callable[[int], object]] = {
            "list": lambda i: client.get("/m/contacts/"),
            "detail": lambda i: client.get(f"/m/contacts/{ids[i % len(ids)]}/"),
            "list-search": lambda i: client.get("/m/contacts/", {"q": crm.SEARCH_SURNAMES[0]}),
            "search": lambda i: client.get("/search/", {"q": "Müller"}),
            "kanban": lambda i: client.get("/m/deals/board/"),
            "report-run": lambda i: api.post("/api/v1/reports/run", REPORT, content_type="application/json"),
            "api-list": lambda i: api.get("/api/v1/contacts/", {"limit": 20}),
            "api-create": lambda i: keep(
                api.post(
                    "/api/v1/contacts/",
                    {"first_name": "Profile", "last_name": f"Run{i}", "email": f"p{i}@profile.example.com"},
                    content_type="application/json",
                )
            ),
            "api-batch": lambda i: keep(
                api.post(
                    "/api/v1/contacts/batch",
                    {
                        "records": [
                            {"first_name": "Profile", "last_name": f"B{i}x{j}", "email": f"b{i}x{j}@p.example.com"}
                            for j in range(100)
                        ]
                    },
                    content_type="application/json",
                )
            ),
        }
        # The GET pages as the WSGI handler gets them (--garbage): the test client keeps contexts of its own.
        session_cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        wsgi_gets: dict[str, tuple[str, str, dict[str, str]]] = {
            "list": ("/m/contacts/", "", {"HTTP_COOKIE": session_cookie}),
            "list-search": ("/m/contacts/", urlencode({"q": crm.SEARCH_SURNAMES[0]}), {"HTTP_COOKIE": session_cookie}),
            "detail": (f"/m/contacts/{ids[0]}/", "", {"HTTP_COOKIE": session_cookie}),
            "search": ("/search/", urlencode({"q": "Müller"}), {"HTTP_COOKIE": session_cookie}),
            "kanban": ("/m/deals/board/", "", {"HTTP_COOKIE": session_cookie}),
            "api-list": ("/api/v1/contacts/", "limit=20", {"HTTP_AUTHORIZATION": f"Token {key}"}),
        }
        wsgi_gets = {
            page: (path, query, {**headers, "HTTP_HOST": ctx.host})
            for page, (path, query, headers) in wsgi_gets.items()
        }
        try:
            for page in args.page or PAGES:
                call = calls[page]
                for i in range(5):
                    call(i)
                if args.sql:
                    _statements(page, functools.partial(call, 0))
                if args.templates:
                    _templates(page, call, args.calls)
                    continue
                if args.garbage:
                    _garbage(page, wsgi_gets.get(page), args.top)
                    continue
                if args.timing:
                    _timing(page, call, args.calls)
                    continue
                profiler = cProfile.Profile() if args.wall else cProfile.Profile(time.process_time)
                profiler.enable()
                for i in range(args.calls):
                    call(i)
                profiler.disable()
                if args.dump:
                    profiler.dump_stats(os.path.join(args.dump, f"{page}.pstats"))
                for order in ("tottime", "cumulative"):
                    out = io.StringIO()
                    stats = pstats.Stats(profiler, stream=out)
                    stats.sort_stats(order).print_stats(args.top)
                    print(f"===== {page}: {args.calls} calls, by {order}")
                    print(out.getvalue())
        finally:
            if previous is not None:
                _restore(ctx, previous)
            ApiToken.objects.filter(pk=token.pk).delete()
            from crm_apps.engine.models import TimelineEntry

            for start in range(0, len(created), 1000):
                batch = created[start : start + 1000]
                TimelineEntry.objects.filter(module="contacts", record_id__in=batch).delete()
                spec.model.objects.filter(pk__in=batch).delete()
    return 0


def _garbage(page: str, get: tuple[str, str, dict[str, str]] | None, top: int) -> None:
    """What one request of `page` leaves in reference cycles (freed only by the garbage collector, not when the
    request ends), measured after warm calls with the start-up objects frozen as `saas/wsgi.py` does."""
    import collections
    import gc

    from django.core.handlers.wsgi import WSGIHandler

    if get is None:
        print(f"===== {page}: not a GET page, skipped")
        return
    path, query, headers = get
    handler = WSGIHandler()

    def call() -> str:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            **headers,
        }
        status: list[str] = []

        def start_response(answer: str, _headers: Any, _exc: Any = None) -> Callable[[bytes], object]:
            status.append(answer)
            return lambda _data: None

        body = handler(environ, start_response)
        b"".join(body)
        body.close()
        return status[0]

    for _ in range(5):
        answer = call()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        left = []
        for _ in range(3):
            call()
            started = time.perf_counter()
            found = gc.collect(0)
            left.append((found, (time.perf_counter() - started) * 1e6))
        gc.set_debug(gc.DEBUG_SAVEALL)
        call()
        gc.collect(0)
        kinds = collections.Counter(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.unfreeze()
        gc.enable()
    print(f"===== {page} ({answer}): objects left to the collector per request, and its time to free them")
    print("  " + ", ".join(f"{found} ({micros:.0f} us)" for found, micros in left))
    print("  " + ", ".join(f"{kind} {n}" for kind, n in kinds.most_common(top)))


def _private(ctx: crm.Context) -> dict[str, tuple[str, bool, bool]]:
    from crm_apps.access.models import SharingDefault
    from crm_apps.access.services import sharing_default_set

    previous = {
        row.module: (row.access, row.superiors_see, row.follow_parent)
        for row in SharingDefault.objects.filter(module__in=PRIVATE_MODULES)
    }
    for module in PRIVATE_MODULES:
        sharing_default_set(actor=ctx.admin, module=module, access="private", follow_parent=True)
    return previous


def _restore(ctx: crm.Context, previous: dict[str, tuple[str, bool, bool]]) -> None:
    from crm_apps.access.services import sharing_default_set

    for module in PRIVATE_MODULES:
        access, superiors_see, follow_parent = previous.get(module, ("public_read_write_delete", True, True))
        sharing_default_set(
            actor=ctx.admin, module=module, access=access, superiors_see=superiors_see, follow_parent=follow_parent
        )


def _templates(page: str, call: Callable[[int], object], calls: int) -> None:
    """Wall time per template (inclusive, and own = minus the templates it includes), per call."""
    from django.template.base import Template

    original = Template.render
    inclusive: dict[str, float] = {}
    own: dict[str, float] = {}
    stack: list[float] = []  # time spent in nested templates, per open level

    def timed(self: Template, context: Any) -> Any:
        name = str(self.origin.template_name) if self.origin else "?"
        stack.append(0.0)
        started = time.perf_counter()
        try:
            return original(self, context)
        finally:
            spent = time.perf_counter() - started
            nested = stack.pop()
            inclusive[name] = inclusive.get(name, 0.0) + spent
            own[name] = own.get(name, 0.0) + spent - nested
            if stack:
                stack[-1] += spent

    Template.render = timed  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        for i in range(calls):
            call(i)
        total = time.perf_counter() - started
    finally:
        Template.render = original  # type: ignore[method-assign]
    print(f"===== {page}: {total / calls * 1000:.2f} ms per call (wall), templates per call:")
    print(f"  {'inclusive':>10} {'own':>8}  template")
    for name, spent in sorted(inclusive.items(), key=lambda item: -item[1]):
        print(f"  {spent / calls * 1000:8.2f}ms {own[name] / calls * 1000:6.2f}ms  {name}")


def _timing(page: str, call: Callable[[int], object], calls: int) -> None:
    """Median CPU time of this process and wall time per call (the database's own CPU not included)."""
    cpu: list[float] = []
    wall: list[float] = []
    for i in range(calls):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        call(i)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started_wall)
    cpu.sort()
    wall.sort()
    print(
        f"===== {page}: {cpu[len(cpu) // 2] * 1000:.2f} ms CPU, {wall[len(wall) // 2] * 1000:.2f} ms wall per call "
        f"(medians of {calls}; wall p99 {wall[min(len(wall) - 1, int(len(wall) * 0.99))] * 1000:.2f} ms, "
        f"slowest {wall[-1] * 1000:.2f} ms)"
    )


def _statements(page: str, call: Callable[[], object]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        call()
        total = time.perf_counter() - started
    sql_chars = int(os.environ.get("SQL_CHARS", "400"))  # SQL_CHARS=100000: whole statements, for EXPLAIN
    print(f"===== {page}: {len(captured.captured_queries)} statements, {total * 1000:.1f} ms wall")
    for query in captured.captured_queries:
        print(f"  {float(query['time']) * 1000:8.1f} ms  {query['sql'][:sql_chars]}")
        if query["sql"].lstrip("( ").upper().startswith("SELECT"):
            print(f"             planning / execution: {_plan_times(query['sql'])}")


def _plan_times(sql: str, runs: int = 5) -> str:
    """Median planning and execution time of `sql` in PostgreSQL (EXPLAIN ANALYZE, `runs` times): what the
    server spends per statement, apart from the round trip (the captured time)."""
    import re
    import statistics

    from django.db import connection

    planning: list[float] = []
    execution: list[float] = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            cursor.execute(f"EXPLAIN (ANALYZE, SUMMARY) {sql}")
            text = "\n".join(row[0] for row in cursor.fetchall())
            planning += [float(m) for m in re.findall(r"Planning Time: ([\d.]+)", text)]
            execution += [float(m) for m in re.findall(r"Execution Time: ([\d.]+)", text)]
    if not planning or not execution:
        return "n/a"
    return f"{statistics.median(planning):.2f} / {statistics.median(execution):.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
