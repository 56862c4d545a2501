"""Saved reports and their folders. A report's definition is the JSON `crm_apps.reports.definition` checks;
it runs for whoever opens it, with that member's visibility and field-level security (never the owner's)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Audience(models.TextChoices):
    """Whom a shared report or folder is shared with. Explicit, so that emptying the lists (a role or group
    deleted, a member removed) never turns "these only" into "everyone"."""

    EVERYONE = "everyone", _("Everyone")
    LISTED = "listed", _("The chosen members, roles and groups")


class ReportFolder(models.Model):
    """A folder of its owner's reports. Shared (with everyone, or with chosen members, roles and groups), every
    report in it may be opened by that audience - computed with their own rights, like any shared report."""

    class Sharing(models.TextChoices):
        PRIVATE = "private", _("Private")
        SHARED = "shared", _("Shared")

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner"))
    sharing = models.CharField(_("sharing"), max_length=10, choices=Sharing.choices, default=Sharing.PRIVATE)
    # Shared with (when `sharing` is "shared"): every member when `audience` is "everyone"; else the members,
    # roles and groups listed here only (none listed: nobody but the owner and admins).
    audience = models.CharField(_("shared with"), max_length=10, choices=Audience.choices, default=Audience.LISTED)
    shared_members = models.ManyToManyField("access.Member", blank=True, related_name="+")
    shared_roles = models.ManyToManyField("access.Role", blank=True, related_name="+")
    shared_groups = models.ManyToManyField("access.Group", blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint("owner", "name", name="report_folder_unique_name")]

    def __str__(self) -> str:
        return self.name


class Report(models.Model):
    class Sharing(models.TextChoices):
        PRIVATE = "private", _("Private")
        SHARED = "shared", _("Shared")

    name = models.CharField(_("name"), max_length=150)
    description = models.CharField(_("description"), max_length=500, blank=True)
    folder = models.ForeignKey(
        ReportFolder, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports", verbose_name=_("folder")
    )
    owner = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner"))
    module = models.CharField(_("module"), max_length=60)
    definition = models.JSONField(_("definition"), default=dict)
    sharing = models.CharField(_("sharing"), max_length=10, choices=Sharing.choices, default=Sharing.PRIVATE)
    # As for folders: `audience` "everyone", or the members, roles and groups listed here only.
    audience = models.CharField(_("shared with"), max_length=10, choices=Audience.choices, default=Audience.LISTED)
    shared_members = models.ManyToManyField("access.Member", blank=True, related_name="+")
    shared_roles = models.ManyToManyField("access.Role", blank=True, related_name="+")
    shared_groups = models.ManyToManyField("access.Group", blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"], name="report_owner_name")]

    def __str__(self) -> str:
        return self.name

    def sharing_label(self) -> str:
        """Whom the report is open to, as the list and its page say it: its own sharing, else its folder's."""
        if self.sharing == self.Sharing.SHARED:
            if self.audience == Audience.EVERYONE:
                return str(_("Shared with everyone"))
            return str(_("Shared with chosen members, roles and groups"))
        folder = self.folder if self.folder_id is not None else None
        if folder is not None and folder.sharing == ReportFolder.Sharing.SHARED:
            return str(_("Shared via folder"))
        return str(_("Private"))


class Dashboard(models.Model):
    """A tab of widgets: a member's own, or shared with every member (tenant admins manage shared ones)."""

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        "access.Member", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    shared = models.BooleanField(_("shared with everyone"), default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-shared", "position", "id"]

    def __str__(self) -> str:
        return self.name


class Widget(models.Model):
    """A box on a dashboard's grid: a saved report's chart, or a built-in question (`kind`, see widgets.py)."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="widgets")
    kind = models.CharField(_("kind"), max_length=40)
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=150, blank=True)
    config = models.JSONField(default=dict, blank=True)
    x = models.PositiveSmallIntegerField(default=0)
    y = models.PositiveSmallIntegerField(default=0)
    w = models.PositiveSmallIntegerField(default=4)
    h = models.PositiveSmallIntegerField(default=4)

    class Meta:
        ordering = ["y", "x", "id"]

    def __str__(self) -> str:
        return self.title or self.kind


class Quota(models.Model):
    """A member's sales target for one month (base currency), set by managers; the forecast widget shows the
    quarter's won amount against the sum of its months' quotas."""

    member = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))  # the first day of the month
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint("member", "month", name="quota_one_per_month")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.month:%Y-%m}"


class ReportSchedule(models.Model):
    """E-mails a report (CSV, XLSX or PDF) on a schedule, in the workspace's time zone, run with the owner's
    rights. Each due moment ("tick") is claimed by one ScheduleRun row (unique per schedule and tick)."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="schedules")
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY)
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)  # 0 = Monday ... 6 = Sunday
    day_of_month = models.PositiveSmallIntegerField(_("day of the month"), default=1)
    at = models.TimeField(_("time"))
    format = models.CharField(_("format"), max_length=4, default="xlsx")
    # "attachment": the report (computed with the owner's rights) attached; "link": only a link to the report's
    # page, which each recipient member opens signed in, with their own rights (members and roles only).
    delivery = models.CharField(_("delivery"), max_length=10, default="attachment")
    members = models.ManyToManyField("access.Member", blank=True, related_name="+")
    roles = models.ManyToManyField("access.Role", blank=True, related_name="+")
    addresses = models.JSONField(_("addresses"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.report_id} {self.frequency}"


class ScheduleRun(models.Model):
    """The delivery log: one row per schedule and tick, written in the transaction that sends the e-mail."""

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="runs")
    tick = models.DateTimeField()
    status = models.CharField(max_length=10)  # sent | failed
    recipients = models.JSONField(default=list)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-tick"]
        constraints = [models.UniqueConstraint("schedule", "tick", name="schedule_run_once_per_tick")]

    def __str__(self) -> str:
        return f"{self.schedule_id} {self.tick:%Y-%m-%d %H:%M}"
