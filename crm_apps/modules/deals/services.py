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


# --- The pipeline and stage editor (Settings > Deals > Pipelines) -----------------------------------------


def _require_settings(actor: Member) -> None:
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied


def _pipeline_log(actor: Member, setting: str, pipeline: Pipeline, changes: dict[str, Any]) -> None:
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="deals",
        changes=changes,
        details={"setting": setting, "pipeline_id": pipeline.pk},
    )


@transaction.atomic
def pipeline_update(
    *,
    actor: Member,
    pipeline: Pipeline,
    name: str | None = None,
    is_default: bool | None = None,
    archived: bool | None = None,
) -> Pipeline:
    """Rename a pipeline, make it the default one, or archive it (never the default pipeline, which new deals
    use; archived pipelines keep their deals but take no new ones)."""
    _require_settings(actor)
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    errors: dict[str, list[str]] = {}
    changes: dict[str, list[Any]] = {}
    if name is not None:
        name = name.strip()
        if not name or len(name) > 100:
            errors["name"] = [_("Enter a name of 1-100 characters.")]
        elif Pipeline.objects.filter(name__iexact=name).exclude(pk=pipeline.pk).exists():
            errors["name"] = [_("A pipeline with this name exists.")]
        elif name != pipeline.name:
            changes["name"] = [pipeline.name, name]
            pipeline.name, pipeline.labels = name, {}  # the new name is shown in every language
    if archived is not None and archived != pipeline.archived:
        if archived and (pipeline.is_default or is_default):
            errors["archived"] = [_("Make another pipeline the default one first.")]
        else:
            changes["archived"] = [pipeline.archived, archived]
            pipeline.archived = archived
    if is_default and not pipeline.is_default:
        if pipeline.archived:
            errors["is_default"] = [_("An archived pipeline cannot be the default one.")]
        else:
            Pipeline.objects.filter(is_default=True).update(is_default=False)
            changes["is_default"] = [False, True]
            pipeline.is_default = True
    if errors:
        raise ValidationError(errors)
    if changes:
        pipeline.save()
        _pipeline_log(actor, "pipeline_updated", pipeline, changes)
    return pipeline


def _stage_values(
    data: dict[str, Any], stage: Stage | None, pipeline: Pipeline, errors: dict[str, list[str]]
) -> tuple[str, int, bool, bool]:
    name = str(data.get("name", stage.name if stage else "")).strip()
    if not name or len(name) > 100:
        errors["name"] = [_("Enter a name of 1-100 characters.")]
    else:
        clash = pipeline.stages.filter(name__iexact=name)
        if stage is not None:
            clash = clash.exclude(pk=stage.pk)
        if clash.exists():
            errors["name"] = [_("Stage names must be unique.")]
    raw = data.get("probability", stage.probability if stage else 0)
    try:
        probability = int(str(raw).strip() or "0")
        if not 0 <= probability <= 100:
            raise ValueError
    except ValueError:
        errors["probability"] = [_("Enter a whole number between 0 and 100.")]
        probability = 0
    outcome = str(
        data.get("outcome", "won" if stage and stage.is_won else "lost" if stage and stage.is_lost else "open")
    )
    if outcome not in ("open", "won", "lost"):
        errors["outcome"] = [_("Choose open, won or lost.")]
    return name, probability, outcome == "won", outcome == "lost"


@transaction.atomic
def stage_save(*, actor: Member, pipeline: Pipeline, data: dict[str, Any], stage: Stage | None = None) -> Stage:
    """Add a stage at the end of a pipeline or change one: name (unique in the pipeline), probability 0-100
    and outcome "open", "won" or "lost". Deals already on the stage keep their own probability."""
    _require_settings(actor)
    Pipeline.objects.select_for_update().filter(pk=pipeline.pk).first()  # serialise edits of one pipeline
    if stage is not None and stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": [_("This stage belongs to another pipeline.")]})
    errors: dict[str, list[str]] = {}
    name, probability, won, lost = _stage_values(data, stage, pipeline, errors)
    if errors:
        raise ValidationError(errors)
    before = (
        {"name": stage.name, "probability": stage.probability, "is_won": stage.is_won, "is_lost": stage.is_lost}
        if stage
        else None
    )
    if stage is None:
        last = pipeline.stages.order_by("-position").values_list("position", flat=True).first()
        stage = Stage(pipeline=pipeline, position=(last + 1) if last is not None else 0)
    if stage.name != name:
        stage.labels = {}
    stage.name, stage.probability, stage.is_won, stage.is_lost = name, probability, won, lost
    stage.save()
    after = {"name": name, "probability": probability, "is_won": won, "is_lost": lost}
    _pipeline_log(
        actor,
        "stage_saved",
        pipeline,
        {k: [before[k] if before else None, v] for k, v in after.items() if not before or before[k] != v},
    )
    return stage


@transaction.atomic
def stage_delete(*, actor: Member, stage: Stage) -> None:
    """Remove a stage no deal (also in the recycle bin) and no history uses; a pipeline keeps one stage."""
    _require_settings(actor)
    pipeline = Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
    if pipeline.stages.count() <= 1:
        raise ValidationError({"stage": [_("A pipeline needs at least one stage.")]})
    if Deal.objects.filter(stage=stage).exists() or StageHistory.objects.filter(stage=stage).exists():
        raise ValidationError({"stage": [_("Deals use this stage: move them to another stage first.")]})
    name = stage.name
    stage.delete()
    _pipeline_log(actor, "stage_deleted", pipeline, {"stage": [name, None]})


@transaction.atomic
def stages_reorder(*, actor: Member, pipeline: Pipeline, ids: list[Any]) -> list[Stage]:
    """Put the pipeline's stages in this order: `ids` must be exactly its stages' ids."""
    _require_settings(actor)
    stages = list(Stage.objects.select_for_update().filter(pipeline=pipeline))
    by_id = {str(s.pk): s for s in stages}
    wanted = [str(i) for i in ids]
    if sorted(wanted) != sorted(by_id):
        raise ValidationError({"stages": [_("Send every stage of this pipeline once.")]})
    before = [s.name for s in sorted(stages, key=lambda s: (s.position, s.pk))]
    ordered = [by_id[i] for i in wanted]
    for index, stage in enumerate(ordered):
        stage.position = index
    Stage.objects.bulk_update(ordered, ["position"])
    after = [s.name for s in ordered]
    if before != after:
        _pipeline_log(actor, "stages_reordered", pipeline, {"stages": [before, after]})
    return ordered
