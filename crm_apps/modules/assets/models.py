from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import text_field


class Asset(CrmRecord):
    name = models.CharField(_("asset name"), max_length=200)
    serial_number = models.CharField(_("serial number"), max_length=200)
    product = models.ForeignKey(
        "products.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
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
    invoice = models.ForeignKey(
        "invoices.Invoice",
        verbose_name=_("invoice"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=100, default="In Service")
    date_sold = models.DateField(_("date sold"), null=True, blank=True)
    date_in_service = models.DateField(_("date in service"), null=True, blank=True)
    warranty_end = models.DateField(_("warranty end"), null=True, blank=True)
    tag_number = text_field(_("tag number"), 100)
    shipping_method = text_field(_("shipping method"), 100)
    tracking_number = text_field(_("tracking number"), 100)
    description = models.TextField(_("description"), blank=True, max_length=20_000)

    class Meta(CrmRecord.Meta):
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="asset_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["name", "id"], name="asset_name"),
            models.Index(fields=["serial_number"], name="asset_serial"),
            models.Index(fields=["organization", "-created_at"], name="asset_org_recent"),
        ]
