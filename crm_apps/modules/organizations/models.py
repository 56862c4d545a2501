from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import money_field, phone_field, picklist_field, text_field


class Organization(CrmRecord):
    name = models.CharField(_("organisation name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
    )
    phone = phone_field(_("phone"))
    other_phone = phone_field(_("other phone"))
    fax = phone_field(_("fax"))
    website = models.URLField(_("website"), max_length=300, blank=True)
    email = models.EmailField(_("email"), blank=True)
    secondary_email = models.EmailField(_("secondary email"), blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    ownership = text_field(_("ownership"))
    industry = picklist_field(_("industry"))
    type = picklist_field(_("type"))
    rating = picklist_field(_("rating"))
    sic_code = text_field(_("SIC code"), 20)
    ticker_symbol = text_field(_("ticker symbol"), 20)
    annual_revenue = money_field(_("annual revenue"))
    email_opt_out = models.BooleanField(_("email opt-out"), default=False)
    notify_owner = models.BooleanField(_("notify owner"), default=False)
    billing_street = text_field(_("billing street"), 250)
    billing_city = text_field(_("billing city"))
    billing_state = text_field(_("billing state"))
    billing_postal_code = text_field(_("billing postal code"), 30)
    billing_country = text_field(_("billing country"))
    shipping_street = text_field(_("shipping street"), 250)
    shipping_city = text_field(_("shipping city"))
    shipping_state = text_field(_("shipping state"))
    shipping_postal_code = text_field(_("shipping postal code"), 30)
    shipping_country = text_field(_("shipping country"))
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
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="organization_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["name", "id"], name="organization_name"),
        ]
