"""Custom module routes, included before the engine's API routes (same paths, more methods)."""

from django.urls import path

from crm_apps.custom_modules import api

urlpatterns = [
    path("meta/modules", api.ModulesView.as_view(), name="api-meta-modules"),
    path("meta/modules/<slug:module>", api.ModuleView.as_view(), name="api-meta-module"),
]
