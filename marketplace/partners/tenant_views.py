"""Tenant host: /settings/partners/, where administrators give partners access and take it back."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member, Role
from frontend.forms import form_add_service_errors
from marketplace.partners.delegation import partner_access_grant, partner_access_revoke
from marketplace.partners.forms import GrantForm
from marketplace.partners.selectors import tenant_partner_accesses
from tenants.services import public_url


def _admin(request: HttpRequest) -> Member:
    actor = request_member(request)
    if not actor.is_admin:
        raise PermissionDenied
    return actor


def _roles() -> list[tuple[str, str]]:
    return [(str(r.pk), r.name) for r in Role.objects.filter(parent__isnull=False).order_by("path")]


@login_required
def partner_access(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    form = GrantForm(request.POST or None, roles=_roles())
    if request.method == "POST" and form.is_valid():
        role = Role.objects.filter(pk=int(form.cleaned_data["role"])).first()
        try:
            access = partner_access_grant(actor=actor, partner_slug=form.cleaned_data["partner"], role=role)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(partner)s now has access as %(role)s.")
                % {"partner": access.partner.name, "role": access.role_name},
            )
            return redirect("partner_access")
    tenant = request.tenant  # type: ignore[attr-defined]
    accesses = list(tenant_partner_accesses(tenant=tenant))
    members = Member.objects.filter(partner_id__isnull=False, active=True).select_related("user")
    by_partner: dict[int, list[Member]] = {}
    for m in members:
        by_partner.setdefault(int(m.partner_id or 0), []).append(m)
    rows = [(a, by_partner.get(a.partner_id, [])) for a in accesses]
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "rows": rows, "directory_url": public_url("/partners/")}
    return render(request, "partners/tenant/access.html", context, status=status)


@login_required
@require_POST
def partner_access_revoke_view(request: HttpRequest, access_id: int) -> HttpResponse:
    actor = _admin(request)
    try:
        access = partner_access_revoke(actor=actor, access_id=access_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Access of %(partner)s revoked.") % {"partner": access.partner.name})
    return redirect("partner_access")
