from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """mapping[key] in a template (None when the mapping or the key is missing)."""
    if hasattr(mapping, "get"):
        return mapping.get(key)
    return None
