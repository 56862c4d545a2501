"""Email API routes under /api/v1/ (included by saas/urls_tenant.py before the engine's generic routes)."""

from django.urls import path

from crm_apps.mail.api import views

urlpatterns = [
    path("mailboxes/", views.MailboxListView.as_view(), name="api-mailboxes"),
    path("mailboxes/<uuid:mailbox_id>/", views.MailboxDetailView.as_view(), name="api-mailbox"),
    path("mailboxes/<uuid:mailbox_id>/status", views.MailboxStatusView.as_view(), name="api-mailbox-status"),
    path("mailboxes/<uuid:mailbox_id>/sync", views.MailboxSyncView.as_view(), name="api-mailbox-sync"),
    path("emails/", views.EmailListView.as_view(), name="api-emails"),
    path("emails/<int:message_id>/", views.EmailDetailView.as_view(), name="api-email"),
    path("emails/<int:message_id>/retry", views.EmailRetryView.as_view(), name="api-email-retry"),
    path("email-templates/", views.TemplateListView.as_view(), name="api-email-templates"),
    path("email-templates/<int:template_id>/", views.TemplateDetailView.as_view(), name="api-email-template"),
    path(
        "email-templates/<int:template_id>/render", views.TemplateRenderView.as_view(), name="api-email-template-render"
    ),
]
