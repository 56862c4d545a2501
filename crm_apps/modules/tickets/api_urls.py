"""The tickets module's API actions (the engine serves /api/v1/tickets/ itself)."""

from django.urls import path, re_path

from crm_apps.modules.tickets.api import TicketActionView, TicketCloseView, TicketRepliesView
from crm_apps.modules.tickets.settings_api import BusinessHoursView, SlaPoliciesView, SlaPolicyView

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

urlpatterns = [
    path("sla-policies/", SlaPoliciesView.as_view(), name="api-sla-policies"),
    path("sla-policies/<int:pk>", SlaPolicyView.as_view(), name="api-sla-policy"),
    path("business-hours/", BusinessHoursView.as_view(), name="api-business-hours"),
    re_path(rf"^tickets/(?P<record_id>{UUID})/replies$", TicketRepliesView.as_view(), name="api-ticket-replies"),
    re_path(rf"^tickets/(?P<record_id>{UUID})/close$", TicketCloseView.as_view(), name="api-ticket-close"),
    re_path(
        rf"^tickets/(?P<record_id>{UUID})/(?P<action>to-faq|assign-next|merge)$",
        TicketActionView.as_view(),
        name="api-ticket-action",
    ),
]
