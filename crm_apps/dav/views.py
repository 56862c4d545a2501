"""The DAV endpoints on the tenant host (RFC 4918 WebDAV, 6352 CardDAV, 4791 CalDAV, 6578 sync, 6764
discovery). Thin: authentication, protocol and XML here; every read and write goes through a collection
backend (collections.py), which goes through the visibility filter and the module's services.

    /.well-known/carddav, /.well-known/caldav   -> 301 /dav/
    /dav/                                         root: current-user-principal
    /dav/principal/                               the signed-in member (no member ids in URLs)
    /dav/addressbooks/            /dav/calendars/ homes
    /dav/<home>/<collection>/                     one collection per registered backend
    /dav/<home>/<collection>/<name>               one vCard / iCalendar resource
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from crm_apps.access.models import Member
from crm_apps.dav import services
from crm_apps.dav.carddav import vcard_v4, wants_vcard4
from crm_apps.dav.collections import (
    ADDRESSBOOK,
    CALENDAR,
    CollectionBackend,
    PreconditionFailed,
    Stored,
    UnsupportedData,
    collection_get,
    collections_of,
)
from crm_apps.dav.query import addressbook_filter, calendar_filter, calendar_matches, card_matches
from crm_apps.dav.xml import CAL, CARD, CS, DAV, ICAL, BadXml, element, href, multistatus, parse, q
from saas.http import client_ip
from saas.throttle import throttle_exceeded, throttle_hit
from tenants.login_throttle import LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW
from tenants.models import normalize_email

ROOT = "/dav/"
PRINCIPAL = "/dav/principal/"
HOMES = {ADDRESSBOOK: "/dav/addressbooks/", CALENDAR: "/dav/calendars/"}
MAX_BODY = 1024 * 1024
SYNC_PREFIX = "urn:crm:sync:"
ALLOW = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, REPORT"

ADDRESS_DATA = q(CARD, "address-data")
CALENDAR_DATA = q(CAL, "calendar-data")
GETETAG = q(DAV, "getetag")


@dataclass
class Target:
    """What a URL names: root, principal, a home, a collection or one resource in it."""

    kind: str  # "root" | "principal" | "home" | "collection" | "resource"
    url: str
    home: str = ""
    backend: CollectionBackend | None = None
    name: str = ""


@csrf_exempt
def well_known(request: HttpRequest) -> HttpResponse:
    """RFC 6764: clients given only the host find the service here."""
    return HttpResponsePermanentRedirect(ROOT)


def _dav_fail_keys(*, client_ip: str, email: str) -> list[str]:
    """DAV's own failure counter, per address and email: a phone retrying a revoked app password locks
    out that phone's DAV sign-in, never the member's browser sign-in (whose `login-fail:` keys it leaves
    alone)."""
    return [f"dav-fail:{client_ip}:{normalize_email(email)[:254]}"]


def _authenticate(request: HttpRequest) -> Member | HttpResponse:
    """HTTP Basic with the member's email and an app password; failures count on DAV's own keys, with
    the web sign-in's limits (10 in 15 minutes)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, encoded = header.partition(" ")
    email = password = ""
    if scheme.lower() == "basic":
        try:
            email, _colon, password = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            email = password = ""
    ip = client_ip(request)
    keys = _dav_fail_keys(client_ip=ip, email=email)
    if email and throttle_exceeded(keys, limit=LOGIN_FAILURE_LIMIT):
        answer = HttpResponse(_("Too many failed attempts; try again later."), status=429, content_type="text/plain")
        answer["Retry-After"] = "900"
        return answer
    member = services.app_password_authenticate(email=email, password=password) if email else None
    if member is None:
        if email:
            throttle_hit(keys, window=LOGIN_FAILURE_WINDOW)
        answer = HttpResponse(
            _("Sign in with your email and an app password from your profile page."),
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        answer["WWW-Authenticate"] = 'Basic realm="CRM", charset="UTF-8"'
        return answer
    return member


def _resolve(path: str, member: Member) -> Target | None:
    """The target of a path under /dav/; None when nothing (visible to this member) is there."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return Target("root", ROOT)
    if parts == ["principal"]:
        return Target("principal", PRINCIPAL)
    kind = {"addressbooks": ADDRESSBOOK, "calendars": CALENDAR}.get(parts[0])
    if kind is None or len(parts) > 3:
        return None
    if len(parts) == 1:
        return Target("home", HOMES[kind], home=kind)
    backend = collection_get(kind, parts[1])
    if backend is None or not backend.available(actor=member):
        return None
    url = f"{HOMES[kind]}{parts[1]}/"
    if len(parts) == 2:
        return Target("collection", url, home=kind, backend=backend)
    return Target("resource", url + quote(parts[2]), home=kind, backend=backend, name=parts[2])


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _validation_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "\n".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return "\n".join(exc.messages)


def _sync_token(backend: CollectionBackend, etags: dict[str, str]) -> str:
    digest = hashlib.sha256()
    digest.update(backend.key.encode())
    for name in sorted(etags):
        digest.update(f"\0{name}\0{etags[name]}".encode())
    return SYNC_PREFIX + digest.hexdigest()[:32]


@csrf_exempt
def dav(request: HttpRequest, path: str = "") -> HttpResponse:
    if request.method == "OPTIONS":
        answer = HttpResponse(status=200)
        answer["DAV"] = "1, 3, addressbook, calendar-access, extended-mkcol"
        answer["Allow"] = ALLOW
        return answer
    member = _authenticate(request)
    if isinstance(member, HttpResponse):
        return member
    target = _resolve(path, member)
    if target is None:
        return _text(_("Not found."), 404)
    if len(request.body) > MAX_BODY:
        return _text(_("The request body is too large."), 413)
    handler = {
        "PROPFIND": _propfind,
        "REPORT": _report,
        "GET": _get,
        "HEAD": _get,
        "PUT": _put,
        "DELETE": _delete,
    }.get(request.method or "")
    if handler is None:
        return _text(_("This server does not allow that here."), 405 if request.method not in _WRITE_ONLY else 403)
    try:
        return handler(request, member, target)
    except BadXml:
        return _text(_("The request body is not well-formed XML."), 400)


_WRITE_ONLY = {"MKCOL", "MKCALENDAR", "PROPPATCH", "MOVE", "COPY", "LOCK", "UNLOCK"}


# ---------------------------------------------------------------------------------------------
# Properties


def _props_wanted(root: Any) -> tuple[list[str], bool]:
    """(names asked for, allprop?) from a <propfind> or REPORT body."""
    if root is None or root.find(q(DAV, "allprop")) is not None or root.find(q(DAV, "propname")) is not None:
        return [], True
    prop = root.find(q(DAV, "prop"))
    if prop is None:
        return [], True
    return [child.tag for child in prop], False


def _collection_type(backend: CollectionBackend) -> list[Any]:
    kind = element(q(CARD, "addressbook")) if backend.kind == ADDRESSBOOK else element(q(CAL, "calendar"))
    return [element(q(DAV, "collection")), kind]


def _reports(target: Target) -> list[Any]:
    names = [q(DAV, "sync-collection")]
    if target.home == ADDRESSBOOK:
        names += [q(CARD, "addressbook-query"), q(CARD, "addressbook-multiget")]
    elif target.home == CALENDAR:
        names += [q(CAL, "calendar-query"), q(CAL, "calendar-multiget")]
    return [
        element(q(DAV, "supported-report"), children=[element(q(DAV, "report"), children=[element(n)])]) for n in names
    ]


def _privileges(writable: bool) -> list[Any]:
    names = ["read", "read-current-user-privilege-set"]
    if writable:
        names += ["write", "write-content", "bind", "unbind"]
    return [element(q(DAV, "privilege"), children=[element(q(DAV, n))]) for n in names]


def _principal_prop(tag: str, target: Target, member: Member) -> Any | None:
    """Properties every target answers: where the principal and the homes are."""
    if tag in (q(DAV, "current-user-principal"), q(DAV, "principal-URL"), q(DAV, "owner")):
        return element(tag, children=[href(PRINCIPAL)])
    if tag == q(DAV, "principal-collection-set"):
        return element(tag, children=[href(PRINCIPAL)])
    if tag == q(CARD, "addressbook-home-set"):
        return element(tag, children=[href(HOMES[ADDRESSBOOK])])
    if tag == q(CAL, "calendar-home-set"):
        return element(tag, children=[href(HOMES[CALENDAR])])
    if tag == q(CAL, "calendar-user-address-set"):
        return element(tag, children=[href(f"mailto:{member.user.email}")])
    if tag == q(DAV, "resourcetype"):
        if target.kind == "principal":
            return element(tag, children=[element(q(DAV, "principal"))])
        if target.kind == "collection" and target.backend is not None:
            return element(tag, children=_collection_type(target.backend))
        return element(tag, children=[] if target.kind == "resource" else [element(q(DAV, "collection"))])
    if tag == q(DAV, "displayname") and target.kind == "principal":
        return element(tag, member.user.name or member.user.email)
    if tag == q(DAV, "current-user-privilege-set"):
        writable = target.backend is not None and target.backend.can_write(actor=member)
        return element(tag, children=_privileges(writable))
    if tag == q(DAV, "supported-report-set") and target.kind in ("collection", "home"):
        return element(tag, children=_reports(target))
    return None


def _collection_prop(tag: str, backend: CollectionBackend, token: str | None) -> Any | None:
    if tag == q(DAV, "displayname"):
        return element(tag, backend.display_name())
    if tag in (q(DAV, "sync-token"), q(CS, "getctag")):
        return element(tag, token)
    if tag == q(CARD, "supported-address-data") and backend.kind == ADDRESSBOOK:
        types = []
        for version in ("3.0", "4.0"):
            data = element(q(CARD, "address-data-type"))
            data.set("content-type", "text/vcard")
            data.set("version", version)
            types.append(data)
        return element(tag, children=types)
    if tag == q(CAL, "supported-calendar-component-set") and backend.kind == CALENDAR:
        comps = []
        for name in backend.components:
            comp = element(q(CAL, "comp"))
            comp.set("name", name)
            comps.append(comp)
        return element(tag, children=comps)
    if tag in (q(CARD, "max-resource-size"), q(CAL, "max-resource-size")):
        return element(tag, str(MAX_BODY))
    if tag == q(ICAL, "calendar-color") and backend.kind == CALENDAR:
        return element(tag, "#2563EBFF" if "VEVENT" in backend.components else "#16A34AFF")
    return None


def _resource_prop(tag: str, backend: CollectionBackend, stored: Stored) -> Any | None:
    if tag == GETETAG:
        return element(tag, stored.etag)
    if tag == q(DAV, "getcontenttype"):
        return element(tag, backend.content_type)
    if tag == ADDRESS_DATA and backend.kind == ADDRESSBOOK and stored.body:
        return element(tag, stored.body)
    if tag == CALENDAR_DATA and backend.kind == CALENDAR and stored.body:
        return element(tag, stored.body)
    return None


def _prop(tag: str, target: Target, member: Member, stored: Stored | None, token: str | None) -> Any | None:
    """One property of `target` as an element; None when it has no such property."""
    found = _principal_prop(tag, target, member)
    if found is not None or target.backend is None:
        return found
    if target.kind == "collection":
        return _collection_prop(tag, target.backend, token)
    if target.kind == "resource" and stored is not None:
        return _resource_prop(tag, target.backend, stored)
    return None


ALLPROP = [
    q(DAV, "resourcetype"),
    q(DAV, "displayname"),
    q(DAV, "getetag"),
    q(DAV, "getcontenttype"),
    q(DAV, "current-user-principal"),
    q(DAV, "sync-token"),
    q(CS, "getctag"),
]


def _response(target: Target, member: Member, wanted: list[str], allprop: bool, **kw: Any) -> Any:
    from crm_apps.dav.xml import response

    found, missing = [], []
    for tag in ALLPROP if allprop else wanted:
        value = _prop(tag, target, member, kw.get("stored"), kw.get("token"))
        if value is not None:
            found.append(value)
        elif not allprop:
            missing.append(tag)
    return response(target.url, found, missing)


def _multistatus(responses: list[Any], *, sync_token: str | None = None) -> HttpResponse:
    return HttpResponse(
        multistatus(responses, sync_token=sync_token), status=207, content_type='application/xml; charset="utf-8"'
    )


def _needs_body(wanted: list[str]) -> bool:
    return ADDRESS_DATA in wanted or CALENDAR_DATA in wanted


def _resources(
    backend: CollectionBackend, member: Member, names: list[str], wanted: list[str], etags: dict[str, str] | None
) -> dict[str, Stored]:
    """The resources among `names`, with their bodies only when a property asks for them."""
    if _needs_body(wanted) or etags is None:
        return backend.get_many(actor=member, names=names)
    return {n: Stored(name=n, etag=etags[n], body="") for n in names if n in etags}


def _resource_target(backend: CollectionBackend, name: str) -> Target:
    return Target(
        "resource", f"{HOMES[backend.kind]}{backend.key}/{quote(name)}", home=backend.kind, backend=backend, name=name
    )


def _propfind(request: HttpRequest, member: Member, target: Target) -> HttpResponse:
    wanted, allprop = _props_wanted(parse(request.body))
    depth = request.META.get("HTTP_DEPTH", "1")
    backend = target.backend
    responses = []
    if target.kind == "resource" and backend is not None:
        stored = backend.get_many(actor=member, names=[target.name]).get(target.name)
        if stored is None:
            return _text(_("Not found."), 404)
        return _multistatus([_response(target, member, wanted, allprop, stored=stored)])
    etags = backend.etags(actor=member) if backend is not None else None
    token = _sync_token(backend, etags) if backend is not None and etags is not None else None
    if backend is not None and etags is not None and token is not None:
        services.sync_state_save(member=member, collection=backend.key, token=token, etags=etags)
    responses.append(_response(target, member, wanted, allprop, token=token))
    if depth == "0":
        return _multistatus(responses)
    if target.kind == "root":
        responses.append(_response(Target("principal", PRINCIPAL), member, wanted, allprop))
    elif target.kind == "home":
        for child in collections_of(target.home):
            if child.available(actor=member):
                child_etags = child.etags(actor=member)
                child_token = _sync_token(child, child_etags)
                services.sync_state_save(member=member, collection=child.key, token=child_token, etags=child_etags)
                child_target = Target(
                    "collection", f"{HOMES[target.home]}{child.key}/", home=target.home, backend=child
                )
                responses.append(_response(child_target, member, wanted, allprop, token=child_token))
    elif backend is not None and etags is not None:
        stored_all = _resources(backend, member, sorted(etags), wanted, etags)
        for name in sorted(stored_all):
            res = _resource_target(backend, name)
            responses.append(_response(res, member, wanted, allprop, stored=stored_all[name]))
    return _multistatus(responses)


# ---------------------------------------------------------------------------------------------
# REPORT


def _href_name(value: str, backend: CollectionBackend) -> str | None:
    path = unquote(urlsplit(value.strip()).path)
    prefix = f"{HOMES[backend.kind]}{backend.key}/"
    if not path.startswith(prefix):
        return None
    name = path[len(prefix) :]
    return name if name and "/" not in name else None


def _report(request: HttpRequest, member: Member, target: Target) -> HttpResponse:
    root = parse(request.body)
    backend = target.backend
    if root is None or backend is None or target.kind != "collection":
        return _text(_("This report is not supported here."), 403)
    wanted, allprop = _props_wanted(root)
    if allprop:
        wanted, allprop = [GETETAG], False
    v4 = backend.kind == ADDRESSBOOK and _address_data_v4(root)
    if root.tag in (q(CARD, "addressbook-multiget"), q(CAL, "calendar-multiget")):
        names: dict[str, str] = {}
        missing_hrefs = []
        for el in root.findall(q(DAV, "href")):
            name = _href_name(el.text or "", backend)
            if name is None:
                missing_hrefs.append(el.text or "")
            else:
                names[name] = el.text or ""
        stored = _vcards(backend.get_many(actor=member, names=list(names)), v4)
        from crm_apps.dav.xml import response_status

        responses = []
        for name in names:
            if name in stored:
                responses.append(_response(_resource_target(backend, name), member, wanted, False, stored=stored[name]))
            else:
                responses.append(response_status(_resource_target(backend, name).url, 404))
        responses += [response_status(h, 404) for h in missing_hrefs]
        return _multistatus(responses)
    if root.tag == q(DAV, "sync-collection"):
        return _sync_collection(root, member, backend, wanted, v4=v4)
    if root.tag == q(CARD, "addressbook-query") and backend.kind == ADDRESSBOOK:
        match = addressbook_filter(root.find(q(CARD, "filter")))
        stored_all = backend.get_many(actor=member, names=sorted(backend.etags(actor=member)))
        picked = [s for s in stored_all.values() if card_matches(s.body, match)]
        limit = root.find(f"{q(CARD, 'limit')}/{q(CARD, 'nresults')}")
        if limit is not None and (limit.text or "").strip().isdigit():
            picked = picked[: int((limit.text or "0").strip())]
        picked = list(_vcards({s.name: s for s in picked}, v4).values())
        return _multistatus(
            [_response(_resource_target(backend, s.name), member, wanted, False, stored=s) for s in picked]
        )
    if root.tag == q(CAL, "calendar-query") and backend.kind == CALENDAR:
        component, start, end = calendar_filter(root.find(q(CAL, "filter")))
        if component is not None and component not in backend.components:
            return _multistatus([])
        chosen = backend.query(actor=member, component=component or backend.components[0], start=start, end=end)
        if chosen is None:
            every = backend.get_many(actor=member, names=sorted(backend.etags(actor=member)))
            chosen = [n for n, s in every.items() if calendar_matches(s.body, component, start, end)]
            stored_map = {n: every[n] for n in chosen}
        else:
            stored_map = _resources(backend, member, chosen, wanted, None)
        return _multistatus(
            [
                _response(_resource_target(backend, n), member, wanted, False, stored=stored_map[n])
                for n in sorted(stored_map)
            ]
        )
    return _text(_("This report is not supported here."), 403)


def _address_data_v4(root: Any) -> bool:
    """A REPORT's `<C:address-data content-type="text/vcard" version="4.0"/>` (RFC 6352 10.4) asks for 4.0."""
    for found in root.iter(ADDRESS_DATA):
        return (found.get("version") or "").strip() == "4.0"
    return False


def _vcards(stored: dict[str, Stored], v4: bool) -> dict[str, Stored]:
    """The address book's resources as vCard 4.0 when asked (the ETag is the resource's, either way)."""
    if not v4:
        return stored
    return {n: Stored(name=n, etag=s.etag, body=vcard_v4(s.body) if s.body else "") for n, s in stored.items()}


def _sync_collection(
    root: Any, member: Member, backend: CollectionBackend, wanted: list[str], *, v4: bool = False
) -> HttpResponse:
    """RFC 6578: what changed and what went away since the token (all of it for an empty token)."""
    from crm_apps.dav.xml import error, response_status

    given = (root.findtext(q(DAV, "sync-token")) or "").strip()
    current = backend.etags(actor=member)
    token = _sync_token(backend, current)
    if given:
        old = None
        if given.startswith(SYNC_PREFIX):
            old = services.sync_state_get(member=member, collection=backend.key, token=given)
        if old is None:
            return HttpResponse(error(q(DAV, "valid-sync-token")), status=403, content_type="application/xml")
    else:
        old = {}
    changed = sorted(n for n, etag in current.items() if old.get(n) != etag)
    gone = sorted(n for n in old if n not in current)
    services.sync_state_save(member=member, collection=backend.key, token=token, etags=current)
    stored = _vcards(_resources(backend, member, changed, wanted, current), v4)
    responses = [
        _response(_resource_target(backend, n), member, wanted, False, stored=stored[n]) for n in changed if n in stored
    ]
    responses += [response_status(_resource_target(backend, n).url, 404) for n in gone]
    return _multistatus(responses, sync_token=token)


# ---------------------------------------------------------------------------------------------
# Resources


def _get(request: HttpRequest, member: Member, target: Target) -> HttpResponse:
    backend = target.backend
    if target.kind != "resource" or backend is None:
        return _text(_("Use a CalDAV or CardDAV client with this address."), 200)
    stored = backend.get_many(actor=member, names=[target.name]).get(target.name)
    if stored is None:
        return _text(_("Not found."), 404)
    body, content_type = stored.body, backend.content_type
    if backend.kind == ADDRESSBOOK and wants_vcard4(request.META.get("HTTP_ACCEPT", "")):
        body, content_type = vcard_v4(body), "text/vcard; charset=utf-8; version=4.0"
    answer = HttpResponse(body if request.method == "GET" else b"", content_type=content_type)
    answer["ETag"] = stored.etag
    answer["Vary"] = "Accept"
    return answer


def _put(request: HttpRequest, member: Member, target: Target) -> HttpResponse:
    backend = target.backend
    if target.kind != "resource" or backend is None:
        return _text(_("This server does not allow that here."), 405)
    if not target.name.endswith(backend.extension):
        return _text(_("Resource names in this collection end in %(ext)s.") % {"ext": backend.extension}, 400)
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    accepted = {"text/vcard", "text/x-vcard", "text/directory"} if backend.kind == ADDRESSBOOK else {"text/calendar"}
    if content_type and content_type not in accepted:
        return _text(_("Send %(type)s.") % {"type": backend.content_type.split(";")[0]}, 415)
    try:
        body = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return _text(_("The body must be UTF-8."), 400)
    if_match = request.META.get("HTTP_IF_MATCH")
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH", "").strip() == "*"
    try:
        written = backend.put(
            actor=member,
            name=target.name,
            body=body,
            if_match=if_match if if_match != "*" else None,
            if_none_match=if_none_match,
        )
    except PreconditionFailed:
        return _text(_("The resource changed on the server; fetch it again."), 412)
    except UnsupportedData as exc:
        return _text(str(exc), 400)
    except ValidationError as exc:
        return _text(_validation_text(exc), 400)
    except PermissionDenied:
        return _text(_("You may not change this."), 403)
    answer = HttpResponse(status=201 if written.created else 204)
    answer["ETag"] = written.etag
    return answer


def _delete(request: HttpRequest, member: Member, target: Target) -> HttpResponse:
    backend = target.backend
    if target.kind != "resource" or backend is None:
        return _text(_("This server does not allow that here."), 403)
    try:
        deleted = backend.delete(actor=member, name=target.name, if_match=request.META.get("HTTP_IF_MATCH"))
    except PreconditionFailed:
        return _text(_("The resource changed on the server; fetch it again."), 412)
    except PermissionDenied:
        return _text(_("You may not delete this."), 403)
    return HttpResponse(status=204) if deleted else _text(_("Not found."), 404)
