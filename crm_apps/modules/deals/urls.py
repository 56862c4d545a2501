from django.urls import path

from crm_apps.engine import views as engine_views
from crm_apps.modules.deals import settings_views, views

app_name = "deals"

urlpatterns = [
    # The engine's board of the deals module, under its historical name.
    path("m/deals/board/", engine_views.board, {"module": "deals"}, name="board"),
    path("m/deals/<uuid:record_id>/stage/", views.stage, name="stage"),
    path("m/deals/<uuid:record_id>/close/", views.close, name="close"),
    path("m/deals/<uuid:record_id>/move/", views.move, name="move"),
    path("settings/modules/deals/pipelines/", settings_views.pipelines, name="pipelines"),
]
