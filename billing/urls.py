"""The billing page of a tenant host; included under `settings/billing/`."""

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.page, name="page"),
    path("choose/", views.choose, name="choose"),
    path("portal/", views.portal, name="portal"),
    path("cancel/", views.cancel, name="cancel"),
    path("resume/", views.resume, name="resume"),
]
