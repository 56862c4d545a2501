"""Token auth endpoints and `me` on tenant hosts. Thin: parse, call a service, serialise."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.api.serializers import (
    ApiTokenSerializer,
    MemberFormatsSerializer,
    MemberSerializer,
    TokenCreatedSerializer,
    TokenObtainSerializer,
)
from crm_apps.access.login_policy import password_signin_refusal
from crm_apps.access.me import me_fields
from crm_apps.access.mfa import token_otp_check
from crm_apps.access.middleware import request_member
from crm_apps.access.selectors import api_token_list, member_for_user
from crm_apps.access.services import (
    api_token_create,
    api_token_revoke,
    member_update_formats,
)
from crm_apps.audit.services import LOGIN_FAILED, LOGIN_SUCCEEDED, MFA_FAILED, audit_log
from saas.http import client_ip
from saas.throttle import FailOpenScopedRateThrottle
from tenants.login_throttle import LOGIN_FAILURE_WINDOW, login_blocked, login_failed


class TokenObtainView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=TokenObtainSerializer, responses={201: TokenCreatedSerializer})
    def post(self, request: Request) -> Response:
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"]
        ip = client_ip(request._request)
        if login_blocked(client_ip=ip, email=email):
            return Response(
                {"detail": _("Too many failed sign-in attempts. Please wait 15 minutes and try again.")},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(LOGIN_FAILURE_WINDOW)},
            )
        user = authenticate(request._request, username=email, password=serializer.validated_data["password"])
        member = member_for_user(user_id=user.pk) if user is not None else None
        if member is None:
            login_failed(client_ip=ip, email=email)
            audit_log(action=LOGIN_FAILED, details={"via": "api", "email": email})
            return Response(
                {"non_field_errors": [_("Wrong email or password, or no access to this workspace.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        refusal = password_signin_refusal(user=user)  # e.g. single sign-on only (crm_apps/sso)
        if refusal:
            audit_log(action=LOGIN_FAILED, actor=member, details={"via": "api", "reason": "password_refused"})
            return Response({"non_field_errors": [refusal]}, status=status.HTTP_400_BAD_REQUEST)
        otp_errors = token_otp_check(request=request._request, user=user, otp=serializer.validated_data.get("otp", ""))
        if otp_errors is not None:
            if serializer.validated_data.get("otp"):  # a wrong code counts like a wrong password
                login_failed(client_ip=ip, email=email)
                audit_log(action=MFA_FAILED, actor=member, details={"via": "api"})
            return Response(otp_errors, status=status.HTTP_400_BAD_REQUEST)
        audit_log(action=LOGIN_SUCCEEDED, actor=member, details={"via": "api"})
        token, key = api_token_create(member=member, name=serializer.validated_data.get("name") or _("API token"))
        return Response({"token": key, "id": token.pk}, status=status.HTTP_201_CREATED)


class MeView(APIView):
    @extend_schema(responses=MemberSerializer)
    def get(self, request: Request) -> Response:
        member = request_member(request)
        return Response({**MemberSerializer(member, context={"request": request}).data, **me_fields(member)})

    @extend_schema(request=MemberFormatsSerializer, responses=MemberSerializer)
    def patch(self, request: Request) -> Response:
        """Change the member's own date, time and number formats (the API itself stays ISO 8601)."""
        member = request_member(request)
        serializer = MemberFormatsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member_update_formats(member=member, **serializer.validated_data)
        return Response({**MemberSerializer(member, context={"request": request}).data, **me_fields(member)})


class TokenListView(APIView):
    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        tokens = api_token_list(member=request_member(request))
        return Response(ApiTokenSerializer(tokens, many=True).data)


class TokenDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        if not api_token_revoke(member=request_member(request), token_id=token_id):
            return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)
