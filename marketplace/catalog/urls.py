"""The catalog on a tenant host, under settings/marketplace/."""

from django.urls import path

from marketplace.catalog import portal_views, views

app_name = "marketplace"

urlpatterns = [
    path("screenshots/<int:screenshot_id>.png", portal_views.screenshot, name="screenshot"),
    path("", views.index, name="index"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/install/", views.install, name="install"),
    path("<slug:slug>/buy/", views.buy, name="buy"),
    path("<slug:slug>/uninstall/", views.uninstall, name="uninstall"),
    path("<slug:slug>/review/", views.review, name="review"),
]
