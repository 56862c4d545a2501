"""Page fragments rendered once per process for the values they are given (issue 25).

A list page's filter panel, column picker, bulk-action bar and table header are the same for every request
of a member on a module (the same fields, labels, owners and layout): their template loops cost about a
fifth of the page's rendering. `fragment` renders such a template with the given values only (as `{%
include ... only %}`: no request, no context processors, no CSRF token) and keeps the HTML in the
process (saas.cache_versions.local_put: 15 s, least recently used dropped first) under a digest of
everything the output can depend on: the template, those values, the active language, the member's
date/number formats and the workspace's schema. The same values give the same HTML, so a fragment can
never show anything its caller did not pass for this request.

Values must be plain data (str, numbers, booleans, None, lists, tuples, dicts, dataclasses, lazy
translations); anything else (a model instance, a request) is not keyed: the fragment is then rendered
every time, never wrongly reused.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from django.template.loader import get_template
from django.utils import translation
from django.utils.functional import Promise
from django.utils.safestring import SafeString

from crm_apps.access.formats import formats_active
from saas.cache_versions import LOCAL_SECONDS, local_remember


class Unkeyable(Exception):
    """A value whose every effect on the output cannot be named: render without remembering."""


def _canonical(value: Any) -> Any:
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, str):  # SafeString and other subclasses escape differently: keep the type
        return (type(value).__qualname__, str(value))
    if isinstance(value, Promise):
        return ("lazy", str(value))
    if isinstance(value, list | tuple):
        return (type(value).__qualname__, tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((_canonical(k), _canonical(v)) for k, v in value.items()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = tuple((f.name, _canonical(getattr(value, f.name))) for f in dataclasses.fields(value))
        return (f"{type(value).__module__}.{type(value).__qualname__}", fields)
    raise Unkeyable(type(value).__qualname__)


def fragment_key(template_name: str, values: dict[str, Any]) -> str | None:
    """The digest naming this output, or None when a value cannot be keyed."""
    try:
        canonical = _canonical(values)
    except Unkeyable:
        return None
    text = repr((template_name, translation.get_language(), repr(formats_active()), canonical))
    return "fragment:" + hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def fragment(template_name: str, **values: Any) -> SafeString:
    """`template_name` rendered with `values` only, remembered in the process for the same values."""
    key = fragment_key(template_name, values)
    return local_remember(
        key, lambda: SafeString(get_template(template_name).render(values)), ttl=LOCAL_SECONDS, kind=SafeString
    )
