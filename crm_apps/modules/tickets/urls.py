from django.urls import path

from crm_apps.modules.tickets import settings_views, views

app_name = "tickets"

urlpatterns = [
    path("support/tickets/new/", views.ticket_open, name="open"),
    path("support/queue/", views.queue, name="queue"),
    path("support/tickets/<uuid:record_id>/reply/", views.ticket_reply_view, name="reply"),
    path("support/tickets/<uuid:record_id>/close/", views.ticket_close_view, name="close"),
    path("support/tickets/<uuid:record_id>/faq/", views.ticket_to_faq_view, name="to_faq"),
    path("support/tickets/<uuid:record_id>/assign-next/", views.ticket_assign_next_view, name="assign_next"),
    path("settings/support/sla/", settings_views.sla_settings, name="sla_settings"),
]
