"""The module registry: built-in modules register their ModuleSpec at import time; a tenant's custom
modules are overlaid per tenant (ADR 0016).

`get(key)` and `all_specs()` answer for the tenant whose schema is active: the built-in specs, plus
the specs an overlay source builds from the tenant's own definitions (cached per tenant metadata
version by the source). In the public schema (no tenant) only built-ins exist. Built-in keys always
win: a tenant can never shadow a built-in module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_apps.engine.spec import ModuleSpec

_REGISTRY: dict[str, ModuleSpec] = {}
# Returns the active tenant's extra specs by key ({} outside a tenant). Set by crm_apps.custom_modules.
OverlaySource = Callable[[], dict[str, ModuleSpec]]
_overlay_sources: list[OverlaySource] = []


class UnknownModule(LookupError):
    pass


def register(spec: ModuleSpec) -> ModuleSpec:
    if spec.key in _REGISTRY and _REGISTRY[spec.key] is not spec:
        raise ValueError(f"Module key {spec.key!r} is registered twice.")
    _REGISTRY[spec.key] = spec
    return spec


def overlay_source_add(source: OverlaySource) -> None:
    """Add a per-tenant source of specs (the engine never imports the apps that define them)."""
    if source not in _overlay_sources:
        _overlay_sources.append(source)


def _overlay() -> dict[str, ModuleSpec]:
    found: dict[str, ModuleSpec] = {}
    for source in _overlay_sources:
        for key, spec in source().items():
            if key not in _REGISTRY:
                found.setdefault(key, spec)
    return found


def builtin_keys() -> set[str]:
    """Keys of the modules defined in code (custom modules may never take one)."""
    return set(_REGISTRY)


def builtin_specs() -> list[ModuleSpec]:
    """The modules defined in code, whatever tenant is active: for what is built once per process
    (URLconfs, system checks), which must never depend on the tenant that happened to trigger it."""
    return list(_REGISTRY.values())


def get(key: str) -> ModuleSpec:
    spec = _REGISTRY.get(key)
    if spec is not None:
        return spec
    spec = _overlay().get(key) if _overlay_sources else None
    if spec is None:
        raise UnknownModule(key)
    return spec


def all_specs() -> list[ModuleSpec]:
    specs = list(_REGISTRY.values())
    if _overlay_sources:
        specs.extend(_overlay().values())
    return specs


def spec_for_model(model: type) -> ModuleSpec:
    """The built-in module of a model. A shared model (custom modules) has no single module: use
    `spec_for_record`."""
    for spec in _REGISTRY.values():
        if spec.model is model:
            return spec
    raise UnknownModule(model.__name__)


def spec_for_record(record: Any) -> ModuleSpec:
    """The module a record belongs to, for built-in and custom modules alike."""
    module_key = getattr(record, "module_key", None)
    if module_key:
        return get(module_key)
    return spec_for_model(type(record))
