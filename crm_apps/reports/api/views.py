"""/api/v1/reports/: saved report CRUD, running (saved and ad hoc), exports, the field catalogue for the
builder, and folders. Every run is for the requesting member: their visibility, their field-level security."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.privileges import is_tenant_admin
from crm_apps.engine import registry
from crm_apps.reports import cache as report_cache
from crm_apps.reports import definition as definitions
from crm_apps.reports import exports, selectors, services
from crm_apps.reports.engine import run
from crm_apps.reports.fields import catalogue
from crm_apps.reports.models import Report, ReportFolder
from saas.openapi import json_object_view


def _data(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
    return dict(request.data)


def report_to_api(report: Report) -> dict[str, Any]:
    return {
        "id": report.pk,
        "name": report.name,
        "description": report.description,
        "module": report.module,
        "folder": report.folder_id,
        "owner": report.owner_id,
        "sharing": report.sharing,
        "audience": report.audience,
        "shared_members": [m.pk for m in report.shared_members.all()],
        "shared_roles": [r.pk for r in report.shared_roles.all()],
        "shared_groups": [g.pk for g in report.shared_groups.all()],
        "definition": report.definition,
        "created_at": report.created_at.isoformat(),
        "updated_at": report.updated_at.isoformat(),
    }


def _report(request: Request, report_id: int) -> Report:
    found = selectors.report_get(actor=request_member(request), report_id=report_id)
    if found is None:
        raise NotFound(_("Not found."))
    return found


def run_saved(request: Request, report: Report) -> dict[str, Any]:
    member = request_member(request)
    checked = definitions.parse(report.definition, actor=member, saved=True)
    return report_cache.cached_run(definition=checked, actor=member, compute=lambda: run(checked))


REPORT_BODY = OpenApiTypes.OBJECT  # a JSON object; definitions.parse names the fields in error


@json_object_view()
class ReportListView(APIView):
    """GET the reports the member may open (`?folder=<id>`, `?module=deals`); POST {"name", "definition",
    "description", "folder", "sharing": "private"|"shared", "audience": "everyone"|"listed", "shared_members",
    "shared_roles", "shared_groups"} (no audience sent with the lists: nothing listed is everyone)."""

    @extend_schema(responses={200: dict}, parameters=[OpenApiParameter("folder", int), OpenApiParameter("module", str)])
    def get(self, request: Request) -> Response:
        qs = selectors.reports_for(actor=request_member(request)).prefetch_related(
            "shared_members", "shared_roles", "shared_groups"
        )
        folder = request.query_params.get("folder")
        if folder and folder.isdigit():
            qs = qs.filter(folder_id=int(folder))
        module = request.query_params.get("module")
        if module:
            qs = qs.filter(module=module)
        return Response({"results": [report_to_api(r) for r in qs[:500]]})

    @extend_schema(request=REPORT_BODY, responses={201: dict})
    def post(self, request: Request) -> Response:
        report = services.report_save(actor=request_member(request), data=_data(request))
        return Response(report_to_api(report), status=status.HTTP_201_CREATED)


@json_object_view()
class ReportDetailView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request, report_id: int) -> Response:
        return Response(report_to_api(_report(request, report_id)))

    @extend_schema(request=REPORT_BODY, responses={200: dict})
    def patch(self, request: Request, report_id: int) -> Response:
        report = services.report_save(
            actor=request_member(request), data=_data(request), report=_report(request, report_id)
        )
        return Response(report_to_api(report))

    put = patch

    def delete(self, request: Request, report_id: int) -> Response:
        services.report_delete(actor=request_member(request), report=_report(request, report_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReportRunView(APIView):
    """GET /api/v1/reports/<id>/run -> {"columns", "rows", "groups", "totals", "meta"}."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request, report_id: int) -> Response:
        return Response(run_saved(request, _report(request, report_id)))


@json_object_view()
class AdhocRunView(APIView):
    """POST /api/v1/reports/run with a definition ({"module", "type", "group_by", "aggregates", "filters", ...})."""

    @extend_schema(request=REPORT_BODY, responses={200: dict})
    def post(self, request: Request) -> Response:
        member = request_member(request)
        checked = definitions.parse(_data(request), actor=member)
        return Response(report_cache.cached_run(definition=checked, actor=member, compute=lambda: run(checked)))


class ReportDuplicateView(APIView):
    @extend_schema(request=None, responses={201: dict})
    def post(self, request: Request, report_id: int) -> Response:
        copy = services.report_duplicate(actor=request_member(request), report=_report(request, report_id))
        return Response(report_to_api(copy), status=status.HTTP_201_CREATED)


class ReportExportView(APIView):
    """GET /api/v1/reports/<id>/export.csv|xlsx|pdf: the table the result page shows."""

    @extend_schema(responses={200: bytes})
    def get(self, request: Request, report_id: int, fmt: str) -> HttpResponse:
        if fmt not in exports.FORMATS:
            raise NotFound(_("Not found."))
        report = _report(request, report_id)
        body = exports.render(fmt, report.name, run_saved(request, report))
        response = HttpResponse(body, content_type=exports.FORMATS[fmt])
        name = slugify(report.name) or "report"
        response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        return response


class FieldCatalogueView(APIView):
    """GET /api/v1/reports/fields?module=deals: the fields, operators, groupings and aggregates a report on the
    module may use for this member (hidden fields left out), and the relative date ranges."""

    @extend_schema(responses={200: dict}, parameters=[OpenApiParameter("module", str, required=True)])
    def get(self, request: Request) -> Response:
        actor = request_member(request)
        try:
            spec = registry.get(str(request.query_params.get("module", "")))
        except registry.UnknownModule:
            spec = None
        if spec is None or not visibility.can_view_module(actor=actor, spec=spec):
            raise ValidationError({"module": [_("Unknown module.")]})
        cat = catalogue(spec=spec, actor=actor)
        from crm_apps.reports import dates
        from crm_apps.reports import fields as f

        return Response(
            {
                "module": spec.key,
                "fields": [
                    {
                        "path": fld.path,
                        "label": fld.label,
                        "kind": fld.kind,
                        "operators": list(definitions.OPERATORS[fld.kind]),
                        "groupable": fld.kind in f.GROUPABLE,
                        "aggregates": ["count"]
                        + (["sum", "avg"] if fld.kind in f.NUMERIC else [])
                        + (["min", "max"] if fld.kind in f.ORDERED else []),
                    }
                    for fld in cat.fields.values()
                ],
                # Fields of records linked through link tables: filters ("some linked deal whose ..."), columns
                # (their distinct values) and groupings (a record in each of its values' groups).
                "linked": [
                    {
                        "path": linked.path,
                        "label": linked.label,
                        "kind": linked.field.kind,
                        "operators": list(definitions.OPERATORS[linked.field.kind]),
                        "groupable": linked.field.kind in f.GROUPABLE,
                    }
                    for linked in f.linked_fields(spec=spec, actor=actor)
                ],
                "relative_dates": [{"key": k, "label": str(v)} for k, v in dates.RELATIVE.items()],
                "granularities": list(dates.GRANULARITIES),
                "charts": [{"key": k, "label": str(v)} for k, v in definitions.CHARTS.items()],
            }
        )


def folder_to_api(folder: ReportFolder, actor: Any) -> dict[str, Any]:
    return {
        "id": folder.pk,
        "name": folder.name,
        "owner": folder.owner_id,
        "sharing": folder.sharing,
        "audience": folder.audience,
        "shared_members": [m.pk for m in folder.shared_members.all()],
        "shared_roles": [r.pk for r in folder.shared_roles.all()],
        "shared_groups": [g.pk for g in folder.shared_groups.all()],
        "can_change": folder.owner_id == actor.pk or is_tenant_admin(actor),
    }


def _folder(request: Request, folder_id: int) -> ReportFolder:
    found = selectors.folder_get(actor=request_member(request), folder_id=folder_id)
    if found is None:
        raise NotFound(_("Not found."))
    return found


@json_object_view()
class FolderListView(APIView):
    """GET the report folders the member sees (their own and those shared with them); POST {"name", "sharing":
    "private"|"shared", "audience": "everyone"|"listed", "shared_members", "shared_roles", "shared_groups"}: the
    reports in a shared folder may be opened by its audience (everyone, or those listed only; no audience sent
    with the lists: nothing listed is everyone), each with their own rights."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        actor = request_member(request)
        folders = selectors.folders_for(actor=actor).prefetch_related("shared_members", "shared_roles", "shared_groups")
        return Response({"results": [folder_to_api(x, actor) for x in folders]})

    @extend_schema(request=REPORT_BODY, responses={201: dict})
    def post(self, request: Request) -> Response:
        actor = request_member(request)
        folder = services.folder_save(actor=actor, data=_data(request))
        return Response(folder_to_api(folder, actor), status=status.HTTP_201_CREATED)


@json_object_view()
class FolderDetailView(APIView):
    """GET, PATCH (name, sharing and whom with: the owner or an admin), DELETE (its reports stay, unfiled)."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request, folder_id: int) -> Response:
        return Response(folder_to_api(_folder(request, folder_id), request_member(request)))

    @extend_schema(request=REPORT_BODY, responses={200: dict})
    def patch(self, request: Request, folder_id: int) -> Response:
        actor = request_member(request)
        folder = services.folder_save(actor=actor, data=_data(request), folder=_folder(request, folder_id))
        return Response(folder_to_api(folder, actor))

    put = patch

    def delete(self, request: Request, folder_id: int) -> Response:
        services.folder_delete(actor=request_member(request), folder=_folder(request, folder_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DashboardListView(APIView):
    """GET the dashboards the member may open (their own and the shared ones) with their widgets' layout."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        from crm_apps.reports import dashboards
        from crm_apps.reports.widgets import widget_title

        actor = request_member(request)
        boards = dashboards.dashboards_for(actor=actor).prefetch_related("widgets")
        return Response(
            {
                "results": [
                    {
                        "id": b.pk,
                        "name": b.name,
                        "shared": b.shared,
                        "can_change": dashboards.can_change(actor, b),
                        "widgets": [
                            {
                                "id": w.pk,
                                "kind": w.kind,
                                "title": widget_title(w),
                                "x": w.x,
                                "y": w.y,
                                "w": w.w,
                                "h": w.h,
                            }
                            for w in b.widgets.all()
                        ],
                    }
                    for b in boards
                ]
            }
        )


@json_object_view()
class DashboardLayoutView(APIView):
    """POST /api/v1/dashboards/<id>/layout {"widgets": [{"id", "x", "y", "w", "h"}]}: the grid after a drag."""

    @extend_schema(request=REPORT_BODY, responses={204: None})
    def post(self, request: Request, dashboard_id: int) -> Response:
        from crm_apps.reports import dashboards

        actor = request_member(request)
        board = dashboards.dashboard_get(actor=actor, dashboard_id=dashboard_id)
        if board is None:
            raise NotFound(_("Not found."))
        dashboards.layout_save(actor=actor, dashboard=board, items=_data(request).get("widgets"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WidgetDataView(APIView):
    """GET /api/v1/dashboard-widgets/<id>/data: the widget's chart data (or quota table) for this member, with
    `computed_at`."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request, widget_id: int) -> Response:
        from crm_apps.reports import dashboards
        from crm_apps.reports.models import Widget
        from crm_apps.reports.widgets import widget_data

        actor = request_member(request)
        widget = Widget.objects.select_related("report").filter(pk=widget_id).first()
        if widget is None or dashboards.dashboard_get(actor=actor, dashboard_id=widget.dashboard_id) is None:
            raise NotFound(_("Not found."))
        return Response(widget_data(widget, actor))


@json_object_view()
class QuotaView(APIView):
    """POST /api/v1/quotas/ {"member", "month": "YYYY-MM", "amount"} (managers): a member's monthly quota."""

    @extend_schema(request=REPORT_BODY, responses={200: dict})
    def post(self, request: Request) -> Response:
        from crm_apps.reports import dashboards

        data = _data(request)
        quota = dashboards.quota_set(
            actor=request_member(request),
            member_id=data.get("member"),
            month=data.get("month"),
            amount=data.get("amount"),
        )
        return Response({"member": quota.member_id, "month": quota.month.isoformat()[:7], "amount": str(quota.amount)})


def schedule_to_api(schedule: Any) -> dict[str, Any]:
    return {
        "id": schedule.pk,
        "report": schedule.report_id,
        "frequency": schedule.frequency,
        "weekdays": schedule.weekdays,
        "day_of_month": schedule.day_of_month,
        "at": schedule.at.strftime("%H:%M"),
        "format": schedule.format,
        "delivery": schedule.delivery,
        "members": [m.pk for m in schedule.members.all()],
        "roles": [r.pk for r in schedule.roles.all()],
        "addresses": schedule.addresses,
        "active": schedule.active,
        "runs": [
            {"tick": r.tick.isoformat(), "status": r.status, "recipients": r.recipients, "error": r.error}
            for r in schedule.runs.all()[:20]
        ],
    }


@json_object_view()
class ReportScheduleListView(APIView):
    """GET the report's schedules with their delivery log; POST {"frequency": "daily"|"weekly"|"monthly",
    "weekdays": [0..6], "day_of_month", "at": "HH:MM", "format": "csv"|"xlsx"|"pdf", "delivery":
    "attachment"|"link" (link: members and roles only, each must be able to open the report), "members", "roles",
    "addresses"} (the report's owner only: it runs with their rights)."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request, report_id: int) -> Response:
        report = _report(request, report_id)
        return Response({"results": [schedule_to_api(s) for s in report.schedules.all()]})

    @extend_schema(request=REPORT_BODY, responses={201: dict})
    def post(self, request: Request, report_id: int) -> Response:
        from crm_apps.reports.schedules import schedule_create

        schedule = schedule_create(
            actor=request_member(request), report=_report(request, report_id), data=_data(request)
        )
        return Response(schedule_to_api(schedule), status=status.HTTP_201_CREATED)


@json_object_view()
class ReportScheduleDetailView(APIView):
    def delete(self, request: Request, report_id: int, schedule_id: int) -> Response:
        report = _report(request, report_id)
        schedule = report.schedules.filter(pk=schedule_id).first()
        if schedule is None:
            raise NotFound(_("Not found."))
        if report.owner_id != request_member(request).pk:
            from rest_framework.exceptions import PermissionDenied as Denied

            raise Denied(_("Only the report's owner can change its schedules."))
        schedule.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
