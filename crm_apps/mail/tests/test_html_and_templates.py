"""HTML sanitisation, the plain-text alternative, and the template language (with a property test)."""

from __future__ import annotations

import string

import pytest
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.mail import merge
from crm_apps.mail.html import sanitize, to_text
from crm_apps.mail.models import Template


@pytest.mark.parametrize(
    ("dirty", "forbidden"),
    [
        ("<p>a<script>alert(1)</script></p>", ["script", "alert"]),
        ('<img src="x" onerror="alert(1)">', ["onerror", "alert"]),
        ('<a href="javascript:alert(1)">x</a>', ["javascript"]),
        ('<a href=" JaVaScRiPt:alert(1)">x</a>', ["javascript", "JaVaScRiPt"]),
        ('<p style="width: expression(alert(1))">x</p>', ["expression", "alert"]),
        ('<p style="background: url(javascript:alert(1))">x</p>', ["url(", "javascript"]),
        ('<p style="color: red; behavior: url(x.htc)">x</p>', ["behavior", "htc"]),
        ('<div style="-moz-binding: url(evil.xml)">x</div>', ["binding", "evil"]),
        ("<style>body{background:url(javascript:x)}</style><p>x</p>", ["style>", "javascript"]),
        ('<iframe src="https://evil.test"></iframe>', ["iframe", "evil"]),
        ('<form action="https://evil.test"><input name="p"></form>', ["form", "input"]),
        ("<svg><script>alert(1)</script></svg>", ["script", "alert"]),
        ('<img src="data:text/html;base64,PHNjcmlwdD4=">', ["data:"]),
        ("<!-- <script>x</script> -->", ["script", "<!--"]),
    ],
)
def test_sanitize_removes_active_content(dirty, forbidden):
    clean = sanitize(dirty)
    for word in forbidden:
        assert word.lower() not in clean.lower()


def test_sanitize_keeps_formatting_links_and_safe_styles():
    clean = sanitize(
        '<p style="color: red; font-weight: bold">Hi <a href="https://x.test/a">link</a></p><table><tr><td>1</td></tr></table>'
    )
    assert clean == (
        '<p style="color: red; font-weight: bold">Hi <a href="https://x.test/a" rel="noopener noreferrer">link</a></p>'
        "<table><tbody><tr><td>1</td></tr></tbody></table>"
    )


def test_plain_text_alternative():
    assert to_text(
        "<h1>Offer</h1><p>Dear <b>Ann</b>,</p><ul><li>one</li></ul><p><a href='https://x.test'>Open</a></p>"
    ) == ("Offer\n\nDear Ann,\n\n- one\n\nOpen (https://x.test)")


def test_render_substitutes_whitelisted_values_and_escapes_html():
    values = {"contact": {"first_name": "<b>Ann</b>"}, "company": {"name": "Acme"}}
    assert merge.render("Hi {{ contact.first_name }} from {{company.name}}", values) == "Hi <b>Ann</b> from Acme"
    assert merge.render("Hi {{ contact.first_name }}", values, html=True) == "Hi &lt;b&gt;Ann&lt;/b&gt;"
    assert merge.render('Hi {{ contact.last_name|default:"there" }}', values) == "Hi there"
    assert merge.render("{{ contact.__class__ }}{{ contact.first_name.upper }}{% load x %}{{ x }}", values) == (
        "{{ contact.__class__ }}{{ contact.first_name.upper }}{% load x %}{{ x }}"
    )


names = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12).filter(lambda s: s[0].isalpha())
values_strategy = st.dictionaries(names, st.dictionaries(names, st.text(max_size=30), max_size=4), max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.text(max_size=200), values=values_strategy)
def test_render_never_fails_never_reaches_beyond_values_and_never_renders_twice(source, values):
    out = merge.render(source, values)
    escaped = merge.render(source, values, html=True)
    assert isinstance(out, str) and isinstance(escaped, str)
    # every token it replaced became one of the given values (or nothing): nothing else is reachable
    allowed = {v for group in values.values() for v in group.values()}
    for match in merge.TOKEN.finditer(source):
        value = values.get(match["group"], {}).get(match["field"], "") or (match["default"] or "")
        assert value == "" or value in allowed or value == match["default"]
    # a value that looks like a token is printed as is, not rendered again
    tricky = {"a": {"b": "{{ a.c }}", "c": "SECRET"}}
    assert merge.render(source + "{{ a.b }}", {**values, **tricky}).endswith("{{ a.c }}")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.printable + "<>\"'&{}|:", max_size=120))
def test_render_html_output_has_no_raw_markup_from_values(value):
    out = merge.render("<p>{{ contact.note }}</p>", {"contact": {"note": value}}, html=True)
    inner = out[len("<p>") : -len("</p>")]
    assert "<" not in inner and ">" not in inner and '"' not in inner


def test_template_render_api_against_a_real_record(tenant_a, admin_of, member, client_for):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Globex"})
        contact = record_create(
            spec=registry.get("contacts"),
            actor=admin,
            data={"last_name": "Stone", "first_name": "Ann", "organization": org.pk},
        )
    client = client_for(tenant_a, admin)
    created = client.post(
        "/api/v1/email-templates/",
        {
            "name": "Intro",
            "module": "contacts",
            "subject": "Hello {{ contact.first_name }} at {{ organization.name }}",
            "body_html": (
                "<p onclick='x()'>Dear {{ contact.first_name }}, {{ sender.name }} of {{ company.name }}</p>"
                "<script>x</script>"
            ),
            "shared": True,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    template = created.json()
    assert "script" not in template["body_html"] and "onclick" not in template["body_html"]
    rendered = client.post(
        f"/api/v1/email-templates/{template['id']}/render",
        {"record": f"contacts:{contact.pk}"},
        content_type="application/json",
    )
    assert rendered.status_code == 200
    body = rendered.json()
    assert body["subject"] == "Hello Ann at Globex"
    assert body["body_html"] == f"<p>Dear Ann, {admin.user.name} of {tenant_a.name}</p>"
    assert body["body_text"] == f"Dear Ann, {admin.user.name} of {tenant_a.name}"
    # a member may not share a template, but keeps a private one to themselves
    someone = member(tenant_a)
    refused = client_for(tenant_a, someone).post(
        "/api/v1/email-templates/",
        {"name": "x", "subject": "s", "body_html": "b", "shared": True},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "shared" in refused.json()
    private = client_for(tenant_a, someone).post(
        "/api/v1/email-templates/",
        {"name": "Mine", "subject": "s", "body_html": "b", "shared": False},
        content_type="application/json",
    )
    assert private.status_code == 201
    assert [t["name"] for t in client.get("/api/v1/email-templates/").json()] == ["Intro"]
    assert client.get(f"/api/v1/email-templates/{private.json()['id']}/").status_code == 404
    assert (
        client.post(
            f"/api/v1/email-templates/{template['id']}/render",
            {"record": "contacts:00000000-0000-0000-0000-000000000000"},
            content_type="application/json",
        ).status_code
        == 400
    )


def test_template_api_is_per_tenant(tenant_a, tenant_b, admin_of, member, client_for):
    with tenant_context(tenant_a):
        template = Template.objects.create(name="A", subject="s", body_html="b", owner=admin_of(tenant_a))
    assert client_for(tenant_b, member(tenant_b)).get(f"/api/v1/email-templates/{template.pk}/").status_code == 404


def test_openapi_lists_the_email_endpoints(tenant_a, admin_of, client_for):
    schema = client_for(tenant_a, admin_of(tenant_a)).get("/api/v1/schema/?format=json").json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/mailboxes/",
        "/api/v1/mailboxes/{mailbox_id}/",
        "/api/v1/mailboxes/{mailbox_id}/status",
        "/api/v1/mailboxes/{mailbox_id}/sync",
        "/api/v1/emails/",
        "/api/v1/email-templates/",
        "/api/v1/email-templates/{template_id}/",
        "/api/v1/email-templates/{template_id}/render",
    } <= paths
    mailbox_schema = str(schema["components"]["schemas"].get("Mailbox", {}))
    assert "imap_password" in mailbox_schema and "writeOnly" in mailbox_schema


def test_a_template_never_reads_out_a_linked_record_the_sender_may_not_see(tenant_a, admin_of, member, client_for):
    from crm_apps.access.services import sharing_default_set

    admin = admin_of(tenant_a)
    sender = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="organizations", access="private")
        secret = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Secret Holdings"})
        contact = record_create(
            spec=registry.get("contacts"), actor=sender, data={"last_name": "Stone", "first_name": "Ann"}
        )
        # linked by someone who sees both (the sender's own contact stays visible to the sender)
        type(contact).objects.filter(pk=contact.pk).update(organization=secret)
        template = Template.objects.create(
            name="Intro", subject="Hi", body_html="<p>[{{ organization.name }}]</p>", owner=sender
        )
    client = client_for(tenant_a, sender)

    rendered = client.post(
        f"/api/v1/email-templates/{template.pk}/render", {"record": f"contacts:{contact.pk}"}, "application/json"
    )
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="organizations", access="public_read")
    shared = client.post(
        f"/api/v1/email-templates/{template.pk}/render", {"record": f"contacts:{contact.pk}"}, "application/json"
    )

    assert rendered.status_code == 200 and rendered.json()["body_html"] == "<p>[]</p>"
    assert shared.json()["body_html"] == "<p>[Secret Holdings]</p>"
