"""Extra values of `GET /api/v1/me` that apps above access contribute (the vtiger access key): registered
once at start-up with `me_field_add(name, fn)`, `fn(member) -> value`, and served for the member itself
only (`/me` never describes anyone else)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_apps.access.models import Member

_fields: dict[str, Callable[[Member], Any]] = {}


def me_field_add(name: str, fn: Callable[[Member], Any]) -> None:
    _fields[name] = fn


def me_fields(member: Member) -> dict[str, Any]:
    return {name: fn(member) for name, fn in _fields.items()}
