"""/partner-portal/ on the bare domain."""

from django.urls import path

from marketplace.partners import views

app_name = "partner_portal"

urlpatterns = [
    path("", views.portal_index, name="index"),
    path("signup/", views.portal_signup, name="signup"),
    path("login/", views.portal_login, name="login"),
    path("logout/", views.portal_logout, name="logout"),
    path("invitations/<str:key>/", views.invitation_accept, name="invitation"),
    path("<slug:slug>/", views.dashboard, name="dashboard"),
    path("<slug:slug>/profile/", views.profile, name="profile"),
    path("<slug:slug>/team/", views.team, name="team"),
    path("<slug:slug>/team/<int:member_id>/role/", views.team_role, name="team_role"),
    path("<slug:slug>/team/<int:member_id>/remove/", views.team_remove, name="team_remove"),
    path("<slug:slug>/team/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("<slug:slug>/leads/", views.leads, name="leads"),
    path("<slug:slug>/leads/<int:lead_id>/", views.lead_detail, name="lead"),
    path("<slug:slug>/listing/", views.listing_page, name="listing"),
    path("<slug:slug>/stripe-connect/", views.connect_start, name="connect"),
    path("<slug:slug>/stripe-connect/return/", views.connect_return, name="connect_return"),
    path("<slug:slug>/workspaces/", views.workspaces, name="workspaces"),
    path("<slug:slug>/workspaces/<int:access_id>/open/", views.workspace_open, name="workspace_open"),
]
