"""/mfa/ on every host (workspaces and the public site)."""

from django.urls import path

from tenants.mfa import views

app_name = "mfa"

urlpatterns = [
    path("", views.index, name="index"),
    path("totp/", views.totp_setup, name="totp"),
    path("totp/remove/", views.totp_remove, name="totp_remove"),
    path("recovery-codes/", views.recovery_regenerate, name="recovery"),
    path("recovery-codes/new/", views.codes_once, name="codes_once"),
    path("keys/options/", views.key_options, name="key_options"),
    path("keys/", views.key_register, name="key_register"),
    path("keys/<int:key_id>/remove/", views.key_remove, name="key_remove"),
    path("devices/<int:device_id>/revoke/", views.device_revoke, name="device_revoke"),
    path("devices/revoke-all/", views.devices_revoke_all, name="devices_revoke_all"),
    path("verify/", views.challenge, name="challenge"),
    path("verify/key-options/", views.challenge_key_options, name="challenge_key_options"),
    path("verify/key/", views.challenge_key, name="challenge_key"),
]
