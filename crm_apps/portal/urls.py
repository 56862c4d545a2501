"""The customer portal (/portal/ on a tenant host)."""

from django.urls import path

from crm_apps.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logo", views.logo, name="logo"),
    path("logout/", views.logout, name="logout"),
    path("reset/", views.reset, name="reset"),
    path("set-password/<str:token>/", views.set_password, name="set_password"),
    path("tickets/", views.tickets, name="tickets"),
    path("tickets/<str:ticket_id>/", views.ticket, name="ticket"),
    path("faq/", views.faq, name="faq"),
    path("faq/<str:faq_id>/", views.faq_entry, name="faq_entry"),
    path("documents/", views.documents, name="documents"),
    path("documents/<str:document_id>/", views.document_download, name="document"),
    path("profile/", views.profile, name="profile"),
    path("records/<slug:module>/", views.records, name="records"),
    path("records/<slug:module>/<str:record_id>/pdf/", views.record_pdf, name="record_pdf"),
]
