from django.urls import path

from crm_apps.mail import views

app_name = "mail"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("compose/", views.compose, name="compose"),
    path("bulk/", views.bulk, name="bulk"),
    path("bulk/<str:module>/", views.bulk, name="bulk_module"),
    path("addresses.json", views.address_suggest, name="addresses"),
    path("threads/<int:thread_id>/", views.thread, name="thread"),
    path("messages/<int:message_id>/retry", views.retry, name="retry"),
    path("messages/<int:message_id>/record", views.record_from, name="record_from"),
    path("mailboxes/", views.mailbox_list, name="mailboxes"),
    path("mailboxes/new/", views.mailbox_edit, name="mailbox_new"),
    path("mailboxes/<uuid:mailbox_id>/", views.mailbox_detail, name="mailbox"),
    path("mailboxes/<uuid:mailbox_id>/edit/", views.mailbox_edit, name="mailbox_edit"),
    path("campaigns/<uuid:campaign_id>/send", views.campaign_send, name="campaign_send"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("t/<str:token>/o.gif", views.track_open, name="track_open"),
    path("t/<str:token>/c", views.track_click, name="track_click"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_edit, name="template_new"),
    path("templates/<int:template_id>/", views.template_edit, name="template_edit"),
    path("templates/<int:template_id>/preview.json", views.template_preview, name="template_preview"),
]
