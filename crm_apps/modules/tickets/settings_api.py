"""The SLA settings over the API: GET/POST /api/v1/sla-policies/, GET/PATCH/DELETE /api/v1/sla-policies/<id>,
GET/POST /api/v1/business-hours/. Every member reads them (targets are no secret); writes need the
settings privilege (the services check it)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.support import services
from crm_apps.support.models import BusinessHours, SlaPolicy


class SlaPolicySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    priority = serializers.CharField(help_text="a value of the ticket_priority picklist")
    team = serializers.IntegerField(allow_null=True, required=False, help_text="a group id; null: every team")
    first_response_minutes = serializers.IntegerField()
    resolution_minutes = serializers.IntegerField()
    business_hours = serializers.IntegerField(allow_null=True, required=False)
    escalate_to = serializers.IntegerField(allow_null=True, required=False, help_text="a member id")
    reassign = serializers.BooleanField(required=False)
    active = serializers.BooleanField(required=False)


class BusinessHoursSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    time_zone = serializers.CharField()
    team = serializers.IntegerField(allow_null=True, required=False)
    week = serializers.DictField(help_text='{"0": "09:00-12:00, 13:00-17:00", ...} (0 = Monday)')
    holidays = serializers.ListField(child=serializers.DateField(), required=False)


def policy_to_api(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "id": policy.pk,
        "name": policy.name,
        "priority": policy.priority,
        "team": policy.team_id,
        "first_response_minutes": policy.first_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "business_hours": policy.business_hours_id,
        "escalate_to": policy.escalate_to_id,
        "reassign": policy.reassign,
        "active": policy.active,
    }


def hours_to_api(hours: BusinessHours) -> dict[str, Any]:
    return {
        "id": hours.pk,
        "name": hours.name,
        "time_zone": hours.time_zone,
        "team": hours.team_id,
        "week": {day: ", ".join(f"{s}-{e}" for s, e in spans) for day, spans in (hours.week or {}).items()},
        "holidays": [h.date.isoformat() for h in hours.holidays.all()],
    }


def _data(request: Request) -> dict[str, Any]:
    return request.data if isinstance(request.data, dict) else {}


class SlaPoliciesView(APIView):
    @extend_schema(responses={200: SlaPolicySerializer(many=True)})
    def get(self, request: Request) -> Response:
        """The workspace's SLA policies."""
        policies = SlaPolicy.objects.order_by("team_id", "priority", "id")
        return Response({"results": [policy_to_api(p) for p in policies]})

    @extend_schema(request=SlaPolicySerializer, responses={201: SlaPolicySerializer})
    def post(self, request: Request) -> Response:
        """Add a policy (settings privilege)."""
        policy = services.sla_policy_save(actor=request_member(request), policy=None, data=_data(request))
        return Response(policy_to_api(policy), status=status.HTTP_201_CREATED)


class SlaPolicyView(APIView):
    def _policy(self, pk: int) -> SlaPolicy:
        policy = SlaPolicy.objects.filter(pk=pk).first()
        if policy is None:
            raise NotFound(_("Not found."))
        return policy

    @extend_schema(responses={200: SlaPolicySerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(policy_to_api(self._policy(pk)))

    @extend_schema(request=SlaPolicySerializer, responses={200: SlaPolicySerializer})
    def patch(self, request: Request, pk: int) -> Response:
        """Change a policy: the fields sent, the others kept."""
        policy = self._policy(pk)
        data = {**policy_to_api(policy), **_data(request)}
        saved = services.sla_policy_save(actor=request_member(request), policy=policy, data=data)
        return Response(policy_to_api(saved))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.sla_policy_delete(actor=request_member(request), policy=self._policy(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BusinessHoursView(APIView):
    @extend_schema(responses={200: BusinessHoursSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Business hours per team (the one without a team is the default) with their holidays."""
        rows = BusinessHours.objects.prefetch_related("holidays").order_by("name", "id")
        return Response({"results": [hours_to_api(h) for h in rows]})

    @extend_schema(request=BusinessHoursSerializer, responses={201: BusinessHoursSerializer})
    def post(self, request: Request) -> Response:
        """Add business hours (settings privilege), with holidays."""
        from django.db import transaction

        data = _data(request)
        raw_week, raw_holidays = data.get("week"), data.get("holidays")
        week: dict[str, Any] = raw_week if isinstance(raw_week, dict) else {}
        holidays: list[Any] = raw_holidays if isinstance(raw_holidays, list) else []
        actor = request_member(request)
        with transaction.atomic():
            hours = services.business_hours_save(
                actor=actor,
                hours=None,
                name=str(data.get("name") or ""),
                time_zone=str(data.get("time_zone") or "UTC"),
                week=week,
                team_id=data.get("team"),
            )
            for day in holidays:
                services.holiday_add(actor=actor, hours=hours, date=day)
        return Response(hours_to_api(hours), status=status.HTTP_201_CREATED)
