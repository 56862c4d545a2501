from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import picklist_field


class ServiceContract(CrmRecord):
    subject = models.CharField(_("subject"), max_length=255)
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    type = picklist_field(_("type"))
    status = models.CharField(_("status"), max_length=100, default="In Planning")
    priority = picklist_field(_("priority"))
    tracking_unit = models.CharField(_("tracking unit"), max_length=100, default="Hours")
    total_units = models.DecimalField(
        _("total units"), max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True, max_length=20_000)
    # Computed from the linked tickets (crm_apps/modules/servicecontracts/services.py).
    used_units = models.DecimalField(_("used units"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    planned_duration = models.PositiveIntegerField(_("planned duration (days)"), null=True, blank=True)
    actual_duration = models.PositiveIntegerField(_("actual duration (days)"), null=True, blank=True)
    progress = models.DecimalField(_("progress (%)"), max_digits=6, decimal_places=2, default=Decimal("0.00"))
    usage_warning = models.CharField(_("usage warning"), max_length=40, blank=True)

    class Meta(CrmRecord.Meta):
        verbose_name = _("service contract")
        verbose_name_plural = _("service contracts")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["subject"], name="servicecontract_subject_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["subject", "id"], name="servicecontract_subject"),
            models.Index(fields=["organization", "-created_at"], name="servicecontract_org_recent"),
        ]
