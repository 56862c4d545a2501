from django.urls import path

from crm_apps.onboarding import views

app_name = "onboarding"
urlpatterns = [
    path("", views.index, name="index"),
    path("dismiss/", views.dismiss, name="dismiss"),
    path("confirm/<slug:key>/", views.confirm, name="confirm"),
    path("sample/load/", views.sample_load, name="sample_load"),
    path("sample/remove/", views.sample_remove, name="sample_remove"),
    path("sample/status/", views.sample_status, name="sample_status"),
]
