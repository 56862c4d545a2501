"""Partner portal pages for OAuth apps (bare domain, /partner-portal/<slug>/apps/...): register an app,
see its client id and review state, rotate its secret (shown once), submit new redirect URIs and scopes."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from marketplace.apps import sandbox, selectors, services
from marketplace.apps.forms import AppForm, SandboxForm, VersionForm
from marketplace.apps.models import App, InstallationState
from marketplace.apps.scopes import scope_descriptions
from marketplace.apps.usage import app_usage
from marketplace.catalog.models import Listing
from marketplace.partners.models import PartnerMember
from marketplace.partners.permissions import EXTENSIONS_MANAGE
from marketplace.partners.views import _ctx, portal_view
from tenants.services import tenant_url

USAGE_DAYS = 30


def _form_errors(form: AppForm | VersionForm | SandboxForm, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _app(pm: PartnerMember, app_id: int) -> App:
    app = selectors.access_app(pm=pm, app_id=app_id)
    if app is None:
        raise Http404
    return app


def _detail(request: HttpRequest, pm: PartnerMember, app: App, **extra: object) -> HttpResponse:
    latest = app.versions.order_by("-number").first()
    initial = {"redirect_uris": "\n".join(latest.redirect_uris), "scopes": latest.scopes} if latest else {}
    form = extra.pop("form", None) or VersionForm(initial=initial)
    installs = app.installations.filter(state=InstallationState.INSTALLED).count()
    return render(
        request,
        "marketplace/apps/portal_app.html",
        _ctx(
            pm,
            "apps",
            app=app,
            versions=app.versions.order_by("-number"),
            scope_lines=scope_descriptions(app.scopes),
            installs=installs,
            usage=app_usage(app=app, days=USAGE_DAYS),
            days=USAGE_DAYS,
            form=form,
            **extra,
        ),
    )


@never_cache
@portal_view(EXTENSIONS_MANAGE)
def apps(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    """The partner's apps and a form to register one (its secret is shown once, on the next page)."""
    listings = list(Listing.objects.filter(partner=pm.partner).order_by("name").values_list("pk", "name"))
    form = AppForm(request.POST or None, listings=listings)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            app, secret = services.app_register(
                pm=pm,
                name=data["name"],
                description=data.get("description") or "",
                redirect_uris=form.uris(),
                scopes=data["scopes"],
                listing_id=data.get("listing"),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("App registered. Its first version is waiting for review."))
            return _detail(request, pm, app, secret=secret)
    items = selectors.app_list_for_partner(pm=pm)
    return render(request, "marketplace/apps/portal_apps.html", _ctx(pm, "apps", apps=items, form=form))


@never_cache
@portal_view(EXTENSIONS_MANAGE)
def app_detail(request: HttpRequest, pm: PartnerMember, app_id: int) -> HttpResponse:
    """Client id, state, versions; a new version of redirect URIs and scopes goes to review."""
    app = _app(pm, app_id)
    if request.method == "POST":
        form = VersionForm(request.POST)
        if form.is_valid():
            try:
                services.app_version_submit(
                    pm=pm, app=app, redirect_uris=form.uris(), scopes=form.cleaned_data["scopes"]
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Version submitted for review."))
                return redirect("partner_apps:app", slug=pm.partner.slug, app_id=app.pk)
        return _detail(request, pm, app, form=form)
    return _detail(request, pm, app)


@never_cache
@require_POST
@portal_view(EXTENSIONS_MANAGE)
def secret_rotate(request: HttpRequest, pm: PartnerMember, app_id: int) -> HttpResponse:
    """A new client secret, shown on this response only; the old one stops working."""
    app = _app(pm, app_id)
    secret = services.app_secret_rotate(pm=pm, app=app)
    messages.success(request, _("New client secret created; the old one no longer works."))
    return _detail(request, pm, app, secret=secret)


@never_cache
@portal_view(EXTENSIONS_MANAGE)
def sandboxes(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    """The partner's development workspaces, and a form to create one (the member becomes its admin)."""
    form = SandboxForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = sandbox.sandbox_create(pm=pm, name=form.cleaned_data["name"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Sandbox %(name)s created; you are its administrator.") % {"name": tenant.name})
            return redirect("partner_apps:sandboxes", slug=pm.partner.slug)
    items = [(item, tenant_url(item.tenant.schema_name)) for item in sandbox.sandbox_list(pm=pm)]
    return render(
        request,
        "marketplace/apps/portal_sandboxes.html",
        _ctx(pm, "sandboxes", sandboxes=items, form=form, limit=sandbox.SANDBOX_LIMIT),
        status=400 if form.errors else 200,
    )
