from django.urls import path

from crm_apps.engine import board_views, comment_views, form_views, list_views, related_views, views

app_name = "engine"

urlpatterns = [
    path("search/", views.global_search, name="search"),
    path("mentions/members.json", comment_views.mention_search, name="mention_search"),
    path("m/<slug:module>/", views.record_list, name="list"),
    path("m/<slug:module>/new/", views.record_create, name="create"),
    path("m/<slug:module>/mass/", views.mass_action, name="mass"),
    path("m/<slug:module>/export.<slug:fmt>", views.export, name="export"),
    path("m/<slug:module>/trash/", views.recycle_bin, name="trash"),
    path("m/<slug:module>/views/", views.saved_view_create, name="view_create"),
    path("m/<slug:module>/layout/", list_views.list_layout_save, name="list_layout"),
    path("m/<slug:module>/merge/", views.merge, name="merge"),
    path("m/<slug:module>/lookup/", views.reference_lookup, name="lookup"),
    path("m/<slug:module>/lookup.json", form_views.reference_search, name="lookup_json"),
    path("m/<slug:module>/quick-create/", form_views.quick_create, name="quick_create"),
    path("m/<slug:module>/board/", views.board, name="board"),
    path("m/<slug:module>/board/column/", board_views.board_column, name="board_column"),
    path("m/<slug:module>/board/cards/", views.board_cards, name="board_cards"),
    path("m/<slug:module>/<uuid:record_id>/board-move/", views.board_move, name="board_move"),
    path("m/<slug:module>/<uuid:record_id>/", views.record_detail, name="detail"),
    path("m/<slug:module>/<uuid:record_id>/edit/", views.record_edit, name="edit"),
    path("m/<slug:module>/<uuid:record_id>/delete/", views.record_delete, name="delete"),
    path("m/<slug:module>/<uuid:record_id>/restore/", views.record_restore, name="restore"),
    path("m/<slug:module>/<uuid:record_id>/comment/", views.record_comment, name="comment"),
    path("m/<slug:module>/<uuid:record_id>/follow/", views.record_follow, name="follow"),
    path("m/<slug:module>/<uuid:record_id>/cell/<str:name>/", list_views.record_cell, name="cell"),
    path(
        "m/<slug:module>/<uuid:record_id>/related/<slug:related>/new/",
        related_views.related_create,
        name="related_create",
    ),
]
