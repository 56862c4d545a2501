"""Workflows (versioned JSON definitions), their runs and steps, due rows of date triggers, schedule ticks,
and the tenant's own outgoing webhooks with their delivery log. docs/automation.md describes the JSON."""

from __future__ import annotations

import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from crm_apps.access.models import Member

# The English texts the shipped examples and system workflows store (migrations 0002, 0004, 0006): kept
# as written in every workspace and translated when shown (names) or when a run writes them (a comment in
# the workspace's language, a notification in each recipient's), while they are unchanged.
SHIPPED_TEXTS = frozenset(
    (
        gettext_noop("Notify the owner of changes by others"),
        gettext_noop("Large deals need a manager's approval"),
        gettext_noop("Large deal approved"),
        gettext_noop("Large deal rejected"),
        gettext_noop("Approved: go ahead."),
        gettext_noop("Rejected: please revise the deal."),
        gettext_noop("Quotes with a discount over 20% need a sales manager's approval"),
        gettext_noop("Quote discount approved"),
        gettext_noop("Quote discount rejected"),
        gettext_noop("Discount approved: send the quote."),
        gettext_noop("Discount rejected."),
    )
)


def shipped_text(text: str, *, system: bool) -> str:
    """A shipped system text in the active language; any other text (an admin's own) as written."""
    return gettext(text) if system and text in SHIPPED_TEXTS else text


def _secret() -> str:
    return secrets.token_hex(24)


class Workflow(models.Model):
    name = models.CharField(_("name"), max_length=150)
    module = models.CharField(_("module"), max_length=64, db_index=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    # The member whose rights every run uses; a system workflow (system_key set) runs as the system actor
    # named in the audit trail (the record's own owner for notify_owner).
    owner = models.ForeignKey(Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    system_key = models.CharField(max_length=64, blank=True, default="")
    current = models.ForeignKey("WorkflowVersion", on_delete=models.PROTECT, null=True, related_name="+")
    # The trigger's type of the current version, copied for the listener's one cheap query.
    trigger_type = models.CharField(max_length=32, db_index=True, default="")
    # Signs the workflow's webhook actions (X-CRM-Signature), unless an action names its own secret.
    secret = models.CharField(max_length=64, default=_secret)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["system_key"], condition=~Q(system_key=""), name="workflow_system_key")
        ]

    def __str__(self) -> str:
        return self.name

    def webhook_secret(self) -> str:
        return self.secret

    @property
    def display_name(self) -> str:
        return shipped_text(self.name, system=bool(self.system_key))


class WorkflowVersion(models.Model):
    """An immutable published definition; runs keep the version they started on."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workflow", "-number"]
        constraints = [models.UniqueConstraint(fields=["workflow", "number"], name="workflow_version_unique")]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.number}"


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    WAITING = "waiting", _("Waiting")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Conditions not met")
    LOOP = "loop", _("Stopped: loop limit")
    PREVIEW = "preview", _("Test run")


class WorkflowRun(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="runs")
    module = models.CharField(max_length=64)
    record_id = models.CharField(max_length=64, blank=True, default="")
    trigger = models.CharField(max_length=32)
    actor = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    depth = models.PositiveSmallIntegerField(default=0)
    # Where a waiting run continues: the path of the next action ([index, "then"/"else", index, ...]).
    cursor = models.JSONField(default=list)
    outputs = models.JSONField(default=dict)
    changes = models.JSONField(default=dict)
    resume_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["resume_at"], condition=Q(status="waiting"), name="workflow_run_waiting"),
            models.Index(fields=["module", "record_id"], name="workflow_run_record"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"


class RunStep(models.Model):
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    step_id = models.CharField(max_length=64)
    action = models.CharField(max_length=32)
    inputs = models.JSONField(default=dict)
    output = models.JSONField(default=dict)
    status = models.CharField(max_length=16)  # succeeded, failed, preview, skipped, waiting
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=1)
    duration_ms = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "position"]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.step_id}"


class RecordState(models.Model):
    """Whether a record matched a 'first time conditions become true' workflow at its last save."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    record_id = models.CharField(max_length=64)
    matched = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "record_id"], name="workflow_record_state")]

    def __str__(self) -> str:
        return f"{self.workflow_id}:{self.record_id}"


class DueRow(models.Model):
    """A date trigger's next firing for one record (re-planned when the date field changes)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="due_rows")
    record_id = models.CharField(max_length=64)
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "record_id"], name="workflow_due_row")]
        indexes = [models.Index(fields=["due_at"], condition=Q(fired_at__isnull=True), name="workflow_due_pending")]

    def __str__(self) -> str:
        return f"{self.workflow_id}:{self.record_id} at {self.due_at}"


class ScheduleTick(models.Model):
    """One row per schedule firing: the unique key makes a tick fire once, however many schedulers run."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    tick = models.DateTimeField()
    records = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "tick"], name="workflow_schedule_tick")]

    def __str__(self) -> str:
        return f"{self.workflow_id} at {self.tick}"


class TenantWebhook(models.Model):
    """An outgoing webhook a tenant admin added: events like 'deals.created', signed with its own secret."""

    name = models.CharField(_("name"), max_length=150)
    url = models.URLField(_("URL"), max_length=500)
    events = ArrayField(models.CharField(max_length=80), verbose_name=_("events"))
    secret = models.CharField(max_length=64, default=_secret)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")
    REFUSED = "refused", _("Refused (unsafe address)")


class Delivery(models.Model):
    """One outgoing call: a tenant webhook's event, or a workflow's webhook action (webhook is null)."""

    webhook = models.ForeignKey(TenantWebhook, on_delete=models.CASCADE, null=True, related_name="deliveries")
    run_step = models.ForeignKey(RunStep, on_delete=models.SET_NULL, null=True, related_name="+")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64)
    event = models.CharField(max_length=80)
    module = models.CharField(max_length=64, blank=True, default="")
    record_id = models.CharField(max_length=64, blank=True, default="")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # A workflow webhook action's answer (first 64 KB, text), for the steps after it and `webhook_reply`.
    response_body = models.TextField(blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"


class RoundRobin(models.Model):
    """The member a group's round-robin assignment gave the last record of a module to."""

    group_id = models.BigIntegerField()
    module = models.CharField(max_length=64)
    last_member_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group_id", "module"], name="workflow_round_robin")]

    def __str__(self) -> str:
        return f"{self.group_id}:{self.module}"


class ApprovalProcess(models.Model):
    """Records of `module` meeting `entry` (a conditions group) need the approval of each step in turn.

    steps: [{"approver": "manager" | "member:<id>" | "group:<id>", "mode": "any" | "all",
    "escalate_after_hours": n (optional)}]. `locked_fields` empty locks the whole record while pending.
    The outcome workflows (manual trigger, system-owned) run on approval and on rejection."""

    name = models.CharField(_("name"), max_length=150)
    module = models.CharField(_("module"), max_length=64, db_index=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    entry = models.JSONField(default=dict)
    steps = models.JSONField(default=list)
    locked_fields = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    on_approved = models.ForeignKey(Workflow, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    on_rejected = models.ForeignKey(Workflow, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Whose rights the entry conditions are read with; none: the record's owner (the shipped example).
    owner = models.ForeignKey(Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    system_key = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return shipped_text(self.name, system=bool(self.system_key))


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ApprovalRequest(models.Model):
    process = models.ForeignKey(ApprovalProcess, on_delete=models.CASCADE, related_name="requests")
    module = models.CharField(max_length=64)
    record_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    step = models.PositiveSmallIntegerField(default=0)
    submitted_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    step_started_at = models.DateTimeField(default=timezone.now)
    escalated = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["process", "record_id"], condition=Q(status="pending"), name="approval_one_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.process_id}:{self.record_id} {self.status}"


class ApprovalDecision(models.Model):
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    step = models.PositiveSmallIntegerField()
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    approved = models.BooleanField()
    comment = models.TextField(blank=True, max_length=2000)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["request", "step", "member"], name="approval_one_decision")]

    def __str__(self) -> str:
        return f"{self.request_id}:{self.member_id}"
