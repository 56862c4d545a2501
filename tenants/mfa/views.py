"""The MFA pages, the same on a workspace host and on the public host (partner portal, console):
the security page (/mfa/), TOTP enrolment, security keys, recovery codes, remembered devices and the
second-factor challenge. Events go out through `mfa_event` (the workspace's audit trail listens)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from saas.http import client_ip
from tenants.login_throttle import login_blocked, login_failed
from tenants.mfa import services
from tenants.mfa.forms import ChallengeForm, ConfirmIdentityForm, TotpConfirmForm
from tenants.mfa.signals import mfa_event
from tenants.mfa.state import (
    CHALLENGE,
    ENROL,
    NONE,
    mark_verified,
    need_get,
    policy_requires,
    request_scope,
    sso_reauth_required,
)

CHALLENGE_KEY = "mfa_webauthn_auth"
REGISTER_KEY = "mfa_webauthn_register"
TOO_MANY = gettext_lazy("Too many wrong codes. Please wait 15 minutes and try again.")


def _user(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def _login_url(request: HttpRequest) -> str:
    return reverse("partner_portal:login") if request_scope(request) == "public" else reverse("access:login")


def _signed_in(view: Any) -> Any:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _user(request) is None:
            return redirect_to_login(request.get_full_path(), _login_url(request))
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


SSO_REAUTH = gettext_lazy(
    "You signed in with single sign-on. To change your account's security settings, sign out and sign in "
    "with your password."
)


def _password_session(view: Any) -> Any:
    """Changing the account's factors needs a session opened with its password: a workspace's single
    sign-on provider is configured by that workspace's administrators (tenants.mfa.state)."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if sso_reauth_required(request):
            if view.__name__ in ("key_options", "key_register"):
                return JsonResponse({"detail": str(SSO_REAUTH)}, status=403)
            messages.error(request, str(SSO_REAUTH))
            return redirect("mfa:index")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return "/"
    return target


def _event(request: HttpRequest, action: str, **details: Any) -> None:
    mfa_event.send(sender=None, request=request, user=request.user, action=action, details=details)


def _origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _throttled(request: HttpRequest) -> bool:
    return login_blocked(client_ip=client_ip(request), email=request.user.email)  # type: ignore[union-attr]


def _failed(request: HttpRequest, method: str) -> None:
    login_failed(client_ip=client_ip(request), email=request.user.email)  # type: ignore[union-attr]
    _event(request, "failed", method=method)


def _identity_ok(request: HttpRequest, secret: str) -> bool:
    """A current code (authenticator or recovery) or the account password."""
    user = request.user
    if user.check_password(secret):
        return True
    return services.code_verify(user=user, code=secret) is not None  # type: ignore[arg-type]


def _after_enrolment(request: HttpRequest, need_before: str) -> None:
    """A session that had to enrol is let through once its first factor is set up (and counts as just
    verified). Adding a factor in any other session proves nothing about the existing ones."""
    if need_before == ENROL:
        mark_verified(request, request.user)  # type: ignore[arg-type]


@_signed_in
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    need = need_get(request, user)  # type: ignore[arg-type]
    if need == CHALLENGE:
        return redirect(f"{reverse('mfa:challenge')}?next={reverse('mfa:index')}")
    context = {
        **services.user_factors(user),  # type: ignore[arg-type]
        "devices": services.remembered_devices(user=user),  # type: ignore[arg-type]
        "must_enrol": need == ENROL,
        "scope": request_scope(request),
        "identity_form": ConfirmIdentityForm(),
    }
    return render(request, "mfa/index.html", context)


@_signed_in
@_password_session
def totp_setup(request: HttpRequest) -> HttpResponse:
    """GET: a new secret and its QR code; POST: confirm it with a code (recovery codes shown once)."""
    user = request.user
    need_before = need_get(request, user)  # type: ignore[arg-type]
    if need_before == CHALLENGE:
        return redirect("mfa:challenge")
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _throttled(request):
            form.add_error(None, str(TOO_MANY))
        else:
            try:
                codes = services.totp_confirm(user=user, code=form.cleaned_data["code"])  # type: ignore[arg-type]
            except ValidationError as exc:
                _failed(request, "totp")
                for message in exc.message_dict.get("code", exc.messages):
                    form.add_error("code", message)
            else:
                _event(request, "totp_added")
                _after_enrolment(request, need_before)
                messages.success(request, _("Your authenticator app is set up."))
                if codes:
                    return render(request, "mfa/recovery_codes.html", {"codes": codes, "next": _next(request)})
                return redirect("mfa:index")
        device = services.TotpDevice.objects.filter(user=user.pk, confirmed_at__isnull=True).first()
    else:
        try:
            device = services.totp_begin(user=user)  # type: ignore[arg-type]
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("mfa:index")
    if device is None:
        return redirect("mfa:totp")
    uri = services.totp_uri(device)
    return render(
        request,
        "mfa/totp_setup.html",
        {"form": form, "qr": services.qr_svg(uri), "secret": device.secret, "next": _next(request)},
    )


def _confirm_identity(request: HttpRequest) -> bool:
    form = ConfirmIdentityForm(request.POST)
    if _throttled(request):
        messages.error(request, str(TOO_MANY))
        return False
    if not form.is_valid() or not _identity_ok(request, form.cleaned_data["secret"]):
        _failed(request, "confirm")
        messages.error(request, _("That is not a current code nor your password. Nothing was changed."))
        return False
    return True


def _last_factor_kept(request: HttpRequest) -> bool:
    """Refuse to remove the only factor where one is required (the workspace's rule, operators)."""
    user = request.user
    count = services.TotpDevice.objects.filter(user=user.pk, confirmed_at__isnull=False).count()
    count += services.WebAuthnCredential.objects.filter(user=user.pk).count()
    if count <= 1 and policy_requires(request, user):  # type: ignore[arg-type]
        messages.error(
            request, _("Two-factor authentication is required here: add another factor before removing this one.")
        )
        return True
    return False


@require_POST
@_signed_in
@_password_session
def totp_remove(request: HttpRequest) -> HttpResponse:
    if _last_factor_kept(request):
        return redirect("mfa:index")
    if _confirm_identity(request) and services.totp_remove(user=request.user):  # type: ignore[arg-type]
        _event(request, "totp_removed")
        messages.success(request, _("The authenticator app was removed."))
    return redirect("mfa:index")


@require_POST
@_signed_in
@_password_session
def recovery_regenerate(request: HttpRequest) -> HttpResponse:
    if need_get(request, request.user) != NONE:  # type: ignore[arg-type]
        return redirect("mfa:index")
    if not services.user_has_factor(request.user):  # type: ignore[arg-type]
        messages.error(request, _("Set up an authenticator app or a security key first."))
        return redirect("mfa:index")
    if not _confirm_identity(request):
        return redirect("mfa:index")
    codes = services.recovery_codes_generate(user=request.user)  # type: ignore[arg-type]
    _event(request, "recovery_regenerated")
    return render(request, "mfa/recovery_codes.html", {"codes": codes, "next": reverse("mfa:index")})


@require_POST
@_signed_in
@_password_session
def key_options(request: HttpRequest) -> HttpResponse:
    """Registration options for the browser (the challenge is kept in the session)."""
    if need_get(request, request.user) == CHALLENGE:  # type: ignore[arg-type]
        return JsonResponse({"detail": _("Verify your second factor first.")}, status=403)
    options, challenge = services.webauthn_registration_options(user=request.user, host=request.get_host())  # type: ignore[arg-type]
    request.session[REGISTER_KEY] = challenge.hex()
    return HttpResponse(options, content_type="application/json")


@require_POST
@_signed_in
@_password_session
def key_register(request: HttpRequest) -> HttpResponse:
    need_before = need_get(request, request.user)  # type: ignore[arg-type]
    if need_before == CHALLENGE:
        return JsonResponse({"detail": _("Verify your second factor first.")}, status=403)
    challenge = request.session.pop(REGISTER_KEY, None)
    if not challenge:
        return JsonResponse({"errors": {"credential": [_("Start again: the request expired.")]}}, status=400)
    try:
        key = services.webauthn_register(
            user=request.user,  # type: ignore[arg-type]
            name=request.POST.get("name", ""),
            credential=request.POST.get("credential", "")[:20000],
            challenge=bytes.fromhex(challenge),
            origin=_origin(request),
            host=request.get_host(),
        )
    except ValidationError as exc:
        return JsonResponse({"errors": exc.message_dict}, status=400)
    _event(request, "key_added", name=key.name)
    codes = []
    if not services.RecoveryCode.objects.filter(user=request.user.pk, used_at__isnull=True).exists():
        codes = services.recovery_codes_generate(user=request.user)  # type: ignore[arg-type]
    _after_enrolment(request, need_before)
    if codes:
        request.session["mfa_codes_once"] = codes
    return JsonResponse({"redirect": reverse("mfa:codes_once") if codes else reverse("mfa:index")})


@_signed_in
def codes_once(request: HttpRequest) -> HttpResponse:
    """The recovery codes made with a first security key, shown once."""
    codes = request.session.pop("mfa_codes_once", None)
    if not codes:
        return redirect("mfa:index")
    return render(request, "mfa/recovery_codes.html", {"codes": codes, "next": reverse("mfa:index")})


@require_POST
@_signed_in
@_password_session
def key_remove(request: HttpRequest, key_id: int) -> HttpResponse:
    if _last_factor_kept(request):
        return redirect("mfa:index")
    if _confirm_identity(request):
        key = services.webauthn_remove(user=request.user, key_id=key_id)  # type: ignore[arg-type]
        if key is not None:
            _event(request, "key_removed", name=key.name)
            messages.success(request, _("The security key “%(name)s” was removed.") % {"name": key.name})
    return redirect("mfa:index")


@require_POST
@_signed_in
def device_revoke(request: HttpRequest, device_id: int) -> HttpResponse:
    if services.remember_revoke(user=request.user, device_id=device_id):  # type: ignore[arg-type]
        _event(request, "device_revoked")
        messages.success(request, _("That device will be asked for a second factor again."))
    return redirect(reverse("mfa:index") + "#devices")


@require_POST
@_signed_in
def devices_revoke_all(request: HttpRequest) -> HttpResponse:
    if services.remember_revoke(user=request.user):  # type: ignore[arg-type]
        _event(request, "device_revoked", all=True)
        messages.success(request, _("Every remembered device will be asked for a second factor again."))
    return redirect(reverse("mfa:index") + "#devices")


@_signed_in
def challenge(request: HttpRequest) -> HttpResponse:
    """Ask for the second factor: an authenticator code, a recovery code or a security key. Also the
    step-up check before creating an API token (a session that already passed one)."""
    user = request.user
    if not services.user_has_factor(user):  # type: ignore[arg-type]
        return redirect("mfa:index")
    form = ChallengeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if _throttled(request):
            form.add_error(None, str(TOO_MANY))
            status = 429
        else:
            method = services.code_verify(user=user, code=form.cleaned_data["code"])  # type: ignore[arg-type]
            if method is None:
                _failed(request, "code")
                form.add_error("code", _("That code is not right, or it was already used."))
            else:
                return _finish(request, method, remember=form.cleaned_data["remember"])
    has_keys = services.WebAuthnCredential.objects.filter(user=user.pk).exists()
    has_totp = services.TotpDevice.objects.filter(user=user.pk, confirmed_at__isnull=False).exists()
    return render(
        request,
        "mfa/challenge.html",
        {"form": form, "next": _next(request), "has_keys": has_keys, "has_totp": has_totp},
        status=status,
    )


def _finish(request: HttpRequest, method: str, *, remember: bool) -> HttpResponse:
    user = request.user
    mark_verified(request, user)  # type: ignore[arg-type]
    _event(request, "verified", method=method)
    response: HttpResponse = HttpResponseRedirect(_next(request))
    if remember:
        value = services.remember_issue(
            user=user,  # type: ignore[arg-type]
            scope=request_scope(request),
            label=request.headers.get("User-Agent", "")[:120],
        )
        response.set_cookie(
            services.REMEMBER_COOKIE,
            value,
            max_age=services.REMEMBER_DAYS * 24 * 3600,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response


@require_POST
@_signed_in
def challenge_key_options(request: HttpRequest) -> HttpResponse:
    options, challenge_bytes = services.webauthn_authentication_options(user=request.user, host=request.get_host())  # type: ignore[arg-type]
    request.session[CHALLENGE_KEY] = challenge_bytes.hex()
    return HttpResponse(options, content_type="application/json")


@require_POST
@_signed_in
def challenge_key(request: HttpRequest) -> HttpResponse:
    """Check a security key's signature of this session's challenge; JSON {redirect} or a 4xx error."""
    if _throttled(request):
        return JsonResponse({"errors": {"credential": [str(TOO_MANY)]}}, status=429)
    stored = request.session.pop(CHALLENGE_KEY, None)
    key = None
    if stored:
        key = services.webauthn_authenticate(
            user=request.user,  # type: ignore[arg-type]
            credential=request.POST.get("credential", "")[:20000],
            challenge=bytes.fromhex(stored),
            origin=_origin(request),
            host=request.get_host(),
        )
    if key is None:
        _failed(request, "key")
        return JsonResponse(
            {"errors": {"credential": [_("The security key was not accepted. Try again.")]}}, status=400
        )
    response = _finish(request, "key", remember=request.POST.get("remember") == "on")
    result = JsonResponse({"redirect": response["Location"]})
    for morsel in response.cookies.values():
        result.cookies[morsel.key] = morsel
    return result
