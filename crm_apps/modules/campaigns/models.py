from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import money_field, picklist_field, text_field


class Campaign(CrmRecord):
    name = models.CharField(_("campaign name"), max_length=200)
    type = picklist_field(_("type"))
    status = picklist_field(_("status"))
    expected_close_date = models.DateField(_("expected close date"))
    sponsor = text_field(_("sponsor"))
    target_audience = text_field(_("target audience"))
    target_size = models.PositiveIntegerField(_("target size"), null=True, blank=True)
    num_sent = models.PositiveIntegerField(_("number sent"), null=True, blank=True)
    budget_cost = money_field(_("budget cost"))
    actual_cost = money_field(_("actual cost"))
    expected_revenue = money_field(_("expected revenue"))
    expected_response = picklist_field(_("expected response"))
    expected_sales_count = models.PositiveIntegerField(_("expected sales count"), null=True, blank=True)
    expected_roi = money_field(_("expected ROI"))
    description = models.TextField(_("description"), blank=True, max_length=20_000)

    class Meta(CrmRecord.Meta):
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="campaign_name_trgm", opclasses=["gin_trgm_ops"]),
        ]


class CampaignMember(models.Model):
    """A lead or contact targeted by a campaign, with its status in that campaign."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("status"), max_length=100, blank=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lead__isnull=True) ^ Q(contact__isnull=True),
                name="campaignmember_lead_xor_contact",
            ),
            models.UniqueConstraint("campaign", "lead", name="campaignmember_lead_unique"),
            models.UniqueConstraint("campaign", "contact", name="campaignmember_contact_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.lead_id or self.contact_id}"
