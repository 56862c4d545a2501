"""Reads of the onboarding checklist: which items are done, from the workspace's data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_apps.access.decorators import may_administer
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.onboarding.checklist import ChecklistItem, checklist_items
from crm_apps.onboarding.models import OnboardingState, SampleRecord, SampleStatus


@dataclass
class ChecklistRow:
    item: ChecklistItem
    done: bool
    url: str


@dataclass
class Checklist:
    rows: list[ChecklistRow]
    state: OnboardingState
    sample_count: int
    may_manage: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def done_count(self) -> int:
        return sum(1 for row in self.rows if row.done)

    @property
    def complete(self) -> bool:
        return all(row.done for row in self.rows)

    @property
    def percent(self) -> int:
        return round(100 * self.done_count / len(self.rows)) if self.rows else 100

    @property
    def dismissed(self) -> bool:
        return self.state.dismissed_at is not None

    @property
    def sample_busy(self) -> bool:
        return self.state.sample_status == SampleStatus.LOADING


def onboarding_state_get() -> OnboardingState:
    """The workspace's one state row (an unsaved blank one before anything happened)."""
    return OnboardingState.objects.order_by("id").first() or OnboardingState()


def checklist_get(*, member: Member) -> Checklist:
    """The checklist as `member` sees it: every available item, done or not, from real data."""
    rows = [ChecklistRow(item=item, done=item.done(member), url=item.url()) for item in checklist_items()]
    return Checklist(
        rows=rows,
        state=onboarding_state_get(),
        sample_count=SampleRecord.objects.count(),
        may_manage=may_administer(member, Privilege.MANAGE_SETTINGS),
    )


def sample_status_get() -> dict[str, Any]:
    state = onboarding_state_get()
    counts: dict[str, int] = {}
    for module in SampleRecord.objects.values_list("module", flat=True):
        counts[module] = counts.get(module, 0) + 1
    return {
        "status": state.sample_status or "none",
        "progress": state.sample_progress,
        "error": state.sample_error,
        "records": counts,
    }
