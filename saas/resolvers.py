"""URL resolution remembered per path (issue 25).

Django's resolver tries a URLconf's patterns in order on every request, and records each pattern it tried:
the generic module routes (`/api/v1/<module>/`, `/m/<module>/`) come after every specific route, so one API
list call tried about 140 patterns (4 % of an API worker's time under load). A path resolves the same way as
long as the URLconf is the same, so `MemoizedURLResolver` keeps the match of each path it resolved (up to
MAX_PATHS, then starts over) and answers the same path again with a dictionary look-up. Misses (404) are
not kept: they walk the patterns as before. A kept match's `tried` names only the pattern that matched.

The URLconf itself never changes while a process runs (modules and extensions register their routes at
start-up); tests that swap URLconfs get new resolvers from Django, with empty memories.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import URLPattern, URLResolver
from django.urls.resolvers import ResolverMatch, RoutePattern

MAX_PATHS = 4096


class MemoizedURLResolver(URLResolver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._matches: dict[str, ResolverMatch] = {}

    def resolve(self, path: Any) -> ResolverMatch:
        path = str(path)
        found = self._matches.get(path)
        if found is None:
            found = super().resolve(path)
            # A match lists every pattern tried before it (~145 for `/m/<module>/`), and each resolver above
            # copies that list into its own match on every request (a new list per entry: ~150 lists a request
            # left to the garbage collector, through the request's cycle). Nothing reads a success's `tried`
            # (Django's 404 page reads a miss's): the kept match names only the pattern that matched.
            found.tried = (found.tried or [])[-1:]
            if len(self._matches) >= MAX_PATHS:
                self._matches.clear()
            self._matches[path] = found
        return found


def memoized(route: str, patterns: Sequence[URLPattern | URLResolver]) -> MemoizedURLResolver:
    """`path(route, include(patterns))` whose matches are remembered per path."""
    return MemoizedURLResolver(RoutePattern(route, is_endpoint=False), list(patterns))
