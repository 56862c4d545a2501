"""`manage.py check --deploy` with production settings reports nothing (issue 26): Django's security
checks (HTTPS redirect, HSTS with subdomains and preload, secure cookies, a real SECRET_KEY, DEBUG off) and
drf-spectacular's schema checks (every API view documented, no clashing names) included."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import child_env

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def production_env() -> dict[str, str]:
    env = child_env(
        DEBUG="0",
        BASE_DOMAIN="crm.example.com",
        PUBLIC_SCHEME="https",
        PUBLIC_PORT="",
        TRUST_X_FORWARDED_HOST="1",
        REQUIRE_SECRET_KEY="1",
        SECRET_KEY=secrets.token_urlsafe(60),
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)  # saas.settings, as in the image (not the test settings)
    for name in ("HSTS_PRELOAD", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(name, None)
    return env


def test_the_deploy_check_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "System check identified no issues (0 silenced)." in output, output[-6000:]
    assert "W00" not in output


def test_without_https_the_deploy_check_still_names_the_https_settings():
    """The check is not silenced: production over plain HTTP is reported."""
    env = {**production_env(), "PUBLIC_SCHEME": "http"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert "security.W004" in output and "security.W008" in output, output[-3000:]


def test_debug_is_refused_for_a_production_domain():
    env = {**production_env(), "DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert "not a development domain" in result.stderr
