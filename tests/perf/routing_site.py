"""The one view the routing benchmark serves (bench_tenancy.py): a list of 25 organisations as JSON, the
same code under both configurations (routing_settings_tenant / routing_settings_single)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from crm_apps.modules.organizations.models import Organization


def organizations(request: HttpRequest) -> JsonResponse:
    rows = Organization.objects.filter(deleted_at__isnull=True).order_by("number").values("number", "name", "email")
    return JsonResponse({"results": list(rows[:25])})


urlpatterns = [path("bench/organizations/", organizations)]
