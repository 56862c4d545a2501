"""Saved views of a module's list over the API: read them, and change the layout (columns, widths,
density, page size) of one the member owns, or of their own default view (`views/default`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from crm_apps.access.middleware import request_member
from crm_apps.engine import selectors
from crm_apps.engine.api.views import ModuleAPIView
from crm_apps.engine.models import SavedView
from crm_apps.engine.services.saved_views import saved_view_layout_save


def view_to_api(view: SavedView) -> dict[str, Any]:
    return {
        "id": view.pk,
        "name": view.display_name,
        "shared": view.shared,
        "is_default": view.is_default,
        "filters": view.filters,
        "search": view.search,
        "ordering": view.ordering,
        "layout": view.layout,
    }


class SavedViewListView(ModuleAPIView):
    def get(self, request: Request, module: str) -> Response:
        spec = self.spec()
        member = request_member(request)
        views = selectors.saved_views(spec=spec, actor=member)
        default = selectors.saved_view_default(spec=spec, actor=member)
        return Response({"results": [view_to_api(v) for v in ([default] if default else []) + views]})


class SavedViewDetailView(ModuleAPIView):
    def _view(self, module: str, view: str) -> SavedView | None:
        spec = self.spec()
        member = request_member(self.request)
        if view == "default":
            return selectors.saved_view_default(spec=spec, actor=member)
        found = selectors.saved_view_get(spec=spec, actor=member, view_id=view)
        if found is None:
            raise NotFound(_("Not found."))
        return found

    def get(self, request: Request, module: str, view: str) -> Response:
        found = self._view(module, view)
        if found is None:
            raise NotFound(_("Not found."))
        return Response(view_to_api(found))

    def patch(self, request: Request, module: str, view: str) -> Response:
        spec = self.spec()
        found = self._view(module, view)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            saved = saved_view_layout_save(
                spec=spec, actor=request_member(request), view=found, layout=data.get("layout")
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(_("Only the view's owner may change it.")) from exc
        return Response(view_to_api(saved))
