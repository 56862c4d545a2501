from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.finance.currencies import default_currency
from crm_apps.modules.common import money_field, picklist_field, text_field


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    # {language: text}: the name in each language (saas/value_labels.py); shown by display_name.
    labels = models.JSONField(_("translations"), default=dict, blank=True)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    position = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="pipeline_one_default")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the member's language (an extension may ship translations of its pipelines)."""
        from crm_apps.engine.metadata import translated_name
        from saas.value_labels import label_pick

        if self.labels:
            return label_pick(self.labels, self.name)
        return translated_name("pipeline", self.pk, self.name)


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    # {language: text}: the name in each language (saas/value_labels.py); shown by display_name.
    labels = models.JSONField(_("translations"), default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=0, validators=[MaxValueValidator(100)])
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"), default=False)

    class Meta:
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.UniqueConstraint("pipeline", "name", name="stage_name_unique"),
            models.CheckConstraint(condition=~(Q(is_won=True) & Q(is_lost=True)), name="stage_not_won_and_lost"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the member's language (when its pipeline's extension translates it)."""
        from crm_apps.engine.metadata import translated_name
        from saas.value_labels import label_pick

        if self.labels:
            return label_pick(self.labels, self.name)
        return translated_name("stage", self.pk, self.name)


class Deal(CrmRecord):
    name = models.CharField(_("deal name"), max_length=200)
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    amount = money_field(_("amount"))
    # Starts at the workspace's base currency (USD without one), in the form, the API and imports alike.
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default=default_currency,
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use a 3-letter ISO code."))],
    )
    close_date = models.DateField(_("expected close date"))
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="+")
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    forecast_amount = money_field(_("forecast amount"))
    type = picklist_field(_("type"))
    next_step = text_field(_("next step"), 200)
    lead_source = picklist_field(_("lead source"))
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    won_lost_reason = text_field(_("won/lost reason"), 200)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True, max_length=20_000)
    source_lead = models.ForeignKey(
        "leads.Lead",
        verbose_name=_("converted from lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta(CrmRecord.Meta):
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="deal_name_trgm", opclasses=["gin_trgm_ops"]),
            # The board: a column's first cards in close-date order (engine.board.first_cards), and its
            # count and sums read from the index alone (selectors.kanban_columns), live deals only.
            models.Index(
                fields=["pipeline", "stage", "close_date", "id"],
                include=["currency", "amount", "probability", "owner", "owner_group", "organization"],
                condition=Q(deleted_at__isnull=True),
                name="deal_board_live",
            ),
            models.Index(fields=["organization", "-created_at"], name="deal_org_recent"),
            models.Index(fields=["close_date", "id"], name="deal_close"),
        ]


class StageHistory(models.Model):
    """Every change of a deal's stage, amount, probability or close date (vtiger's Sales Stage History)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_history")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    probability = models.PositiveSmallIntegerField(default=0)
    close_date = models.DateField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey("access.Member", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.deal_id} -> {self.stage_id}"
