"""The embedded default: with no DATABASE_URL/REDIS_URL, the runner starts PostgreSQL and Valkey itself."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlparse

import pytest

from tests.integration.helpers import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


class Browserless:
    """A tiny HTTP client that talks to 127.0.0.1 but sends the Host header of any (sub)domain."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, dict[str, str]] = {}

    def request(self, method: str, host: str, path: str, form: dict[str, str] | None = None):
        # Signup on a fresh embedded database has no pooled schema yet: it migrates the new tenant's schema in
        # the request (every tenant app's migrations), which takes minutes on a loaded 2-core machine.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = {"Host": f"{host}:{self.port}"}
        jar = self.cookies.get(host, {})
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{host}:{self.port}{path}"
            headers["Origin"] = f"http://{host}:{self.port}"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for key, morsel in cookie.items():
                self.cookies.setdefault(host, {})[key] = morsel.value
        return response.status, response.headers, content


@pytest.fixture
def data_dir():
    """A data folder outside pytest's temporary tree: the embedded server runs as another user and needs
    to traverse its parents, and another xdist worker starting up resets pytest's tree to 0700."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="kestrel-smoke-"))
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)


def test_embedded_servers_migrate_signup_and_serve_the_new_tenant(data_dir):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER"}}
    env.update(
        DATA_DIR=str(data_dir),
        PORT=str(port),
        PUBLIC_PORT=str(port),
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="saas.settings",
    )
    script = (
        f"{sys.executable} manage.py migrate_schemas --shared -v 0 && "
        f"exec {sys.executable} manage.py runserver 127.0.0.1:{port} --noreload"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.dev", "run", "--ephemeral-redis", "--", "sh", "-c", script],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    client = Browserless(port)
    try:
        # migrate_schemas --shared on the fresh embedded server runs every shared migration: about 70 s on a
        # quiet 2-core machine, over 120 s beside another test worker in CI.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                status, _h, _body = client.request("GET", "localhost", "/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.5)
        else:
            pytest.fail("server did not become ready")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""

        status, _h, page = client.request("GET", "localhost", "/signup/")
        assert status == 200
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert found is not None
        token = found.group(1)
        status, headers, _body = client.request(
            "POST",
            "localhost",
            "/signup/",
            {
                "csrfmiddlewaretoken": token,
                "organization": "Smoke Test Inc",
                "subdomain": "smoke",
                "name": "Sam Smoke",
                "email": "sam@example.com",
                "password": "smoke-signals-2026",
            },
        )
        assert status == 302, _body[-2000:]
        handover = urlparse(headers["Location"])
        assert handover.netloc == f"smoke.localhost:{port}"

        status, headers, _body = client.request("GET", "smoke.localhost", handover.path)
        assert (status, headers["Location"]) == (302, "/")
        status, _h, home = client.request("GET", "smoke.localhost", "/")
        assert status == 200
        assert "Hello, Sam" in home
        assert "Smoke Test Inc" in home
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            output = proc.communicate(timeout=120)[0]
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output = proc.communicate()[0]
    tail = output[-3000:]
    assert "embedded PostgreSQL ready" in output, tail
    assert "embedded Valkey ready" in output, tail
    assert "embedded PostgreSQL stopped" in output, tail
