"""What the vtiger-compatible API keeps per tenant: members' access keys, vtiger's integer record ids
(crmid) and the integer ids of modules that have no standard vtiger id (custom modules)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccessKey(models.Model):
    """A member's webservice access key. vtiger shows it to its user (clients hash it with a challenge,
    so it must be readable), hence stored as such; rotating it ends the member's API sessions."""

    member = models.OneToOneField("access.Member", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("access key"), max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    # Sessions remember the generation they were opened with; a rotation bumps it.
    generation = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("access key")

    def __str__(self) -> str:
        return f"access key of member {self.member_id}"


class CrmId(models.Model):
    """vtiger's tenant-wide integer record id for a record of any module, given on first exposure (a
    record the API serialises or creates) and never reused. Keyed by module and record UUID."""

    crmid = models.BigAutoField(primary_key=True)
    module_key = models.CharField(max_length=60)
    record_id = models.UUIDField()

    class Meta:
        constraints = [models.UniqueConstraint("module_key", "record_id", name="vtiger_crmid_record_unique")]

    def __str__(self) -> str:
        return f"{self.module_key} {self.crmid}"


class ModuleId(models.Model):
    """The id prefix (`<module id>x<crmid>`) of a module vtiger has no standard number for (custom
    modules, modules added later without a standard name): given once, stable afterwards."""

    module_key = models.CharField(max_length=60, unique=True)
    prefix = models.PositiveIntegerField(unique=True)

    def __str__(self) -> str:
        return f"{self.module_key} {self.prefix}"
