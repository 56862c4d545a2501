"""The profile page's "vtiger-compatible API" section: the member's access key, shown, and rotated."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.vtiger.services import access_key_rotate


@login_required
@require_POST
def access_key_rotate_view(request: HttpRequest) -> HttpResponse:
    access_key_rotate(member=request_member(request))
    messages.success(request, _("Your access key was replaced; integrations using the old one are signed out."))
    return redirect("access:profile")
