from django.urls import path

from crm_apps.notifications.api import views

urlpatterns = [
    path("notifications/", views.NotificationListView.as_view(), name="api-notifications"),
    path("notifications/count", views.NotificationCountView.as_view(), name="api-notifications-count"),
    path("notifications/read-all", views.NotificationReadAllView.as_view(), name="api-notifications-read-all"),
    path("notifications/preferences", views.NotificationPreferencesView.as_view(), name="api-notifications-prefs"),
    path(
        "notifications/<int:notification_id>/read", views.NotificationReadView.as_view(), name="api-notification-read"
    ),
]
