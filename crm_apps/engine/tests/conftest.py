"""Fixtures shared by the engine's tests."""

from __future__ import annotations

import pytest

from saas import prepared


@pytest.fixture
def admin(tenant_a, admin_of):
    """The first workspace's administrator."""
    return admin_of(tenant_a)


@pytest.fixture
def web(client_for, tenant_a, admin):
    """A browser signed in as that administrator."""
    return client_for(tenant_a, admin)


@pytest.fixture
def compiles(monkeypatch):
    """The statements compiled so far (their SQL), counted at the one place record_list compiles."""
    seen: list[str] = []
    real = prepared.Compiled.__init__

    def counted(self, queryset, **kwargs):
        real(self, queryset, **kwargs)
        seen.append(self.sql)

    monkeypatch.setattr(prepared.Compiled, "__init__", counted)
    return seen
