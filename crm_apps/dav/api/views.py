"""`/api/v1/me/app-passwords`: the signed-in member's own app passwords. Thin: parse, call a service, serialise."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.mfa import token_creation_allowed
from crm_apps.access.middleware import request_member
from crm_apps.dav.api.serializers import (
    AppPasswordCreatedSerializer,
    AppPasswordCreateSerializer,
    AppPasswordSerializer,
)
from crm_apps.dav.services import app_password_create, app_password_list, app_password_revoke


class AppPasswordListView(APIView):
    @extend_schema(responses=AppPasswordSerializer(many=True))
    def get(self, request: Request) -> Response:
        items = app_password_list(member=request_member(request))
        return Response(AppPasswordSerializer(items, many=True).data)

    @extend_schema(request=AppPasswordCreateSerializer, responses={201: AppPasswordCreatedSerializer})
    def post(self, request: Request) -> Response:
        member = request_member(request)
        if request.auth is None and not token_creation_allowed(request._request, member):
            # From a browser session (not an API token): the second factor must have been checked recently.
            return Response(
                {"detail": _("Confirm your second factor again (at /mfa/verify/) before creating an app password.")},
                status=status.HTTP_403_FORBIDDEN,
            )
        name = request.data.get("name") if isinstance(request.data, dict) else None
        if not isinstance(name, str):
            return Response({"name": [_("This field is required.")]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            created, password = app_password_create(member=member, name=name)
        except ValidationError as exc:
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "id": created.pk,
                "name": created.name,
                "password": password,
                "username": member.user.email,
                "server": request.build_absolute_uri("/dav/"),
            },
            status=status.HTTP_201_CREATED,
        )


class AppPasswordDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, app_password_id: int) -> Response:
        if not app_password_revoke(member=request_member(request), app_password_id=app_password_id):
            return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)
