"""DRF serializers built per module and per tenant, so the OpenAPI schema shows each tenant's custom fields."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers

from crm_apps.engine import field_types, metadata
from crm_apps.engine.api.representation import api_fields
from crm_apps.engine.models import CustomField
from crm_apps.engine.spec import ChildSpec, ModuleSpec
from tenants.runtime import in_public_schema

# The serializer field of each custom field type (field_types.py), by type: drf-spectacular turns it into
# the OpenAPI type.
CUSTOM_TYPES: dict[str, Any] = {type_: kind.serializer_field for type_, kind in field_types.KINDS.items()}
MAX_REMEMBERED_SERIALIZERS = 2_000
_record_serializers: dict[tuple[Any, ...], type[serializers.Serializer[Any]]] = {}


def schema_name(spec: ModuleSpec) -> str:
    """The OpenAPI component prefix of a module: its model's name, or (for a tenant's custom modules,
    which share one model) one derived from the module key."""
    if not spec.custom:
        return spec.model.__name__
    return "Custom" + "".join(part.capitalize() for part in spec.key.replace("-", "_").split("_"))


def _custom_serializer(spec: ModuleSpec, fields: list[CustomField]) -> type[serializers.Serializer[Any]]:
    attrs: dict[str, Any] = {}
    for field in fields:
        made = CUSTOM_TYPES[field.type]()
        made.required = False
        made.allow_null = True
        made.help_text = field.help_text or field.label
        attrs[field.key] = made
    name = f"{schema_name(spec)}Custom"
    return type(name, (serializers.Serializer,), attrs)


def _row_serializer(child: ChildSpec) -> type[serializers.Serializer[Any]]:
    """The rows of a child table: an id (send it to update a row), editable and computed fields."""
    from crm_apps.engine.children import row_columns

    class Meta:
        model = child.model
        fields = ["id", *row_columns(child)]
        read_only_fields = list(child.computed_fields)

    attrs: dict[str, Any] = {"Meta": Meta, "id": serializers.CharField(required=False, help_text="row id")}
    for name in child.fields:
        if isinstance(child.model._meta.get_field(name), models.ForeignKey):
            attrs[name] = serializers.CharField(required=False, allow_null=True, help_text="id")
    return type(f"{child.model.__name__}Row", (serializers.ModelSerializer,), attrs)


def record_serializer(spec: ModuleSpec) -> type[serializers.Serializer[Any]]:
    """A serializer describing `spec`'s records for the current tenant (documentation only). Outside a
    tenant (`manage.py check --deploy`, `spectacular` on the command line) there are no custom fields."""
    custom_fields = [] if in_public_schema() else metadata.custom_fields(spec.key)
    # One class per module and custom-field set: the schema generator meets the serializer once per
    # operation, and two classes of one name would be two clashing components.
    key = (spec.key, id(spec), tuple((f.key, f.type, f.help_text or f.label) for f in custom_fields))
    made = _record_serializers.get(key)
    if made is None:
        if len(_record_serializers) >= MAX_REMEMBERED_SERIALIZERS:
            _record_serializers.clear()
        made = _record_serializers[key] = _record_serializer(spec, custom_fields)
    return made


def _record_serializer(spec: ModuleSpec, custom_fields: list[CustomField]) -> type[serializers.Serializer[Any]]:
    model_fields = api_fields(spec)

    class Meta:
        model = spec.model
        fields = [
            "id",
            "number",
            "owner",
            "owner_group",
            "created_at",
            "updated_at",
            "version",
            "tags",
            *model_fields,
            "custom",
        ]
        read_only_fields = ["id", "number", "created_at", "updated_at", "version", *spec.readonly_fields]

    attrs: dict[str, Any] = {
        "Meta": Meta,
        "custom": _custom_serializer(spec, custom_fields)(required=False),
    }
    for name in model_fields:
        if isinstance(spec.model._meta.get_field(name), models.ForeignKey):
            attrs[name] = serializers.CharField(required=False, allow_null=True, help_text="id")
    for child in spec.children:
        Meta.fields.append(child.key)
        attrs[child.key] = _row_serializer(child)(
            many=True,
            required=False,
            help_text=(
                "The complete list of rows, in order: rows with an id are updated, rows without one are "
                "created, stored rows left out are deleted. Leave the key out to keep the rows. "
                "Served by the detail, not by lists."
            ),
        )
    for key, extra in (spec.api_extra_fields() if spec.api_extra_fields else {}).items():
        Meta.fields.append(key)
        attrs[key] = extra
    return type(f"{schema_name(spec)}Record", (serializers.ModelSerializer,), attrs)


def expand_module_paths(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """drf-spectacular preprocessing hook: `/api/v1/{module}/...` becomes one path per registered module,
    each documented with that module's (and this tenant's custom) fields."""
    from crm_apps.engine import registry

    expanded = []
    for path, path_regex, method, callback in endpoints:
        if "{module}" not in path:
            expanded.append((path, path_regex, method, callback))
            continue
        for spec in registry.all_specs():
            view_class: Any = type(
                f"{schema_name(spec)}{callback.cls.__name__}", (callback.cls,), {"module_key": spec.key}
            )
            view = view_class.as_view(**(getattr(callback, "initkwargs", None) or {}))
            expanded.append(
                (
                    path.replace("{module}", spec.key),
                    path_regex.replace("(?P<module>[-a-zA-Z0-9_]+)", spec.key),
                    method,
                    view,
                )
            )
    return expanded
