"""The tickets module's API actions (the engine serves /api/v1/tickets/ itself)."""

from django.urls import re_path

from crm_apps.modules.tickets.api import TicketActionView, TicketCloseView, TicketRepliesView

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

urlpatterns = [
    re_path(rf"^tickets/(?P<record_id>{UUID})/replies$", TicketRepliesView.as_view(), name="api-ticket-replies"),
    re_path(rf"^tickets/(?P<record_id>{UUID})/close$", TicketCloseView.as_view(), name="api-ticket-close"),
    re_path(
        rf"^tickets/(?P<record_id>{UUID})/(?P<action>to-faq|assign-next|merge)$",
        TicketActionView.as_view(),
        name="api-ticket-action",
    ),
]
