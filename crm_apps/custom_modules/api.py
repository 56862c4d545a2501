"""`/api/v1/meta/modules`: the engine's module metadata plus building custom modules (POST), and
changing or archiving them (PATCH/DELETE `/api/v1/meta/modules/<key>`). Admins or "manage_settings"."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from crm_apps.access.api.permissions import CanManageSettings, IsTenantMember
from crm_apps.access.middleware import request_member
from crm_apps.custom_modules import services
from crm_apps.custom_modules.models import CustomModule
from crm_apps.engine import registry
from crm_apps.engine.api import meta
from saas.openapi import json_object_view

_FIELD = inline_serializer(
    "CustomModuleField",
    {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "type": serializers.CharField(help_text="one of the custom field types, e.g. text, picklist, record"),
        "required": serializers.BooleanField(required=False),
        "unique": serializers.BooleanField(required=False),
        "default": serializers.JSONField(required=False),
        "options": serializers.JSONField(required=False, help_text='{"target": "<module>"} for record'),
        "choices": serializers.ListField(child=serializers.CharField(), required=False),
        "help_text": serializers.CharField(required=False),
    },
)


def _module_fields(*, creating: bool) -> dict[str, Any]:
    """Fields shared by the create and update bodies (labels are required when creating)."""
    return {
        "label": serializers.CharField(max_length=60, required=creating),
        "label_plural": serializers.CharField(max_length=60, required=False, help_text="or `plural`"),
        "icon": serializers.CharField(required=False),
        "menu_group": serializers.ChoiceField(choices=["", *services.MENU_GROUPS], required=False),
    }


CREATE_REQUEST = inline_serializer(
    "CustomModuleCreate",
    {
        "key": serializers.SlugField(max_length=30),
        **_module_fields(creating=True),
        "plural": serializers.CharField(required=False, help_text="alias of label_plural"),
        "number_prefix": serializers.CharField(required=False),
        "fields": _FIELD.__class__(many=True, required=False),
    },
)
UPDATE_REQUEST = inline_serializer(
    "CustomModuleUpdate",
    {**_module_fields(creating=False), "archived": serializers.BooleanField(required=False)},
)
CREATE_KEYS = {"key", "label", "plural", "label_plural", "icon", "number_prefix", "menu_group", "fields"}


def custom_module_to_api(module: CustomModule) -> dict[str, Any]:
    return {
        "key": module.key,
        "label": module.label,
        "label_plural": module.label_plural,
        "icon": module.icon,
        "number_prefix": module.number_prefix,
        "menu_group": module.menu_group,
        "archived": module.archived_at is not None,
        "created_at": module.created_at.isoformat(),
    }


def _permissions(request: Any) -> list[Any]:
    """GET for every member (filtered by their profiles), writes for settings managers only."""
    return [IsTenantMember()] if request.method == "GET" else [CanManageSettings()]


@json_object_view()
class ModulesView(meta.ModulesView):
    def get_permissions(self) -> list[Any]:
        return _permissions(self.request)

    @extend_schema(request=CREATE_REQUEST, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        unknown = set(data) - CREATE_KEYS
        if unknown:
            raise ValidationError({name: [_("Unknown field.")] for name in unknown})
        module = services.custom_module_create(
            actor=request_member(request),
            key=data.get("key"),
            label=data.get("label"),
            label_plural=data.get("label_plural", data.get("plural")),
            icon=data.get("icon") or "",
            number_prefix=data.get("number_prefix") or "",
            menu_group=data.get("menu_group") or "",
            fields=data.get("fields"),
        )
        spec = registry.get(module.key)
        body = {**meta.module_to_api(spec, request_member(request)), **custom_module_to_api(module)}
        return Response(body, status=status.HTTP_201_CREATED)


class ModuleView(meta.ModuleView):
    def get_permissions(self) -> list[Any]:
        return _permissions(self.request)

    def _module(self, key: str) -> CustomModule:
        module = CustomModule.objects.filter(key=key).first()
        if module is None:
            raise NotFound(
                _("Built-in modules cannot be changed here.") if key in registry.builtin_keys() else _("Not found.")
            )
        return module

    @extend_schema(request=UPDATE_REQUEST, responses={200: dict})
    def patch(self, request: Request, module: str) -> Response:
        found = services.custom_module_update(
            actor=request_member(request), module=self._module(module), data=request.data
        )
        return Response(custom_module_to_api(found))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, module: str) -> Response:
        """Archive: the module disappears, its records and fields are kept (PATCH {"archived": false})."""
        services.custom_module_archive(actor=request_member(request), module=self._module(module))
        return Response(status=status.HTTP_204_NO_CONTENT)
