"""Scopes of extension tokens: which module permissions (`<module>:read` / `<module>:write`) an API
call needs, decided from the route it resolved to.

A scoped token (ApiToken.scopes is a list) may call only the routes listed here, and only with the
scopes they need; every other route (tokens, profile, settings, docs...) is refused. Inside its scopes
the token still acts with its member's rights and through the one visibility filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# A module's own API routes (ModuleSpec.api_urls): url name -> (scopes to read, scopes to write); None
# refuses that kind of call to scoped tokens. Filled by the modules (`route_scopes_register`), so a new
# module's routes need no line here.
_ROUTE_SCOPES: dict[str, tuple[frozenset[str] | None, frozenset[str] | None]] = {}


# Scopes that name a feature rather than a module (`automation:read` / `automation:write`): declared by
# the feature's app so extension manifests may ask for them like a module's.
_FEATURE_SCOPES: set[str] = set()


def feature_scope_register(name: str) -> None:
    """Declare `<name>:read` / `<name>:write` as scopes a token (and an extension manifest) may hold."""
    _FEATURE_SCOPES.add(name)


def feature_scopes() -> frozenset[str]:
    return frozenset(_FEATURE_SCOPES)


def route_scopes_register(
    url_name: str, *, read: Iterable[str] | None = None, write: Iterable[str] | None = None
) -> None:
    """Declare the scopes a module's own API route needs; routes never declared are refused to scoped tokens."""
    _ROUTE_SCOPES[url_name] = (
        frozenset(read) if read is not None else None,
        frozenset(write) if write is not None else None,
    )


def _mode(method: str) -> str:
    return "read" if method in SAFE_METHODS else "write"


def required_scopes(url_name: str | None, kwargs: dict[str, Any], method: str) -> set[str] | None:
    """The scopes a call needs; None when scoped tokens may not use the route at all."""
    module = str(kwargs.get("module", ""))
    if url_name in ("api-records", "api-record", "api-batch", "api-merge"):
        return {f"{module}:{_mode(method)}"}
    if url_name in ("api-record-comments", "api-record-follow", "api-record-tags", "api-record-restore"):
        return {f"{module}:{_mode(method)}"}
    if url_name in ("api-record-timeline", "api-trash"):
        return {f"{module}:read"} if method in SAFE_METHODS else None
    if url_name == "api-related":
        if method not in SAFE_METHODS:
            return None
        return {f"{module}:read", f"{kwargs.get('related', '')}:read"}
    if url_name in ("api-meta-module", "api-custom-fields", "api-custom-field"):
        return {f"{module}:read"} if method in SAFE_METHODS else None
    if url_name in _ROUTE_SCOPES:
        read, write = _ROUTE_SCOPES[url_name]
        needed = read if method in SAFE_METHODS else write
        return set(needed) if needed is not None else None
    return None


def scopes_held(scopes: Iterable[str]) -> set[str]:
    """The scopes a list grants: each `<module>:write` includes `<module>:read`."""
    held = set(scopes)
    return held | {s.removesuffix(":write") + ":read" for s in held if s.endswith(":write")}


def token_allows(scopes: list[str], url_name: str | None, kwargs: dict[str, Any], method: str) -> bool:
    """Whether a token holding `scopes` may make this call (write implies read)."""
    needed = required_scopes(url_name, kwargs, method)
    if needed is None:
        return False
    return needed <= scopes_held(scopes)
