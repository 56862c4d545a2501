"""`make run`'s supervisor restarts a crashed worker instead of stopping everything, and its banner prints the
development logins (issue 26)."""

from __future__ import annotations

import sys
import time

from infra.dev import Supervisor

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASH = [sys.executable, "-c", "import sys; sys.exit(3)"]


def test_a_crashed_worker_is_started_again_and_the_web_server_keeps_running():
    supervisor = Supervisor({"web": SLEEP, "worker": CRASH}, env={}, restartable={"worker"}, backoff=0)
    supervisor.start()
    try:
        first = supervisor.processes["worker"]
        first.wait(timeout=10)
        assert supervisor.step() is None
        assert supervisor.processes["worker"] is not first
        assert supervisor.processes["web"].poll() is None
        assert len(supervisor.restarts["worker"]) == 1
    finally:
        supervisor.stop()


def test_a_worker_that_keeps_crashing_is_given_up_and_the_web_server_exit_is_fatal():
    supervisor = Supervisor({"web": SLEEP, "worker": CRASH}, env={}, restartable={"worker"}, max_restarts=2, backoff=0)
    supervisor.start()
    try:
        deadline = time.monotonic() + 20
        fatal = None
        while fatal is None and time.monotonic() < deadline:
            fatal = supervisor.step()
            time.sleep(0.05)
        assert fatal == "worker"
        assert len(supervisor.restarts["worker"]) == 2
    finally:
        supervisor.stop()

    web_only = Supervisor({"web": CRASH}, env={}, restartable={"worker"})
    web_only.start()
    web_only.processes["web"].wait(timeout=10)
    assert web_only.step() == "web"
    web_only.stop()


def test_make_run_prints_the_operator_login_that_operator_create_demo_makes():
    from crm_apps.home.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
    from infra.dev import banner
    from tenants.management.commands.operator_create import DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD

    text = banner("localhost", "8000")
    assert f"http://localhost:8000/admin/  {DEMO_OPERATOR_EMAIL} / {DEMO_OPERATOR_PASSWORD}" in text
    assert f"{DEMO_EMAIL} / {DEMO_PASSWORD}" in text
