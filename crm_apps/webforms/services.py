"""Web forms: the admin's definitions (`webform_save`, `webform_delete`) and a visitor's submission
(`submission_accept`), which creates or links a record through the engine's services, so validation,
numbering, audit, timeline and plan limits are the same as for a member's own create.

A submission acts as the member who will own the record: the form's fixed owner, the next member of its
group in turn (crm_apps.support.assignment), else the admin who made the form. What that member may not
do, the form cannot do either. Nothing a visitor sends becomes markup: values are stored as text and
templates escape them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Group, Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine import metadata, registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create, record_update
from crm_apps.webforms.models import Submission, VisitorDocument, WebForm
from saas.headers import site_origin

CAPTURE_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "landing_page")
# A contact form may name the visitor's company: found by exact name or created, then linked.
ORGANIZATION_NAME = "organization_name"
EMAIL_MODULES = ("leads", "contacts")
MAX_FIELDS = 60
MAX_UPLOADS = 5
MAX_ORIGINS = 20
# Proof of work: a sender's browser finds a nonce whose SHA-256 with the form's token starts with this many
# zero bits (about 2**bits hashes: 16 bits is a second or so on a phone, nothing for one visitor, a cost for
# a robot sending thousands).
POW_MIN_BITS = 8
POW_MAX_BITS = 24
CUSTOM_PREFIX = "custom."
SKIPPED_FIELDS = {"owner", "tags"}
TEXT_TYPES = (
    "CharField",
    "TextField",
    "EmailField",
    "URLField",
    "SlugField",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "DecimalField",
    "DateField",
    "BooleanField",
)


class Rejected(Exception):
    """A submission refused before anything was written; `reason` is a Submission.Reason."""

    def __init__(self, reason: str, errors: dict[str, list[str]] | None = None, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or {}
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class Visit:
    """What the request tells about the visitor, besides the values."""

    ip: str | None = None
    user_agent: str = ""
    origin: str = ""
    referrer: str = ""
    landing_page: str = ""
    utm: dict[str, str] = dataclasses.field(default_factory=dict)


def _admin_check(actor: Member) -> None:
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied


def form_modules() -> list[Any]:
    """Modules a form can feed: every registered module with a plain text title (not documents, whose
    records are files, nor modules whose records need line items)."""
    return [s for s in registry.all_specs() if s.key not in ("documents",) and not s.children]


def model_field(spec: Any, name: str) -> Any:
    try:
        return spec.model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def fields_available(module: str) -> dict[str, str]:
    """name -> label of what a form of `module` may ask: the module's own editable text-like fields (no
    references: a visitor cannot pick records), its custom fields, and for contacts the company name."""
    spec = registry.get(module)
    found: dict[str, str] = {}
    for name in spec.form_fields:
        field = model_field(spec, name)
        if field is None or name in SKIPPED_FIELDS or field.get_internal_type() not in TEXT_TYPES:
            continue
        if getattr(field, "choices", None) and name not in spec.picklists:
            continue  # fixed choices: a visitor's free text would only be refused
        found[name] = str(field.verbose_name).capitalize()
    for custom in metadata.custom_fields(module):
        if custom.type in ("record", "multiselect_record"):
            continue
        found[f"{CUSTOM_PREFIX}{custom.key}"] = custom.label
    if module == "contacts":
        found[ORGANIZATION_NAME] = _("Organisation name")
    return found


def _clean_origins(value: Any, errors: dict[str, list[str]]) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in value.replace(",", "\n").split() if v]
    if not isinstance(value, list) or len(value) > MAX_ORIGINS:
        errors["allowed_origins"] = [_("List at most %(count)s sites.") % {"count": MAX_ORIGINS}]
        return []
    cleaned: list[str] = []
    for item in value:
        # Strict (saas/headers.py): each origin goes into frame-ancestors and CORS headers as it is.
        origin = site_origin(str(item))
        if origin is None:
            errors["allowed_origins"] = [
                _("%(value)s is not a site address such as https://www.example.com.") % {"value": item}
            ]
            return []
        if origin not in cleaned:
            cleaned.append(origin)
    return cleaned


def _clean_fields(module: str, value: Any, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    available = fields_available(module)
    if not isinstance(value, list) or not value or len(value) > MAX_FIELDS:
        errors["fields"] = [_("Choose between 1 and %(count)s fields.") % {"count": MAX_FIELDS}]
        return []
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    uploads = 0
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            errors[f"fields.{index}"] = [_("Each field needs a name.")]
            continue
        name = item["field"].strip()
        upload = bool(item.get("upload"))
        if upload:
            uploads += 1
            if not name.isidentifier() or name in available or name in seen:
                errors[f"fields.{index}"] = [_("Name a file field with letters, digits and underscores.")]
                continue
        elif name not in available:
            errors[f"fields.{index}"] = [_("%(field)s is not a field this form can ask.") % {"field": name}]
            continue
        if name in seen:
            errors[f"fields.{index}"] = [_("%(field)s is on the form twice.") % {"field": name}]
            continue
        seen.add(name)
        cleaned.append(
            {
                "field": name,
                "label": str(item.get("label") or (available.get(name) or name))[:120],
                "placeholder": str(item.get("placeholder") or "")[:120],
                "required": bool(item.get("required")),
                "upload": upload,
            }
        )
    if uploads > MAX_UPLOADS:
        errors["fields"] = [_("A form may have at most %(count)s file fields.") % {"count": MAX_UPLOADS}]
    return cleaned


def _clean_mapping(
    module: str, value: Any, keys: tuple[str, ...] | None, errors: dict[str, list[str]], name: str
) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        errors[name] = [_("Send an object.")]
        return {}
    available = fields_available(module)
    cleaned: dict[str, str] = {}
    for key, item in value.items():
        if keys is None:  # hidden: field -> fixed value
            if key not in available:
                errors[f"{name}.{key}"] = [_("%(field)s is not a field this form can fill.") % {"field": key}]
                continue
            if isinstance(item, (list, dict)):
                errors[f"{name}.{key}"] = [_("Send a text value.")]
                continue
            cleaned[key] = str(item if item is not None else "")[:2000]
        else:  # capture: what the visit tells -> field (a field's name: a list or object is no name)
            if key not in keys or not isinstance(item, str) or item not in available:
                errors[f"{name}.{key}"] = [_("Capture %(what)s into one of the form's module fields.") % {"what": key}]
                continue
            cleaned[key] = str(item)
    return cleaned


def _int(data: dict[str, Any], name: str, default: int, low: int, high: int, errors: dict[str, list[str]]) -> int:
    value = data.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = low - 1
    if not low <= number <= high:
        errors[name] = [_("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}]
        return default
    return number


def _member(value: Any, errors: dict[str, list[str]]) -> Member | None:
    if value in (None, ""):
        return None
    found = Member.objects.filter(pk=value, active=True).first() if str(value).isdigit() else None
    if found is None:
        errors["owner"] = [_("Choose an active member.")]
    return found


def _group(value: Any, errors: dict[str, list[str]]) -> Group | None:
    if value in (None, ""):
        return None
    found = Group.objects.filter(pk=value).first() if str(value).isdigit() else None
    if found is None:
        errors["owner_group"] = [_("Choose a group.")]
    return found


@transaction.atomic
def webform_save(*, actor: Member, data: dict[str, Any], form: WebForm | None = None) -> WebForm:
    """Create or change a form (administrators and members who manage settings); every problem is named,
    nothing is written while one remains."""
    _admin_check(actor)
    errors: dict[str, list[str]] = {}
    target = form or WebForm(created_by=actor)
    module = data.get("module", target.module if form else None)
    if not isinstance(module, str) or module not in {s.key for s in form_modules()}:
        errors["module"] = [_("Choose a module.")]
        raise ValidationError(errors)
    name = str(data.get("name", target.name) or "").strip()
    if not name:
        errors["name"] = [_("Name the form.")]
    target.name = name[:120]
    target.module = module
    target.fields = _clean_fields(module, data.get("fields", target.fields), errors)
    target.hidden = _clean_mapping(module, data.get("hidden", target.hidden), None, errors, "hidden")
    target.capture = _clean_mapping(module, data.get("capture", target.capture), CAPTURE_KEYS, errors, "capture")
    target.allowed_origins = _clean_origins(data.get("allowed_origins", target.allowed_origins), errors)
    for flag in ("active", "notify_owner", "dedupe_by_email"):
        if flag in data:
            setattr(target, flag, data[flag] in (True, "true", "on", "1", 1))
    for text in ("consent_text", "success_message", "redirect_url"):
        if text in data:
            setattr(target, text, str(data[text] or "").strip())
    target.min_seconds = _int(data, "min_seconds", target.min_seconds, 0, 3600, errors)
    target.ip_limit_per_hour = _int(data, "ip_limit_per_hour", target.ip_limit_per_hour, 1, 100_000, errors)
    target.form_limit_per_hour = _int(data, "form_limit_per_hour", target.form_limit_per_hour, 1, 1_000_000, errors)
    target.max_field_chars = _int(data, "max_field_chars", target.max_field_chars, 10, 20_000, errors)
    target.proof_of_work_bits = _int(data, "proof_of_work_bits", target.proof_of_work_bits, 0, POW_MAX_BITS, errors)
    if 0 < target.proof_of_work_bits < POW_MIN_BITS:
        errors["proof_of_work_bits"] = [
            _("Choose 0 (off) or from %(low)s to %(high)s.") % {"low": POW_MIN_BITS, "high": POW_MAX_BITS}
        ]
    if "owner" in data:
        target.owner = _member(data["owner"], errors)
    if "owner_group" in data:
        target.owner_group = _group(data["owner_group"], errors)
    if target.owner_id is None and target.owner_group_id is None:
        target.owner = actor
    target.updated_at = timezone.now()
    try:
        target.full_clean(
            exclude=["fields", "hidden", "capture", "allowed_origins", "owner", "owner_group", "created_by"]
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    created = target.pk is None
    target.save()
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="webforms",
        record_id=target.pk,
        record_label=target.name,
        details={"event": "created" if created else "changed", "module": target.module},
    )
    return target


@transaction.atomic
def webform_delete(*, actor: Member, form: WebForm) -> None:
    """Remove a form with its log and statistics; records it made stay."""
    _admin_check(actor)
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="webforms",
        record_id=form.pk,
        record_label=form.name,
        details={"event": "deleted", "module": form.module},
    )
    form.delete()


def _assignee(form: WebForm) -> Member:
    """Who owns (and, for the engine, creates) the record: the group's next member in turn, else the fixed
    owner, else the form's author, else the first administrator."""
    if form.owner_group_id:
        from crm_apps.support.assignment import next_assignee

        chosen = next_assignee(team=form.owner_group)  # type: ignore[arg-type]
        if chosen is not None:
            return chosen
    for candidate in (form.owner, form.created_by):
        if candidate is not None and candidate.active:
            return candidate
    admin = Member.objects.filter(active=True, is_admin=True).order_by("id").first()
    if admin is None:
        raise Rejected(Submission.Reason.INVALID, {"non_field_errors": [_("This form cannot take submissions now.")]})
    return admin


def _values_check(form: WebForm, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> dict[str, str]:
    """The visitor's answers to the form's questions, as trimmed text: required ones present, none too long."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for item in form.fields:
        name = item["field"]
        if item.get("upload"):
            if item.get("required") and name not in uploads:
                errors[name] = [_("Attach a file.")]
            continue
        raw = values.get(name)
        if isinstance(raw, list):
            raw = raw[0] if raw else ""
        if raw is not None and not isinstance(raw, str | int | float | bool):
            errors[name] = [_("Send text.")]
            continue
        text = "" if raw is None else str(raw).strip()
        if "\x00" in text:
            errors[name] = [_("Send text.")]
            continue
        if len(text) > form.max_field_chars:
            errors[name] = [_("At most %(count)s characters.") % {"count": form.max_field_chars}]
            continue
        if not text:
            if item.get("required"):
                errors[name] = [_("This field is required.")]
            continue
        cleaned[name] = text
    if form.consent_text and str(values.get("consent") or "").lower() not in ("1", "true", "on", "yes"):
        errors["consent"] = [_("Please give your consent to send this form.")]
    if errors:
        raise Rejected(Submission.Reason.INVALID, errors)
    return cleaned


def _captured(form: WebForm, visit: Visit) -> dict[str, str]:
    """field -> what the visit tells (UTM values, referrer, landing page), for the form's capture setting."""
    told = {**visit.utm, "referrer": visit.referrer, "landing_page": visit.landing_page}
    return {target: told.get(key, "") for key, target in form.capture.items() if told.get(key)}


def _record_values(form: WebForm, cleaned: dict[str, str], visit: Visit) -> tuple[dict[str, Any], dict[str, Any], str]:
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    organization = ""
    for name, value in {**form.hidden, **_captured(form, visit), **cleaned}.items():
        if name == ORGANIZATION_NAME:
            organization = value
        elif name.startswith(CUSTOM_PREFIX):
            custom[name.removeprefix(CUSTOM_PREFIX)] = value
        else:
            data[name] = value
    return data, custom, organization


def _organization(actor: Member, name: str) -> Any:
    """The visible organisation of that exact name, else a new one owned like the contact."""
    spec = registry.get("organizations")
    found = (
        visibility.visible_records(actor=actor, spec=spec, queryset=spec.records())
        .filter(name__iexact=name, deleted_at__isnull=True)
        .first()
    )
    return found or record_create(spec=spec, actor=actor, data={"name": name})


DEAL_CLOSE_DAYS = 30


def _module_defaults(module: str) -> dict[str, Any]:
    """Values a visitor cannot be asked for but the module requires: a deal from a website is expected to
    close in a month unless the form asks or fixes the date (its pipeline and stage default in the deals
    module itself)."""
    if module == "deals":
        return {"close_date": (timezone.localdate() + dt.timedelta(days=DEAL_CLOSE_DAYS)).isoformat()}
    return {}


def _existing(spec: Any, email: str) -> Any:
    return spec.records().filter(deleted_at__isnull=True, email__iexact=email).order_by("created_at").first()


def _fill_blanks(spec: Any, actor: Member, record: Any, data: dict[str, Any], custom: dict[str, Any]) -> bool:
    """Linking to a known record of the form's own module adds what it lacked and never overwrites what
    someone entered; False when nothing could be written (the owner may not edit it, or the additions do
    not fit: the link alone is kept, and the submission keeps the values)."""
    blanks = {k: v for k, v in data.items() if hasattr(record, k) and getattr(record, k) in ("", None)}
    stored = record.custom_data or {}
    custom_blanks = {k: v for k, v in custom.items() if stored.get(k) in (None, "")}
    if not blanks and not custom_blanks:
        return True
    try:
        with transaction.atomic():
            record_update(spec=spec, actor=actor, record=record, data=blanks, custom=custom_blanks or None)
    except (PermissionDenied, ValidationError):
        return False
    return True


def _visible_to(actor: Member, spec: Any, record: Any) -> bool:
    """Whether the assignee may see the record (documents are linked only to records their actor sees)."""
    from crm_apps.engine import selectors

    if not visibility.can_view_module(actor=actor, spec=spec):
        return False
    return selectors.access_record(spec=spec, actor=actor, record_id=record.pk) is not None


def stat_add(*, form: WebForm, source: str, views: int = 0, submissions: int = 0) -> None:
    """Count views or accepted submissions of today for a UTM source: one upsert statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO webforms_dailystat (form_id, day, source, views, submissions) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (form_id, day, source) DO UPDATE SET views = webforms_dailystat.views + EXCLUDED.views, "
            "submissions = webforms_dailystat.submissions + EXCLUDED.submissions",
            [form.pk, timezone.localdate(), source[:100], views, submissions],
        )


def submission_reject(*, form: WebForm, reason: str, visit: Visit, detail: dict[str, Any] | None = None) -> Submission:
    """Log a refused submission (the log keeps the reason, never the refused values)."""
    return Submission.objects.create(
        form=form,
        status=Submission.Status.REJECTED,
        reason=reason,
        detail=detail or {},
        ip=visit.ip,
        user_agent=visit.user_agent[:300],
        origin=visit.origin[:300],
        utm_source=visit.utm.get("utm_source", "")[:100],
        utm=visit.utm,
    )


def submission_accept(
    *, form: WebForm, values: dict[str, Any], uploads: dict[str, UploadedFile], visit: Visit
) -> Submission:
    """Turn a visitor's answers into a record of the form's module (or link them to the lead/contact with the
    same email), with its files as documents, consent, the visit's UTM data and a note on the timeline;
    notify the owner. Raises Rejected (nothing written) for values the form or the engine refuse."""
    cleaned = _values_check(form, values, uploads)
    try:
        with transaction.atomic():
            return _accept(form=form, cleaned=cleaned, uploads=uploads, visit=visit)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}
        raise Rejected(Submission.Reason.INVALID, _public_errors(form, errors)) from exc
    except PermissionDenied as exc:
        raise Rejected(
            Submission.Reason.INVALID, {"non_field_errors": [_("This form cannot take submissions now.")]}
        ) from exc


def _public_errors(form: WebForm, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The engine names fields by their module name; custom values come back as `custom.<key>` already.
    Errors on fields the visitor never saw (a hidden value, a required field left off the form) say only
    that the form cannot be sent, so a visitor learns nothing of the configuration."""
    asked = {f["field"] for f in form.fields} | {"consent", "file"}
    shown = {k: v for k, v in errors.items() if k in asked}
    if len(shown) < len(errors):
        shown.setdefault("non_field_errors", [_("This form cannot be sent as it is; please tell the site's owner.")])
    return shown


def _accept(*, form: WebForm, cleaned: dict[str, str], uploads: dict[str, UploadedFile], visit: Visit) -> Submission:
    spec = registry.get(form.module)
    actor = _assignee(form)
    data, custom, organization_name = _record_values(form, cleaned, visit)
    data = {**_module_defaults(form.module), **data}
    record = None
    linked = False
    # What the visitor sent that stays on the submission only (see Submission.unapplied).
    unapplied: dict[str, Any] = {}
    email = data.get("email", "")
    if form.dedupe_by_email and form.module in EMAIL_MODULES and email:
        record = _existing(spec, email)
        if record is None and form.module == "leads":
            # A known customer writing through a lead form is no new lead: link to the contact, and change
            # nothing of it (an anonymous visitor only has to know the address): its answers and files stay
            # with the submission, for a member to apply.
            contacts = registry.get("contacts")
            record = _existing(contacts, email)
            if record is not None:
                spec = contacts
                unapplied = {**_captured(form, visit), **cleaned}
        if record is not None:
            linked = True
            if spec.key == form.module and not _fill_blanks(spec, actor, record, data, custom):
                unapplied = {**_captured(form, visit), **cleaned}
    if record is None:
        if organization_name:
            data["organization"] = _organization(actor, organization_name).pk
        data["owner"] = actor.pk
        record = record_create(spec=spec, actor=actor, data=data, custom=custom or None)
    # A visitor's files go on a record the submission made, or a known record of the form's own module the
    # assignee may see; else they stay with the submission (the visitor's answer is the same either way:
    # it must not tell whether the address is known).
    attach = not linked or (spec.key == form.module and _visible_to(actor, spec, record))
    documents = _documents(form=form, actor=actor, target=(spec.key, record.pk) if attach else None, uploads=uploads)
    now = timezone.now()
    submission = Submission.objects.create(
        form=form,
        status=Submission.Status.ACCEPTED,
        values=cleaned,
        unapplied=unapplied,
        module=spec.key,
        record_id=record.pk,
        linked=linked,
        ip=visit.ip,
        user_agent=visit.user_agent[:300],
        origin=visit.origin[:300],
        utm_source=visit.utm.get("utm_source", "")[:100],
        utm={**visit.utm, "referrer": visit.referrer[:500], "landing_page": visit.landing_page[:500]},
        consent_at=now if form.consent_text else None,
        consent_ip=visit.ip if form.consent_text else None,
        consent_text=form.consent_text,
    )
    VisitorDocument.objects.bulk_create(
        [VisitorDocument(document_id=pk, submission=submission, attached=attach) for pk in documents]
    )
    note = _("Sent through the web form “%(form)s”") % {"form": form.name}
    if form.consent_text:
        note += " · " + _("consent given %(when)s from %(ip)s") % {
            "when": now.isoformat(timespec="seconds"),
            "ip": visit.ip or "?",
        }
    if unapplied or (documents and not attach):
        note += " · " + _("what was sent is kept on the form's submission log, not written here")
    TimelineEntry.objects.create(
        module=spec.key,
        record_id=record.pk,
        kind=TimelineEntry.Kind.UPDATED,
        actor=None,
        data={"changes": {_("Web form"): [None, note]}, "webform": form.pk, "submission": submission.pk},
    )
    from crm_apps.engine import events  # workflows' "web form submitted" trigger (crm_apps/automation)

    # On the module of the record linked or made: a lead form that linked a known contact fires it on
    # contacts, not leads (docs/webforms.md, "Workflows").
    events.record_event(module=spec.key, event="webform_submitted", record_ids=[record.pk])
    stat_add(form=form, source=submission.utm_source, submissions=1)
    if form.notify_owner:
        module = spec.key
        transaction.on_commit(lambda: _notify(form=form, module=module, record=record, linked=linked))
    return submission


def _documents(
    *, form: WebForm, actor: Member, target: tuple[str, Any] | None, uploads: dict[str, UploadedFile]
) -> list[Any]:
    """Each file becomes a document (within the plan's storage and the upload limits), linked to `target`
    when there is one; their ids."""
    from crm_apps.modules.documents.services import Upload, document_create

    asked = {f["field"] for f in form.fields if f.get("upload")}
    made = []
    for name, upload in uploads.items():
        if name not in asked:
            continue
        try:
            document = document_create(
                actor=actor,
                data={"title": upload.name or name},
                upload=Upload(stream=upload, name=upload.name or name, size=upload.size or 0),
                links=[target] if target else [],
            )
        except ValidationError as exc:
            messages = exc.message_dict.get("file") if hasattr(exc, "error_dict") else exc.messages
            raise ValidationError({name: list(messages or exc.messages)}) from exc
        made.append(document.pk)
    return made


def _notify(*, form: WebForm, module: str, record: Any, linked: bool) -> None:
    from crm_apps.webforms.notify import submission_notify

    submission_notify(form=form, module=module, record=record, linked=linked)
