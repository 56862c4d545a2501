"""HTTP for the vtiger-compatible API on the tenant host: the classic `/webservice.php` (challenge,
login, sessions; errors answered with 200 as vtiger does) and the REST flavour
`/restapi/v1/vtiger/default/<operation>` (HTTP Basic with email and access key; errors with a 4xx).
Both answer vtiger's envelope, never an HTML error page."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from billing import entitlements
from crm_apps.access.models import Member
from crm_apps.audit.services import LOGIN_FAILED, LOGIN_SUCCEEDED, audit_log
from crm_apps.vtiger import errors, sessions
from crm_apps.vtiger.errors import WsError
from crm_apps.vtiger.operations import OPERATIONS, login_result
from crm_apps.vtiger.services import access_key_get
from saas.http import client_ip
from saas.throttle import throttle_exceeded, throttle_hit
from tenants.login_throttle import LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW
from tenants.models import normalize_email

logger = logging.getLogger(__name__)
MAX_PARAM = 1_000_000


def _ok(result: Any) -> JsonResponse:
    return JsonResponse({"success": True, "result": result}, safe=False)


def _error(error: WsError, *, status: int = 200) -> JsonResponse:
    return JsonResponse({"success": False, "error": {"code": error.code, "message": error.message}}, status=status)


def _fail_keys(request: HttpRequest, email: str) -> list[str]:
    """The API's own failure counters (per address and email, the sign-in limits: 10 in 15 minutes), so
    an integration retrying a rotated key never locks its member out of the browser."""
    return [f"vtws-fail:{client_ip(request)}:{normalize_email(email)[:254]}"]


def _blocked(request: HttpRequest, email: str) -> bool:
    return throttle_exceeded(_fail_keys(request, email), limit=LOGIN_FAILURE_LIMIT)


def _failed(request: HttpRequest, email: str, via: str) -> None:
    throttle_hit(_fail_keys(request, email), window=LOGIN_FAILURE_WINDOW)
    audit_log(action=LOGIN_FAILED, details={"via": via, "email": email[:254]})


def _member_by_email(email: str) -> Member | None:
    if not email or len(email) > 254:
        return None
    return (
        Member.objects.select_related("user", "role")
        .filter(user__email__iexact=normalize_email(email), active=True, user__is_active=True)
        .order_by("pk")
        .first()
    )


def _params(request: HttpRequest) -> dict[str, Any]:
    params: dict[str, Any] = {k: v for k, v in request.GET.items()}
    if request.method == "POST":
        params.update({k: v for k, v in request.POST.items()})
    for value in params.values():
        if isinstance(value, str) and (len(value) > MAX_PARAM or "\x00" in value):
            raise WsError(errors.FAILED_TO_UPDATE, _("A parameter is too long or holds a NUL character."))
    return params


def _dispatch(operation: str, member: Member, request: HttpRequest, params: dict[str, Any]) -> Any:
    entry = OPERATIONS.get(operation)
    if entry is None or (operation == "me" and request.path.endswith("webservice.php")):
        raise WsError(errors.UNKNOWN_OPERATION, _("Unknown operation “%(op)s”.") % {"op": operation[:50]})
    method, fn = entry
    if method == "POST" and request.method != "POST":
        raise WsError(errors.OPERATION_NOT_SUPPORTED, _("Send “%(op)s” with POST.") % {"op": operation})
    return fn(member, params)


def _plan_allows(request: HttpRequest) -> None:
    """The webservice is an API: a plan without the API has no webservice either."""
    tenant = getattr(request, "tenant", None)
    if tenant is not None and not entitlements.feature_enabled(tenant=tenant, feature=entitlements.FEATURE_API):
        raise WsError(
            errors.ACCESS_DENIED, entitlements.feature_message(feature=entitlements.FEATURE_API, tenant=tenant)
        )


def _guarded(run: Any, *, rest: bool, request: HttpRequest) -> JsonResponse:
    try:
        _plan_allows(request)
        return _ok(run())
    except WsError as error:
        return _error(error, status=errors.HTTP_STATUS.get(error.code, 400) if rest else 200)
    except Exception:  # the envelope, never an HTML error page; the failure is logged with its trace
        logger.exception("vtiger webservice: unexpected failure")
        failure = WsError(errors.INTERNAL_SERVER_ERROR, _("The server could not complete the operation."))
        return _error(failure, status=500 if rest else 200)


# ---------------------------------------------------------------------------------------------
# /webservice.php


@csrf_exempt
def webservice(request: HttpRequest) -> JsonResponse:
    def run() -> Any:
        params = _params(request)
        operation = str(params.get("operation") or "")
        if operation == "getchallenge":
            email = str(params.get("username") or "")
            if not email:
                raise WsError(errors.MANDATORY_FIELDS_MISSING, _("“username” is required."))
            # The same answer for unknown users: the endpoint does not tell who has an account.
            return sessions.challenge_get(email=email)
        if operation == "login":
            return _login(request, params)
        if operation == "logout":
            sessions.session_close(name=str(params.get("sessionName") or ""))
            return {"message": "successfull"}  # sic: vtiger's answer
        if not operation:
            raise WsError(errors.UNKNOWN_OPERATION, _("No operation was named."))
        member = sessions.session_member(name=str(params.get("sessionName") or ""))
        if member is None:
            raise WsError(errors.INVALID_SESSIONID, _("Session identifier provided is invalid or expired."))
        return _dispatch(operation, member, request, params)

    return _guarded(run, rest=False, request=request)


def _login(request: HttpRequest, params: dict[str, Any]) -> Any:
    if request.method != "POST":
        raise WsError(errors.OPERATION_NOT_SUPPORTED, _("Send “login” with POST."))
    email = str(params.get("username") or "")
    answer = str(params.get("accessKey") or "")
    if not email or not answer:
        raise WsError(errors.MANDATORY_FIELDS_MISSING, _("“username” and “accessKey” are required."))
    if _blocked(request, email):
        raise WsError(errors.INVALID_USER_CREDENTIALS, _("Too many failed sign-in attempts; try again in 15 minutes."))
    token = sessions.challenge_consume(email=email)
    if token is None:
        _failed(request, email, "vtiger")
        raise WsError(
            errors.INVALID_AUTH_TOKEN, _("Ask for a challenge (getchallenge) first; tokens are valid 5 minutes, once.")
        )
    member = _member_by_email(email)
    if member is None or not sessions.answer_matches(
        token=token, access_key=access_key_get(member=member).key, answer=answer
    ):
        _failed(request, email, "vtiger")
        raise WsError(errors.INVALID_USER_CREDENTIALS, _("Invalid username or access key."))
    audit_log(action=LOGIN_SUCCEEDED, actor=member, details={"via": "vtiger"})
    return login_result(member, sessions.session_open(member=member))


# ---------------------------------------------------------------------------------------------
# /restapi/v1/vtiger/default/<operation>


def _basic(request: HttpRequest) -> tuple[str, str]:
    scheme, _sep, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        email, _colon, key = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "", ""
    return email, key


@csrf_exempt
def rest(request: HttpRequest, operation: str) -> JsonResponse:
    def run() -> Any:
        email, key = _basic(request)
        if not email:
            raise WsError(errors.AUTHENTICATION_REQUIRED, _("Sign in with HTTP Basic: your email and access key."))
        if _blocked(request, email):
            raise WsError(errors.TOO_MANY_ATTEMPTS, _("Too many failed sign-in attempts; try again in 15 minutes."))
        member = _member_by_email(email)
        if member is None or not key or not hmac.compare_digest(access_key_get(member=member).key, key):
            _failed(request, email, "vtiger-rest")
            raise WsError(errors.INVALID_USER_CREDENTIALS, _("Invalid username or access key."))
        return _dispatch(operation, member, request, _params(request))

    answer = _guarded(run, rest=True, request=request)
    if answer.status_code == 401:
        answer["WWW-Authenticate"] = 'Basic realm="CRM", charset="UTF-8"'
    return answer
