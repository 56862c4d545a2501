from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SsoConfig(AppConfig):
    name = "crm_apps.sso"
    label = "sso"
    verbose_name = _("Single sign-on")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.access.login_policy import password_signin_check_register
        from crm_apps.sso.services import password_signin_refusal

        password_signin_check_register(password_signin_refusal)
