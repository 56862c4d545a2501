from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.inventory.models import DocumentTax, InventoryDocument, InventoryLine


class Quote(InventoryDocument):
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta(CrmRecord.Meta):
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["subject"], name="quote_subject_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["subject", "id"], name="quote_subject"),
            models.Index(fields=["organization", "-created_at"], name="quote_org_recent"),
            models.Index(fields=["deal", "-created_at"], name="quote_deal_recent"),
        ]


class QuoteLine(InventoryLine):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")

    class Meta(InventoryLine.Meta):
        indexes = [models.Index(fields=["quote", "position"], name="quoteline_quote")]


class QuoteTax(DocumentTax):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="taxes")

    class Meta(DocumentTax.Meta):
        indexes = [models.Index(fields=["quote", "position"], name="quotetax_quote")]
