from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnboardingConfig(AppConfig):
    name = "crm_apps.onboarding"
    label = "onboarding"
    verbose_name = _("Onboarding")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.onboarding import items  # noqa: F401  (registers the built-in checklist items)
