"""Thin HTML views: the partner portal (/partner-portal/) and the public directory (/partners/), bare domain."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from billing import gateway
from frontend.forms import form_add_service_errors
from marketplace.partners import choices, listing, selectors, services
from marketplace.partners.forms import (
    ContactForm,
    DirectoryFilterForm,
    InviteForm,
    PartnerCreateForm,
    PartnerSignupForm,
    ProfileForm,
    RoleForm,
)
from marketplace.partners.models import ListingPrice, Partner, PartnerMember
from marketplace.partners.permissions import (
    LEADS_VIEW,
    LISTING_MANAGE,
    PAYOUTS_MANAGE,
    PROFILE_CHANGE,
    PROFILE_VIEW,
    TEAM_MANAGE,
    TEAM_VIEW,
    WORKSPACES_OPEN,
    partner_perms,
)
from saas.http import client_ip
from saas.throttle import throttle_exceeded, throttle_hit
from tenants.login_throttle import login_blocked, login_failed
from tenants.services import handover_create, public_url, signup_attempt_allowed, tenant_url

PortalView = Callable[..., HttpResponseBase]
DIRECTORY_PAGE_SIZE = 20
CONTACT_LIMIT = 5  # messages per client address per hour
CONTACT_WINDOW = 60 * 60
PARTNER_LEADS_PER_DAY = 100  # per partner, whatever the addresses (a distributed flood)


def _login_url(request: HttpRequest) -> str:
    return f"{reverse('partner_portal:login')}?next={request.get_full_path()}"


def portal_view(perm: str) -> Callable[[PortalView], PortalView]:
    """Signed-in members of the partner at <slug> whose role grants `perm`; strangers get 404, others 403."""

    def decorate(view: PortalView) -> PortalView:
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect(_login_url(request))
            pm = selectors.access_partner_member(user=request.user, slug=slug)
            if pm is None:
                raise Http404
            if perm not in partner_perms(pm):
                raise PermissionDenied
            return view(request, pm, *args, **kwargs)

        return wrapper

    return decorate


def _ctx(pm: PartnerMember, tab: str, **extra: Any) -> dict[str, Any]:
    return {"pm": pm, "partner": pm.partner, "perms": partner_perms(pm), "tab": tab, **extra}


# Entry, signup, sign-in ----------------------------------------------------------------------------


def portal_index(request: HttpRequest) -> HttpResponse:
    """Visitors see what the portal is; signed-in people see their partners (or go straight to the only one)."""
    if not request.user.is_authenticated:
        return render(request, "partners/portal/landing.html")
    memberships = list(selectors.partner_memberships(user=request.user))
    if len(memberships) == 1 and not request.GET.get("all"):
        return redirect("partner_portal:dashboard", slug=memberships[0].partner.slug)
    return render(request, "partners/portal/choose.html", {"memberships": memberships})


def portal_signup(request: HttpRequest) -> HttpResponse:
    """Become a partner: a new identity and partner, or a partner for the signed-in identity."""
    signed_in = request.user.is_authenticated
    form: forms.Form = (PartnerCreateForm if signed_in else PartnerSignupForm)(request.POST or None)
    if request.method == "POST" and not signup_attempt_allowed(client_ip=client_ip(request)):
        form.is_valid()
        form.add_error(None, _("Too many signups from your address. Please try again in an hour."))
        return render(request, "partners/portal/signup.html", {"form": form, "signed_in": signed_in}, status=429)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if signed_in:
                partner = services.partner_create(user=request.user, name=data["partner_name"], slug=data["slug"])  # type: ignore[arg-type]
            else:
                result = services.partner_signup(**data)
                login(request, result.user, backend="tenants.auth.EmailBackend")
                partner = result.partner
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Welcome! Complete your profile to appear well in the directory."))
            return redirect("partner_portal:profile", slug=partner.slug)
    return render(request, "partners/portal/signup.html", {"form": form, "signed_in": signed_in})


class PortalLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=gettext_lazy("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


def portal_login(request: HttpRequest) -> HttpResponse:
    """Sign in on the bare domain with the global identity (same failure limit as workspace sign-ins)."""
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("partner_portal:index")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}) or not next_url.startswith(
        "/"
    ):
        next_url = reverse("partner_portal:index")
    form = PortalLoginForm(request, data=request.POST or None)
    if request.method == "POST":
        email = (request.POST.get("username") or "").strip()
        if login_blocked(client_ip=client_ip(request), email=email):
            form.is_valid()
            form.errors.clear()
            form.add_error(None, _("Too many failed sign-in attempts. Please wait 15 minutes and try again."))
            return render(request, "partners/portal/login.html", {"form": form, "next": next_url}, status=429)
        if form.is_valid():
            login(request, form.get_user(), backend="tenants.auth.EmailBackend")
            return HttpResponseRedirect(next_url)
        login_failed(client_ip=client_ip(request), email=email)
    return render(request, "partners/portal/login.html", {"form": form, "next": next_url})


@require_POST
def portal_logout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("partner_portal:index")


def invitation_accept(request: HttpRequest, key: str) -> HttpResponse:
    """Join a partner team: sign in (or create an account) with the invited address, then accept."""
    invitation = services.partner_invitation_get_pending(key=key)
    if invitation is None:
        return render(request, "partners/portal/invitation_invalid.html", status=404)
    error = ""
    if request.method == "POST" and request.user.is_authenticated:
        try:
            services.partner_invitation_accept(key=key, user=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("You joined %(name)s.") % {"name": invitation.partner.name})
            return redirect("partner_portal:dashboard", slug=invitation.partner.slug)
    return render(request, "partners/portal/invitation.html", {"invitation": invitation, "error": error, "key": key})


# Partner pages ---------------------------------------------------------------------------------


@portal_view(PROFILE_VIEW)
def dashboard(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    partner = pm.partner
    return render(
        request,
        "partners/portal/dashboard.html",
        _ctx(
            pm,
            "dashboard",
            unread=selectors.partner_leads(partner=partner).filter(read_at__isnull=True).count(),
            workspaces=selectors.partner_accesses(partner=partner).count(),
            payments=gateway.is_configured(),
        ),
    )


def _profile_initial(partner: Partner) -> dict[str, Any]:
    return {
        "name": partner.name,
        "website": partner.website,
        "description": partner.description,
        "countries": partner.countries,
        "regions": partner.regions,
        "languages": partner.languages,
        "services": partner.services,
        "industries": partner.industries,
        "certifications": "\n".join(partner.certifications),
    }


@portal_view(PROFILE_VIEW)
def profile(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    """Everyone in the team sees the profile; owners and sales edit it."""
    can_edit = PROFILE_CHANGE in partner_perms(pm)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                # Check the logo first: a bad image must not leave half the profile saved.
                upload: UploadedFile | None = data.get("logo")
                if upload:
                    services.logo_clean(upload)
                    upload.seek(0)
                partner = services.partner_profile_update(
                    actor=pm,
                    partner=pm.partner,
                    name=data["name"],
                    website=data["website"],
                    description=data["description"],
                    countries=data["countries"],
                    regions=data["regions"],
                    languages=data["languages"],
                    services=data["services"],
                    industries=data["industries"],
                    certifications=data["certifications"],
                )
                if upload:
                    services.partner_logo_set(actor=pm, partner=partner, upload=upload)
                elif data.get("remove_logo"):
                    services.partner_logo_remove(actor=pm, partner=partner)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("Profile saved."))
                return redirect("partner_portal:profile", slug=pm.partner.slug)
    else:
        form = ProfileForm(initial=_profile_initial(pm.partner))
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "partners/portal/profile.html", _ctx(pm, "profile", form=form, can_edit=can_edit))


@portal_view(TEAM_VIEW)
def team(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    can_manage = TEAM_MANAGE in partner_perms(pm)
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.partner_invitation_create(actor=pm, partner=pm.partner, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
                return redirect("partner_portal:team", slug=pm.partner.slug)
    return render(
        request,
        "partners/portal/team.html",
        _ctx(
            pm,
            "team",
            form=form,
            can_manage=can_manage,
            members=selectors.partner_team(partner=pm.partner),
            invitations=selectors.partner_invitations_pending(partner=pm.partner) if can_manage else [],
            role_choices=RoleForm.base_fields["role"].choices,  # type: ignore[attr-defined]
        ),
    )


def _team_target(pm: PartnerMember, member_id: int) -> PartnerMember:
    target = PartnerMember.objects.select_related("partner", "user").filter(partner=pm.partner, pk=member_id).first()
    if target is None:
        raise Http404
    return target


@require_POST
@portal_view(TEAM_MANAGE)
def team_role(request: HttpRequest, pm: PartnerMember, member_id: int) -> HttpResponse:
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Choose owner, developer or sales."))
        services.partner_member_set_role(actor=pm, member=_team_target(pm, member_id), role=form.cleaned_data["role"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Role changed."))
    return redirect("partner_portal:team", slug=pm.partner.slug)


@require_POST
@portal_view(TEAM_MANAGE)
def team_remove(request: HttpRequest, pm: PartnerMember, member_id: int) -> HttpResponse:
    try:
        services.partner_member_remove(actor=pm, member=_team_target(pm, member_id))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Removed from the team."))
    return redirect("partner_portal:team", slug=pm.partner.slug)


@require_POST
@portal_view(TEAM_MANAGE)
def invitation_revoke(request: HttpRequest, pm: PartnerMember, invitation_id: int) -> HttpResponse:
    invitation = pm.partner.invitations.filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404
    services.partner_invitation_revoke(actor=pm, invitation=invitation)
    messages.success(request, _("Invitation withdrawn."))
    return redirect("partner_portal:team", slug=pm.partner.slug)


@portal_view(LEADS_VIEW)
def leads(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    page = Paginator(selectors.partner_leads(partner=pm.partner), 25).get_page(request.GET.get("page"))
    return render(request, "partners/portal/leads.html", _ctx(pm, "leads", page=page))


@portal_view(LEADS_VIEW)
def lead_detail(request: HttpRequest, pm: PartnerMember, lead_id: int) -> HttpResponse:
    lead = selectors.partner_lead_get(partner=pm.partner, lead_id=lead_id)
    if lead is None:
        raise Http404
    services.partner_lead_mark_read(actor=pm, lead=lead)
    country = dict(choices.country_choices()).get(lead.country, "")
    return render(request, "partners/portal/lead.html", _ctx(pm, "leads", lead=lead, country=country))


@portal_view(LISTING_MANAGE)
def listing_page(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    """The authorised listing: state, prices, subscribe through Stripe Checkout, manage on Stripe's portal."""
    partner = pm.partner
    if request.method == "POST":
        here = public_url(reverse("partner_portal:listing", args=[partner.slug]))
        try:
            if request.POST.get("action") == "portal":
                return HttpResponseRedirect(listing.listing_portal_url(actor=pm, partner=partner, return_url=here))
            price = ListingPrice.objects.filter(pk=_int(request.POST.get("price")), is_active=True).first()
            if price is None:
                raise ValidationError(_("Choose one of the prices."))
            url = listing.listing_checkout_start(
                actor=pm, partner=partner, price=price, success_url=f"{here}?paid=1", cancel_url=here
            )
            return HttpResponseRedirect(url)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except gateway.PaymentsNotConfigured:
            messages.error(request, _("Payments are not configured on this platform yet."))
        except gateway.GatewayError as exc:
            messages.error(request, _("Stripe could not be reached: %(error)s") % {"error": exc})
        return redirect("partner_portal:listing", slug=partner.slug)
    return render(
        request,
        "partners/portal/listing.html",
        _ctx(
            pm,
            "listing",
            prices=selectors.listing_prices(),
            payments=gateway.is_configured(),
            just_paid=bool(request.GET.get("paid")),
        ),
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


@require_POST
@portal_view(PAYOUTS_MANAGE)
def connect_start(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    """Open Stripe's Express onboarding for the partner's connected account."""
    slug = pm.partner.slug
    try:
        url = listing.partner_connect_onboarding_start(
            actor=pm,
            partner=pm.partner,
            refresh_url=public_url(reverse("partner_portal:dashboard", args=[slug])),
            return_url=public_url(reverse("partner_portal:connect_return", args=[slug])),
        )
    except gateway.PaymentsNotConfigured:
        messages.error(request, _("Payments are not configured on this platform yet."))
    except gateway.GatewayError as exc:
        messages.error(request, _("Stripe could not be reached: %(error)s") % {"error": exc})
    else:
        return HttpResponseRedirect(url)
    return redirect("partner_portal:dashboard", slug=slug)


@portal_view(PAYOUTS_MANAGE)
def connect_return(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    try:
        partner = listing.partner_connect_refresh(partner=pm.partner)
    except (gateway.PaymentsNotConfigured, gateway.GatewayError):
        messages.error(request, _("Could not read your Stripe account state; try again later."))
    else:
        if partner.stripe_details_submitted:
            messages.success(request, _("Your Stripe account is connected."))
        else:
            messages.info(request, _("Stripe still needs some details: continue the onboarding when you can."))
    return redirect("partner_portal:dashboard", slug=pm.partner.slug)


@portal_view(WORKSPACES_OPEN)
def workspaces(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    return render(
        request,
        "partners/portal/workspaces.html",
        _ctx(pm, "workspaces", accesses=selectors.partner_accesses(partner=pm.partner)),
    )


@require_POST
@portal_view(WORKSPACES_OPEN)
def workspace_open(request: HttpRequest, pm: PartnerMember, access_id: int) -> HttpResponse:
    """Go to a workspace that granted access, signed in there (a one-minute single-use hand-over)."""
    access = selectors.partner_accesses(partner=pm.partner).filter(pk=access_id).first()
    if access is None:
        raise Http404
    key = handover_create(user=pm.user, tenant=access.tenant)
    return HttpResponseRedirect(tenant_url(access.tenant.schema_name, f"/auth/handover/{key}/"))


# Public directory ------------------------------------------------------------------------------


def directory(request: HttpRequest) -> HttpResponse:
    form = DirectoryFilterForm(request.GET or None)
    filters = selectors.DirectoryFilters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.DirectoryFilters(
            q=data["q"].strip(),
            country=data["country"],
            language=data["language"],
            service=data["service"],
            industry=data["industry"],
            authorised_only=bool(data["authorised"]),
        )
    result = selectors.directory_list(filters=filters)
    page = Paginator(result.partners, DIRECTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "partners/directory/list.html",
        {
            "form": form,
            "page": page,
            "fuzzy": result.fuzzy,
            "query": query.urlencode(),
            "services": dict(choices.service_choices()),
        },
    )


def _contact_keys(request: HttpRequest) -> list[str]:
    return [f"partner-contact:ip:{client_ip(request)}"]


def _partner_key(partner: Partner) -> list[str]:
    return [f"partner-contact:partner:{partner.pk}"]


def directory_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A partner's public page with the contact form (rate-limited per address, honeypot and fill time)."""
    partner = selectors.directory_get(slug=slug)
    if partner is None:
        raise Http404
    form = ContactForm(request.POST or None)
    status = 200
    if request.method == "POST":
        blocked = throttle_exceeded(_contact_keys(request), limit=CONTACT_LIMIT)
        if not blocked:
            throttle_hit(_contact_keys(request), window=CONTACT_WINDOW)  # every attempt counts, good or bad
        if blocked:
            form.is_valid()
            form.add_error(None, _("Too many messages from your address. Please try again in an hour."))
            status = 429
        elif throttle_exceeded(_partner_key(partner), limit=PARTNER_LEADS_PER_DAY):
            form.is_valid()
            form.add_error(None, _("This partner cannot receive more messages today. Please try again tomorrow."))
            status = 429
        elif form.is_valid():
            if form.is_spam():
                # Said the same as a success, so a bot learns nothing; nothing is stored or sent.
                return redirect("partners:sent", slug=partner.slug)
            data = {k: v for k, v in form.cleaned_data.items() if k not in ("homepage", "started")}
            try:
                services.partner_lead_create(partner=partner, **data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
                status = 400
            else:
                throttle_hit(_partner_key(partner), window=24 * 60 * 60)
                return redirect("partners:sent", slug=partner.slug)
        else:
            status = 400
    context = {
        "partner": partner,
        "form": form,
        "countries": choices.labels(partner.countries, choices.country_choices()),
        "regions": choices.labels(partner.regions, choices.region_choices()),
        "languages": choices.labels(partner.languages, choices.language_choices()),
        "services": choices.labels(partner.services, choices.service_choices()),
        "industries": choices.labels(partner.industries, choices.industry_choices()),
    }
    return render(request, "partners/directory/detail.html", context, status=status)


def directory_sent(request: HttpRequest, slug: str) -> HttpResponse:
    partner = selectors.directory_get(slug=slug)
    if partner is None:
        raise Http404
    return render(request, "partners/directory/sent.html", {"partner": partner})


def partner_logo(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The stored logo (always a PNG we re-encoded), served as an image, never sniffed as anything else."""
    partner = Partner.objects.filter(slug=slug).first()
    # Public for a listed partner; before listing (or once hidden) only its own team sees it (portal).
    if partner is not None and not partner.is_listed:
        own = (
            request.user.is_authenticated and PartnerMember.objects.filter(partner=partner, user=request.user).exists()
        )
        partner = partner if own else None
    if partner is None or not partner.logo:
        raise Http404
    try:
        handle = partner.logo.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "public, max-age=300"
    return response
