"""Email screens: compose (from a record, an email link or a reply), a thread, the mailboxes with their
sync status, templates. Thin: parse, call a service or selector, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.engine.display import record_url
from crm_apps.mail import converter, mailboxes, selectors, services
from crm_apps.mail.api.views import _passwords
from crm_apps.mail.models import ConverterRule, Mailbox, Message, Security, Template


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"form": exc.messages}


def _split(raw: str) -> list[str]:
    return [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]


@login_required
def compose(request: HttpRequest) -> HttpResponse:
    """Write a message: to/cc/bcc, a template, the body, attachments from the record's documents."""
    actor = request_member(request)
    services.default_templates_install(actor=actor)
    source = request.POST if request.method == "POST" else request.GET
    related = [r for r in source.getlist("related") if r]
    errors: dict[str, list[str]] = {}
    records = []
    try:
        records = services.related_records(actor=actor, refs=related)
    except ValidationError as exc:
        errors = _errors(exc)
    reply_to = source.get("reply_to", "")
    if request.method == "POST" and not errors:
        send_at = None
        if source.get("send_at"):
            try:
                send_at = timezone.make_aware(
                    dt.datetime.fromisoformat(source["send_at"]), timezone.get_current_timezone()
                )
            except ValueError:
                errors = {"send_at": [_("Enter a date and time.")]}
        uploaded: list[Any] = []
        if not errors and request.FILES.getlist("files"):
            try:
                uploaded = services.uploads_store(
                    actor=actor, files=request.FILES.getlist("files"), related=[(s.key, r.pk) for s, r in records]
                )
            except ValidationError as exc:
                errors = _errors(exc)
        if not errors:
            try:
                message = services.email_send(
                    actor=actor,
                    to=_split(source.get("to", "")),
                    cc=_split(source.get("cc", "")),
                    bcc=_split(source.get("bcc", "")),
                    subject=source.get("subject", ""),
                    body_html=source.get("body_html", ""),
                    template_id=source.get("template") or None,
                    related_to=related,
                    attachment_ids=[*source.getlist("attachments"), *uploaded],
                    send_at=send_at,
                    reply_to_id=reply_to or None,
                )
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(
                    request,
                    _("Message scheduled.") if message.status == Message.Status.SCHEDULED else _("Message sent."),
                )
                if records:
                    return redirect(record_url(*records[0]))
                return redirect("mail:thread", message.thread_id)
    module = records[0][0].key if records else None
    documents = []
    if records:
        from crm_apps.modules.documents.selectors import record_documents

        documents = record_documents(actor=actor, module=records[0][0].key, record_id=records[0][1].pk)
    parent = selectors.access_message(actor=actor, message_id=reply_to) if reply_to else None
    initial_subject = source.get("subject", "")
    if parent and not initial_subject:
        initial_subject = (
            parent.message.subject
            if parent.message.subject.lower().startswith("re:")
            else f"Re: {parent.message.subject}"
        )
    return render(
        request,
        "mail/compose.html",
        {
            "records": [(spec, record, record_url(spec, record)) for spec, record in records],
            "related": related,
            "templates": selectors.templates_for(actor=actor, module=module),
            "documents": documents,
            "values": {
                **{k: source.get(k, "") for k in ("to", "cc", "bcc", "body_html", "template", "send_at")},
                "subject": initial_subject,
            },
            "reply_to": reply_to,
            "parent": parent,
            "errors": errors,
            "mailbox": selectors.sending_mailbox(actor=actor),
        },
        status=400 if errors and request.method == "POST" else 200,
    )


@login_required
def template_preview(request: HttpRequest, template_id: int) -> JsonResponse:
    """The template rendered against `?record=<module>:<id>` (the compose form fills subject and body)."""
    actor = request_member(request)
    template = selectors.access_template(actor=actor, template_id=template_id)
    if template is None:
        raise Http404
    spec = record = None
    if request.GET.get("record"):
        try:
            ((spec, record),) = services.related_records(actor=actor, refs=[request.GET["record"]])
        except ValidationError:
            raise Http404 from None
    subject, body, text = services.template_render(actor=actor, template=template, spec=spec, record=record)
    return JsonResponse({"subject": subject, "body_html": body, "body_text": text})


@login_required
def address_suggest(request: HttpRequest) -> JsonResponse:
    """Addresses for the to/cc/bcc fields: contacts, leads (through the visibility filter) and members."""
    from crm_apps.access.visibility import can_view_module
    from crm_apps.engine import registry
    from crm_apps.engine.selectors import record_list
    from crm_apps.mail.matching import email_fields

    actor = request_member(request)
    text = request.GET.get("q", "").strip()[:100]
    results: list[dict[str, str]] = []
    if len(text) >= 2:
        for key in ("contacts", "leads", "organizations"):
            try:
                spec = registry.get(key)
            except registry.UnknownModule:
                continue
            if not can_view_module(actor=actor, spec=spec):
                continue
            page = record_list(spec=spec, actor=actor, search=text, limit=8)
            for record in page.records:
                for name in email_fields(spec):
                    value = getattr(record, name, "")
                    if value:
                        results.append({"value": value, "text": f"{record} <{value}>", "secondary": str(spec.label)})
        from crm_apps.access.models import Member
        from tenants.models import User

        users = User.objects.filter(
            pk__in=Member.objects.filter(active=True).values("user_id"), email__icontains=text
        ) | User.objects.filter(pk__in=Member.objects.filter(active=True).values("user_id"), name__icontains=text)
        for user in users[:8]:
            results.append({"value": user.email, "text": f"{user.name} <{user.email}>", "secondary": _("Member")})
    return JsonResponse({"results": results[:20]})


@login_required
def thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    actor = request_member(request)
    shown = selectors.thread_messages(actor=actor, thread_id=thread_id)
    if not shown:
        raise Http404
    return render(request, "mail/thread.html", {"messages_shown": shown, "thread_id": thread_id})


@login_required
@require_POST
def retry(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = services.email_retry(actor=request_member(request), message_id=message_id)
    except Message.DoesNotExist:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in _errors(exc).values() for m in ms))
        return redirect("mail:thread", Message.objects.get(pk=message_id).thread_id)
    messages.success(request, _("Sending again."))
    return redirect("mail:thread", message.thread_id)


@login_required
@require_POST
def record_from(request: HttpRequest, message_id: int) -> HttpResponse:
    """One click: a lead or contact from an unmatched message's sender."""
    from crm_apps.engine import registry

    module = request.POST.get("module", "")
    try:
        record = services.record_from_message(actor=request_member(request), message_id=message_id, module=module)
    except Message.DoesNotExist:
        raise Http404 from None
    except (ValidationError, PermissionDenied) as exc:
        messages.error(
            request,
            " ".join(m for ms in _errors(exc).values() for m in ms)
            if isinstance(exc, ValidationError)
            else _("You may not create that record."),
        )
        return redirect("mail:inbox")
    return redirect(record_url(registry.get(module), record))


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Recent messages the member may see; unmatched received ones offer "create a lead/contact"."""
    actor = request_member(request)
    recent = selectors._messages().filter(selectors.visible_q(actor=actor)).distinct().order_by("-date", "-id")[:100]
    shown = [selectors.Shown(m, lvl) for m in recent if (lvl := selectors.message_access(actor=actor, message=m))]
    linked = set(
        Message.objects.filter(pk__in=[s.message.pk for s in shown], links__isnull=False).values_list("pk", flat=True)
    )
    return render(request, "mail/inbox.html", {"rows": [(s, s.message.pk in linked) for s in shown]})


# --- Mailboxes -------------------------------------------------------------------------------------

MAILBOX_FIELDS = (
    "name",
    "kind",
    "sharing",
    "email_address",
    "display_name",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_folder",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "first_sync_days",
)


@login_required
def mailbox_list(request: HttpRequest) -> HttpResponse:
    actor = request_member(request)
    return render(
        request, "mail/mailboxes.html", {"mailboxes": mailboxes.mailboxes_managed(actor=actor).order_by("name")}
    )


@login_required
def mailbox_edit(request: HttpRequest, mailbox_id: Any = None) -> HttpResponse:
    actor = request_member(request)
    mailbox = None
    if mailbox_id is not None:
        mailbox = mailboxes.access_mailbox(actor=actor, mailbox_id=mailbox_id)
        if mailbox is None:
            raise Http404
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = (
        {f: getattr(mailbox, f) for f in MAILBOX_FIELDS}
        if mailbox
        else {
            "kind": "personal",
            "sharing": "subject",
            "imap_port": 993,
            "imap_security": "ssl",
            "imap_folder": "INBOX",
            "smtp_port": 587,
            "smtp_security": "starttls",
            "first_sync_days": 30,
        }
    )
    if request.method == "POST":
        data: dict[str, Any] = {f: request.POST.get(f, "").strip() for f in MAILBOX_FIELDS}
        for number in ("imap_port", "smtp_port", "first_sync_days"):
            try:
                data[number] = int(data[number] or 0)
            except ValueError:
                errors[number] = [_("Enter a whole number.")]
        for flag in ("is_default", "converter_enabled", "sync_enabled"):
            data[flag] = request.POST.get(flag) == "on"
        values = data
        passwords = _passwords(
            {"imap_password": request.POST.get("imap_password"), "smtp_password": request.POST.get("smtp_password")}
        )
        if not errors:
            try:
                if mailbox is None:
                    mailbox = mailboxes.mailbox_create(actor=actor, data=data, passwords=passwords)
                else:
                    mailboxes.mailbox_update(actor=actor, mailbox=mailbox, data=data, passwords=passwords)
            except ValidationError as exc:
                errors = _errors(exc)
            except PermissionDenied:
                errors = {"kind": [_("Only administrators add shared mailboxes.")]}
            else:
                messages.success(request, _("Mailbox saved: the connection works."))
                return redirect("mail:mailbox", mailbox.pk)
    return render(
        request,
        "mail/mailbox_form.html",
        {
            "mailbox": mailbox,
            "values": values,
            "errors": errors,
            "securities": Security.choices,
            "sharings": Mailbox.Sharing.choices,
            "kinds": Mailbox.Kind.choices,
        },
        status=400 if errors else 200,
    )


@login_required
def mailbox_detail(request: HttpRequest, mailbox_id: Any) -> HttpResponse:
    actor = request_member(request)
    mailbox = mailboxes.access_mailbox(actor=actor, mailbox_id=mailbox_id)
    if mailbox is None:
        raise Http404
    rule_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "delete":
            mailboxes.mailbox_delete(actor=actor, mailbox=mailbox)
            messages.success(request, _("Mailbox removed."))
            return redirect("mail:mailboxes")
        if action == "rule_delete":
            converter.rule_delete(actor=actor, mailbox=mailbox, rule_id=request.POST.get("rule", "0"))
            return redirect("mail:mailbox", mailbox.pk)
        if action == "rule_add":
            try:
                data = request.POST.dict()
                data["action"] = data.pop("action_kind", "")  # "action" names the form's button
                converter.rule_create(actor=actor, mailbox=mailbox, data=data)
            except ValidationError as exc:
                rule_errors = _errors(exc)
            else:
                messages.success(request, _("Rule added."))
                return redirect("mail:mailbox", mailbox.pk)
        if not rule_errors:
            mailboxes.mailbox_sync_request(actor=actor, mailbox=mailbox)
            messages.success(request, _("Sync started."))
            return redirect("mail:mailbox", mailbox.pk)
    return render(
        request,
        "mail/mailbox.html",
        {
            "mailbox": mailbox,
            "claims": mailbox.claims.select_related("message", "rule")[:50],
            "rules": mailbox.rules.all(),
            "rule_errors": rule_errors,
            "rule_values": request.POST if rule_errors else {},
            "rule_fields": ConverterRule.Field.choices,
            "rule_operators": ConverterRule.Operator.choices,
            "rule_actions": ConverterRule.Action.choices,
        },
        status=400 if rule_errors else 200,
    )


# --- Templates -------------------------------------------------------------------------------------


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    actor = request_member(request)
    services.default_templates_install(actor=actor)
    return render(request, "mail/templates.html", {"templates": selectors.templates_for(actor=actor)})


@login_required
def template_edit(request: HttpRequest, template_id: int | None = None) -> HttpResponse:
    from crm_apps.engine import registry

    actor = request_member(request)
    template: Template | None = None
    if template_id is not None:
        template = selectors.access_template(actor=actor, template_id=template_id)
        if template is None:
            raise Http404
    errors: dict[str, list[str]] = {}
    fields = ("name", "module", "language", "subject", "body_html")
    values: dict[str, Any] = {f: getattr(template, f) for f in (*fields, "shared")} if template else {"shared": False}
    if request.method == "POST":
        values = {f: request.POST.get(f, "") for f in fields}
        values["shared"] = request.POST.get("shared") == "on"
        try:
            if template is None:
                template = services.template_create(actor=actor, data=values)
            else:
                services.template_update(actor=actor, template=template, data=values)
        except ValidationError as exc:
            errors = _errors(exc)
        except PermissionDenied:
            raise
        else:
            messages.success(request, _("Template saved."))
            return redirect("mail:templates")
    modules = [(s.key, s.label_plural) for s in registry.all_specs()]
    return render(
        request,
        "mail/template_form.html",
        {
            "template": template,
            "values": values,
            "errors": errors,
            "modules": modules,
            "preview_url": reverse("mail:compose"),
        },
        status=400 if errors else 200,
    )


@login_required
def bulk(request: HttpRequest, module: str = "") -> HttpResponse:
    """One message per selected record from a template (`/mail/bulk/<module>/?ids=<id>&ids=<id>` from the
    list's selection bar, or `?module=<key>&ids=<id>,<id>`): records that opted out of email or have no
    address are skipped and counted."""
    from crm_apps.engine import registry

    actor = request_member(request)
    source = request.POST if request.method == "POST" else request.GET
    module = module or source.get("module", "")
    ids = [i for raw in source.getlist("ids") for i in raw.split(",") if i.strip()][:500]
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        raise Http404 from None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            counts = services.email_send_bulk(
                actor=actor, module=module, record_ids=ids, template_id=source.get("template") or None
            )
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            messages.success(
                request, _("%(sent)s messages queued, %(skipped)s records skipped (opted out or no address).") % counts
            )
            return redirect("engine:list", module)
    services.default_templates_install(actor=actor)
    return render(
        request,
        "mail/bulk.html",
        {
            "spec": spec,
            "ids": ",".join(ids),
            "count": len(ids),
            "templates": selectors.templates_for(actor=actor, module=module),
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def campaign_send(request: HttpRequest, campaign_id: Any) -> HttpResponse:
    """Start sending a template to a campaign's members (from the campaign page's panel)."""
    from crm_apps.mail import campaigns

    try:
        send = campaigns.campaign_send_start(
            actor=request_member(request),
            campaign_id=campaign_id,
            template_id=request.POST.get("template") or None,
            tracking=request.POST.get("tracking") == "on",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in _errors(exc).values() for m in ms))
    except PermissionDenied:
        messages.error(request, _("You may not send this campaign."))
    else:
        messages.success(request, _("Campaign sending started: %(n)s recipients.") % {"n": send.recipients.count()})
    return redirect("engine:detail", "campaigns", campaign_id)


# A transparent 1x1 GIF.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def track_open(request: HttpRequest, token: str) -> HttpResponse:
    """The open-tracking picture of a campaign message (tracking on): always the same transparent GIF."""
    from crm_apps.mail.campaigns import tracking_record

    # The sent copy is kept in the CRM's thread with its picture: a signed-in member reading it there is
    # not the recipient opening it.
    if not request.user.is_authenticated:
        tracking_record(token=token, clicked=False)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


def track_click(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link: the click is recorded, then the reader goes on to the address the link was signed
    for (a changed or foreign address is a 404, so this is never an open redirect)."""
    from crm_apps.mail.campaigns import click_target, tracking_record

    target = click_target(token=token, signed=request.GET.get("u", ""))
    if target is None:
        raise Http404
    if not request.user.is_authenticated:
        tracking_record(token=token, clicked=True)
    return HttpResponseRedirect(target)


@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The unsubscribe link of a campaign message: a page with a button (GET), the opt-out itself (POST,
    also the mail client's RFC 8058 one-click POST, which carries no cookie and no CSRF token: the
    token in the URL is the authorisation)."""
    from crm_apps.mail.campaigns import unsubscribe as unsubscribe_token
    from crm_apps.mail.models import CampaignRecipient

    recipient = CampaignRecipient.objects.filter(token=token).first()
    if recipient is None:
        raise Http404
    done = False
    if request.method == "POST":
        unsubscribe_token(token=token)
        done = True
    return render(
        request, "mail/unsubscribe.html", {"done": done or recipient.status == "unsubscribed", "email": recipient.email}
    )
