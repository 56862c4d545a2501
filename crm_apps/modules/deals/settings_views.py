"""The pipeline and stage editor (Settings > Modules > Deals > Pipelines): create pipelines, rename them,
choose the default, archive; add, rename and remove stages, set probabilities and won/lost outcomes, and
reorder stages by dragging (or the Up/Down buttons, which also work without JavaScript). Every change is a
service call (deals.services), refused to members without MANAGE_SETTINGS."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry
from crm_apps.modules.deals import services
from crm_apps.modules.deals.models import Deal, Pipeline, Stage


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}


def _pipeline(value: Any) -> Pipeline:
    try:
        found = Pipeline.objects.filter(pk=int(str(value))).first()
    except ValueError:
        found = None
    if found is None:
        raise Http404
    return found


def _stage(pipeline: Pipeline, value: Any) -> Stage:
    try:
        found = pipeline.stages.filter(pk=int(str(value))).first()
    except ValueError:
        found = None
    if found is None:
        raise Http404
    return found


def _apply(actor: Member, post: Any) -> str:
    """One change from the editor's forms; returns the success message."""
    action = post.get("action", "")
    if action == "pipeline_create":
        stages = [{"name": _("New"), "probability": 10}, {"name": _("Won"), "probability": 100, "is_won": True}]
        stages.append({"name": _("Lost"), "probability": 0, "is_lost": True})
        services.pipeline_create(actor=actor, name=post.get("name", ""), stages=stages)
        return _("Pipeline created.")
    pipeline = _pipeline(post.get("pipeline"))
    if action == "pipeline_update":
        services.pipeline_update(
            actor=actor,
            pipeline=pipeline,
            name=post.get("name"),
            is_default=post.get("is_default") == "1" or None,
            archived=post.get("archived") == "1",
        )
        return _("Pipeline saved.")
    if action == "stage_add":
        services.stage_save(actor=actor, pipeline=pipeline, data=post)
        return _("Stage added.")
    if action == "stage_save":
        services.stage_save(actor=actor, pipeline=pipeline, data=post, stage=_stage(pipeline, post.get("stage")))
        return _("Stage saved.")
    if action == "stage_delete":
        services.stage_delete(actor=actor, stage=_stage(pipeline, post.get("stage")))
        return _("Stage removed.")
    if action in ("stage_up", "stage_down"):
        ids = list(pipeline.stages.order_by("position", "id").values_list("pk", flat=True))
        moved = _stage(pipeline, post.get("stage")).pk
        index = ids.index(moved)
        target = index - 1 if action == "stage_up" else index + 1
        if 0 <= target < len(ids):
            ids[index], ids[target] = ids[target], ids[index]
        services.stages_reorder(actor=actor, pipeline=pipeline, ids=ids)
        return _("Stages reordered.")
    if action == "stages_reorder":
        services.stages_reorder(actor=actor, pipeline=pipeline, ids=[i for i in post.get("order", "").split(",") if i])
        return _("Stages reordered.")
    raise ValidationError({"action": [_("Unknown action.")]})


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def pipelines(request: HttpRequest, actor: Member) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            message = _apply(actor, request.POST)
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            if request.headers.get("Accept", "").startswith("application/json"):
                return HttpResponse(status=204)
            messages.success(request, message)
            target = reverse("deals:pipelines")
            if request.POST.get("pipeline"):
                target += f"#pipeline-{request.POST['pipeline']}"
            return HttpResponseRedirect(target)
    all_pipelines = list(Pipeline.objects.prefetch_related("stages").order_by("position", "id"))
    used = set(Deal.objects.order_by().values_list("stage_id", flat=True).distinct())
    context = {
        "spec": registry.get("deals"),
        "tab": "pipelines",
        "pipelines": [
            {"pipeline": p, "stages": [{"stage": s, "used": s.pk in used} for s in p.stages.all()]}
            for p in all_pipelines
        ],
        "errors": errors,
        "posted": request.POST,
    }
    return render(request, "deals/settings_pipelines.html", context, status=400 if errors else 200)
