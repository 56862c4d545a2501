from django.urls import path

from crm_apps.modules.campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("m/campaigns/<uuid:record_id>/members/", views.member_add, name="member_add"),
    path("m/campaigns/<uuid:record_id>/members/<int:membership_id>/", views.member_update, name="member_update"),
]
