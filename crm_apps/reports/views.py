"""Report pages: the list (folders), the builder (a GET form: run to preview, then save), a report's result
with its chart and exports, and the drill-down list of the records behind a chart segment or summary cell."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Group, Member, Role
from crm_apps.access.privileges import is_tenant_admin
from crm_apps.engine import registry
from crm_apps.reports import builder, charts, dates, exports, selectors, services
from crm_apps.reports import cache as report_cache
from crm_apps.reports import definition as definitions
from crm_apps.reports import fields as f
from crm_apps.reports.engine import run
from crm_apps.reports.fields import catalogue
from crm_apps.reports.models import Audience, Report, ReportFolder
from tenants.selectors import workspace_zone


def _modules(request: HttpRequest) -> list[Any]:
    actor = request_member(request)
    specs = [s for s in registry.all_specs() if visibility.can_view_module(actor=actor, spec=s)]
    return sorted(specs, key=lambda s: str(s.label_plural))


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    """Reports by folder: the member's own folders (even empty ones), folders shared with them, then the reports
    outside any folder they see - a report shared with them on its own that sits in a folder they may not see
    is listed there too (the folder's name and owner are not theirs to know)."""
    actor = request_member(request)
    reports = list(selectors.reports_for(actor=actor))
    labels = {s.key: s.label_plural for s in _modules(request)}
    folders = list(selectors.folders_for(actor=actor).order_by("name", "pk"))
    seen = {x.pk for x in folders}
    by_folder: dict[int | None, list[Any]] = {}
    for report in reports:
        key = report.folder_id if report.folder_id in seen else None
        by_folder.setdefault(key, []).append((report, labels.get(report.module, "")))
    sections: list[tuple[ReportFolder | None, list[Any], bool]] = [
        (folder, by_folder.get(folder.pk, []), folder.owner_id == actor.pk or is_tenant_admin(actor))
        for folder in folders
        if folder.owner_id == actor.pk or by_folder.get(folder.pk)
    ]
    if by_folder.get(None):
        sections.append((None, by_folder[None], False))
    return render(
        request,
        "reports/list.html",
        {"sections": sections, "count": len(reports), "modules": _modules(request)},
    )


def _share_data(choice: str) -> dict[str, Any]:
    """The forms' one "Sharing" choice as `sharing` and `audience`: private, shared with everyone, or shared with
    the chosen members, roles and groups only ("shared" alone: the audience follows the lists, as in the API)."""
    if choice == "everyone":
        return {"sharing": "shared", "audience": Audience.EVERYONE}
    if choice == "listed":
        return {"sharing": "shared", "audience": Audience.LISTED}
    return {"sharing": choice}


def _share_choice(target: Report | ReportFolder) -> str:
    if target.sharing != target.Sharing.SHARED:
        return "private"
    return "everyone" if target.audience == Audience.EVERYONE else "listed"


def _folder_context(folder: ReportFolder | None, params: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    return {
        "folder": folder,
        "params": params,
        "errors": errors,
        "share_members": list(Member.objects.filter(active=True).select_related("user").order_by("user__name", "pk")),
        "share_roles": list(Role.objects.order_by("name")),
        "share_groups": list(Group.objects.order_by("name")),
    }


@login_required
def folder_edit(request: HttpRequest, folder_id: int | None = None) -> HttpResponse:
    """A folder's name and whom its reports are shared with (its owner or an admin); new when no id."""
    actor = request_member(request)
    folder = None
    if folder_id is not None:
        folder = selectors.folder_get(actor=actor, folder_id=folder_id)
        if folder is None:
            raise Http404
        if folder.owner_id != actor.pk and not is_tenant_admin(actor):
            raise PermissionDenied
    if request.method == "POST" and "delete" in request.POST and folder is not None:
        services.folder_delete(actor=actor, folder=folder)
        messages.success(request, _("Folder deleted; its reports are kept outside any folder."))
        return redirect("reports:list")
    if request.method == "POST":
        params: dict[str, Any] = {
            "name": request.POST.get("name", ""),
            "sharing": request.POST.get("sharing", "private"),
        }
        params.update({key: _int_list(request.POST.getlist(key)) for key in SHARE_KEYS})
        data = {**params, **_share_data(params["sharing"])}
        try:
            saved = services.folder_save(actor=actor, data=data, folder=folder)
        except ValidationError as exc:
            return render(request, "reports/folder.html", _folder_context(folder, params, exc.message_dict), status=400)
        messages.success(request, _("Folder saved."))
        return redirect(f"{reverse('reports:list')}#folder-{saved.pk}")
    params = {"name": "", "sharing": "private", **{key: list[int]() for key in SHARE_KEYS}}
    if folder is not None:
        params = {
            "name": folder.name,
            "sharing": _share_choice(folder),
            "shared_members": list(folder.shared_members.values_list("pk", flat=True)),
            "shared_roles": list(folder.shared_roles.values_list("pk", flat=True)),
            "shared_groups": list(folder.shared_groups.values_list("pk", flat=True)),
        }
    return render(request, "reports/folder.html", _folder_context(folder, params, {}))


def _builder_context(request: HttpRequest, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    actor = request_member(request)
    module = params.get("module") or ""
    context: dict[str, Any] = {
        "modules": _modules(request),
        "params": params,
        "types": definitions.TYPES,
        "charts": definitions.CHARTS,
        "relative": dates.RELATIVE,
        "granularities": dates.GRANULARITIES,
        "aggregate_ops": definitions.AGGREGATES,
        "group_slots": [
            {
                "name": f"group{i}",
                "value": params.get(f"group{i}") or "",
                "by": params.get(f"group{i}_by") or "",
                "i": i,
            }
            for i in range(1, builder.GROUPS + 1)
        ],
        "pivot_slot": {"name": "pivot", "value": params.get("pivot") or "", "by": params.get("pivot_by") or ""},
        "agg_slots": [
            {"i": i, "op": params.get(f"agg{i}_op") or "", "field": params.get(f"agg{i}_field") or ""}
            for i in range(1, builder.AGGREGATES + 1)
        ],
        "condition_slots": [
            {
                "i": i,
                "field": params.get(f"f{i}_field") or "",
                "op": params.get(f"f{i}_op") or "",
                "value": params.get(f"f{i}_value") or "",
            }
            for i in range(1, builder.CONDITIONS + 1)
        ],
        "errors": {},
        "folders": list(ReportFolder.objects.filter(owner=actor)),
        "share_members": list(Member.objects.filter(active=True).select_related("user").order_by("user__name", "pk")),
        "share_roles": list(Role.objects.order_by("name")),
        "share_groups": list(Group.objects.order_by("name")),
    }
    try:
        spec = registry.get(module) if module else None
    except registry.UnknownModule:
        spec = None
    if spec is None or not visibility.can_view_module(actor=actor, spec=spec):
        return context
    cat = catalogue(spec=spec, actor=actor)
    linked = f.linked_fields(spec=spec, actor=actor)
    context["fields"] = [*cat.fields.values(), *linked]  # linked: their distinct values per record
    context["filter_fields"] = [*cat.fields.values(), *linked]
    context["group_fields"] = [x for x in [*cat.fields.values(), *linked] if _kind(x) in f.GROUPABLE]
    context["number_fields"] = [x for x in cat.fields.values() if x.kind in f.ORDERED]
    context["operators"] = sorted({op for ops in definitions.OPERATORS.values() for op in ops})
    context["spec"] = spec
    if "run" in params or "save" in params:
        try:
            checked = definitions.parse(data, actor=actor)
        except ValidationError as exc:
            context["errors"] = exc.message_dict
        else:
            result = run(checked)
            context["result"] = result
            context["table"] = screen(result, None, data.get("filters"))
            context["chart"] = charts.chart_data(result, None, data.get("filters"))
    return context


def _kind(x: Any) -> str:
    return x.field.kind if isinstance(x, f.LinkedField) else x.kind


def _params(query: Any) -> dict[str, Any]:
    params: dict[str, Any] = {k: query.get(k) for k in query}
    params["columns"] = query.getlist("columns")
    for key in SHARE_KEYS:
        params[key] = _int_list(query.getlist(key))
    return params


SHARE_KEYS = ("shared_members", "shared_roles", "shared_groups")


def _int_list(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and len(v) < 12]


def _save_data(request: HttpRequest, data: dict[str, Any], actor: Member, report: Report | None) -> dict[str, Any]:
    """The save form's fields as a `services.report_save` payload: name, definition, sharing and whom with, and
    the folder (one of the owner's, or a new one by name, created in the same transaction)."""
    post = request.POST
    out: dict[str, Any] = {
        "name": post.get("name", ""),
        "definition": data,
        **_share_data(post.get("sharing", "private")),
        **{key: _int_list(post.getlist(key)) for key in SHARE_KEYS},
    }
    folder = post.get("folder", "")
    new_folder = post.get("new_folder", "").strip()
    if new_folder:
        out["folder_name"] = new_folder
    elif folder.isdigit() and len(folder) < 12:
        out["folder"] = int(folder)
    elif folder == "":
        out["folder"] = None
    else:
        out["folder"] = folder
    return out


@login_required
def report_new(request: HttpRequest) -> HttpResponse:
    """The builder: choose a module, then everything else; "Run" previews, "Save" stores the report."""
    actor = request_member(request)
    if request.method == "POST" and "save" not in request.POST:
        data = builder.definition_from_params(request.POST)
        return render(request, "reports/builder.html", _builder_context(request, _params(request.POST), data))
    if request.method == "POST":
        data = builder.definition_from_params(request.POST)
        try:
            report = services.report_save(actor=actor, data=_save_data(request, data, actor, None))
        except ValidationError as exc:
            context = _builder_context(request, _params(request.POST), data)
            context["errors"] = {**context["errors"], **exc.message_dict}
            return render(request, "reports/builder.html", context, status=400)
        messages.success(request, _("Report saved."))
        return redirect("reports:detail", report.pk)
    params = _params(request.GET)
    return render(
        request, "reports/builder.html", _builder_context(request, params, builder.definition_from_params(request.GET))
    )


def _report(request: HttpRequest, report_id: int) -> Report:
    found = selectors.report_get(actor=request_member(request), report_id=report_id)
    if found is None:
        raise Http404
    return found


@login_required
def report_edit(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _report(request, report_id)
    actor = request_member(request)
    if request.method == "POST" and "save" not in request.POST:
        data = builder.definition_from_params(request.POST)
        context = _builder_context(request, _params(request.POST), data)
        context["report"] = report
        return render(request, "reports/builder.html", context)
    if request.method == "POST":
        data = builder.definition_from_params(request.POST)
        try:
            services.report_save(actor=actor, report=report, data=_save_data(request, data, actor, report))
        except ValidationError as exc:
            context = _builder_context(request, _params(request.POST), data)
            context.update({"report": report, "errors": {**context["errors"], **exc.message_dict}})
            return render(request, "reports/builder.html", context, status=400)
        except PermissionDenied:
            raise
        messages.success(request, _("Report saved."))
        return redirect("reports:detail", report.pk)
    params = _params(request.GET) if request.GET.get("module") else builder.params_from_definition(report.definition)
    params.setdefault("name", report.name)
    params.setdefault("sharing", _share_choice(report))
    params.setdefault("folder", report.folder_id or "")
    if not request.GET.get("module"):
        params["shared_members"] = list(report.shared_members.values_list("pk", flat=True))
        params["shared_roles"] = list(report.shared_roles.values_list("pk", flat=True))
        params["shared_groups"] = list(report.shared_groups.values_list("pk", flat=True))
    data = builder.definition_from_params(request.GET) if request.GET.get("module") else report.definition
    context = _builder_context(request, params, data)
    context["report"] = report
    return render(request, "reports/builder.html", context)


@login_required
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _report(request, report_id)
    actor = request_member(request)
    error = None
    result = None
    try:
        checked = definitions.parse(report.definition, actor=actor, saved=True)
        result = report_cache.cached_run(definition=checked, actor=actor, compute=lambda: run(checked))
    except ValidationError as exc:
        error = exc.message_dict
    context = {
        "report": report,
        "result": result,
        "error": error,
        "table": screen(result, report.pk) if result else None,
        "chart": charts.chart_data(result, report.pk) if result else None,
        "can_change": report.owner_id == actor.pk or actor.is_admin,
        "is_owner": report.owner_id == actor.pk,
        "schedules": list(report.schedules.prefetch_related("runs")) if report.owner_id == actor.pk else [],
        "schedule_members": (
            list(Member.objects.filter(active=True).select_related("user").order_by("user__name"))
            if report.owner_id == actor.pk
            else []
        ),
        "schedule_roles": list(Role.objects.order_by("name")) if report.owner_id == actor.pk else [],
        "workspace_zone": str(workspace_zone()),
        "weekdays": [
            (0, _("Mon")),
            (1, _("Tue")),
            (2, _("Wed")),
            (3, _("Thu")),
            (4, _("Fri")),
            (5, _("Sat")),
            (6, _("Sun")),
        ],
    }
    return render(request, "reports/detail.html", context)


def screen(result: dict[str, Any], report_id: int | None, filters: Any = None) -> dict[str, Any]:
    """The result table as the page shows it (the exports' table): each line's drill-down (or its record's URL)
    and, for summary and matrix cells, the drill-down of the records behind each figure."""
    header, lines = exports.table_lines(result)
    module = result["meta"]["module"]

    def url(drill: Any) -> str:
        if isinstance(drill, str):
            return drill
        return charts.drill_url(report_id, module, drill, filters) if drill else ""

    return {
        "header": header,
        "lines": [([(text, url(cell)) for text, cell in cells], url(line)) for cells, line in lines],
    }


def _drill(request: HttpRequest, module: str, base_filters: Any, title: str) -> HttpResponse:
    actor = request_member(request)
    try:
        conditions = json.loads(request.GET.get("d", "[]"))
    except ValueError:
        conditions = None
    if not isinstance(conditions, list) or len(conditions) > 6:
        raise Http404
    try:
        spec = registry.get(module)
    except registry.UnknownModule as exc:
        raise Http404 from exc
    cat = catalogue(spec=spec, actor=actor)
    columns = [c for c in spec.list_columns if c in cat.fields] or list(cat.fields)[:5]
    items = [*conditions] + ([base_filters] if base_filters else [])
    data = {
        "module": module,
        "type": "tabular",
        "columns": columns,
        "filters": {"match": "all", "conditions": items},
        "limit": 500,
    }
    try:
        result = run(definitions.parse(data, actor=actor, drill=True))
    except ValidationError as exc:
        raise Http404 from exc
    return render(
        request,
        "reports/drill.html",
        {"title": title, "result": result, "spec": spec, "conditions": conditions, "table": screen(result, None)},
    )


@login_required
def report_drill(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _report(request, report_id)
    return _drill(request, report.module, report.definition.get("filters"), report.name)


@login_required
def report_drill_adhoc(request: HttpRequest, module: str) -> HttpResponse:
    return _drill(request, module, None, _("Records"))


@login_required
@require_POST
def report_duplicate(request: HttpRequest, report_id: int) -> HttpResponse:
    copy = services.report_duplicate(actor=request_member(request), report=_report(request, report_id))
    messages.success(request, _("Report duplicated."))
    return redirect("reports:detail", copy.pk)


@login_required
@require_POST
def report_delete(request: HttpRequest, report_id: int) -> HttpResponse:
    services.report_delete(actor=request_member(request), report=_report(request, report_id))
    messages.success(request, _("Report deleted."))
    return redirect("reports:list")


@login_required
def report_export(request: HttpRequest, report_id: int, fmt: str) -> HttpResponse:
    if fmt not in exports.FORMATS:
        raise Http404
    report = _report(request, report_id)
    actor = request_member(request)
    checked = definitions.parse(report.definition, actor=actor, saved=True)
    result = report_cache.cached_run(definition=checked, actor=actor, compute=lambda: run(checked))
    response = HttpResponse(exports.render(fmt, report.name, result), content_type=exports.FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="report-{report.pk}.{fmt}"'
    return response


@login_required
@require_POST
def schedule_add(request: HttpRequest, report_id: int) -> HttpResponse:
    """The report page's schedule form (the owner only): frequency, days, time, format, recipients."""
    from crm_apps.reports.schedules import schedule_create

    report = _report(request, report_id)
    actor = request_member(request)
    post = request.POST
    addresses = [a.strip() for a in post.get("addresses", "").split(",") if a.strip()]
    day = post.get("day_of_month", "1")
    data = {
        "frequency": post.get("frequency", "weekly"),
        "weekdays": [int(d) for d in post.getlist("weekdays") if d.isdigit() and len(d) == 1],
        "day_of_month": int(day) if day.isdigit() and len(day) <= 2 else day,
        "at": post.get("at", "08:00"),
        "format": post.get("format", "xlsx"),
        "addresses": addresses,
        "members": sorted(
            {int(m) for m in post.getlist("members") if m.isdigit() and len(m) < 12}
            | ({actor.pk} if post.get("me") == "1" else set())
        ),
        "roles": [int(r) for r in post.getlist("roles") if r.isdigit() and len(r) < 12],
        "delivery": post.get("delivery", "attachment"),
    }
    try:
        schedule_create(actor=actor, report=report, data=data)
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    else:
        messages.success(request, _("Schedule saved."))
    return redirect("reports:detail", report.pk)


@login_required
@require_POST
def schedule_delete(request: HttpRequest, report_id: int, schedule_id: int) -> HttpResponse:
    report = _report(request, report_id)
    if report.owner_id != request_member(request).pk:
        raise PermissionDenied
    report.schedules.filter(pk=schedule_id).delete()
    return redirect("reports:detail", report.pk)
