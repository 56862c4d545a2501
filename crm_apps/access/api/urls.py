from django.urls import path

from crm_apps.access.api import views

urlpatterns = [
    path("auth/token", views.TokenObtainView.as_view(), name="api-token-obtain"),
    path("auth/tokens", views.TokenListView.as_view(), name="api-token-list"),
    path("auth/tokens/<int:token_id>", views.TokenDetailView.as_view(), name="api-token-detail"),
    path("me", views.MeView.as_view(), name="api-me"),
]
