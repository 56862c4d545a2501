"""The customer portal (/portal/ on a tenant host)."""

from django.urls import path

from crm_apps.portal import views

app_name = "portal"

# Every portal page may be framed by the sites the workspace lists (views.frameable), no other page.
urlpatterns = [
    path("", views.frameable(views.home), name="home"),
    path("login/", views.frameable(views.login), name="login"),
    path("logo", views.frameable(views.logo), name="logo"),
    path("logout/", views.frameable(views.logout), name="logout"),
    path("reset/", views.frameable(views.reset), name="reset"),
    path("set-password/<str:token>/", views.frameable(views.set_password), name="set_password"),
    path("tickets/", views.frameable(views.tickets), name="tickets"),
    path("tickets/<str:ticket_id>/", views.frameable(views.ticket), name="ticket"),
    path("faq/", views.frameable(views.faq), name="faq"),
    path("faq/<str:faq_id>/", views.frameable(views.faq_entry), name="faq_entry"),
    path("documents/", views.frameable(views.documents), name="documents"),
    path("documents/<str:document_id>/", views.frameable(views.document_download), name="document"),
    path("profile/", views.frameable(views.profile), name="profile"),
    path("records/<slug:module>/", views.frameable(views.records), name="records"),
    path("records/<slug:module>/<str:record_id>/pdf/", views.frameable(views.record_pdf), name="record_pdf"),
]
