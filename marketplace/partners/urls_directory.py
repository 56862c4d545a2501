"""/partners/ on the bare domain: the public partner directory."""

from django.urls import path

from marketplace.partners import views

app_name = "partners"

urlpatterns = [
    path("", views.directory, name="directory"),
    path("<slug:slug>/", views.directory_detail, name="detail"),
    path("<slug:slug>/sent/", views.directory_sent, name="sent"),
    path("<slug:slug>/logo.png", views.partner_logo, name="logo"),
]
