"""The calls module's API routes, included under /api/v1/ through `ModuleSpec.api_urls`."""

from django.urls import path

from crm_apps.modules.calls.api import RingingCallsView, RingingStreamView, TelephonyEventsView, TelephonySecretView

urlpatterns = [
    path("telephony/events", TelephonyEventsView.as_view(), name="api-telephony-events"),
    path("telephony/secret", TelephonySecretView.as_view(), name="api-telephony-secret"),
    path("telephony/ringing", RingingCallsView.as_view(), name="api-telephony-ringing"),
    path("telephony/ringing/stream", RingingStreamView.as_view(), name="api-telephony-ringing-stream"),
]
