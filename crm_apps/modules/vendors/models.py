from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import phone_field, picklist_field, text_field


class Vendor(CrmRecord):
    name = models.CharField(_("vendor name"), max_length=200)
    phone = phone_field(_("phone"))
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    gl_account = text_field(_("GL account"), 50)
    category = picklist_field(_("category"))
    street = text_field(_("street"), 250)
    city = text_field(_("city"))
    state = text_field(_("state"))
    postal_code = text_field(_("postal code"), 30)
    country = text_field(_("country"))
    po_box = text_field(_("PO box"), 30)
    description = models.TextField(_("description"), blank=True, max_length=20_000)

    class Meta(CrmRecord.Meta):
        verbose_name = _("vendor")
        verbose_name_plural = _("vendors")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="vendor_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["name", "id"], name="vendor_name"),
        ]
