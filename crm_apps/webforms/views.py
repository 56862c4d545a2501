"""The form builder for tenant admins (/settings/webforms/): list, create, edit, statistics, submissions
log and its CSV export. Works without JavaScript: the builder is one table of the module's fields."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Group, Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry
from crm_apps.engine.exports import safe_cell
from crm_apps.webforms import public_views, selectors, services
from crm_apps.webforms.models import Submission, WebForm

UPLOAD_ROWS = services.MAX_UPLOADS


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def index(request: HttpRequest, actor: Member) -> HttpResponse:
    forms = selectors.webform_list(actor=actor)
    return render(request, "webforms/index.html", {"forms": forms, "modules": services.form_modules()})


def _starting_fields(module: str) -> list[dict[str, Any]]:
    """A new form asks what the module requires, and the email when it has one."""
    spec = registry.get(module)
    available = services.fields_available(module)
    wanted = []
    for name in available:
        field = services.model_field(spec, name)
        if field is not None and (not field.blank or name == "email"):
            wanted.append({"field": name, "required": not field.blank})
    return wanted or [{"field": next(iter(available))}]


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def create(request: HttpRequest, actor: Member) -> HttpResponse:
    if request.method != "POST":
        return redirect("webforms:index")
    module = request.POST.get("module", "")
    data: dict[str, Any] = {"name": request.POST.get("name", ""), "module": module}
    if module in {s.key for s in services.form_modules()}:
        data["fields"] = _starting_fields(module)
    try:
        form = services.webform_save(actor=actor, data=data)
    except ValidationError as exc:
        context = {"forms": selectors.webform_list(actor=actor), "modules": services.form_modules()}
        return render(
            request, "webforms/index.html", {**context, "errors": _errors(exc), "posted": request.POST}, status=400
        )
    messages.success(request, _("Form created: choose its fields and settings."))
    return redirect("webforms:edit", form_id=form.pk)


def _builder_rows(form: WebForm, posted: Any = None) -> list[dict[str, Any]]:
    """One row per field the module offers: on the form (in its order) first, then the rest."""
    available = services.fields_available(form.module)
    chosen: dict[str, tuple[int | None, dict[str, Any]]] = {
        f["field"]: (i, f) for i, f in enumerate(form.fields) if not f.get("upload")
    }
    rows = []
    for name, label in available.items():
        position, item = chosen.get(name, (None, {}))
        rows.append(
            {
                "name": name,
                "module_label": label,
                "on": name in chosen,
                "label": item.get("label", ""),
                "placeholder": item.get("placeholder", ""),
                "required": item.get("required", False),
                "order": (position + 1) if position is not None else "",
                "hidden": form.hidden.get(name, ""),
            }
        )
    rows.sort(key=lambda r: (not r["on"], r["order"] or 0))
    return rows


def _upload_rows(form: WebForm) -> list[dict[str, Any]]:
    uploads = [f for f in form.fields if f.get("upload")]
    rows = [{"index": i, **u} for i, u in enumerate(uploads)]
    rows += [{"index": i, "field": "", "label": "", "required": False} for i in range(len(rows), UPLOAD_ROWS)]
    return rows


def _posted_data(form: WebForm, post: Any) -> dict[str, Any]:
    """The builder's table as the service's data (the same shape as the API's)."""
    available = services.fields_available(form.module)
    chosen = []
    hidden = {}
    for position, name in enumerate(available):
        key = f"f-{name}"
        if post.get(f"{key}-hidden", "").strip():
            hidden[name] = post.get(f"{key}-hidden", "").strip()
        if not post.get(f"{key}-on"):
            continue
        try:
            order = int(post.get(f"{key}-order") or 0) or 1000 + position
        except ValueError:
            order = 1000 + position
        chosen.append(
            (
                order,
                {
                    "field": name,
                    "label": post.get(f"{key}-label", ""),
                    "placeholder": post.get(f"{key}-placeholder", ""),
                    "required": bool(post.get(f"{key}-required")),
                },
            )
        )
    chosen.sort(key=lambda item: item[0])
    fields = [item for _order, item in chosen]
    for i in range(UPLOAD_ROWS):
        name = post.get(f"upload-{i}-field", "").strip()
        if name:
            fields.append(
                {
                    "field": name,
                    "label": post.get(f"upload-{i}-label", ""),
                    "required": bool(post.get(f"upload-{i}-required")),
                    "upload": True,
                }
            )
    capture = {k: post.get(f"capture-{k}") for k in services.CAPTURE_KEYS if post.get(f"capture-{k}")}
    return {
        "name": post.get("name", ""),
        "fields": fields,
        "hidden": hidden,
        "capture": capture,
        "active": bool(post.get("active")),
        "notify_owner": bool(post.get("notify_owner")),
        "dedupe_by_email": bool(post.get("dedupe_by_email")),
        "consent_text": post.get("consent_text", ""),
        "success_message": post.get("success_message", ""),
        "redirect_url": post.get("redirect_url", ""),
        "owner": post.get("owner", ""),
        "owner_group": post.get("owner_group", ""),
        "allowed_origins": post.get("allowed_origins", ""),
        "min_seconds": post.get("min_seconds", form.min_seconds),
        "ip_limit_per_hour": post.get("ip_limit_per_hour", form.ip_limit_per_hour),
        "form_limit_per_hour": post.get("form_limit_per_hour", form.form_limit_per_hour),
        "max_field_chars": post.get("max_field_chars", form.max_field_chars),
        "proof_of_work_bits": post.get("proof_of_work_bits", form.proof_of_work_bits),
    }


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def edit(request: HttpRequest, actor: Member, form_id: int) -> HttpResponse:
    form = selectors.access_webform(actor=actor, form_id=form_id)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            services.webform_save(actor=actor, data=_posted_data(form, request.POST), form=form)
        except ValidationError as exc:
            errors = _errors(exc)
            form.refresh_from_db()
        else:
            messages.success(request, _("Form saved."))
            return redirect("webforms:detail", form_id=form.pk)
    context = {
        "form": form,
        "rows": _builder_rows(form),
        "uploads": _upload_rows(form),
        "capture_keys": services.CAPTURE_KEYS,
        "capture_targets": services.fields_available(form.module),
        "members": Member.objects.filter(active=True).select_related("user").order_by("user__name", "id"),
        "groups": Group.objects.order_by("name"),
        "origins": "\n".join(form.allowed_origins),
        "errors": errors,
        "spec": registry.get(form.module),
    }
    return render(request, "webforms/edit.html", context, status=400 if errors else 200)


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def detail(request: HttpRequest, actor: Member, form_id: int) -> HttpResponse:
    form = selectors.access_webform(actor=actor, form_id=form_id)
    wanted = request.GET.get("status", "")
    context = {
        "form": form,
        "spec": registry.get(form.module),
        "stats": selectors.webform_stats(form=form),
        "submissions": selectors.submission_list(
            form=form, status=wanted if wanted in Submission.Status.values else ""
        ),
        "public_url": public_views.public_url(request, form),
        "snippet": public_views.snippet(request, form),
        "html_variant": public_views.html_variant(request, form),
        "status": wanted,
    }
    return render(request, "webforms/detail.html", context)


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def delete(request: HttpRequest, actor: Member, form_id: int) -> HttpResponse:
    form = selectors.access_webform(actor=actor, form_id=form_id)
    if request.method == "POST":
        services.webform_delete(actor=actor, form=form)
        messages.success(request, _("Form deleted."))
    return redirect("webforms:index")


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def submissions_csv(request: HttpRequest, actor: Member, form_id: int) -> HttpResponse:
    """The submissions log as CSV; every cell neutralised (no formulas, no control characters)."""
    form = selectors.access_webform(actor=actor, form_id=form_id)
    rows = selectors.submission_list(form=form, limit=10_000)
    names = [f["field"] for f in form.fields if not f.get("upload")]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = [_("Time"), _("Status"), _("Reason"), _("Linked"), _("Module"), _("Record ID")]
    header += [_("UTM source"), _("IP address"), _("Consent given"), _("Consent IP address"), *names]
    header += [_("Kept on the log")]
    writer.writerow([safe_cell(str(c)) for c in header])
    for row in rows:
        cells = [
            row.created_at.isoformat(),
            row.get_status_display(),
            row.get_reason_display() if row.reason else "",
            _("yes") if row.linked else "",
            row.module,
            str(row.record_id or ""),
            row.utm_source,
            row.ip or "",
            row.consent_at.isoformat() if row.consent_at else "",
            row.consent_ip or "",
            *[str(row.values.get(n, "")) for n in names],
            "; ".join(f"{k}: {v}" for k, v in (row.unapplied or {}).items()),
        ]
        writer.writerow([safe_cell(str(c)) for c in cells])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="webform-{form.pk}-submissions.csv"'
    return response
