"""The notification centre's API: a member's own inbox and choices. Thin: parse, call, serialise."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.notifications.api.serializers import NotificationSerializer, PreferencesSerializer
from crm_apps.notifications.models import Notification
from crm_apps.notifications.selectors import notification_list, preferences_get, unread_count
from crm_apps.notifications.services import notification_mark_read, notifications_mark_all_read, preferences_set

PAGE_MAX = 100


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.lower() in ("1", "true", "yes")


class NotificationListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("unread", bool, description="true: unread only; false: read only"),
            OpenApiParameter("kind", str),
            OpenApiParameter("limit", int),
            OpenApiParameter("before", int, description="the id of the last notification of the previous page"),
        ],
        responses=inline_serializer(
            "NotificationPage",
            {
                "results": NotificationSerializer(many=True),
                "unread": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        member = request_member(request)
        try:
            limit = min(max(int(request.query_params.get("limit", 25)), 1), PAGE_MAX)
        except ValueError:
            return Response({"limit": [_("Enter a whole number.")]}, status=status.HTTP_400_BAD_REQUEST)
        qs = notification_list(
            member=member, unread=_flag(request.query_params.get("unread")), kind=request.query_params.get("kind")
        )
        before = request.query_params.get("before")
        if before:
            anchor = Notification.objects.filter(recipient=member, pk=before if before.isdigit() else 0).first()
            if anchor is None:
                return Response({"before": [_("Unknown notification.")]}, status=status.HTTP_400_BAD_REQUEST)
            qs = qs.filter(Q(created_at__lt=anchor.created_at) | Q(created_at=anchor.created_at, pk__lt=anchor.pk))
        rows = list(qs[: limit + 1])
        page, more = rows[:limit], len(rows) > limit
        data: dict[str, Any] = {
            "results": NotificationSerializer(page, many=True).data,
            "unread": unread_count(member=member),
            "next": None,
        }
        if more:
            params = request.query_params.copy()
            params["before"] = str(page[-1].pk)
            data["next"] = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response(data)


class NotificationCountView(APIView):
    @extend_schema(responses={200: {"type": "object", "properties": {"unread": {"type": "integer"}}}})
    def get(self, request: Request) -> Response:
        return Response({"unread": unread_count(member=request_member(request))})


class NotificationReadView(APIView):
    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, notification_id: int) -> Response:
        try:
            notification = notification_mark_read(member=request_member(request), notification_id=notification_id)
        except Notification.DoesNotExist:
            return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllView(APIView):
    @extend_schema(request=None, responses={200: {"type": "object", "properties": {"marked": {"type": "integer"}}}})
    def post(self, request: Request) -> Response:
        return Response({"marked": notifications_mark_all_read(member=request_member(request))})


def _preferences(member: Any) -> dict[str, Any]:
    rows, digest = preferences_get(member=member)
    return {
        "channels": {row.kind.key: row.channel for row in rows},
        "digest": digest,
        "kinds": [{"key": row.kind.key, "label": str(row.kind.label), "default": row.kind.default} for row in rows],
    }


class NotificationPreferencesView(APIView):
    @extend_schema(responses=PreferencesSerializer)
    def get(self, request: Request) -> Response:
        return Response(_preferences(request_member(request)))

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def put(self, request: Request) -> Response:
        member = request_member(request)
        serializer = PreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            preferences_set(
                member=member,
                channels=serializer.validated_data.get("channels", {}),
                digest=serializer.validated_data.get("digest"),
            )
        except ValidationError as exc:
            return Response(
                {f"channels.{k}": v for k, v in exc.message_dict.items()}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(_preferences(member))

    patch = put
