"""URLs of a tenant host (<slug>.<BASE_DOMAIN>)."""

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from crm_apps.engine.extensions import module_urlpatterns
from crm_apps.home.views import home
from marketplace.partners.tenant_views import partner_access, partner_access_revoke_view
from saas.resolvers import memoized
from tenants.views import workspace_new

# The API under one prefix, tried first: an API call does not walk the pages' patterns, a page tries one
# prefix more (issue 25: resolving an API path walked ~70 patterns).
api_urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("crm_apps.access.api.urls")),
    path("", include("crm_apps.notifications.api.urls")),
    path("", include("crm_apps.dav.api.urls")),
    path("", include("crm_apps.imports.api.urls")),
    path("", include("crm_apps.mail.api.urls")),
    path("", include("crm_apps.finance.api.urls")),
    path("", include("crm_apps.webforms.api.urls")),
    path("", include("crm_apps.portal.api.urls")),
    path("", include("crm_apps.automation.api.urls")),
    path("", include("crm_apps.reports.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: the Content-Security-Policy allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("crm_apps.custom_modules.api_urls")),
    path("", include("crm_apps.engine.api.urls")),
]

page_urlpatterns: list[URLPattern | URLResolver] = [
    path("", home, name="home"),
    path("", include("crm_apps.access.urls")),
    path("", include("crm_apps.sso.urls")),
    path("", include("crm_apps.dav.urls")),
    path("", include("crm_apps.vtiger.urls")),
    path("settings/new-workspace/", workspace_new, name="workspace_new"),
    path("onboarding/", include("crm_apps.onboarding.urls")),
    path("settings/custom-modules/", include("crm_apps.custom_modules.urls")),
    path("settings/modules/", include("crm_apps.engine.settings_urls")),
    path("settings/audit/", include("crm_apps.audit.urls")),
    path("settings/billing/", include("billing.urls")),
    path("settings/marketplace/", include("marketplace.catalog.urls")),
    path("marketplace/app/", include("marketplace.ui.urls")),
    path("settings/access/", include("crm_apps.access.settings_urls")),
    path("settings/finance/", include("crm_apps.finance.urls")),
    path("settings/automation/", include("crm_apps.automation.urls")),
    path("automation/", include("crm_apps.automation.record_urls")),
    path("notifications/", include("crm_apps.notifications.urls")),
    path("imports/", include("crm_apps.imports.urls")),
    path("mail/", include("crm_apps.mail.urls")),
    path("settings/webforms/", include("crm_apps.webforms.urls")),
    path("f/", include("crm_apps.webforms.public_urls")),
    path("settings/portal/", include("crm_apps.portal.settings_urls")),
    path("portal/", include("crm_apps.portal.urls")),
    path("reports/", include("crm_apps.reports.urls")),
    path("dashboards/", include("crm_apps.reports.dashboard_urls")),
    path("", include("frontend.urls")),
    path("settings/partners/", partner_access, name="partner_access"),
    # OAuth 2.0 apps: /oauth/authorize|token|revoke|introspect/ and /settings/apps/ (ADR 0045).
    path("", include("marketplace.apps.urls")),
    path("settings/partners/<int:access_id>/revoke/", partner_access_revoke_view, name="partner_access_revoke"),
    # Every module's own screens (ModuleSpec.urls), before the generic `m/<module>/...` routes.
    *module_urlpatterns(),
    path("", include("crm_apps.engine.urls")),
    path("mfa/", include("tenants.mfa.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

# Each resolved path's match is remembered (saas/resolvers.py): a repeated path costs a dictionary look-up.
urlpatterns = [memoized("api/v1/", api_urlpatterns), memoized("", page_urlpatterns)]

handler500 = "saas.errors.server_error"
