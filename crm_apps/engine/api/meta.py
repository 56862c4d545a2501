"""`/api/v1/meta/modules`: what modules, fields, custom fields and picklists a tenant has."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access import visibility
from crm_apps.access.api.permissions import CanManageSettings, IsTenantMember
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.engine import metadata, registry, services
from crm_apps.engine.api.representation import api_fields
from crm_apps.engine.fieldaccess import FieldRules, field_rules
from crm_apps.engine.models import CustomField
from crm_apps.engine.spec import ModuleSpec
from saas.openapi import json_object_view


def _field_type(field: models.Field[Any, Any]) -> str:
    if isinstance(field, models.ForeignKey):
        return "reference"
    return {
        "CharField": "text",
        "TextField": "textarea",
        "EmailField": "email",
        "URLField": "url",
        "DecimalField": "decimal",
        "PositiveIntegerField": "integer",
        "PositiveSmallIntegerField": "integer",
        "IntegerField": "integer",
        "BooleanField": "checkbox",
        "DateField": "date",
        "DateTimeField": "datetime",
    }.get(type(field).__name__, "text")


def custom_field_to_api(field: CustomField) -> dict[str, Any]:
    data = {
        "key": field.key,
        "label": field.label,
        "type": field.type,
        "required": field.required,
        "unique": field.unique,
        "default": field.default,
        "options": field.options,
        "help_text": field.help_text,
        "position": field.position,
        "archived": field.archived_at is not None,
    }
    if field.type in ("picklist", "multipicklist"):
        data["choices"] = [
            {"value": v.value, "label": v.label, "retired": v.retired}
            for v in metadata.picklist_values(field.picklist_name, include_retired=True)
        ]
    return data


def module_to_api(spec: ModuleSpec, actor: Member | None = None) -> dict[str, Any]:
    """The module as the member sees it: fields their profiles hide are left out, read-only ones say so;
    `rights` tells what they may do."""
    rules = field_rules(actor=actor, spec=spec) if actor is not None else FieldRules()
    picklists = metadata.picklist_map(list(spec.picklists.values()))
    fields = []
    for name in rules.visible(api_fields(spec)):
        field: Any = spec.model._meta.get_field(name)
        item: dict[str, Any] = {
            "name": name,
            "label": str(field.verbose_name),
            "type": _field_type(field),
            "required": not field.blank,
            "read_only": name in spec.readonly_fields or name in rules.readonly,
        }
        if isinstance(field, models.ForeignKey):
            try:
                item["references"] = registry.spec_for_model(field.remote_field.model).key
            except registry.UnknownModule:
                item["references"] = field.remote_field.model._meta.model_name
        if name in spec.picklists:
            item["picklist"] = [
                {"value": v.value, "label": v.label, "retired": v.retired}
                for v in picklists.get(spec.picklists[name], [])
            ]
        fields.append(item)
    return {
        "key": spec.key,
        "label": str(spec.label),
        "label_plural": str(spec.label_plural),
        "number_prefix": spec.number_prefix,
        "custom": spec.custom,
        "fields": fields,
        "custom_fields": [
            {**custom_field_to_api(f), "read_only": f"custom.{f.key}" in rules.readonly}
            for f in rules.custom(metadata.custom_fields(spec.key))
        ],
        "related": [r.module for r in spec.related],
        "kanban_field": spec.kanban_field,
        "filterable": list(spec.filter_fields),
        "searchable": list(spec.search_fields),
        "rights": {
            "view": actor is None or visibility.can_view_module(actor=actor, spec=spec),
            "create": actor is None or visibility.can_create(actor=actor, spec=spec),
        },
    }


def _spec(module: str) -> ModuleSpec:
    try:
        return registry.get(module)
    except registry.UnknownModule as exc:
        raise NotFound(_("Unknown module.")) from exc


class ModulesView(APIView):
    def get(self, request: Request) -> Response:
        actor = request_member(request)
        specs = [s for s in registry.all_specs() if visibility.can_view_module(actor=actor, spec=s)]
        return Response({"modules": [module_to_api(s, actor) for s in specs]})


@json_object_view()
class ModuleView(APIView):
    def get(self, request: Request, module: str) -> Response:
        spec = _spec(module)
        actor = request_member(request)
        if not visibility.can_view_module(actor=actor, spec=spec):
            raise NotFound(_("Unknown module."))
        return Response(module_to_api(spec, actor))


@json_object_view()
class CustomFieldsView(APIView):
    def get_permissions(self) -> list[Any]:
        return [CanManageSettings()] if self.request.method == "POST" else [IsTenantMember()]

    def get(self, request: Request, module: str) -> Response:
        spec = _spec(module)
        fields = metadata.custom_fields(spec.key, include_archived=request.query_params.get("archived") == "1")
        return Response({"results": [custom_field_to_api(f) for f in fields]})

    def post(self, request: Request, module: str) -> Response:
        spec = _spec(module)
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        unknown = set(data) - {
            "key",
            "label",
            "type",
            "required",
            "unique",
            "default",
            "options",
            "choices",
            "help_text",
        }
        if unknown:
            raise ValidationError({k: [_("Unknown field.")] for k in unknown})
        field = services.custom_field_create(
            actor=request_member(request),
            spec=spec,
            key=data.get("key", ""),
            label=data.get("label", ""),
            type=data.get("type", ""),
            required=bool(data.get("required")),
            unique=bool(data.get("unique")),
            default=data.get("default"),
            options=data.get("options") if isinstance(data.get("options"), dict) else {},
            choices=data.get("choices") if isinstance(data.get("choices"), list) else None,
            help_text=str(data.get("help_text") or ""),
        )
        return Response(custom_field_to_api(field), status=status.HTTP_201_CREATED)


@json_object_view()
class CustomFieldDetailView(APIView):
    permission_classes = [CanManageSettings]

    def _field(self, module: str, key: str) -> CustomField:
        spec = _spec(module)
        field = CustomField.objects.filter(module=spec.key, key=key).first()
        if field is None:
            raise NotFound(_("Not found."))
        return field

    def patch(self, request: Request, module: str, key: str) -> Response:
        field = self._field(module, key)
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        unknown = set(data) - {"label", "required", "help_text", "position", "archived"}
        if unknown:
            raise ValidationError({k: [_("This field cannot be changed.")] for k in unknown})
        position = data.get("position")
        if position is not None and not isinstance(position, int):
            raise ValidationError({"position": [_("Enter a whole number.")]})
        field = services.custom_field_update(
            actor=request_member(request),
            field=field,
            label=data.get("label"),
            required=data.get("required") if isinstance(data.get("required"), bool) else None,
            help_text=data.get("help_text"),
            position=position,
            archived=data.get("archived") if isinstance(data.get("archived"), bool) else None,
        )
        return Response(custom_field_to_api(field))

    def delete(self, request: Request, module: str, key: str) -> Response:
        """Archive (values are kept; the field can be restored with PATCH {"archived": false})."""
        field = self._field(module, key)
        services.custom_field_update(actor=request_member(request), field=field, archived=True)
        return Response(status=status.HTTP_204_NO_CONTENT)
