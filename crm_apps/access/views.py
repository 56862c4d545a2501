"""Tenant-host pages for signing in and managing members, profile and API tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm_apps.access.forms import (
    AcceptInvitationExistingForm,
    AcceptInvitationForm,
    ApiTokenForm,
    InviteForm,
    MemberLoginForm,
    MemberPasswordResetForm,
    ProfileForm,
)
from crm_apps.access.login_policy import password_signin_refusal
from crm_apps.access.mfa import token_creation_allowed
from crm_apps.access.middleware import SESSION_EPOCH_KEY, member_login, request_member
from crm_apps.access.models import Invitation, Member, Role
from crm_apps.access.privileges import Privilege
from crm_apps.access.selectors import (
    access_member,
    api_token_list,
    invitation_pending_list,
    member_list,
)
from crm_apps.access.services import (
    api_token_create,
    api_token_revoke,
    invitation_accept,
    invitation_create,
    invitation_get_pending,
    invitation_revoke,
    member_deactivate,
    member_reactivate,
    member_set_admin,
    member_set_role,
    member_update_profile,
)
from crm_apps.access.sessions import (
    device_label,
    member_sessions,
    session_record,
    session_rekey,
    session_revoke,
    sessions_end_others,
)
from crm_apps.access.visibility import has_privilege
from crm_apps.audit.services import LOGIN_FAILED, LOGIN_SUCCEEDED, audit_log
from frontend.forms import form_add_service_errors
from saas.http import client_ip
from tenants.login_throttle import login_blocked, login_failed
from tenants.mfa.state import sso_reauth_required
from tenants.models import User
from tenants.services import handover_consume, tenant_url

MEMBER_ACTIONS = frozenset({"deactivate", "reactivate", "make-admin", "remove-admin", "set-role"})


class LoginView(auth_views.LoginView):
    """Sign-in with a per-address and per-email failure limit (counted per tenant)."""

    form_class = MemberLoginForm
    template_name = "access/login.html"
    redirect_authenticated_user = True

    def _email(self) -> str:
        return (self.request.POST.get("username") or "").strip()

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if login_blocked(client_ip=client_ip(request), email=self._email()):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, _("Too many failed sign-in attempts. Please wait 15 minutes and try again."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        member = Member.objects.get(user_id=form.get_user().pk)
        self.request.session[SESSION_EPOCH_KEY] = member.session_epoch
        session_record(self.request, member)
        audit_log(action=LOGIN_SUCCEEDED, actor=member, actor_label=form.get_user().email, details={"via": "web"})
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        login_failed(client_ip=client_ip(self.request), email=self._email())
        audit_log(action=LOGIN_FAILED, details={"via": "web", "email": self._email()[:254]})
        return super().form_invalid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, which keeps this session; the member's other sessions on this
    workspace end at once (elsewhere the changed password ends them at their next request)."""

    template_name = "access/password_change.html"
    success_url = reverse_lazy("access:profile")

    def form_valid(self, form: Any) -> HttpResponse:
        before = self.request.session.session_key
        response = super().form_valid(form)  # keeps this session under a new key (cycle_key)
        member = request_member(self.request)
        current = session_rekey(old_key=before, new_key=self.request.session.session_key)
        sessions_end_others(member=member, current_key=current, why="password_changed")
        return response


@login_required
@require_POST
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    member = request_member(request)
    session_revoke(member=member, session_id=session_id, current_key=request.session.session_key)
    messages.success(request, _("That session was signed out."))
    return redirect(reverse("access:profile") + "#sessions")


@login_required
@require_POST
def sessions_end_all_others(request: HttpRequest) -> HttpResponse:
    member = request_member(request)
    ended = sessions_end_others(member=member, current_key=request.session.session_key)
    messages.success(
        request,
        ngettext("%(n)d other session was signed out.", "%(n)d other sessions were signed out.", ended) % {"n": ended},
    )
    return redirect(reverse("access:profile") + "#sessions")


def handover(request: HttpRequest, key: str) -> HttpResponse:
    """Finish a signup started on the public site: log the new admin in on this host, once."""
    user = handover_consume(key=key, tenant=request.tenant)  # type: ignore[attr-defined]
    if user is None or not user.is_active or not Member.objects.filter(user_id=user.pk, active=True).exists():
        messages.error(request, _("This sign-in link has expired. Please sign in with your password."))
        return redirect("access:login")
    member = Member.objects.get(user_id=user.pk)
    member_login(request, member)
    messages.success(request, _("Welcome to your new workspace!"))
    return redirect("home")


class PasswordResetView(auth_views.PasswordResetView):
    """Reset links always point at this tenant's configured address, never at a request header."""

    form_class = MemberPasswordResetForm

    def form_valid(self, form: Any) -> HttpResponse:
        url = urlsplit(tenant_url(self.request.tenant.schema_name))  # type: ignore[attr-defined]
        form.save(
            domain_override=url.netloc,
            use_https=url.scheme == "https",
            token_generator=self.token_generator,
            from_email=self.from_email,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            request=self.request,
            html_email_template_name=self.html_email_template_name,
            extra_email_context=self.extra_email_context,
        )
        return HttpResponseRedirect(self.get_success_url())

    template_name = "access/password_reset_form.html"
    email_template_name = "access/email/password_reset.txt"
    subject_template_name = "access/email/password_reset_subject.txt"
    success_url = reverse_lazy("access:password_reset_done")


def _admin(request: HttpRequest) -> Member:
    """Admins, or members whose profiles grant "manage members" (the services decide what each may do)."""
    member = request_member(request)
    if not has_privilege(actor=member, privilege=Privilege.MANAGE_MEMBERS):  # administrators hold it
        raise PermissionDenied
    return member


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    member = request_member(request)
    initial = {
        "name": member.user.name,
        "language": member.language,
        "timezone": member.timezone,
        "date_format": member.date_format,
        "time_format": member.time_format,
        "number_format": member.number_format,
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and form.cleaned_data["name"].strip() != member.user.name
        and sso_reauth_required(request)
    ):
        # The name belongs to the account on every workspace; a single sign-on session cannot change it.
        form.add_error("name", _("You signed in with single sign-on: sign in with your password to change your name."))
    if request.method == "POST" and form.is_valid():
        try:
            member_update_profile(
                member=member,
                name=form.cleaned_data["name"],
                language=form.cleaned_data["language"],
                timezone_name=form.cleaned_data["timezone"],
                date_format=form.cleaned_data["date_format"],
                time_format=form.cleaned_data["time_format"],
                number_format=form.cleaned_data["number_format"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            from django.utils import translation

            translation.activate(member.language)
            messages.success(request, _("Your profile was saved."))
            return redirect("access:profile")
    sessions = [
        {"row": row, "device": device_label(row.user_agent), "current": row.session_key == request.session.session_key}
        for row in member_sessions(member)
    ]
    return render(request, "access/profile.html", {"form": form, "sessions": sessions})


def _role_choices(actor: Member) -> list[Role]:
    """Roles an admin may give members (all but the top one), in tree order; none for other managers."""
    from crm_apps.access.settings_forms import tree_key

    if not actor.is_admin:
        return []
    return sorted(Role.objects.filter(parent__isnull=False), key=tree_key)


@login_required
def members(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    form = InviteForm(request.POST or None, choose_role=actor.is_admin)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, _key = invitation_create(
                actor=actor,
                email=form.cleaned_data["email"],
                is_admin=form.cleaned_data["is_admin"],
                role=form.cleaned_data.get("role"),
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            return redirect("access:members")
    context = {
        "form": form,
        "members": member_list(),
        "invitations": invitation_pending_list(),
        "roles": _role_choices(actor),
    }
    return render(request, "access/members.html", context)


def _member_set_role(actor: Member, member: Member, role_id: str) -> Member:
    role = Role.objects.filter(pk=int(role_id)).first() if role_id.isdecimal() else None
    if role is None:
        raise ValidationError({"role": [_("Choose a role.")]})
    return member_set_role(actor=actor, member=member, role=role)


@require_POST
@login_required
def member_action(request: HttpRequest, member_id: int, action: str) -> HttpResponse:
    """Deactivate, reactivate, grant or withdraw admin rights, change the role; htmx requests get the
    updated row back."""
    actor = _admin(request)
    member = access_member(actor=actor, member_id=member_id)
    if member is None or action not in MEMBER_ACTIONS:
        raise Http404
    error = False
    try:
        if action == "deactivate":
            member = member_deactivate(actor=actor, member=member)
            message = _("%(name)s can no longer sign in here.") % {"name": member.user.name}
        elif action == "reactivate":
            member = member_reactivate(actor=actor, member=member)
            message = _("%(name)s is active again.") % {"name": member.user.name}
        elif action == "set-role":
            member = _member_set_role(actor, member, str(request.POST.get("role", "")))
            message = _("%(name)s now holds the role “%(role)s”.") % {"name": member.user.name, "role": member.role}
        else:
            member = member_set_admin(actor=actor, member=member, is_admin=action == "make-admin")
            message = _("Administrator rights updated.")
    except ValidationError as exc:
        error = True
        message = " ".join(exc.messages)
        member.refresh_from_db()
    if request.headers.get("HX-Request") == "true":
        context = {
            "m": member,
            "member": actor,
            "roles": _role_choices(actor),
            "row_message": message,
            "row_error": error,
        }
        return render(request, "access/_member_row.html", context)
    (messages.error if error else messages.success)(request, message)
    return redirect("access:members")


@require_POST
@login_required
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor = _admin(request)
    invitation = Invitation.objects.filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404
    invitation_revoke(actor=actor, invitation=invitation)
    messages.success(request, _("Invitation withdrawn."))
    return redirect("access:members")


def invitation_accept_view(request: HttpRequest, key: str) -> HttpResponse:
    """Join a workspace from an emailed link: a new account, or an existing one with its password."""
    invitation = invitation_get_pending(key=key)
    if invitation is None:
        return render(request, "access/invitation_invalid.html", status=404)
    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    form_class = AcceptInvitationExistingForm if has_account else AcceptInvitationForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = invitation_accept(
                key=key, password=form.cleaned_data["password"], name=form.cleaned_data.get("name", "")
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            refusal = password_signin_refusal(user=member.user)
            if refusal:
                # "SSO only": the invitation is accepted, but a password does not open a session here.
                messages.info(request, refusal)
                return redirect("access:login")
            member_login(request, member)
            workspace = request.tenant.name  # type: ignore[attr-defined]
            messages.success(request, _("Welcome to %(workspace)s!") % {"workspace": workspace})
            return redirect("home")
    return render(
        request,
        "access/invitation_accept.html",
        {"invitation": invitation, "form": form, "has_account": has_account},
    )


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    member = request_member(request)
    form = ApiTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and not token_creation_allowed(request, member):
        # A token outlives the session: confirm the second factor again first (docs/mfa.md).
        return redirect(reverse("mfa:challenge") + "?next=" + reverse("access:api_tokens"))
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_key = api_token_create(member=member, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            form = ApiTokenForm()
    return render(
        request,
        "access/api_tokens.html",
        {"form": form, "tokens": api_token_list(member=member), "new_key": new_key},
    )


@require_POST
@login_required
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    member = request_member(request)
    if not api_token_revoke(member=member, token_id=token_id):
        raise Http404
    messages.success(request, _("Token revoked."))
    return HttpResponseRedirect(reverse("access:api_tokens"))
