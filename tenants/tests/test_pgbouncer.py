"""Connection pooling with schema-per-tenant, through a real PgBouncer (Debian's `pgbouncer`; a private
instance on its own port with its configuration in a temporary folder, in front of the test database).

Two tenants' requests interleave on two database connections of the project's own backend. In
transaction mode a connection's second query runs in the *other* tenant's schema (the search_path is set
on the session, once per tenant change, and the pooler handed the session to someone else): the danger
is real. In session mode it never does. The system check of `tenants/pooling.py` tells the two apart,
so `migrate`, `check --database default` and the image's long-running roles refuse transaction pooling."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tenants.models import Tenant
from tenants.pooling import shares_server_connections, transaction_pooling_refused
from tenants.postgresql_backend.base import DatabaseWrapper

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not os.path.exists(PGBOUNCER) and not os.environ.get("REQUIRE_PGBOUNCER"),
        reason="Debian's pgbouncer is not installed (.ci/run installs it)",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def _socket_relay(path: str) -> int:
    """A loopback TCP port relayed to the server's unix socket. CI's embedded PostgreSQL listens only on a
    socket in a directory PgBouncer's user (`postgres`, when the tests run as root) cannot enter."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def serve() -> None:
        while True:
            client, _address = listener.accept()
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(path)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1])


def _start(tmp: Path, mode: str, pool_size: int) -> tuple[subprocess.Popen[bytes], int]:
    settings = dict(connection.settings_dict)
    if str(settings["HOST"] or "").startswith("/"):
        relay = _socket_relay(f"{settings['HOST']}/.s.PGSQL.{settings['PORT'] or 5432}")
        settings.update(HOST="127.0.0.1", PORT=str(relay))
    port = _free_port()
    user = settings["USER"] or "postgres"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "users.txt").write_text(f'"{user}" "{settings["PASSWORD"] or ""}"\n')
    password = f" password={settings['PASSWORD']}" if settings["PASSWORD"] else ""
    (tmp / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} user={user}{password}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {tmp / 'users.txt'}\n"
        f"pool_mode = {mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = 50\n"
        "server_reset_query = DISCARD ALL\nignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {tmp / 'pgbouncer.log'}\npidfile = {tmp / 'pgbouncer.pid'}\n"
    )
    command = [PGBOUNCER, str(tmp / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(tmp, "postgres")
        for name in ("users.txt", "pgbouncer.ini"):
            shutil.chown(tmp / name, "postgres")
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        if process.poll() is not None:
            break
        time.sleep(0.1)
    log = (tmp / "pgbouncer.log").read_text() if (tmp / "pgbouncer.log").exists() else ""
    process.kill()
    raise AssertionError(f"pgbouncer did not start: {process.stdout.read() if process.stdout else ''!r} {log}")


@pytest.fixture
def pgbouncer() -> Iterator[Callable[[str, int], int]]:
    # Not pytest's tmp_path: PgBouncer runs as `postgres` when the tests run as root, and must reach it.
    root = Path(tempfile.mkdtemp(prefix="crm-pgbouncer-"))
    root.chmod(0o755)
    started: list[subprocess.Popen[bytes]] = []

    def start(mode: str, pool_size: int = 1) -> int:
        process, port = _start(root / f"{mode}-{len(started)}", mode, pool_size)
        started.append(process)
        return port

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def _through(port: int) -> DatabaseWrapper:
    """A connection of the project's backend (what requests use) to the test database through the pooler."""
    settings = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": str(port), "CONN_MAX_AGE": 0}
    return DatabaseWrapper(settings, alias="default")  # the alias Django's connection signals look up


def _schema(wrapper: DatabaseWrapper) -> str:
    """One query of a request (the backend sets search_path before the first one, not again)."""
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return str(cursor.fetchone()[0])


def _interleave(port: int, tenant_a: Tenant, tenant_b: Tenant) -> list[tuple[str, str]]:
    """Two workers, each serving a request of its own tenant, their queries taking turns: (the tenant the
    request is for, the schema its query ran in)."""
    first, second = _through(port), _through(port)
    first.set_tenant(tenant_a)
    second.set_tenant(tenant_b)
    served = []
    try:
        for _ in range(3):
            served.append((tenant_a.schema_name, _schema(first)))
            served.append((tenant_b.schema_name, _schema(second)))
    finally:
        first.close()
        second.close()
    return served


def _psycopg_through(port: int) -> Callable[[], Any]:
    settings = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": str(port)}

    def connect() -> Any:
        wrapper = DatabaseWrapper(settings, alias="default")
        conn = wrapper.get_new_connection(wrapper.get_connection_params())
        conn.autocommit = True
        return conn

    return connect


def test_transaction_pooling_runs_a_query_in_the_other_tenants_schema(pgbouncer, tenant_a, tenant_b):
    port = pgbouncer("transaction")
    served = _interleave(port, tenant_a, tenant_b)
    wrong = [(asked, got) for asked, got in served if asked != got]
    # The danger documented in docs/deployment.md, shown: tenant A's query ran in tenant B's schema.
    assert (tenant_a.schema_name, tenant_b.schema_name) in wrong, served


def test_session_pooling_keeps_every_query_in_its_tenants_schema(pgbouncer, tenant_a, tenant_b):
    port = pgbouncer("session", pool_size=2)
    served = _interleave(port, tenant_a, tenant_b)
    assert all(asked == got for asked, got in served), served
    assert {got for _, got in served} == {tenant_a.schema_name, tenant_b.schema_name}


def test_the_check_tells_transaction_pooling_from_session_pooling_and_direct(pgbouncer):
    transaction = pgbouncer("transaction", pool_size=2)
    session = pgbouncer("session", pool_size=2)
    assert shares_server_connections(_psycopg_through(transaction)) is True
    assert shares_server_connections(_psycopg_through(session)) is False
    assert transaction_pooling_refused(databases=["default"]) == []  # the test database, direct
    assert transaction_pooling_refused(databases=None) == []  # `check` without --database opens nothing


def test_the_system_check_refuses_a_transaction_pooler(pgbouncer, monkeypatch):
    port = pgbouncer("transaction", pool_size=2)
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", str(port))
    errors = transaction_pooling_refused(databases=["default"])
    assert [error.id for error in errors] == ["tenants.E010"]
    assert "pool_mode = session" in (errors[0].hint or "")


def test_manage_py_check_fails_through_a_transaction_pooler_and_passes_through_session_mode(pgbouncer):
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    results = {}
    for mode in ("transaction", "session"):
        port = pgbouncer(mode, pool_size=2)
        env = {**os.environ, "DATABASE_URL": f"postgres://{user}@127.0.0.1:{port}/{settings['NAME']}"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        results[mode] = subprocess.run(
            [sys.executable, "manage.py", "check", "--database", "default", "--tag", "database"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert results["transaction"].returncode != 0
    assert "tenants.E010" in results["transaction"].stderr
    assert results["session"].returncode == 0, results["session"].stderr
