"""vtiger-compatible API benchmark (issue 17, "Performance"): a 20-row VTQL query and record creation
through `/webservice.php`, beside the same work through the REST API, on the CRM benchmark's tenant.

    python -m bench.vtiger            # `make bench-vtiger`: 1,000,000 contacts (loaded by bench.crm when missing)
    python -m bench.vtiger --quick    # 1/20 of the data, for development

It signs in as the benchmark's non-admin member with vtiger's challenge/login, then times, warm and
server-side (Django's test client, in process):

- `vtiger_query_p95_ms`: `SELECT firstname, lastname, email, account_id FROM Contacts WHERE
  mailingcity = '<a city of the load>' LIMIT 20;` (baseline: `GET /api/v1/contacts/?mailing_city=...&limit=20`);
- `vtiger_create_per_s`: `create` of one contact per call, back to back (baseline: `POST /api/v1/contacts/`).

The contacts it creates are removed at the end, so every run measures the same data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from bench import crm


def _login(client: Any, email: str, key: str) -> str:
    token = crm.expect(
        client.get("/webservice.php", {"operation": "getchallenge", "username": email}), 200, "getchallenge"
    )
    answer = hashlib.md5((token.json()["result"]["token"] + key).encode(), usedforsecurity=False).hexdigest()
    login = client.post("/webservice.php", {"operation": "login", "username": email, "accessKey": answer}).json()
    if not login.get("success"):
        raise crm.BenchError(f"vtiger login failed: {login}")
    return str(login["result"]["sessionName"])


def _timed(call: Any, warmup: int, samples: int) -> list[float]:
    for _ in range(warmup):
        call()
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(ctx: crm.Context, loader: crm.Loader, args: argparse.Namespace) -> dict[str, float]:
    from django.test import Client

    from crm_apps.access.models import ApiToken
    from crm_apps.access.services import api_token_create
    from crm_apps.engine.api.views import TokenRateThrottle
    from crm_apps.engine.models import TimelineEntry
    from crm_apps.modules.contacts.models import Contact
    from crm_apps.vtiger.services import access_key_get

    results: dict[str, float] = {}
    member = ctx.member
    city = (
        Contact.objects.filter(deleted_at__isnull=True)
        .exclude(mailing_city="")
        .values_list("mailing_city", flat=True)
        .first()
    )
    if not city:
        raise crm.BenchError("no contacts with a city to query")
    client = Client(HTTP_HOST=ctx.host)
    session = _login(client, member.user.email, access_key_get(member=member).key)
    rates = dict(TokenRateThrottle.THROTTLE_RATES)
    TokenRateThrottle.THROTTLE_RATES = {**rates, "api": "1000000/min"}
    ApiToken.objects.filter(member=member, name=crm.TOKEN_NAME).delete()
    token, key = api_token_create(member=member, name=crm.TOKEN_NAME)
    api = Client(HTTP_HOST=ctx.host, HTTP_AUTHORIZATION=f"Token {key}")
    created: list[str] = []
    started_at = time.time()
    try:
        quoted = city.replace("'", "''")
        vtql = (  # VTQL text for the endpoint under test, not SQL
            f"SELECT firstname, lastname, email, account_id FROM Contacts WHERE mailingcity = '{quoted}' LIMIT 20;"  # noqa: S608
        )

        def ws_query() -> None:
            body = client.get("/webservice.php", {"operation": "query", "sessionName": session, "query": vtql}).json()
            if not body["success"] or len(body["result"]) > 20:
                raise crm.BenchError(f"vtiger query failed: {body}")

        path = "/api/v1/contacts/"

        def api_query() -> None:
            crm.expect(api.get(path, {"mailing_city": city, "limit": 20}), 200, path)

        rows = len(
            client.get("/webservice.php", {"operation": "query", "sessionName": session, "query": vtql}).json()[
                "result"
            ]
        )
        crm.log(f"Query ({rows} rows): {vtql}")
        ws_timing = crm.Timing("VTQL query via /webservice.php", _timed(ws_query, args.warmup, args.samples))
        api_timing = crm.Timing(
            "baseline GET /api/v1/contacts/?mailing_city", _timed(api_query, args.warmup, args.samples)
        )
        ws_timing.show()
        api_timing.show()
        crm.log(f"  statements per VTQL query: {crm.count_queries(ws_query)}")
        results["vtiger_query_p95_ms"] = ws_timing.p95
        results["_api_query_p95_ms"] = api_timing.p95

        def ws_create(i: int) -> None:
            element = {
                "firstname": "Ada",
                "lastname": f"Bench{i}",
                "email": f"ada{i}@bench-vtiger.example",
                "mailingcity": city,
            }
            body = client.post(
                "/webservice.php",
                {
                    "operation": "create",
                    "sessionName": session,
                    "elementType": "Contacts",
                    "element": json.dumps(element),
                },
            ).json()
            if not body["success"]:
                raise crm.BenchError(f"vtiger create failed: {body}")
            created.append(body["result"]["id"])

        def api_create(i: int) -> None:
            body = {
                "first_name": "Ada",
                "last_name": f"Bench{i}",
                "email": f"ada{i}@bench-api.example",
                "mailing_city": city,
            }
            created.append(crm.expect(api.post(path, body, content_type="application/json"), 201, path).json()["id"])

        for label, fn, result in (
            ("vtiger create via /webservice.php", ws_create, "vtiger_create_per_s"),
            ("baseline POST /api/v1/contacts/", api_create, "_api_create_per_s"),
        ):
            count = 0
            began = time.perf_counter()
            while time.perf_counter() - began < args.create_seconds:
                fn(count)
                count += 1
            per_second = count / (time.perf_counter() - began)
            crm.log(f"  {label:<44} {per_second:8.1f} records/s ({count} calls)")
            results[result] = per_second
    finally:
        mine = list(
            Contact.objects.filter(email__endswith="@bench-vtiger.example").values_list("pk", flat=True)
        ) + list(Contact.objects.filter(email__endswith="@bench-api.example").values_list("pk", flat=True))
        for start in range(0, len(mine), 1000):
            batch = mine[start : start + 1000]
            TimelineEntry.objects.filter(module="contacts", record_id__in=batch).delete()
            Contact.objects.filter(pk__in=batch).delete()
        ApiToken.objects.filter(pk=token.pk).delete()
        TokenRateThrottle.THROTTLE_RATES = rates
        crm.log(f"  removed the {len(mine)} contacts the create runs added ({time.time() - started_at:.0f}s in all)")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.vtiger", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    parser.add_argument("--quick", action="store_true", help=f"1/{crm.QUICK_DIVISOR} of the data (development)")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--create-seconds", type=float, default=10.0)
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
                results = measure(ctx, loader, args)
        except crm.BenchError as exc:
            crm.log(f"benchmark failed: {exc}")
            return 1
    target = results["vtiger_query_p95_ms"] <= 15
    crm.log(f"target: vtiger query p95 <= 15 ms -> {'met' if target else 'MISSED'}")
    for key, value in results.items():
        if not key.startswith("_"):
            print(f"{key}={value:.1f}")
    print(f"vtiger_query_vs_api_ratio={results['vtiger_query_p95_ms'] / results['_api_query_p95_ms']:.2f}")
    print(f"vtiger_create_vs_api_ratio={results['vtiger_create_per_s'] / results['_api_create_per_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
