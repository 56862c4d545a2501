from django.urls import path

from crm_apps.modules.leads import views

app_name = "leads"

urlpatterns = [path("m/leads/<uuid:record_id>/convert/", views.convert, name="convert")]
