from __future__ import annotations

import importlib
import os
import stat

import pytest

import saas.env


@pytest.fixture
def fresh_env(monkeypatch, tmp_path):
    """Reload saas.env under a controlled environment; restore the real one afterwards."""

    def load(**values: str):
        for key in ("SECRET_KEY", "DEBUG", "BASE_DOMAIN", "PORT", "PUBLIC_PORT", "EMAIL_URL", "DATABASE_URL"):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("DATA_DIR", str(tmp_path))
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        return importlib.reload(saas.env)

    yield load
    monkeypatch.undo()
    importlib.reload(saas.env)


def test_defaults(fresh_env):
    env = fresh_env()

    assert (env.BASE_DOMAIN, env.PORT, env.PUBLIC_PORT, env.PUBLIC_SCHEME, env.DEBUG) == (
        "localhost",
        8000,
        "8000",
        "http",
        False,
    )


def test_secret_key_is_generated_once_into_the_data_folder(fresh_env, tmp_path):
    env = fresh_env()

    first = env.secret_key()
    second = env.secret_key()

    assert first == second
    assert len(first) >= 50
    assert (tmp_path / "secret_key").read_text() == first
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


def test_secret_key_from_the_environment_wins(fresh_env, tmp_path):
    env = fresh_env(SECRET_KEY="from-env")

    assert env.secret_key() == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_production_requires_a_secret_key(fresh_env):
    env = fresh_env(REQUIRE_SECRET_KEY="1")

    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        env.secret_key()


def test_database_url_with_a_socket_directory(fresh_env):
    env = fresh_env(DATABASE_URL="postgres://postgres@%2Ftmp%2Fpg/crm")

    config = env.database_config()

    assert (config["HOST"], config["NAME"], config["ENGINE"]) == (
        "/tmp/pg",
        "crm",
        "tenants.postgresql_backend",
    )


def test_missing_database_url_explains_what_to_do(fresh_env):
    env = fresh_env()

    with pytest.raises(RuntimeError, match="make run"):
        env.database_config()


def test_email_url(fresh_env):
    env = fresh_env(EMAIL_URL="smtp+tls://user:pw@mail.example.com:587")

    config = env.email_config()

    assert config["EMAIL_HOST"] == "mail.example.com"
    assert config["EMAIL_PORT"] == 587
    assert config["EMAIL_USE_TLS"] is True
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"


def test_production_domain_defaults_to_https_without_port(fresh_env):
    env = fresh_env(BASE_DOMAIN="crm.example.com")

    assert (env.PUBLIC_SCHEME, env.PUBLIC_PORT) == ("https", "")


@pytest.mark.parametrize("domain", ["localhost", "crm.localhost", "acme.test", "127.0.0.1.nip.io", "lvh.me"])
def test_debug_is_allowed_on_development_domains(fresh_env, domain):
    assert fresh_env(DEBUG="true", BASE_DOMAIN=domain).DEBUG is True


@pytest.mark.parametrize("domain", ["crm.example.com", "kestrel.io", "localhost.evil.com"])
def test_debug_is_refused_on_any_other_domain(fresh_env, domain):
    with pytest.raises(RuntimeError, match="not a development domain"):
        fresh_env(DEBUG="true", BASE_DOMAIN=domain)
    assert fresh_env(DEBUG="false", BASE_DOMAIN=domain).DEBUG is False
