"""Writes of the onboarding checklist: dismiss, confirm an item, load and remove sample data.

Sample records are created through the modules' `sample_data` hooks (crm_apps/engine/sample_data.py),
so through the engine's services, and each is tagged (`SampleRecord`) as it is made; removal deletes
only tagged records - never one a member created, even if it points at a sample record (references to
a removed record are cleared by their `SET_NULL`)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.decorators import may_administer
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine import links, registry
from crm_apps.engine.sample_data import SampleContext, sample_data_run, sample_order
from crm_apps.onboarding.checklist import checklist_item
from crm_apps.onboarding.models import OnboardingState, SampleRecord, SampleStatus


def _require_manager(actor: Member) -> None:
    if not may_administer(actor, Privilege.MANAGE_SETTINGS):
        raise PermissionDenied


def _state_locked() -> OnboardingState:
    """The one state row, created if missing, locked for this transaction."""
    state = OnboardingState.objects.select_for_update().order_by("id").first()
    if state is None:
        OnboardingState.objects.create()
        state = OnboardingState.objects.select_for_update().order_by("id").first()
    assert state is not None
    return state


@transaction.atomic
def onboarding_dismiss(*, actor: Member, dismissed: bool = True) -> OnboardingState:
    """Admins hide the checklist from the home page (or show it again)."""
    _require_manager(actor)
    state = _state_locked()
    state.dismissed_at = timezone.now() if dismissed else None
    state.dismissed_by = actor if dismissed else None
    state.updated_at = timezone.now()
    state.save()
    return state


@transaction.atomic
def onboarding_confirm(*, actor: Member, key: str) -> OnboardingState:
    """Admins mark a confirmable item done by hand (keeping the defaults is a choice too)."""
    _require_manager(actor)
    item = checklist_item(key)
    if item is None or not item.confirmable:
        raise ValidationError({"item": [_("This step cannot be marked done by hand.")]})
    state = _state_locked()
    if key not in state.confirmed:
        state.confirmed = [*state.confirmed, key]
        state.updated_at = timezone.now()
        state.save()
    return state


@transaction.atomic
def sample_data_load_start(*, actor: Member) -> OnboardingState:
    """Admins ask for sample data: once at a time, and not twice (remove it first)."""
    _require_manager(actor)
    state = _state_locked()
    if state.sample_status == SampleStatus.LOADING:
        raise ValidationError({"sample": [_("Sample data is being loaded.")]})
    if SampleRecord.objects.exists():
        raise ValidationError({"sample": [_("Sample data is already loaded; remove it first.")]})
    state.sample_status = SampleStatus.LOADING
    state.sample_progress = 0
    state.sample_error = ""
    state.updated_at = timezone.now()
    state.save()
    from crm_apps.onboarding.tasks import sample_data_load_task

    member_id = actor.pk
    transaction.on_commit(lambda: sample_data_load_task.delay(member_id))
    return state


def _progress_save(percent: int, *, status: str = SampleStatus.LOADING, error: str = "") -> None:
    OnboardingState.objects.update(
        sample_progress=percent, sample_status=status, sample_error=error[:300], updated_at=timezone.now()
    )


def sample_data_load(*, actor: Member) -> dict[str, int]:
    """Create every module's sample records, tagging each; each module in its own transaction, so the
    progress is visible while it runs and a failure leaves only whole modules (tagged, removable)."""
    _require_manager(actor)
    colleagues = list(Member.objects.filter(active=True).exclude(pk=actor.pk)[:5])

    def progress(ctx: SampleContext, module: str, done: int, total: int) -> None:
        SampleRecord.objects.bulk_create(
            [SampleRecord(module=module, record_id=record.pk) for record in ctx.records.get(module, [])],
            ignore_conflicts=True,
        )
        _progress_save(round(100 * done / total) if total else 100)

    try:
        ctx = sample_data_run(admin=actor, members=colleagues, progress=progress)
    except Exception as exc:
        _progress_save(0, status=SampleStatus.FAILED, error=str(exc))
        raise
    _progress_save(100, status=SampleStatus.LOADED)
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        details={"setting": "sample_data_loaded", "rows": sum(len(v) for v in ctx.records.values())},
    )
    return {key: len(records) for key, records in ctx.records.items()}


@transaction.atomic
def sample_data_remove(*, actor: Member) -> dict[str, int]:
    """Delete for good every tagged sample record (dependents first), and nothing else."""
    _require_manager(actor)
    state = _state_locked()
    if state.sample_status == SampleStatus.LOADING:
        raise ValidationError({"sample": [_("Sample data is being loaded; wait until it is done.")]})
    removed: dict[str, int] = {}
    for spec in reversed(sample_order(registry.all_specs())):
        ids = list(SampleRecord.objects.filter(module=spec.key).values_list("record_id", flat=True))
        if not ids:
            continue
        existing = list(spec.records().filter(pk__in=ids).values_list("pk", flat=True))
        links.links_purge(module=spec.key, record_ids=existing)
        spec.records().filter(pk__in=existing).delete()  # references from members' records: SET_NULL
        removed[spec.key] = len(existing)
    SampleRecord.objects.all().delete()
    state.sample_status = SampleStatus.NONE
    state.sample_progress = 0
    state.sample_error = ""
    state.updated_at = timezone.now()
    state.save()
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        details={"setting": "sample_data_removed", "rows": sum(removed.values())},
    )
    return removed
