from django.urls import path

from crm_apps.sso import views

app_name = "sso"

urlpatterns = [
    path("sso/start/", views.start, name="start"),
    path("sso/oidc/callback/", views.oidc_callback, name="oidc_callback"),
    path("sso/link/", views.link, name="link"),
    path("sso/saml/acs/", views.saml_acs, name="saml_acs"),
    path("sso/saml/metadata/", views.saml_metadata, name="saml_metadata"),
    path("settings/sso/", views.settings_page, name="settings"),
    path("settings/sso/remove/", views.settings_remove, name="settings_remove"),
]
