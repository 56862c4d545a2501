from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm_apps.access.middleware import request_member
from crm_apps.access.selectors import invitation_pending_list, member_list
from crm_apps.engine import registry, selectors
from crm_apps.engine.display import record_url


def _my_open_deals(member: Any) -> list[dict[str, Any]]:
    """The member's open deals per stage of the default pipeline: count and amount."""
    from crm_apps.modules.deals.services import default_pipeline

    spec = registry.get("deals")
    pipeline = default_pipeline()
    qs = selectors.list_queryset(spec=spec, actor=member).filter(owner=member, pipeline=pipeline)
    totals = selectors.kanban_columns(spec=spec, actor=member, queryset=qs)
    rows = []
    for stage in pipeline.stages.filter(is_won=False, is_lost=False).order_by("position"):
        row = totals.get(stage.pk, {})
        rows.append({"stage": stage, "count": row.get("count", 0), "total": row.get("total") or Decimal(0)})
    return rows


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The member's start page: open deals by stage, recent records, follows, mentions, the team."""
    member = request_member(request)
    members = list(member_list().filter(active=True)[:8])
    context = {
        "member": member,
        "members": members,
        "member_count": member_list().filter(active=True).count(),
        "pending_invitations": invitation_pending_list().count() if member.is_admin else 0,
        "open_deals": _my_open_deals(member),
        "recent": [(record_url(s, r), str(r), s.label) for s, r in selectors.home_recent(actor=member)],
        "follows": [(record_url(s, r), str(r), s.label) for s, r in selectors.home_follows(actor=member)],
        "mentions": selectors.home_mentions(actor=member),
    }
    return render(request, "home/home.html", context)
