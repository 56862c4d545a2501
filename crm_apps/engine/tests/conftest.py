"""Fixtures shared by the engine's tests."""

from __future__ import annotations

import pytest

from saas import prepared


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
