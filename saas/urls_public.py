"""URLs of the bare domain: public site, signup, operator admin, public API."""

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from billing.views import pricing
from billing.webhooks import stripe_connect_webhook, stripe_webhook
from marketplace.catalog.portal_views import screenshot
from marketplace.catalog.views import manifest_schema
from tenants import views
from tenants.api.views import SignupView

admin.site.site_header = _("CRM platform operators")
admin.site.site_title = _("CRM operators")

urlpatterns = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("signup/subdomain", views.subdomain_check, name="signup_subdomain"),
    path("pricing/", pricing, name="pricing"),
    path("find-workspaces/", views.find_workspaces, name="find_workspaces"),
    path("login/", views.workspace_login, name="workspace_login"),
    path("admin/login/", views.admin_login, name="admin_login"),
    # LOGOUT_REDIRECT_URL names the workspace sign-in, which the public host has not: back to the console's.
    path("admin/logout/", LogoutView.as_view(next_page="/admin/login/"), name="admin_logout"),
    path("admin/", admin.site.urls),
    path("api/v1/signup", SignupView.as_view(), name="api-signup"),
    path("billing/stripe/webhook", stripe_webhook, name="stripe_webhook"),
    path("billing/stripe/connect-webhook", stripe_connect_webhook, name="stripe_connect_webhook"),
    path("marketplace/manifest.schema.json", manifest_schema, name="manifest_schema"),
    path("partner-portal/", include("marketplace.catalog.urls_portal")),
    path("partner-portal/", include("marketplace.apps.urls_portal")),
    path("partner-portal/", include("marketplace.partners.urls_portal")),
    path("marketplace/screenshots/<int:screenshot_id>.png", screenshot, name="listing_screenshot"),
    path("partners/", include("marketplace.partners.urls_directory")),
    path("mfa/", include("tenants.mfa.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler500 = "saas.errors.server_error"
