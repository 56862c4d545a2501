"""The profile page's "Calendar and contact sync" section: create (shown once) and revoke app passwords."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.mfa import token_creation_allowed
from crm_apps.access.middleware import request_member
from crm_apps.dav.forms import AppPasswordForm
from crm_apps.dav.services import app_password_create, app_password_revoke


@login_required
@require_POST
def app_password_new(request: HttpRequest) -> HttpResponse:
    member = request_member(request)
    if not token_creation_allowed(request, member):
        # An app password outlives the session: confirm the second factor again first (docs/mfa.md).
        return redirect(reverse("mfa:challenge") + "?next=" + reverse("access:profile"))
    form = AppPasswordForm(request.POST)
    if form.is_valid():
        try:
            created, password = app_password_create(member=member, name=form.cleaned_data["name"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            context = {"app_password": created, "password": password, "server": request.build_absolute_uri("/dav/")}
            return render(request, "dav/app_password_created.html", context)
    else:
        messages.error(request, _("Name the device or program, e.g. “Phone”."))
    return redirect("access:profile")


@login_required
@require_POST
def app_password_revoke_view(request: HttpRequest, app_password_id: int) -> HttpResponse:
    if not app_password_revoke(member=request_member(request), app_password_id=app_password_id):
        raise Http404
    messages.success(request, _("The app password was revoked; clients using it are signed out."))
    return redirect("access:profile")
