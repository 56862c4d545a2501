"""The load generator of `bench.http` (issue 25): locust, as a library, in a process of its own.

    python -m bench.http_load plan.json result.json

`plan.json` (written by bench.http) names the server, the clients per page, the seconds per page and the
pages: per page a path, the request headers of the signed-in user (session cookie or API token), an
optional POST body, and the strings every response must contain. For each page a fresh locust
environment runs `clients` users back to back (no think time) for `seconds`; every response is checked
(status and content) and a response that fails a check counts as a failure, not as a served request.
Results (requests, failures, req/s, p50, p99 in ms) go to `result.json`.

Kept apart from bench.http because locust patches the standard library with gevent on import, which
must not happen in a process that holds Django and its database connections.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from gevent import monkey

monkey.patch_all()

import gevent  # noqa: E402
from locust import FastHttpUser, constant, task  # noqa: E402
from locust.env import Environment  # noqa: E402


def _percentile(samples: list[float], p: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def run_page(
    host: str, page: dict[str, Any], clients: int, seconds: float, baseline: str | None = None
) -> dict[str, Any]:
    """`clients` users on `host`; with a `baseline` host, half of them on each, at the same time."""
    users = [_page_user(host, page, "PageUser")]
    if baseline is not None:
        users.append(_page_user(baseline, page, "BaselineUser"))
    env = Environment(user_classes=[user for user, _timings, _failures in users])
    runner = env.create_local_runner()
    started = time.monotonic()
    runner.start(clients, spawn_rate=clients)
    gevent.sleep(seconds)
    runner.quit()
    elapsed = time.monotonic() - started
    results = [_summary(timings, failures, elapsed) for _user, timings, failures in users]
    out = {"name": page["name"], "key": page.get("key", page["name"]), "who": page.get("who", ""), **results[0]}
    if baseline is not None:
        out["baseline"] = results[1]
    return out


def _summary(timings: list[float], failures: list[str], elapsed: float) -> dict[str, Any]:
    return {
        "requests": len(timings),
        "failures": len(failures),
        "failure_sample": failures[:3],
        "rps": len(timings) / elapsed if elapsed else 0.0,
        "p50": _percentile(timings, 50),
        "p99": _percentile(timings, 99),
        "seconds": elapsed,
    }


def _page_user(host: str, page: dict[str, Any], name: str) -> tuple[type[FastHttpUser], list[float], list[str]]:
    """A locust user class loading `page` from `host` back to back, with the lists its results go to."""
    timings: list[float] = []
    failures: list[str] = []
    paths: list[dict[str, Any]] = page["paths"]
    turn = [0]
    method = page.get("method", "GET")
    body = page.get("body")
    headers = {"Host": page["host_header"], **page["headers"]}

    class PageUser(FastHttpUser):
        wait_time = constant(0)
        # The server's connection is kept alive between requests, as a browser's would be.
        connection_timeout = 30.0
        network_timeout = 60.0

        @task
        def hit(self) -> None:
            target = paths[turn[0] % len(paths)]
            turn[0] += 1
            expect: list[str] = target["expect"]
            started = time.perf_counter()
            with self.client.request(
                method, target["path"], data=body, headers=headers, name=page["name"], catch_response=True
            ) as response:
                elapsed = (time.perf_counter() - started) * 1000
                text = response.text or ""
                if response.status_code != page.get("status", 200):
                    response.failure(f"status {response.status_code}")
                    failures.append(f"status {response.status_code}: {text[:200]!r}")
                    return
                missing = [s for s in expect if s not in text]
                if missing:
                    response.failure(f"missing {missing}")
                    failures.append(f"missing {missing}: {text[:200]!r}")
                    return
                response.success()
                timings.append(elapsed)

    PageUser.host = host
    PageUser.__name__ = PageUser.__qualname__ = name  # locust tells user classes apart by name
    return PageUser, timings, failures


def main(argv: list[str]) -> int:
    plan_path, result_path = argv
    with open(plan_path, encoding="utf-8") as handle:
        plan = json.load(handle)
    results = []
    for page in plan["pages"]:
        result = run_page(plan["host"], page, plan["clients"], plan["seconds"], plan.get("baseline_host"))
        results.append(result)
        print(json.dumps(result), flush=True)
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
