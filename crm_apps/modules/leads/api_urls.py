"""The leads module's API routes, included under /api/v1/ through `ModuleSpec.api_urls`."""

from django.urls import path

from crm_apps.modules.leads.api import LeadConvertView

urlpatterns = [path("leads/<uuid:record_id>/convert", LeadConvertView.as_view(), name="api-lead-convert")]
