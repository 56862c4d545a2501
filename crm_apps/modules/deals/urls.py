from django.urls import path

from crm_apps.modules.deals import views

app_name = "deals"

urlpatterns = [
    path("m/deals/board/", views.board, name="board"),
    path("m/deals/<uuid:record_id>/stage/", views.stage, name="stage"),
    path("m/deals/<uuid:record_id>/close/", views.close, name="close"),
    path("m/deals/<uuid:record_id>/move/", views.move, name="move"),
]
