from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceAppsConfig(AppConfig):
    """OAuth 2.0 apps in `public`: partners' registered apps, their reviewed versions, the tenants that
    installed them and the tokens (django-oauth-toolkit's models, swapped in, bound to an installation)."""

    name = "marketplace.apps"
    label = "marketplace_apps"
    verbose_name = _("OAuth apps")
    default_auto_field = "django.db.models.BigAutoField"
