"""DAV XML: safe parsing (defusedxml: no entities, no external references) and multistatus output."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET  # output only; input goes through defusedxml

from defusedxml import ElementTree as SafeET

DAV = "DAV:"
CARD = "urn:ietf:params:xml:ns:carddav"
CAL = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"
ICAL = "http://apple.com/ns/ical/"

for _prefix, _uri in (("d", DAV), ("card", CARD), ("cal", CAL), ("cs", CS), ("ical", ICAL)):
    ET.register_namespace(_prefix, _uri)


class BadXml(Exception):
    pass


def q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def parse(body: bytes) -> Any | None:
    """The request's root element, None for an empty body; BadXml for anything else."""
    if not body.strip():
        return None
    try:
        return SafeET.fromstring(body)
    except Exception as exc:  # ParseError and defusedxml's forbidden-construct errors alike
        raise BadXml(str(exc)) from exc


def element(tag: str, text: str | None = None, children: list[Any] | None = None) -> Any:
    el = ET.Element(tag)
    if text is not None:
        el.text = text
    for child in children or []:
        el.append(child)
    return el


def href(url: str) -> Any:
    return element(q(DAV, "href"), url)


def status_line(code: int) -> str:
    reasons = {200: "OK", 403: "Forbidden", 404: "Not Found", 412: "Precondition Failed", 507: "Insufficient Storage"}
    return f"HTTP/1.1 {code} {reasons.get(code, '')}".rstrip()


def response(url: str, found: list[Any], missing: list[str]) -> Any:
    """One <response>: a 200 propstat with the properties found, a 404 one naming those that are not."""
    el = element(q(DAV, "response"), children=[href(url)])
    if found:
        el.append(
            element(
                q(DAV, "propstat"),
                children=[element(q(DAV, "prop"), children=found), element(q(DAV, "status"), status_line(200))],
            )
        )
    if missing:
        el.append(
            element(
                q(DAV, "propstat"),
                children=[
                    element(q(DAV, "prop"), children=[ET.Element(tag) for tag in missing]),
                    element(q(DAV, "status"), status_line(404)),
                ],
            )
        )
    return el


def response_status(url: str, code: int) -> Any:
    return element(q(DAV, "response"), children=[href(url), element(q(DAV, "status"), status_line(code))])


def multistatus(responses: list[Any], *, sync_token: str | None = None) -> bytes:
    root = element(q(DAV, "multistatus"), children=responses)
    if sync_token is not None:
        root.append(element(q(DAV, "sync-token"), sync_token))
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def error(condition: str) -> bytes:
    """<error><condition/></error> for a failed DAV precondition (e.g. valid-sync-token)."""
    root = element(q(DAV, "error"), children=[ET.Element(condition)])
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
