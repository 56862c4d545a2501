"""Single sign-on pages on a workspace host: start, the OIDC callback, the SAML ACS and SP metadata, and
the administrators' settings page."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.sso import oidc, saml
from crm_apps.sso.forms import ProviderForm, SsoLinkForm, provider_initial
from crm_apps.sso.models import IdentityProvider, Protocol
from crm_apps.sso.services import (
    Identity,
    SsoLinkNeeded,
    SsoRefused,
    provider_delete,
    provider_enabled,
    provider_get,
    provider_save,
    sso_failed,
    sso_link_confirm,
    sso_login,
    sso_member_resolve,
)
from frontend.forms import form_add_service_errors
from saas.http import client_ip
from tenants.login_throttle import login_blocked, login_failed
from tenants.services import tenant_url

OIDC_FLOW_KEY = "sso_oidc_flow"
LINK_KEY = "sso_link_pending"  # the identity waiting for the existing member's password
LINK_TRIES = 5
SAML_FLOW_COOKIE = "kestrel_saml_flow"
FLOW_MAX_AGE = 600


def _base_url(request: HttpRequest) -> str:
    """The workspace's configured address (never the Host header): redirect URIs and entity ids use it."""
    return tenant_url(request.tenant.schema_name, "/")  # type: ignore[attr-defined]


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False):
        return value
    return reverse("home")


def _flow_salt(request: HttpRequest) -> str:
    return f"sso-saml-flow:{request.tenant.schema_name}"  # type: ignore[attr-defined]


@never_cache
def start(request: HttpRequest) -> HttpResponse:
    """ "Sign in with <provider>": off to the workspace's provider with a fresh state/nonce or request id."""
    provider = provider_enabled()
    if provider is None:
        raise Http404
    next_url = _safe_next(request, request.GET.get("next"))
    if provider.protocol == Protocol.OIDC:
        url, flow = oidc.flow_start(provider=provider, callback=oidc.redirect_uri(_base_url(request)))
        request.session[OIDC_FLOW_KEY] = {**flow, "next": next_url}
        return HttpResponseRedirect(url)
    url, flow = saml.flow_start(provider=provider, base_url=_base_url(request))
    response = HttpResponseRedirect(url)
    # The IdP answers with a cross-site POST, which a SameSite=Lax session cookie does not follow: the
    # request id rides in its own signed, host-only cookie bound to this workspace.
    secure = request.is_secure() or _base_url(request).startswith("https://")
    response.set_cookie(
        SAML_FLOW_COOKIE,
        signing.dumps({**flow, "next": next_url, "at": int(time.time())}, salt=_flow_salt(request)),
        max_age=FLOW_MAX_AGE,
        path="/sso/saml/",
        httponly=True,
        secure=secure,
        samesite="None" if secure else "Lax",
    )
    return response


def _refused(request: HttpRequest, exc: SsoRefused, *, identity: Identity | None, protocol: str) -> HttpResponse:
    sso_failed(identity=identity, protocol=protocol, reason=exc.reason)
    return render(request, "sso/refused.html", {"message": exc.message}, status=403)


def _finish(request: HttpRequest, provider: IdentityProvider, identity: Identity, next_url: str) -> HttpResponse:
    try:
        member = sso_member_resolve(provider=provider, tenant=request.tenant, identity=identity)  # type: ignore[attr-defined]
    except SsoRefused as exc:
        return _refused(request, exc, identity=identity, protocol=identity.protocol)
    except SsoLinkNeeded as exc:
        request.session[LINK_KEY] = {
            "member": exc.member.pk,
            "protocol": identity.protocol,
            "subject": identity.subject,
            "email": identity.email,
            "mfa": identity.mfa,
            "next": next_url,
            "at": int(time.time()),
            "tries": 0,
        }
        return redirect("sso:link")
    sso_login(request=request, provider=provider, member=member, identity=identity)
    return HttpResponseRedirect(next_url)


@never_cache
def link(request: HttpRequest) -> HttpResponse:
    """After a provider vouched for the email of an existing member who has a password: that member
    confirms with the password once, then the provider's subject is linked and the session opens."""
    provider = provider_enabled()
    pending = request.session.get(LINK_KEY)
    if provider is None or not pending or int(time.time()) - int(pending.get("at", 0)) > FLOW_MAX_AGE:
        request.session.pop(LINK_KEY, None)
        return redirect("access:login")
    member = Member.objects.select_related("user").filter(pk=pending["member"], active=True).first()
    if member is None:
        request.session.pop(LINK_KEY, None)
        return redirect("access:login")
    form = SsoLinkForm(request.POST or None)
    ip, email = client_ip(request), member.user.email
    if request.method == "POST" and form.is_valid() and login_blocked(client_ip=ip, email=email):
        form.add_error(None, _("Too many failed sign-in attempts; try again in 15 minutes."))
    elif request.method == "POST" and form.is_valid():
        if sso_link_confirm(member=member, subject=pending["subject"], password=form.cleaned_data["password"]):
            request.session.pop(LINK_KEY, None)
            identity = Identity(
                protocol=pending["protocol"],
                subject=pending["subject"],
                email=pending["email"],
                email_verified=True,
                mfa=pending.get("mfa", ""),
            )
            sso_login(request=request, provider=provider, member=member, identity=identity)
            return HttpResponseRedirect(_safe_next(request, pending.get("next")))
        login_failed(client_ip=ip, email=email)
        pending["tries"] = int(pending.get("tries", 0)) + 1
        sso_failed(identity=None, protocol=pending["protocol"], reason="link_password_wrong")
        if pending["tries"] >= LINK_TRIES:
            request.session.pop(LINK_KEY, None)
            return redirect("access:login")
        request.session[LINK_KEY] = pending
        form.add_error("password", _("That is not this account's password."))
    return render(
        request,
        "sso/link.html",
        {"form": form, "email": member.user.email, "provider": provider.name},
        status=400 if form.errors else 200,
    )


@never_cache
@require_GET
def oidc_callback(request: HttpRequest) -> HttpResponse:
    provider = provider_enabled()
    if provider is None or provider.protocol != Protocol.OIDC:
        raise Http404
    flow = request.session.pop(OIDC_FLOW_KEY, None)  # one answer per flow, whatever happens next
    try:
        identity = oidc.flow_finish(
            provider=provider, callback=oidc.redirect_uri(_base_url(request)), flow=flow, params=request.GET
        )
    except SsoRefused as exc:
        return _refused(request, exc, identity=None, protocol=Protocol.OIDC)
    return _finish(request, provider, identity, _safe_next(request, (flow or {}).get("next")))


@never_cache
@csrf_exempt  # the IdP's form posts here; the signed assertion and InResponseTo are the proof
@require_POST
def saml_acs(request: HttpRequest) -> HttpResponse:
    provider = provider_enabled()
    if provider is None or provider.protocol != Protocol.SAML:
        raise Http404
    try:
        flow = signing.loads(request.COOKIES.get(SAML_FLOW_COOKIE, ""), salt=_flow_salt(request), max_age=FLOW_MAX_AGE)
    except signing.BadSignature:
        flow = None
    try:
        identity = saml.flow_finish(
            provider=provider,
            base_url=_base_url(request),
            flow=flow,
            saml_response=request.POST.get("SAMLResponse", ""),
        )
    except SsoRefused as exc:
        response = _refused(request, exc, identity=None, protocol=Protocol.SAML)
    else:
        response = _finish(request, provider, identity, _safe_next(request, (flow or {}).get("next")))
    response.delete_cookie(SAML_FLOW_COOKIE, path="/sso/saml/")
    return response


@require_GET
def saml_metadata(request: HttpRequest) -> HttpResponse:
    """This workspace's service provider metadata, for the IdP's administrator."""
    try:
        xml = saml.sp_metadata(base_url=_base_url(request))
    except saml.MetadataError as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    return HttpResponse(xml, content_type="application/samlmetadata+xml")


def _protocol_values(
    request: HttpRequest, form: ProviderForm, provider: IdentityProvider | None
) -> dict[str, Any] | None:
    """The protocol fields to store: discovery fetched, metadata read and parsed; form errors otherwise."""
    data = form.cleaned_data
    values: dict[str, Any] = {}
    if data["protocol"] == Protocol.OIDC:
        values["oidc_discovery_url"] = data["oidc_discovery_url"]
        values["oidc_client_id"] = data["oidc_client_id"].strip()
        if data["oidc_discovery_url"]:
            try:
                values.update(oidc.discovery_fetch(data["oidc_discovery_url"]))
            except oidc.DiscoveryError as exc:
                form.add_error("oidc_discovery_url", str(exc))
                return None
        else:
            for field in ("oidc_issuer", "oidc_authorization_endpoint", "oidc_token_endpoint", "oidc_jwks_uri"):
                values[field] = data[field].strip()
        return values
    upload = data.get("saml_metadata_file")
    url = data["saml_metadata_url"]
    xml = ""
    try:
        if upload is not None:
            if upload.size > saml.METADATA_MAX_BYTES:
                raise saml.MetadataError(_("The metadata is larger than 1 MB."))
            xml = upload.read().decode("utf-8", errors="replace")
        elif url and (provider is None or url != provider.saml_metadata_url or not provider.saml_metadata_xml):
            xml = saml.metadata_fetch(url)
        if xml:
            values["saml_entity_id"] = saml.metadata_parse(xml=xml, base_url=_base_url(request))
            values["saml_metadata_xml"] = xml
    except saml.MetadataError as exc:
        form.add_error("saml_metadata_file" if upload is not None else "saml_metadata_url", str(exc))
        return None
    values["saml_metadata_url"] = url
    return values


@admin_view
def settings_page(request: HttpRequest, actor: Member) -> HttpResponse:
    provider = provider_get()
    form = ProviderForm(
        request.POST or None, request.FILES or None, initial=provider_initial(provider), provider=provider
    )
    if request.method == "POST" and form.is_valid():
        protocol_values = _protocol_values(request, form, provider)
        if protocol_values is not None:
            data = form.cleaned_data
            values = {
                "protocol": data["protocol"],
                "name": data["name"].strip(),
                "enabled": data["enabled"],
                "jit_enabled": data["jit_enabled"],
                "jit_role": data["jit_role"],
                "allowed_domains": data["allowed_domains"],
                "sso_only": data["sso_only"],
                "break_glass": data["break_glass"],
                **protocol_values,
            }
            try:
                provider_save(actor=actor, values=values, client_secret=data["client_secret"])
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("Single sign-on settings saved."))
                return redirect("sso:settings")
    base = _base_url(request)
    return render(
        request,
        "sso/settings.html",
        {
            "form": form,
            "provider": provider,
            "redirect_uri": oidc.redirect_uri(base),
            "sp_entity_id": saml.sp_entity_id(base),
            "sp_acs_url": saml.sp_acs_url(base),
        },
        status=400 if request.method == "POST" else 200,
    )


@admin_view
@require_POST
def settings_remove(request: HttpRequest, actor: Member) -> HttpResponse:
    provider_delete(actor=actor)
    messages.success(request, _("Single sign-on was removed."))
    return redirect("sso:settings")
