"""Business hours and holidays per team, SLA policies per priority, and the round-robin cursor per team."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.access.models import validate_timezone


class BusinessHours(models.Model):
    """A team's working week in its time zone. `week` maps a weekday ("0" = Monday) to a list of
    ["HH:MM", "HH:MM"] opening intervals ("24:00" ends the day). The row without a team is the default."""

    name = models.CharField(_("name"), max_length=100)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    week = models.JSONField(_("opening hours"), default=dict, blank=True)
    team = models.OneToOneField(
        "access.Group",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """A day (local date of the calendar) on which the SLA clock stands still."""

    calendar = models.ForeignKey(BusinessHours, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_calendar")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaPolicy(models.Model):
    """First-response and resolution targets (business minutes) for tickets of one priority, for one team
    or (team empty) for every team without its own policy. At a breach the ticket is escalated once:
    `escalate_to` is notified and, with `reassign`, becomes the ticket's owner."""

    name = models.CharField(_("name"), max_length=100)
    priority = models.CharField(_("priority"), max_length=100)
    team = models.ForeignKey(
        "access.Group", verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (minutes)"), validators=[MinValueValidator(1), MaxValueValidator(525_600)]
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution within (minutes)"), validators=[MinValueValidator(1), MaxValueValidator(525_600)]
    )
    business_hours = models.ForeignKey(
        BusinessHours,
        verbose_name=_("business hours"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: the team's business hours, else the default ones, else around the clock."),
    )
    escalate_to = models.ForeignKey(
        "access.Member",
        verbose_name=_("escalate to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reassign = models.BooleanField(_("reassign to them at a breach"), default=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["team_id", "priority", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["priority"], condition=Q(team__isnull=True), name="slapolicy_one_default_per_priority"
            ),
            models.UniqueConstraint(
                fields=["team", "priority"], condition=Q(team__isnull=False), name="slapolicy_one_per_team_priority"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RoundRobin(models.Model):
    """A team's assignment rule: with `enabled`, tickets given to the team go to its members in turn, or
    (load balanced) to the member with the fewest open tickets, in turn among equals; `last_member` is who
    got the previous one (the row is locked while choosing the next)."""

    class Mode(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("In turn")
        LOAD_BALANCED = "load_balanced", _("Fewest open tickets first")

    team = models.OneToOneField("access.Group", on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(_("assign new tickets in turn"), default=True)
    mode = models.CharField(_("assignment"), max_length=20, choices=Mode.choices, default=Mode.ROUND_ROBIN)
    last_member = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"round robin {self.team_id}"
