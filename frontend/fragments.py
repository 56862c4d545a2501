"""Page fragments rendered once per process for the values they are given (issue 25).

A list page's filter panel, column picker, bulk-action bar and table header are the same for every request
of a member on a module (the same fields, labels, owners and layout): their template loops cost about a
fifth of the page's rendering. `fragment` renders such a template with the given values only (as `{%
include ... only %}`: no request, no context processors, no CSRF token) and keeps the HTML in the
process (saas.cache_versions.local_put: 15 s, least recently used dropped first) under a key made of
everything the output can depend on: the template, those values (with their types), the active language,
the member's date/number formats and the workspace's schema. The key is kept and compared whole (a dict
key), not digested: only the same values give the same HTML, so a fragment can never show anything its
caller did not pass for this request.

Values must be plain data (str, numbers, booleans, None, lists, tuples, dicts, dataclasses, lazy
translations); anything else (a model instance, a request) is not keyed: the fragment is then rendered
every time, never wrongly reused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

from django.template.loader import get_template
from django.utils import translation
from django.utils.functional import Promise
from django.utils.safestring import SafeString

from crm_apps.access.formats import formats_active
from saas.cache_versions import LOCAL_SECONDS, local_remember


class Unkeyable(Exception):
    """A value whose every effect on the output cannot be named: render without remembering."""


# Exactly these types (not subclasses: a SafeString escapes differently) stand for themselves in a key.
_PLAIN = frozenset({type(None), bool, int, float, str})


def _canonical(value: Any) -> Any:
    """A hashable value equal for equal inputs only: containers carry their own type and their items' types (1
    and True and 1.0 are equal in Python but render differently), str subclasses and dataclasses their type,
    lazy translations their text. Lists, tuples and dicts of plain values (a column picker's rows, an owner
    list) are taken whole, without a call per item."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, list | tuple):
        types = tuple(map(type, value))
        if _PLAIN.issuperset(types):
            return (kind, tuple(value), types)
        return (kind, tuple(_canonical(v) for v in value), types)
    if isinstance(value, dict):
        keys, items = tuple(map(type, value)), tuple(map(type, value.values()))
        if _PLAIN.issuperset(keys) and _PLAIN.issuperset(items):
            return (kind, tuple(value.items()), keys, items)
        return (kind, tuple((_canonical(k), _canonical(v)) for k, v in value.items()), keys, items)
    if isinstance(value, str):  # SafeString and other subclasses escape differently: keep the type
        return (kind, str(value))
    if isinstance(value, Promise):
        return ("lazy", str(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = tuple(
            (f.name, _canonical(field), type(field))
            for f in dataclasses.fields(value)
            for field in (getattr(value, f.name),)
        )
        return (kind, fields)
    raise Unkeyable(kind.__qualname__)


def fragment_key(template_name: str, values: dict[str, Any]) -> Hashable | None:
    """What names this output (the key itself, compared whole: no digest that two inputs could share), or None
    when a value cannot be keyed. Building a digest's text (repr) cost more than the rest of the lookup."""
    try:
        canonical = _canonical(values)
    except Unkeyable:
        return None
    return ("fragment", template_name, translation.get_language(), formats_active(), canonical)


def fragment(template_name: str, **values: Any) -> SafeString:
    """`template_name` rendered with `values` only, remembered in the process for the same values."""
    key = fragment_key(template_name, values)
    return local_remember(
        key, lambda: SafeString(get_template(template_name).render(values)), ttl=LOCAL_SECONDS, kind=SafeString
    )
