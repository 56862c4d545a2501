"""The module registry: every CRM module registers its ModuleSpec here at import time."""

from __future__ import annotations

from crm_apps.engine.spec import ModuleSpec

_REGISTRY: dict[str, ModuleSpec] = {}


class UnknownModule(LookupError):
    pass


def register(spec: ModuleSpec) -> ModuleSpec:
    if spec.key in _REGISTRY and _REGISTRY[spec.key] is not spec:
        raise ValueError(f"Module key {spec.key!r} is registered twice.")
    _REGISTRY[spec.key] = spec
    return spec


def get(key: str) -> ModuleSpec:
    try:
        return _REGISTRY[key]
    except KeyError as exc:
        raise UnknownModule(key) from exc


def all_specs() -> list[ModuleSpec]:
    return list(_REGISTRY.values())


def spec_for_model(model: type) -> ModuleSpec:
    for spec in _REGISTRY.values():
        if spec.model is model:
            return spec
    raise UnknownModule(model.__name__)
