"""saas/resolvers.py: a path's match is remembered, answers are the same as Django's own resolution."""

from __future__ import annotations

import uuid

import pytest
from django.urls import Resolver404, URLResolver, get_resolver, path, reverse
from django.urls.resolvers import RegexPattern

from saas import resolvers
from saas.resolvers import MemoizedURLResolver, memoized


def _view(request, **kwargs):  # pragma: no cover - never called
    raise AssertionError


def _patterns():
    return [
        path("things/special/", _view, name="special"),
        path("things/<slug:module>/", _view, name="things"),
        path("things/<slug:module>/<uuid:record_id>/", _view, name="thing"),
    ]


def test_the_tenant_urlconf_answers_as_before():
    resolver = get_resolver("saas.urls_tenant")
    record = uuid.uuid4()
    for url, name in (
        ("/api/v1/contacts/", "api-records"),
        (f"/api/v1/contacts/{record}/", "api-record"),
        ("/api/v1/contacts/batch", "api-batch"),
        ("/m/contacts/", None),
    ):
        first = resolver.resolve(url)
        again = resolver.resolve(url)
        assert (first.func, first.args, first.kwargs, first.url_name) == (
            again.func,
            again.args,
            again.kwargs,
            again.url_name,
        )
        if name:
            assert first.url_name == name
    assert resolver.resolve(f"/api/v1/contacts/{record}/").kwargs == {"module": "contacts", "record_id": record}
    assert reverse("api-records", args=["contacts"], urlconf="saas.urls_tenant") == "/api/v1/contacts/"


def test_a_path_is_resolved_once_then_remembered(monkeypatch):
    inner = memoized("", _patterns())
    root = URLResolver(RegexPattern(r"^/"), [inner])
    calls: list[str] = []
    real = URLResolver.resolve

    def counted(self, path_):
        if self is inner:
            calls.append(str(path_))
        return real(self, path_)

    monkeypatch.setattr(URLResolver, "resolve", counted)
    record = uuid.uuid4()
    first = root.resolve(f"/things/contacts/{record}/")
    second = root.resolve(f"/things/contacts/{record}/")
    assert first.url_name == second.url_name == "thing"
    assert second.kwargs == {"module": "contacts", "record_id": record}
    assert calls == [f"things/contacts/{record}/"]  # the second time, no pattern was tried
    assert root.resolve("/things/special/").url_name == "special"  # the first matching pattern still wins
    # A kept match names only the pattern that matched, not every one tried before it (copied per request above)
    assert [[p.pattern.describe() for p in entry] for entry in second.tried or []] == [
        ["''", "'things/<slug:module>/<uuid:record_id>/' [name='thing']"]
    ]


def test_a_tenant_page_match_carries_only_the_tried_prefixes_and_its_pattern():
    resolver = get_resolver("saas.urls_tenant")
    resolver.resolve("/m/contacts/")
    # The API's prefix (tried first, a miss) and the page's own pattern: not the ~145 before it
    assert len(resolver.resolve("/m/contacts/").tried or []) == 2


def test_a_miss_is_not_remembered_and_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(resolvers, "MAX_PATHS", 3)
    inner = MemoizedURLResolver(RegexPattern(r"^"), _patterns())
    with pytest.raises(Resolver404):
        inner.resolve("nothing/here/")
    assert inner._matches == {}
    for index in range(5):
        inner.resolve(f"things/m{index}/")
        assert len(inner._matches) <= 3
    assert inner.resolve("things/m4/").kwargs == {"module": "m4"}
