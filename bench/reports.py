"""Reports benchmark (issue 21, "Performance"), on the CRM benchmark's tenant (1,000,000 contacts, 300,000
deals; loaded by bench.crm when missing):

    python -m bench.reports            # `make bench-reports`
    python -m bench.reports --quick    # 1/20 of the data, for development

Deals are made private for the run (restored afterwards), so the non-admin member is measured under sharing
rules. Timed warm through the API (Django's test client, in process):

- `report_ms`: p95 of `POST /api/v1/reports/run` with a summary of deals grouped by stage x close month with
  sum(amount) and count, as the non-admin member (target p95 <= 500 ms);
- `report_admin_ms`: the same as the admin (no visibility condition); both computed for every sample (the
  records data version bumped before each, as after a write), never from the report cache;
- `report_cached_ms`: the member's run again with nothing written in between (`reports.cache.cached_run`);
- `dashboard_ms`: p95 of a full refresh of the default dashboard (every widget's data, one after the
  other, as the page's "Refresh" does) as the member after a write (the records data version bumped before
  each sample, so no widget comes from the cache; target p95 <= 1500 ms);
- `dashboard_cached_ms`: the same refresh with nothing written in between (the widgets' cached results,
  `crm_apps.reports.cache`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from bench import crm

DEFINITION = {
    "module": "deals",
    "type": "summary",
    "group_by": ["stage", {"field": "close_date", "granularity": "month"}],
    "aggregates": [{"field": "amount", "op": "sum"}, {"op": "count"}],
}


def _timed(call: Any, warmup: int, samples: int, before: Any = None) -> list[float]:
    for _ in range(warmup):
        call()
    out = []
    for _ in range(samples):
        if before is not None:
            before()  # not timed
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(ctx: crm.Context, args: argparse.Namespace) -> dict[str, float]:
    from django.test import Client

    from crm_apps.access.models import ApiToken, SharingDefault
    from crm_apps.access.services import api_token_create, sharing_default_set
    from crm_apps.engine.api.views import TokenRateThrottle
    from crm_apps.reports.dashboards import dashboards_for

    results: dict[str, float] = {}
    previous = SharingDefault.objects.filter(module="deals").values_list("access", flat=True).first()
    sharing_default_set(actor=ctx.admin, module="deals", access="private")
    rates = dict(TokenRateThrottle.THROTTLE_RATES)
    TokenRateThrottle.THROTTLE_RATES = {**rates, "api": "1000000/min"}
    clients = {}
    try:
        for who, member in (("member", ctx.member), ("admin", ctx.admin)):
            ApiToken.objects.filter(member=member, name=crm.TOKEN_NAME).delete()
            _token, key = api_token_create(member=member, name=crm.TOKEN_NAME)
            clients[who] = Client(HTTP_HOST=ctx.host, HTTP_AUTHORIZATION=f"Token {key}")
        body = json.dumps(DEFINITION)

        def report(who: str) -> Any:
            return lambda: crm.expect(
                clients[who].post("/api/v1/reports/run", body, content_type="application/json"), 200, "report run"
            )

        first = report("member")().json()
        crm.log(f"Member's report: {len(first['rows'])} rows, totals {first['totals']}")
        from crm_apps.reports.cache import data_version_bump

        def bump() -> None:
            data_version_bump(schema=crm.SLUG)

        # Computed every time: a record write before each sample (the data version bumped), so no run comes
        # from the report cache (crm_apps.reports.cache.cached_run).
        member_timing = crm.Timing(
            "summary stage x month (member)", _timed(report("member"), args.warmup, args.samples, before=bump)
        )
        admin_timing = crm.Timing(
            "summary stage x month (admin)", _timed(report("admin"), args.warmup, args.samples, before=bump)
        )
        # Nothing written in between: the member's cached result.
        member_cached_timing = crm.Timing(
            "summary stage x month (member), nothing written (cached)",
            _timed(report("member"), 1, args.samples),
        )
        board = dashboards_for(actor=ctx.member).filter(shared=True).first()
        assert board is not None
        urls = [f"/api/v1/dashboard-widgets/{w.pk}/data" for w in board.widgets.all()]

        def refresh() -> None:
            for url in urls:
                crm.expect(clients["member"].get(url), 200, url)

        # Cold: a record write between two refreshes (the data version bumped), so every widget is computed.
        dashboard_timing = crm.Timing(
            f"default dashboard refresh after a write ({len(urls)} widgets computed)",
            _timed(refresh, 2, max(5, args.samples // 5), before=lambda: data_version_bump(schema=crm.SLUG)),
        )
        # Warm: refreshed again with no write in between: the widgets' cached results (crm_apps.reports.cache).
        cached_timing = crm.Timing(
            f"default dashboard refresh, nothing written ({len(urls)} widgets cached)",
            _timed(refresh, 1, max(5, args.samples // 5)),
        )
        for timing in (member_timing, admin_timing, member_cached_timing, dashboard_timing, cached_timing):
            timing.show()
        results["report_ms"] = member_timing.p95
        results["report_admin_ms"] = admin_timing.p95
        results["report_cached_ms"] = member_cached_timing.p95
        results["dashboard_ms"] = dashboard_timing.p95
        results["dashboard_cached_ms"] = cached_timing.p95
    finally:
        TokenRateThrottle.THROTTLE_RATES = rates
        sharing_default_set(actor=ctx.admin, module="deals", access=previous or "public_read_write_delete")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reports", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    parser.add_argument("--quick", action="store_true", help=f"1/{crm.QUICK_DIVISOR} of the data (development)")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crm-bench-static-") as static_root:
        crm.django_setup(None if os.environ.get("STATIC_ROOT") else static_root)
        from django_tenants.utils import schema_context

        try:
            ctx = crm.tenant_prepare()
            with schema_context(crm.SLUG):
                sizes = {k: v // crm.QUICK_DIVISOR if args.quick else v for k, v in crm.FULL_SIZE.items()}
                loader = crm.Loader(ctx, sizes)
                crm.log("Loading data (reused when present):")
                loader.run()
                results = measure(ctx, args)
        except crm.BenchError as exc:
            crm.log(f"benchmark failed: {exc}")
            return 1
    crm.log(f"target: report p95 <= 500 ms -> {'met' if results['report_ms'] <= 500 else 'MISSED'}")
    crm.log(f"target: dashboard p95 <= 1500 ms -> {'met' if results['dashboard_ms'] <= 1500 else 'MISSED'}")
    for key, value in results.items():
        print(f"{key}={value:.1f}")
    print(f"report_member_vs_admin_ratio={results['report_ms'] / max(results['report_admin_ms'], 0.001):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
