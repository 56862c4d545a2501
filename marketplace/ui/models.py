"""Per tenant schema: one row per installed app (an extension whose manifest declares `app`)."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_app_secret() -> str:
    return "appsec_" + secrets.token_urlsafe(32)


class AppInstall(models.Model):
    """An installation's app side: the secret that signs its frame contexts and workflow action calls,
    the origin its frames and actions live on, and the ids of the templates and reports it installed
    (`owned`: kind -> manifest key -> id), so upgrade and uninstall know what is theirs."""

    installation = models.OneToOneField(
        "installs.ExtensionInstallation", on_delete=models.CASCADE, related_name="app", verbose_name=_("installation")
    )
    origin = models.CharField(_("origin"), max_length=200, blank=True)
    secret = models.CharField(max_length=64, default=new_app_secret)
    owned = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("installed app")
        verbose_name_plural = _("installed apps")

    def __str__(self) -> str:
        return f"{self.installation.slug} ({self.origin})"
