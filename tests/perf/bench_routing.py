"""Routing overhead (issue 7 part 2), run by bench_tenancy.py: the same list view served by gunicorn (2 sync
workers) under the project's multi-tenant settings, with requests spread over many tenants' hosts, and under
a single-tenant configuration of the same code (routing_settings_single.py), measured in the same run with
8 concurrent clients, in alternating rounds. Also a worker's resident memory while it serves every tenant
round-robin."""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.crm import log

CLIENTS = 8
WORKERS = 2
PATH = "/bench/organizations/"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    settings: str

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def rss_kb(self) -> dict[int, int]:
        found = {}
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    found[pid] = int(line.split()[1])
        return found

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def server_start(settings: str, database_url: str) -> Server:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": settings, "DEBUG": "0"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "saas.wsgi:application",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    server = Server(proc=proc, port=port, settings=settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status = asyncio.run(asyncio.wait_for(_get(port, "localhost", "/healthz"), timeout=5))
            if status == 200 and len(server.workers()) == WORKERS:
                return server
        except (OSError, TimeoutError):
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn ({settings}) exited with {proc.returncode}")
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"gunicorn ({settings}) did not start")


async def _get(port: int, host: str, path: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return int(data.split(b" ", 2)[1])


async def _load(port: int, hosts: list[str], *, seconds: float | None, requests: int | None) -> tuple[int, float]:
    """CLIENTS concurrent clients, hosts round-robin; until `seconds` passed or `requests` were made."""
    counter = itertools.count()
    done = 0
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else None

    async def client() -> None:
        nonlocal done
        while True:
            n = next(counter)
            if requests is not None and n >= requests:
                return
            if deadline is not None and time.perf_counter() >= deadline:
                return
            status = await _get(port, hosts[n % len(hosts)], PATH)
            if status != 200:
                raise RuntimeError(f"{hosts[n % len(hosts)]}{PATH} answered {status}")
            done += 1

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return done, time.perf_counter() - started


def load(port: int, hosts: list[str], *, seconds: float | None = None, requests: int | None = None) -> float:
    """Requests per second."""
    done, elapsed = asyncio.run(_load(port, hosts, seconds=seconds, requests=requests))
    return done / elapsed


@dataclass
class RoutingResult:
    tenant_rates: list[float]
    single_rates: list[float]
    rss_growth_mb: float
    tenants: int

    @property
    def tenant_rps(self) -> float:
        return sum(self.tenant_rates) / len(self.tenant_rates)

    @property
    def single_rps(self) -> float:
        return sum(self.single_rates) / len(self.single_rates)

    @property
    def ratio_of_means(self) -> float:
        return self.tenant_rps / self.single_rps

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios: each round measures both servers back to back (in alternating
        order), so a disturbance of a few seconds on this shared machine spoils one round's ratio, not
        the figure."""
        return statistics.median(t / s for t, s in zip(self.tenant_rates, self.single_rates, strict=True))


def routing_measure(*, database_url: str, hosts: list[str], rounds: int, seconds: float) -> RoutingResult:
    """Both servers up; memory first (tenant server), then alternating throughput rounds."""
    servers: list[Server] = []
    try:
        tenant = server_start("tests.perf.routing_settings_tenant", database_url)
        servers.append(tenant)
        single = server_start("tests.perf.routing_settings_single", database_url)
        servers.append(single)
        # Memory: warm on a few tenants, then every tenant round-robin, three times over.
        load(tenant.port, hosts[:10], requests=100 * WORKERS * 5)
        before = tenant.rss_kb()
        load(tenant.port, hosts, requests=3 * len(hosts))
        after = tenant.rss_kb()
        growth_mb = max((after[pid] - before.get(pid, after[pid])) / 1024 for pid in after)
        log(
            f"  worker RSS before/after serving {len(hosts):,} tenants round-robin (MB): "
            + ", ".join(f"{before.get(p, 0) / 1024:.1f} -> {after[p] / 1024:.1f}" for p in after)
        )
        load(single.port, hosts, requests=2 * len(hosts))  # warm the baseline the same way
        tenant_rates: list[float] = []
        single_rates: list[float] = []
        for i in range(rounds):
            for server, rates in ((tenant, tenant_rates), (single, single_rates))[:: 1 if i % 2 == 0 else -1]:
                rates.append(load(server.port, hosts, seconds=seconds))
            log(
                f"  round {i + 1}: multi-tenant {tenant_rates[-1]:7.1f} req/s, single-tenant {single_rates[-1]:7.1f}"
                f" -> {tenant_rates[-1] / single_rates[-1]:.3f}"
            )
    finally:
        for server in servers:
            server.stop()
    return RoutingResult(
        tenant_rates=tenant_rates,
        single_rates=single_rates,
        rss_growth_mb=growth_mb,
        tenants=len(hosts),
    )
