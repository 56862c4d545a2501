"""Deal behaviour: pipelines and stages, moving across the board and between pipelines, won/lost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine.services import record_update
from crm_apps.modules.common import SALES_PIPELINE, SALES_STAGES
from crm_apps.modules.deals.models import Deal, Pipeline, Stage, StageHistory
from saas.value_labels import labels_clean, labels_of


def pipeline_defaults_install() -> None:
    """The default 'Sales' pipeline with vtiger's sales stages, if the tenant has no pipeline yet.

    Names are stored as written here (stable for the API) with a label per language (`labels`), so a
    Russian workspace shows "Продажи" (saas/value_labels.py)."""
    if Pipeline.objects.exists():
        return
    pipeline = Pipeline.objects.create(name=SALES_PIPELINE, labels=labels_of(SALES_PIPELINE), is_default=True)
    Stage.objects.bulk_create(
        [
            Stage(
                pipeline=pipeline,
                name=name,
                labels=labels_of(name),
                position=i,
                probability=p,
                is_won=won,
                is_lost=lost,
            )
            for i, (name, p, won, lost) in enumerate(SALES_STAGES)
        ]
    )


@transaction.atomic
def pipeline_translate(
    *, actor: Member, pipeline: Pipeline, labels: object, stage_labels: dict[str, object] | None = None
) -> Pipeline:
    """Admins set a pipeline's (and its stages') name per language; the stored names stay."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    before = {"labels": pipeline.labels}
    pipeline.labels = labels_clean(pipeline.labels, labels)
    pipeline.save(update_fields=["labels"])
    stages = {str(s.pk): s for s in pipeline.stages.all()}
    for stage_id, given in (stage_labels or {}).items():
        stage = stages.get(str(stage_id))
        if stage is None:
            raise ValidationError({"stages": [_("This stage belongs to another pipeline.")]})
        stage.labels = labels_clean(stage.labels, given)
        stage.save(update_fields=["labels"])
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="deals",
        changes={"labels": [before["labels"], pipeline.labels]},
        details={"setting": "pipeline_translated", "pipeline": pipeline.pk},
    )
    return pipeline


def default_pipeline() -> Pipeline:
    pipeline = (
        Pipeline.objects.filter(is_default=True, archived=False).first()
        or Pipeline.objects.filter(archived=False).first()
    )
    if pipeline is None:
        pipeline_defaults_install()
        pipeline = Pipeline.objects.get(is_default=True)
    return pipeline


def deal_clean(deal: Deal) -> None:
    """A deal always sits in a pipeline and on a stage of that pipeline."""
    if deal.pipeline_id is None:
        deal.pipeline = default_pipeline()
    elif deal.pipeline.archived and deal._state.adding:
        raise ValidationError({"pipeline": [_("This pipeline is archived.")]})
    if deal.stage_id is None:
        first = deal.pipeline.stages.order_by("position", "id").first()
        if first is None:
            raise ValidationError({"stage": [_("This pipeline has no stages.")]})
        deal.stage = first
        if not deal.probability:
            deal.probability = first.probability
    elif deal.stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": [_("This stage belongs to another pipeline.")]})
    if deal._state.adding and not deal.probability:
        deal.probability = deal.stage.probability
    closing = deal.stage.is_won or deal.stage.is_lost
    if closing and deal.closed_at is None:
        deal.closed_at = timezone.now()
    elif not closing:
        deal.closed_at = None


def stage_history_append(deal: Deal, actor: Any) -> None:
    """Log the deal's stage, amount, probability and close date whenever one of them changed."""
    last = StageHistory.objects.filter(deal=deal).order_by("-changed_at", "-id").first()
    current = (deal.stage_id, deal.amount, deal.probability, deal.close_date)
    if last is not None and (last.stage_id, last.amount, last.probability, last.close_date) == current:
        return
    StageHistory.objects.create(
        deal=deal,
        pipeline_id=deal.pipeline_id,
        stage_id=deal.stage_id,
        amount=deal.amount,
        probability=deal.probability,
        close_date=deal.close_date,
        changed_by=actor,
    )


def _spec() -> Any:
    from crm_apps.modules.deals.module import SPEC

    return SPEC


@transaction.atomic
def deal_set_stage(*, actor: Member, deal: Deal, stage_id: Any, reason: str = "") -> Deal:
    """Move a deal to another stage of its pipeline (kanban drag); probability follows the stage."""
    stage = Stage.objects.filter(pk=_int(stage_id), pipeline_id=deal.pipeline_id).first()
    if stage is None:
        raise ValidationError({"stage": [_("Choose a stage of this deal's pipeline.")]})
    data: dict[str, Any] = {"stage": stage, "probability": stage.probability}
    if reason:
        data["won_lost_reason"] = reason
    return record_update(spec=_spec(), actor=actor, record=deal, data=data)


@transaction.atomic
def deal_move_to_pipeline(
    *, actor: Member, deal: Deal, pipeline_id: Any, stage_map: dict[str, Any] | None = None
) -> Deal:
    """Move a deal to another pipeline: its stage maps by the given map, then by name, else the first stage."""
    pipeline = Pipeline.objects.filter(pk=_int(pipeline_id), archived=False).first()
    if pipeline is None:
        raise ValidationError({"pipeline": [_("Choose an active pipeline.")]})
    stages = list(pipeline.stages.order_by("position", "id"))
    if not stages:
        raise ValidationError({"pipeline": [_("This pipeline has no stages.")]})
    mapped = (stage_map or {}).get(str(deal.stage_id))
    target = next((s for s in stages if str(s.pk) == str(mapped)), None) if mapped else None
    if mapped and target is None:
        raise ValidationError({"stage_map": [_("Map to a stage of the target pipeline.")]})
    target = target or next((s for s in stages if s.name.lower() == deal.stage.name.lower()), stages[0])
    return record_update(
        spec=_spec(),
        actor=actor,
        record=deal,
        data={"pipeline": pipeline, "stage": target, "probability": target.probability},
    )


@transaction.atomic
def deal_close(*, actor: Member, deal: Deal, won: bool, reason: str = "") -> Deal:
    """Mark a deal won or lost: it moves to its pipeline's won (or lost) stage with the reason."""
    stage = deal.pipeline.stages.filter(is_won=won, is_lost=not won).order_by("position").first()
    if stage is None:
        raise ValidationError({"stage": [_("This pipeline has no won/lost stage.")]})
    if len(reason) > 200:
        raise ValidationError({"reason": [_("Ensure this value has at most %(max)d characters.") % {"max": 200}]})
    return deal_set_stage(actor=actor, deal=deal, stage_id=stage.pk, reason=reason)


def pipeline_create(*, actor: Member, name: str, stages: list[dict[str, Any]]) -> Pipeline:
    """Admins add a pipeline with its ordered stages (name, probability, won/lost)."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 100:
        errors["name"] = [_("Enter a name of 1-100 characters.")]
    elif Pipeline.objects.filter(name__iexact=name).exists():
        errors["name"] = [_("A pipeline with this name exists.")]
    cleaned = []
    for index, item in enumerate(stages or []):
        stage_name = str(item.get("name", "")).strip() if isinstance(item, dict) else ""
        try:
            probability = int(item.get("probability", 0))
        except (TypeError, ValueError):
            probability = -1
        if not stage_name or len(stage_name) > 100 or not 0 <= probability <= 100:
            errors[f"stages.{index}"] = [_("Each stage needs a name and a probability between 0 and 100.")]
            continue
        won, lost = bool(item.get("is_won")), bool(item.get("is_lost"))
        if won and lost:
            errors[f"stages.{index}"] = [_("A stage cannot be both won and lost.")]
        cleaned.append(Stage(name=stage_name, probability=probability, is_won=won, is_lost=lost, position=index))
    if not cleaned and "name" not in errors:
        errors["stages"] = [_("Add at least one stage.")]
    if len({s.name.lower() for s in cleaned}) != len(cleaned):
        errors["stages"] = [_("Stage names must be unique.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        pipeline = Pipeline.objects.create(name=name, position=Pipeline.objects.count())
        for stage in cleaned:
            stage.pipeline = pipeline
        Stage.objects.bulk_create(cleaned)
        audit.audit_log(
            action=audit.SETTINGS_CHANGED,
            actor=actor,
            module="deals",
            changes={"pipeline": [None, name]},
            details={
                "setting": "pipeline_created",
                "pipeline_id": pipeline.pk,
                "stages": [
                    {"name": s.name, "probability": s.probability, "is_won": s.is_won, "is_lost": s.is_lost}
                    for s in cleaned
                ],
            },
        )
    return pipeline


def _int(value: Any) -> int:
    """An integer id from user input; 0 (which matches no row) when it is not one."""
    try:
        return int(str(value))
    except ValueError:
        return 0


def weighted(amount: Decimal | None, probability: int) -> Decimal:
    return (Decimal(amount or 0) * Decimal(probability) / Decimal(100)).quantize(Decimal("0.01"))
