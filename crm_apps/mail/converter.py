"""The mail converter (vtiger's Mail Scanner): a shared mailbox's ordered rules applied to each new
message, exactly once.

A rule is a condition (from / to / subject / body; contains, equals or a regular expression, all
case-insensitive) and an action: create a lead or a contact from the sender, comment on the record whose
number (e.g. "DEAL42") appears in the subject, or link the message to the records its addresses match;
optionally the message is then moved to a server folder. The first active rule that matches wins.

Exactly once: before acting, the worker inserts the (mailbox, message) claim row; the unique constraint
lets one insert win, and the loser does nothing. The claim row then becomes the log entry: the rule, the
outcome and the records touched. "Create a ticket" hands the message to the tickets module
(`ticket_from_email`, registered by that app), which joins it to the ticket it answers or opens a new one.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

import re2
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.models import Comment, TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.mail import matching
from crm_apps.mail.models import ConverterClaim, ConverterRule, Mailbox, MailboxCopy, Message
from crm_apps.mail.store import links_add
from crm_apps.mail.transport import MailError, _quote, imap_connect

log = logging.getLogger(__name__)
_NUMBER = re.compile(r"\b([A-Z]{2,10}-?\d{1,10})\b")


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = 8 << 20  # a pathological pattern fails to compile instead of taking the worker's memory
    return options


@functools.lru_cache(maxsize=256)
def rule_pattern(value: str) -> Any:
    """A rule's regular expression, compiled by RE2: matching takes time linear in the message whatever
    the pattern (Python's `re` can backtrack for minutes on a crafted mail); None when it does not compile."""
    try:
        return re2.compile(value, _re2_options())
    except re2.error:
        return None


def rule_matches(rule: ConverterRule, message: Message) -> bool:
    haystack = {
        ConverterRule.Field.FROM: f"{message.from_name} <{message.from_address}>",
        ConverterRule.Field.TO: ", ".join(message.to + message.cc),
        ConverterRule.Field.SUBJECT: message.subject,
        ConverterRule.Field.BODY: message.body_text,
    }[rule.field]  # type: ignore[index]
    if rule.operator == ConverterRule.Operator.CONTAINS:
        return rule.value.lower() in haystack.lower()
    if rule.operator == ConverterRule.Operator.EQUALS:
        wanted = rule.value.strip().lower()
        if rule.field == ConverterRule.Field.FROM:
            return wanted == message.from_address.lower()
        if rule.field == ConverterRule.Field.TO:
            return wanted in {a.lower() for a in message.to + message.cc}
        return wanted == haystack.strip().lower()
    pattern = rule_pattern(rule.value)
    return pattern is not None and pattern.search(haystack[:100_000]) is not None


def claim(*, mailbox: Mailbox, message: Message) -> ConverterClaim | None:
    """The claim row if this worker won it; None when another worker already has the message."""
    try:
        with transaction.atomic():
            return ConverterClaim.objects.create(mailbox=mailbox, message=message)
    except IntegrityError:
        return None


# Actions other apps carry out (the tickets app: create a ticket): action -> handler
# (mailbox, message) -> the (module, record id) pairs it touched. Registered at start-up.
ActionHandler = Callable[..., list[tuple[str, Any]]]
_action_handlers: dict[str, ActionHandler] = {}


def action_handler_add(action: str, handler: ActionHandler) -> None:
    _action_handlers[action] = handler


def action_available(action: str) -> bool:
    return action != ConverterRule.Action.CREATE_TICKET or action in _action_handlers


def _actor(mailbox: Mailbox) -> Member:
    return mailbox.owner


def _from_sender(*, mailbox: Mailbox, message: Message, module: str) -> list[tuple[str, Any]]:
    spec = registry.get(module)
    existing = [r for r in matching.records_for([message.from_address]) if r[0] == module]
    if existing:
        links_add(message=message, records=existing, actor=None)
        return existing
    name = (message.from_name or message.from_address.split("@")[0]).strip()
    first, _sep, last = name.rpartition(" ")
    data: dict[str, Any] = {
        "first_name": first,
        "last_name": last or name,
        "email": message.from_address,
        "description": message.body_text[:5000],
    }
    if module == "leads":
        data["company"] = message.from_address.rsplit("@", 1)[1]
    if "description" not in {f.name for f in spec.model._meta.concrete_fields}:
        data.pop("description")
    record = record_create(spec=spec, actor=_actor(mailbox), data=data)
    links_add(message=message, records=[(spec.key, record.pk)], actor=None)
    return [(spec.key, record.pk)]


def _comment_on_number(*, mailbox: Mailbox, message: Message) -> list[tuple[str, Any]]:
    numbers = set(_NUMBER.findall(message.subject.upper()))
    touched: list[tuple[str, Any]] = []
    if not numbers:
        return touched
    for spec in registry.all_specs():
        for record in spec.records().filter(deleted_at__isnull=True, number__in=numbers)[:5]:
            body = (
                _("Email from %(sender)s: %(subject)s")
                % {
                    "sender": message.from_address,
                    "subject": message.subject,
                }
                + "\n\n"
                + message.body_text[:8000]
            )
            comment = Comment.objects.create(module=spec.key, record_id=record.pk, author=_actor(mailbox), body=body)
            TimelineEntry.objects.create(
                module=spec.key,
                record_id=record.pk,
                kind=TimelineEntry.Kind.COMMENTED,
                actor=_actor(mailbox),
                data={"comment": comment.pk},
            )
            links_add(message=message, records=[(spec.key, record.pk)], actor=None)
            touched.append((spec.key, record.pk))
    return touched


def _move(*, mailbox: Mailbox, message: Message, folder: str) -> str:
    copy = MailboxCopy.objects.filter(mailbox=mailbox, message=message).first()
    if copy is None or copy.uid is None:
        return _("not on the server")
    try:
        with imap_connect(mailbox) as conn:
            conn.select(_quote(mailbox.imap_folder))
            typ, data = conn.uid("COPY", str(copy.uid), _quote(folder))
            if typ != "OK" and b"TRYCREATE" in b" ".join(d for d in data if isinstance(d, bytes)):
                conn.create(_quote(folder))  # the folder does not exist yet: create it, then copy
                typ, data = conn.uid("COPY", str(copy.uid), _quote(folder))
            if typ != "OK":
                return _("folder %(folder)s refused the message") % {"folder": folder}
            conn.uid("STORE", str(copy.uid), "+FLAGS.SILENT", r"(\Deleted)")
            conn.expunge()
    except MailError as exc:
        return exc.message
    return ""


def message_convert(*, mailbox: Mailbox, message: Message) -> ConverterClaim | None:
    """Apply the first matching rule to one message, once; the log row (None if another worker had it)."""
    entry = claim(mailbox=mailbox, message=message)
    if entry is None:
        return None
    rules = list(mailbox.rules.filter(active=True).order_by("position", "id"))
    rule = next((r for r in rules if rule_matches(r, message)), None)
    if rule is None:
        entry.outcome = "no_rule"
        entry.save(update_fields=["outcome"])
        return entry
    try:
        with transaction.atomic():
            if rule.action == ConverterRule.Action.CREATE_LEAD:
                touched = _from_sender(mailbox=mailbox, message=message, module="leads")
            elif rule.action == ConverterRule.Action.CREATE_CONTACT:
                touched = _from_sender(mailbox=mailbox, message=message, module="contacts")
            elif rule.action == ConverterRule.Action.COMMENT_NUMBER:
                touched = _comment_on_number(mailbox=mailbox, message=message)
            elif rule.action in _action_handlers:
                touched = _action_handlers[rule.action](mailbox=mailbox, message=message)
            elif not action_available(rule.action):
                raise RuntimeError(f"the {rule.action} action is not installed")
            else:
                touched = matching.records_for(message.addresses())
                links_add(message=message, records=touched, actor=None)
        entry.outcome = "done"
    except Exception as exc:
        log.warning("converter rule %s failed on message %s: %s", rule.pk, message.pk, exc.__class__.__name__)
        touched, entry.outcome, entry.detail = [], "failed", str(exc)[:1000]
    if rule.move_to and entry.outcome == "done":
        problem = _move(mailbox=mailbox, message=message, folder=rule.move_to)
        if problem:
            entry.detail = problem
    entry.rule = rule
    entry.records = [f"{m}:{pk}" for m, pk in touched]
    entry.save(update_fields=["rule", "outcome", "records", "detail"])
    return entry


def messages_convert(*, mailbox: Mailbox, message_ids: list[int]) -> int:
    """Run the converter over new messages of a shared mailbox; how many this worker processed."""
    done = 0
    for message in Message.objects.filter(pk__in=message_ids).order_by("date", "id"):
        if message_convert(mailbox=mailbox, message=message) is not None:
            done += 1
    return done


def rule_create(*, actor: Member, mailbox: Mailbox, data: dict[str, Any]) -> ConverterRule:
    """A new rule at the end of a shared mailbox's list (administrators; a pattern must compile)."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from crm_apps.mail.mailboxes import may_manage

    if mailbox.kind != Mailbox.Kind.SHARED or not may_manage(actor=actor, mailbox=mailbox):
        raise PermissionDenied
    last = mailbox.rules.order_by("-position").values_list("position", flat=True).first() or 0
    rule = ConverterRule(mailbox=mailbox, position=last + 1)
    for name in ("name", "field", "operator", "value", "action", "move_to"):
        if name in data:
            setattr(rule, name, str(data[name]).strip())
    errors: dict[str, list[str]] = {}
    if not action_available(rule.action):
        errors["action"] = [_("This action needs the tickets module.")]
    if rule.operator == ConverterRule.Operator.REGEX:
        try:
            re2.compile(rule.value, _re2_options())
        except re2.error:
            errors["value"] = [_("Enter a valid regular expression (RE2 syntax: no back-references or look-arounds).")]
    try:
        rule.full_clean(exclude=["mailbox"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    rule.save()
    return rule


def rule_delete(*, actor: Member, mailbox: Mailbox, rule_id: Any) -> int:
    from django.core.exceptions import PermissionDenied

    from crm_apps.mail.mailboxes import may_manage

    if not may_manage(actor=actor, mailbox=mailbox):
        raise PermissionDenied
    deleted, _by_model = mailbox.rules.filter(pk=rule_id).delete()
    return int(deleted)
