"""Public-site pages on the bare domain: landing, signup, find my workspaces, go to a workspace."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from frontend.forms import form_add_service_errors
from saas.http import client_ip
from tenants.forms import FindWorkspacesForm, SignupForm, WorkspaceForm, WorkspaceLoginForm
from tenants.login_throttle import login_blocked, login_failed
from tenants.models import Tenant
from tenants.pool import pool_ready_count
from tenants.services import (
    ORGANIZATION_MAX,
    SIGNUP_WINDOW,
    signup_attempt_allowed,
    subdomain_check_allowed,
    subdomain_problem,
    subdomain_suggest,
    tenant_signup,
    tenant_url,
    workspace_create,
    workspaces_email_send,
)


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "public/landing.html")


def signup(request: HttpRequest) -> HttpResponse:
    """Create an organisation and land, signed in, in its new workspace."""
    form = SignupForm(request.POST or None, initial={"language": (get_language() or "en").split("-")[0]})
    if request.method == "POST":
        if not signup_attempt_allowed(client_ip=client_ip(request)):
            form.is_valid()
            form.add_error(None, _("Too many signups from your address. Please try again in an hour."))
            return render(request, "public/signup.html", {"form": form}, status=429)
        if form.is_valid():
            try:
                result = tenant_signup(**form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                return HttpResponseRedirect(result.handover_url)
    return render(
        request,
        "public/signup.html",
        {"form": form, "slow_setup": _slow_setup(), "address_example": tenant_url("your-subdomain")},
    )


def subdomain_check(request: HttpRequest) -> JsonResponse:
    """The signup form's live check: a suggestion from the organisation name, whether the subdomain is
    free (what a signup attempt would answer, no more), and the workspace's real address."""
    if not subdomain_check_allowed(client_ip=client_ip(request)):
        return JsonResponse(
            {"detail": _("Too many checks from your address. Please try again later.")},
            status=429,
            headers={"Retry-After": str(SIGNUP_WINDOW)},
        )
    organization = request.GET.get("organization", "")[:ORGANIZATION_MAX]
    subdomain = request.GET.get("subdomain", "").strip().lower()[:63]
    data: dict[str, object] = {}
    if organization and not subdomain:
        subdomain = subdomain_suggest(organization=organization)
        data["suggestion"] = subdomain
    problem = subdomain_problem(subdomain) if subdomain else _("This field is required.")
    data.update(
        {
            "subdomain": subdomain,
            "available": problem is None,
            "message": problem or _("This address is free."),
            "url": tenant_url(subdomain) if subdomain else "",
        }
    )
    return JsonResponse(data)


def _slow_setup() -> bool:
    """No pool schema is ready: the next signup runs every migration, and the page says it takes a moment."""
    return pool_ready_count() == 0


def find_workspaces(request: HttpRequest) -> HttpResponse:
    """Email the list of someone's workspaces; the page says the same whether the address exists or not."""
    form = FindWorkspacesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        workspaces_email_send(email=email)
        return render(request, "public/find_workspaces_sent.html", {"email": email})
    return render(request, "public/find_workspaces.html", {"form": form})


def workspace_login(request: HttpRequest) -> HttpResponse:
    """Type a workspace's subdomain, go to its sign-in page."""
    form = WorkspaceLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        slug = form.cleaned_data["subdomain"].strip().lower()
        if Tenant.objects.filter(schema_name=slug).exists():
            return redirect(tenant_url(slug, "/accounts/login/"))
        form.add_error("subdomain", _("There is no workspace at this address."))
    return render(request, "public/workspace_login.html", {"form": form})


@login_required
def workspace_new(request: HttpRequest) -> HttpResponse:
    """On a tenant host: the signed-in member creates another workspace and is handed over to it."""
    if getattr(request, "member", None) is None:  # set by access's MembershipMiddleware for an active member
        raise PermissionDenied
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not signup_attempt_allowed(client_ip=client_ip(request)):
            form.add_error(None, _("Too many new workspaces from your address. Please try again in an hour."))
            return render(request, "tenant/workspace_new.html", {"form": form, "slow_setup": _slow_setup()}, status=429)
        try:
            result = workspace_create(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return HttpResponseRedirect(result.handover_url)
    return render(request, "tenant/workspace_new.html", {"form": form, "slow_setup": _slow_setup()})


def admin_login(request: HttpRequest) -> HttpResponse:
    """The operator admin's sign-in, with the same failure limit as workspace sign-ins."""
    from django.contrib import admin

    email = (request.POST.get("username") or "").strip()
    if request.method == "POST" and login_blocked(client_ip=client_ip(request), email=email):
        return HttpResponse(_("Too many failed sign-in attempts. Please wait 15 minutes and try again."), status=429)
    response = admin.site.login(request)
    if request.method == "POST" and response.status_code == 200:  # the form came back: wrong credentials
        login_failed(client_ip=client_ip(request), email=email)
    return response
