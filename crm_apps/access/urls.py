from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from crm_apps.access import views

app_name = "access"

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="access/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="access/password_reset_confirm.html",
            success_url=reverse_lazy("access:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="access/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("auth/handover/<str:key>/", views.handover, name="handover"),
    path("invite/<str:key>/", views.invitation_accept_view, name="invitation_accept"),
    path("settings/profile/", views.profile, name="profile"),
    path("settings/profile/sessions/<int:session_id>/end/", views.session_end, name="session_end"),
    path("settings/profile/sessions/end-others/", views.sessions_end_all_others, name="sessions_end_others"),
    path("settings/members/", views.members, name="members"),
    path("settings/members/<int:member_id>/<slug:action>/", views.member_action, name="member_action"),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke_view,
        name="invitation_revoke",
    ),
    path("settings/api-tokens/", views.api_tokens, name="api_tokens"),
    path("settings/api-tokens/<int:token_id>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
]
