"""Public routes of web forms on a tenant host (no sign-in): /f/<key>/ and the embeddable script."""

from django.urls import path

from crm_apps.webforms import public_views

app_name = "webforms_public"

urlpatterns = [
    path("embed.js", public_views.embed_script, name="embed"),
    path("form.js", public_views.form_script, name="script"),
    path("<str:key>/", public_views.form_page, name="form"),
    path("<str:key>/definition.json", public_views.form_definition, name="definition"),
    path("<str:key>/token.json", public_views.form_token, name="token"),
    path("<str:key>/view.gif", public_views.form_view_pixel, name="view"),
]
