"""Public-site pages on the bare domain: landing, signup, find my workspaces, go to a workspace."""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from frontend.forms import form_add_service_errors
from tenants.forms import FindWorkspacesForm, SignupForm, WorkspaceLoginForm
from tenants.mail import mail_enqueue
from tenants.models import Tenant
from tenants.selectors import workspaces_for_email
from tenants.services import public_url, tenant_signup, tenant_url

FIND_LIMIT = 5
FIND_WINDOW = 60 * 60


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "public/landing.html")


def signup(request: HttpRequest) -> HttpResponse:
    """Create an organisation and land, signed in, in its new workspace."""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = tenant_signup(**form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return HttpResponseRedirect(result.handover_url)
    return render(request, "public/signup.html", {"form": form})


def find_workspaces(request: HttpRequest) -> HttpResponse:
    """Email the list of someone's workspaces; the page says the same whether the address exists or not."""
    form = FindWorkspacesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        key = f"find-workspaces:{email}"
        cache.add(key, 0, FIND_WINDOW)
        if cache.incr(key) <= FIND_LIMIT:
            memberships = list(workspaces_for_email(email=email))
            if memberships:
                mail_enqueue(
                    to=[email],
                    subject=_("Your workspaces"),
                    template="public/email/workspaces.txt",
                    context={
                        "workspaces": [
                            {
                                "name": m.tenant.name,
                                "url": tenant_url(m.tenant.schema_name, "/accounts/login/"),
                            }
                            for m in memberships
                        ],
                        "site_url": public_url(),
                    },
                )
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


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "public/404.html", status=404)
