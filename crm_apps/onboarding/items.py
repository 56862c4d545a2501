"""The checklist items this repository has today; each is done when the workspace's data says so."""

from __future__ import annotations

from django.apps import apps
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm_apps.access.models import Invitation, Member
from crm_apps.engine import registry
from crm_apps.modules.common import SALES_STAGES
from crm_apps.onboarding.checklist import ChecklistItem, checklist_item_register
from crm_apps.onboarding.models import OnboardingState, SampleRecord


def _own_records_exist(module: str) -> bool:
    """A live record of the module that is not sample data."""
    spec = registry.get(module)
    samples = SampleRecord.objects.filter(module=module).values("record_id")
    return spec.records().filter(deleted_at__isnull=True).exclude(pk__in=samples).exists()


def _first_record_done(member: Member) -> bool:
    return _own_records_exist("leads") or _own_records_exist("deals")


def _invite_done(member: Member) -> bool:
    return Invitation.objects.exists() or Member.objects.filter(active=True).count() > 1


def _confirmed(key: str) -> bool:
    state = OnboardingState.objects.first()
    return state is not None and key in state.confirmed


def _pipeline_done(member: Member) -> bool:
    """Stages chosen: a second pipeline, the default one's stages changed, or the defaults kept on purpose."""
    from crm_apps.modules.deals.models import Pipeline, Stage

    if Pipeline.objects.count() > 1:
        return True
    defaults = [name for name, *_rest in SALES_STAGES]
    if list(Stage.objects.order_by("position", "id").values_list("name", flat=True)) != defaults:
        return True
    return _confirmed("pipeline")


def _extension_available() -> bool:
    return apps.is_installed("marketplace.installs")


def _extension_done(member: Member) -> bool:
    installation = apps.get_model("installs", "ExtensionInstallation")
    return bool(installation.objects.filter(state="installed").exists())


checklist_item_register(
    ChecklistItem(
        key="first_record",
        label=_("Add your first lead or deal"),
        description=_("Sample data does not count: add one of your own."),
        url=lambda: reverse("engine:create", args=["leads"]),
        done=_first_record_done,
        position=10,
    )
)
checklist_item_register(
    ChecklistItem(
        key="invite",
        label=_("Invite your colleagues"),
        description=_("A CRM works best when the whole team uses it."),
        url=lambda: reverse("access:members"),
        done=_invite_done,
        position=30,
    )
)
checklist_item_register(
    ChecklistItem(
        key="pipeline",
        label=_("Choose your pipeline stages and currency"),
        description=_("Check the stages of your sales pipeline on the deals board; keep them if they suit you."),
        url=lambda: reverse("deals:board"),
        done=_pipeline_done,
        position=40,
        confirmable=True,
    )
)
checklist_item_register(
    ChecklistItem(
        key="extension",
        label=_("Try an extension"),
        description=_("Add features from the marketplace."),
        url=lambda: reverse("marketplace:index"),
        done=_extension_done,
        position=50,
        available=_extension_available,
    )
)
