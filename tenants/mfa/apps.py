from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MfaConfig(AppConfig):
    name = "tenants.mfa"
    label = "mfa"
    verbose_name = _("Two-factor authentication")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from tenants.mfa.state import on_user_logged_in

        user_logged_in.connect(on_user_logged_in, dispatch_uid="mfa_need_on_login")
