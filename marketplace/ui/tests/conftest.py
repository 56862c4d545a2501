from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context

from marketplace.installs.services import extension_install
from marketplace.manifest import manifest_validate

EXTENSIONS = Path(__file__).resolve().parents[2] / "extensions"
APP_SERVER = EXTENSIONS / "maps-panel" / "app" / "maps_app.py"
PBX_SERVER = EXTENSIONS / "pbx-connector" / "app" / "pbx_bridge.py"
SHIPPED_ORIGIN = "https://maps.crm-labs.example"


def maps_manifest(origin: str = SHIPPED_ORIGIN) -> Any:
    """The shipped maps manifest, its addresses moved to `origin` (the example app the test started)."""
    text = (EXTENSIONS / "maps-panel" / "manifest.json").read_text(encoding="utf-8")
    return manifest_validate(text.replace(SHIPPED_ORIGIN, origin))


def install(tenant: Any, admin: Any, manifest: Any, listing_id: int = 9101) -> tuple[Any, str | None]:
    with schema_context(tenant.schema_name):
        return extension_install(
            actor=admin, listing_id=listing_id, slug=manifest.key, name=manifest.data["name"], manifest=manifest
        )


@pytest.fixture
def maps_installed(tenant_a: Any, admin_of: Any) -> Any:
    installation, _key = install(tenant_a, admin_of(tenant_a), maps_manifest())
    return installation


class AppProcess:
    """The maps example app as a separate process on 127.0.0.1."""

    def __init__(self, env: dict[str, str], server: Path = APP_SERVER) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(server)],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        assert line.startswith("listening "), line
        self.port = int(line.split()[1])
        self.origin = f"http://127.0.0.1:{self.port}"

    def received(self) -> list[dict[str, Any]]:
        import urllib.request

        with urllib.request.urlopen(f"{self.origin}/received", timeout=5) as response:
            return list(json.loads(response.read()))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def start_app() -> Iterator[Any]:
    started: list[AppProcess] = []

    def start(**env: str) -> AppProcess:
        app = AppProcess(env)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def start_pbx() -> Iterator[Any]:
    """start_pbx(**env) -> the PBX connector's example app as a separate process."""
    started: list[AppProcess] = []

    def start(**env: str) -> AppProcess:
        app = AppProcess(env, server=PBX_SERVER)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()
