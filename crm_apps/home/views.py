from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm_apps.access.middleware import request_member
from crm_apps.home.widgets import home_widgets


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The member's day: every widget they may see (crm_apps/home/widgets.py), in order."""
    member = request_member(request)
    return render(
        request, "home/home.html", {"member": member, "widgets": home_widgets(member=member, request=request)}
    )
