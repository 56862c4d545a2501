from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm_apps.access.selectors import invitation_pending_list, member_list


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The member's start page: the workspace at a glance and the next steps for admins."""
    member = request.member  # type: ignore[attr-defined]
    members = list(member_list().filter(active=True)[:8])
    context = {
        "member": member,
        "members": members,
        "member_count": member_list().filter(active=True).count(),
        "pending_invitations": invitation_pending_list().count() if member.is_admin else 0,
    }
    return render(request, "home/home.html", context)
