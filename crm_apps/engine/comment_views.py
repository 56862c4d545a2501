"""The comment box's helpers: member suggestions for @mentions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse

from crm_apps.access.middleware import request_member
from crm_apps.engine.mentions import mention_candidates


@login_required
def mention_search(request: HttpRequest) -> JsonResponse:
    """Active members of this tenant matching `q` by name or email: `{"results": [{"id", "name", "email"}]}`."""
    members = mention_candidates(actor=request_member(request), text=request.GET.get("q", ""))
    return JsonResponse({"results": [{"id": m.pk, "name": m.user.name, "email": m.user.email} for m in members]})
