from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import picklist_field


class Faq(CrmRecord):
    question = models.CharField(_("question"), max_length=500)
    # Sanitised HTML (the module's clean hook runs it through crm_apps.mail.html.sanitize).
    answer = models.TextField(_("answer"), max_length=100_000)
    category = picklist_field(_("category"))
    status = models.CharField(_("status"), max_length=100, default="Draft")
    product = models.ForeignKey(
        "products.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta(CrmRecord.Meta):
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["question"], name="faq_question_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["question", "id"], name="faq_question"),
        ]
