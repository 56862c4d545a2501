"""`POST /api/v1/signup` on the bare domain."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saas.http import client_ip
from tenants.services import SIGNUP_FIELDS, SIGNUP_WINDOW, signup_attempt_allowed, tenant_signup


class SignupView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        description=(
            "Create a workspace and its first admin. Usually instant (a pre-migrated schema is claimed); when "
            "none is ready the schema is built with every migration, which takes a moment (seconds): allow for it."
        ),
        request=inline_serializer(
            "Signup",
            {
                **{f: serializers.CharField() for f in SIGNUP_FIELDS if f != "language"},
                "language": serializers.ChoiceField(
                    choices=[code for code, _label in settings.LANGUAGES],
                    required=False,
                    help_text="The workspace language: built-in values (stages, statuses, roles...) are created "
                    "in it. Default: the request's language (Accept-Language), else English.",
                ),
            },
        ),
        responses={
            201: inline_serializer("SignupCreated", {"tenant": serializers.CharField(), "url": serializers.URLField()})
        },
    )
    def post(self, request: Request) -> Response:
        if not signup_attempt_allowed(client_ip=client_ip(request._request)):
            return Response(
                {"detail": _("Too many signups from your address. Please try again in an hour.")},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(SIGNUP_WINDOW)},
            )
        if not isinstance(request.data, dict):
            return Response({"non_field_errors": [_("Send a JSON object.")]}, status=status.HTTP_400_BAD_REQUEST)
        result = tenant_signup(**{field: request.data.get(field) for field in SIGNUP_FIELDS})
        return Response({"tenant": result.tenant.schema_name, "url": result.url}, status=status.HTTP_201_CREATED)
