"""Migration from vtiger: read a vtiger install (or anything speaking its webservice, this CRM's own
`/webservice.php` included) through the classic protocol and bring its users, picklist values, custom
fields, records (in reference order, with their relations) and comments here.

Every remote id is remembered (`ImportedId`), so running again updates what changed and creates what is
new, never a duplicate. Writes go through the engine's services as the importing admin (validation,
rights, audit, timeline). What cannot be mapped is listed in the run's report, never dropped silently.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from crm_apps.access.models import Group, Invitation, Member, Role
from crm_apps.access.services import group_save, invitation_create, role_create
from crm_apps.engine import metadata, registry, selectors
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.models import FieldType
from crm_apps.engine.services import comment_add, custom_field_create, picklist_value_add, record_create, record_update
from crm_apps.engine.services.custom_fields import CUSTOM_KEY_RE
from crm_apps.vtiger import catalog, ids
from crm_apps.vtiger.catalog import GROUPS, USERS, WsModule
from crm_apps.vtiger.errors import WsError
from crm_apps.vtiger.models import ImportedId, ImportRun
from crm_apps.vtiger.operations import COMMENTS
from crm_apps.vtiger.records import deserialize, validation_error
from saas.http import outbound_url_problem

logger = logging.getLogger(__name__)
PAGE = 100
TIMEOUT = 60
# Remote field types -> custom field types for fields this CRM does not have.
FIELD_TYPES = {
    "string": FieldType.TEXT,
    "text": FieldType.TEXTAREA,
    "integer": FieldType.INTEGER,
    "double": FieldType.DECIMAL,
    "currency": FieldType.CURRENCY,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
    "boolean": FieldType.CHECKBOX,
    "email": FieldType.EMAIL,
    "phone": FieldType.PHONE,
    "url": FieldType.URL,
    "picklist": FieldType.PICKLIST,
    "multipicklist": FieldType.MULTIPICKLIST,
    "reference": FieldType.RECORD,
    "owner": FieldType.MEMBER,
}
SYSTEM_FIELDS = {
    "id",
    "createdtime",
    "modifiedtime",
    "created_user_id",
    "modifiedby",
    "record_no",
    "source",
    "starred",
    "tags",
}


class SourceError(Exception):
    pass


def normalised_url(url: str) -> str:
    url = url.strip()
    if not url.endswith("webservice.php"):
        url = url.rstrip("/") + "/webservice.php"
    return url


class Source:
    """A vtiger webservice: challenge, md5 login, session; JSON results or SourceError."""

    def __init__(self, url: str, username: str, access_key: str, http: Any = None) -> None:
        self.url = normalised_url(url)
        self.username = username
        self.access_key = access_key
        self.http = http or requests.Session()
        self.session = ""

    def _answer(self, response: Any) -> Any:
        try:
            body = response.json()
        except ValueError as exc:
            raise SourceError(f"{self.url} did not answer JSON (HTTP {response.status_code})") from exc
        if not isinstance(body, dict) or not body.get("success"):
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise SourceError(f"{error.get('code', 'ERROR')}: {error.get('message', '')}")
        return body["result"]

    def _check_target(self) -> None:
        """Never reach internal hosts from the worker (SSRF): public addresses only, unless
        VTIGER_ALLOW_PRIVATE (development and tests); requests never follow redirects."""
        problem = outbound_url_problem(self.url, allow_private=getattr(settings, "VTIGER_ALLOW_PRIVATE", False))
        if problem:
            raise SourceError(f"{self.url}: refused ({problem})")

    def login(self) -> dict[str, Any]:
        self._check_target()
        try:
            challenge = self._answer(
                self.http.get(
                    self.url,
                    params={"operation": "getchallenge", "username": self.username},
                    timeout=TIMEOUT,
                    allow_redirects=False,
                )
            )
            digest = hashlib.md5((challenge["token"] + self.access_key).encode(), usedforsecurity=False).hexdigest()
            result = self._answer(
                self.http.post(
                    self.url,
                    data={"operation": "login", "username": self.username, "accessKey": digest},
                    timeout=TIMEOUT,
                    allow_redirects=False,
                )
            )
        except requests.RequestException as exc:
            raise SourceError(f"{self.url}: could not connect ({type(exc).__name__})") from exc
        self.session = result["sessionName"]
        return dict(result)

    def get(self, operation: str, **params: Any) -> Any:
        self._check_target()
        try:
            response = self.http.get(
                self.url,
                params={"operation": operation, "sessionName": self.session, **params},
                timeout=TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise SourceError(f"{self.url}: could not connect ({type(exc).__name__})") from exc
        return self._answer(response)

    def query_all(self, module: str) -> Iterator[list[dict[str, Any]]]:
        """Every record of a module, a page of 100 at a time (vtiger's cap)."""
        offset = 0
        while True:
            vtql = f"SELECT * FROM {module} LIMIT {offset}, {PAGE};"  # noqa: S608 - VTQL sent to the source
            rows = self.get("query", query=vtql)
            yield rows
            if len(rows) < PAGE:
                return
            offset += PAGE


class Importer:
    def __init__(self, *, actor: Member, source: Source, run: ImportRun | None = None) -> None:
        self.actor = actor
        self.source = source
        self.run = run
        self.key = source.url
        self.report: list[str] = []
        self.progress: dict[str, Any] = {"step": "", "modules": {}}
        self.known: dict[str, tuple[str, str, str]] = {
            r.remote_id: (r.module_key, r.local_id, r.remote_modified)
            for r in ImportedId.objects.filter(source=self.key)
        }
        self.field_names: dict[str, dict[str, str]] = {}  # module -> remote field -> local field
        self.deferred: list[tuple[WsModule, str, dict[str, Any]]] = []

    # --- bookkeeping ---

    def note(self, line: str) -> None:
        if line not in self.report:
            self.report.append(line)

    def save_progress(self, step: str) -> None:
        self.progress["step"] = step
        if self.run is not None:
            self.run.progress = self.progress
            self.run.report = self.report
            self.run.save(update_fields=["progress", "report"])

    def remember(self, remote_id: str, module_key: str, local_id: Any, modified: str = "") -> None:
        ImportedId.objects.update_or_create(
            source=self.key,
            remote_id=remote_id,
            defaults={"module_key": module_key, "local_id": str(local_id), "remote_modified": modified},
        )
        self.known[remote_id] = (module_key, str(local_id), modified)

    # --- steps ---

    def execute(self) -> dict[str, Any]:
        self.save_progress("login")
        self.source.login()
        types = self.source.get("listtypes")["types"]
        self.save_progress("users")
        self.users()
        if GROUPS in types:
            self.save_progress("groups")
            self.groups()
        local = catalog.module_names()
        modules = [t for t in types if t in local]
        for name in types:
            if name not in local and name not in (USERS, COMMENTS, GROUPS, "Currency", "DocumentFolders"):
                self.note(f"Module {name}: no module of that vtiger name here; its records were not imported.")
        for name in self.ordered(modules):
            ws = catalog.module(name)
            self.save_progress(f"fields:{name}")
            self.fields(ws)
            self.save_progress(f"records:{name}")
            self.records(ws)
        self.save_progress("references")
        self.second_pass()
        self.save_progress("comments")
        if COMMENTS in types:
            self.comments()
        self.save_progress("done")
        return {"progress": self.progress, "report": self.report}

    def ordered(self, names: list[str]) -> list[str]:
        """Modules before the modules whose references point at them (cycles: the second pass)."""
        deps: dict[str, set[str]] = {}
        for name in names:
            ws = catalog.module(name)
            targets = {f.target for f in ws.fields.values() if f.type == "reference" and f.target}
            deps[name] = {catalog.name_of(registry.get(t)) for t in targets} & set(names) - {name}
        done: list[str] = []
        while len(done) < len(names):
            ready = sorted(n for n in names if n not in done and deps[n] <= set(done))
            if not ready:  # a cycle: take the remaining module with the fewest open dependencies
                ready = [min((n for n in names if n not in done), key=lambda n: (len(deps[n] - set(done)), n))]
            done.append(ready[0])
        return done

    def users(self) -> None:
        """Remote users -> members by email; people who are not members yet get an invitation (their
        records belong to the importing admin until then)."""
        try:
            users = self.source.get("query", query="SELECT * FROM Users;")
        except SourceError as exc:
            self.note(f"Users: could not be read ({exc}); records are owned by the importing admin.")
            return
        for user in users:
            email = str(user.get("email1") or user.get("user_name") or "").strip().lower()
            remote = str(user.get("id", ""))
            if not email or not remote:
                continue
            member = Member.objects.filter(user__email__iexact=email, active=True).first()
            if member is not None:
                self.remember(remote, "members", member.pk)
                continue
            if user.get("status", "Active") != "Active":
                self.note(f"User {email}: inactive there, not invited; their records are owned by the importer.")
                continue
            if Invitation.objects.filter(email__iexact=email).exists():
                self.note(f"User {email}: already invited; their records are owned by the importer until they join.")
                continue
            is_admin = user.get("is_admin") == "on"
            role = None if is_admin else self.role(str(user.get("roleid") or "").strip())
            try:
                with transaction.atomic():
                    invitation_create(actor=self.actor, email=email, is_admin=is_admin, role=role)
            except (ValidationError, PermissionDenied) as exc:
                self.note(f"User {email}: not invited ({' '.join(getattr(exc, 'messages', [str(exc)]))}).")
            else:
                placed = f" as {role.name}" if role is not None else ""
                self.note(f"User {email}: invited{placed}; their records are owned by the importer until they join.")
        self.note(
            "Profiles, sharing rules and group members are not readable over vtiger's webservice: roles were "
            "created from the users' roles with the default role's profiles, groups with their names; review "
            "them in Settings › Access."
        )

    def role(self, name: str) -> Role | None:
        """The role of this name, created under the top role with the default role's profiles when
        missing (vtiger's webservice gives a user's role, not its place in the tree or its profiles).
        None for no name or an id-shaped one (H5: the name is not readable)."""
        if not name or (name[:1] == "H" and name[1:].isdigit()):
            return None
        found = Role.objects.filter(name__iexact=name).first()
        if found is not None:
            return found if found.parent_id is not None else None  # nobody is invited into the top role
        top = Role.objects.filter(parent__isnull=True).first()
        default = Role.objects.filter(default_for_new=True).first()
        if top is None or default is None:
            return None
        try:
            with transaction.atomic():
                created = role_create(
                    actor=self.actor, name=name, parent=top, profile_ids=default.profiles.values_list("pk", flat=True)
                )
        except (ValidationError, PermissionDenied) as exc:
            self.note(f"Role {name}: not created ({' '.join(getattr(exc, 'messages', [str(exc)]))}).")
            return None
        self.note(f"Role {name}: created under {top.name} with the profiles of {default.name}.")
        return created

    def groups(self) -> None:
        """Remote groups -> groups by name (created empty when missing), so records owned by a group stay
        owned by it here."""
        try:
            rows = self.source.get("query", query="SELECT * FROM Groups;")
        except SourceError as exc:
            self.note(f"Groups: could not be read ({exc}); records owned by groups are owned by the importer.")
            return
        for row in rows:
            remote = str(row.get("id", ""))
            name = str(row.get("groupname") or "").strip()
            if not remote or not name:
                continue
            group = Group.objects.filter(name__iexact=name).first()
            if group is None:
                try:
                    with transaction.atomic():
                        group = group_save(
                            actor=self.actor, group=None, name=name, description=str(row.get("description") or "")[:250]
                        )
                except (ValidationError, PermissionDenied) as exc:
                    self.note(f"Group {name}: not created ({' '.join(getattr(exc, 'messages', [str(exc)]))}).")
                    continue
                self.note(f"Group {name}: created without members; add them in Settings › Access.")
            self.remember(remote, "groups", group.pk)

    def fields(self, ws: WsModule) -> None:
        """Picklist values and custom fields the remote module has and this one lacks."""
        assert ws.spec is not None
        remote = self.source.get("describe", elementType=ws.name)
        names: dict[str, str] = {}
        for field in remote.get("fields", []):
            name = str(field.get("name", ""))
            kind = (field.get("type") or {}).get("name", "string")
            if name in SYSTEM_FIELDS or kind == "autogenerated":
                continue
            local_name = name
            if name not in ws.fields and name.startswith("cf_"):
                key = name[3:] if CUSTOM_KEY_RE.match(name[3:]) else name.lower()
                local_name = f"cf_{key}"
                if local_name not in ws.fields:
                    self.custom_field(ws, key, field, kind)
            if local_name not in catalog.module(ws.name).fields:
                self.note(
                    f"{ws.name}.{name} ({field.get('label', name)}): no such field here; its values were not imported."
                )
                continue
            names[name] = local_name
            values = [v.get("value") for v in (field.get("type") or {}).get("picklistValues") or []]
            target = catalog.module(ws.name).fields[local_name]
            picklist = target.picklist or (
                target.custom_field.picklist_name
                if target.custom_field and target.type in ("picklist", "multipicklist")
                else ""
            )
            if values and picklist:
                present = {v.value for v in metadata.picklist_values(picklist, include_retired=True)}
                for value in values:
                    if value and value not in present:
                        try:
                            with transaction.atomic():
                                picklist_value_add(actor=self.actor, name=picklist, label=str(value)[:100])
                        except (ValidationError, PermissionDenied) as exc:
                            self.note(f"{ws.name}.{name}: picklist value “{value}” not added ({exc}).")
        self.field_names[ws.name] = names

    def custom_field(self, ws: WsModule, key: str, field: dict[str, Any], kind: str) -> None:
        assert ws.spec is not None
        field_type = FIELD_TYPES.get(kind)
        if field_type is None:
            self.note(f"{ws.name}.{field.get('name')}: type “{kind}” has no equivalent; created as text.")
            field_type = FieldType.TEXT
        options: dict[str, Any] = {}
        if field_type == FieldType.RECORD:
            refers = (field.get("type") or {}).get("refersTo") or []
            target = catalog.module_names().get(refers[0]) if refers else None
            if target is None:
                self.note(f"{ws.name}.{field.get('name')}: refers to {refers}, not here; created as text.")
                field_type = FieldType.TEXT
            else:
                options = {"target": target.key}
        choices = [str(v.get("value")) for v in (field.get("type") or {}).get("picklistValues") or [] if v.get("value")]
        try:
            with transaction.atomic():
                custom_field_create(
                    actor=self.actor,
                    spec=ws.spec,
                    key=key,
                    label=str(field.get("label") or key)[:100],
                    type=field_type,
                    options=options,
                    choices=choices or None,
                )
        except (ValidationError, PermissionDenied) as exc:
            problem = " ".join(getattr(exc, "messages", [str(exc)]))
            self.note(f"{ws.name}.{field.get('name')}: custom field not created ({problem}).")
        metadata.metadata_cache_clear()

    def translate(self, ws: WsModule, row: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """A remote record as a local element (references to local ids); True when some reference
        points at a record not imported yet (the second pass sets it)."""
        local = catalog.module(ws.name)
        element: dict[str, Any] = {}
        pending = False
        for remote_name, value in row.items():
            name = self.field_names.get(ws.name, {}).get(remote_name) or ""
            f = local.fields.get(name)
            if f is None or not f.editable:
                continue
            if f.type in ("reference", "owner") and value not in (None, ""):
                mapped = self.local_id(str(value))
                if mapped is None:
                    if f.type == "reference":
                        pending = True
                    elif f.attr == "owner":
                        element[name] = f"19x{self.actor.pk}"
                    continue
                element[name] = mapped
                continue
            element[name] = value
        return element, pending

    def local_id(self, remote: str) -> str | None:
        found = self.known.get(remote)
        if found is None:
            return None
        module_key, local, _modified = found
        if module_key == "members":
            return f"{catalog.STANDARD_IDS[USERS]}x{local}"
        if module_key == "groups":
            return f"{catalog.STANDARD_IDS[GROUPS]}x{local}"
        try:
            spec = registry.get(module_key)
        except registry.UnknownModule:
            return None
        return f"{catalog.prefix_of(spec)}x{ids.crmid_for(module_key, local)}"

    def counts(self, ws: WsModule) -> dict[str, int]:
        return self.progress["modules"].setdefault(
            ws.name, {"read": 0, "created": 0, "updated": 0, "unchanged": 0, "failed": 0}
        )

    def records(self, ws: WsModule) -> None:
        assert ws.spec is not None
        counts = self.counts(ws)
        for page in self.source.query_all(ws.name):
            for row in page:
                counts["read"] += 1
                self.record(ws, row, counts)
            self.save_progress(f"records:{ws.name}")

    def record(self, ws: WsModule, row: dict[str, Any], counts: dict[str, int], *, second: bool = False) -> None:
        assert ws.spec is not None
        spec = ws.spec
        remote = str(row.get("id", ""))
        modified = str(row.get("modifiedtime", ""))
        element, pending = self.translate(ws, row)
        if pending and not second:
            self.deferred.append((ws, remote, row))
        existing = self.known.get(remote)
        record = None
        if existing is not None:
            record = selectors.access_record(spec=spec, actor=self.actor, record_id=existing[1])
            if record is not None and modified and existing[2] == modified and not pending:
                counts["unchanged"] += 1
                return
        rules = field_rules(actor=self.actor, spec=spec)
        local = catalog.module(ws.name)
        try:
            with transaction.atomic():
                data, custom = deserialize(local, element, rules)
                if record is None:
                    record = record_create(spec=spec, actor=self.actor, data=data, custom=custom)
                    counts["created"] += 1
                else:
                    record_update(spec=spec, actor=self.actor, record=record, data=data, custom=custom or None)
                    counts["updated"] += 1
                self.remember(remote, spec.key, record.pk, modified)
        except WsError as exc:
            counts["failed"] += 1
            self.note(f"{ws.name} {remote}: {exc.code} {exc.message}")
        except ValidationError as exc:
            counts["failed"] += 1
            error = validation_error(local, exc, "FAILED_TO_CREATE")
            self.note(f"{ws.name} {remote}: {error.code} {error.message}")
        except PermissionDenied:
            counts["failed"] += 1
            self.note(f"{ws.name} {remote}: ACCESS_DENIED")

    def second_pass(self) -> None:
        """References to records imported after the one that holds them (a contact's manager, a parent
        organisation): set now that every record has its local id."""
        deferred, self.deferred = self.deferred, []
        for ws, remote, row in deferred:
            if remote not in self.known:
                continue
            _element, pending = self.translate(ws, row)
            if pending:
                self.note(f"{ws.name} {remote}: a reference names a record that was not imported; left empty.")
            module_key, local, _modified = self.known[remote]
            self.known[remote] = (module_key, local, "")  # not "unchanged": the references are new
            self.record(ws, row, {"read": 0, "created": 0, "updated": 0, "unchanged": 0, "failed": 0}, second=True)
            self.remember(remote, module_key, local, str(row.get("modifiedtime", "")))

    def remote_name(self, ws: WsModule, local_name: str) -> str:
        for remote, local in self.field_names.get(ws.name, {}).items():
            if local == local_name:
                return remote
        return local_name

    def comments(self) -> None:
        """Comments of every imported record, once each (authored by the importer, with the original
        author and time in the first line)."""
        for remote, (module_key, local, _modified) in list(self.known.items()):
            if module_key in ("members", "groups", "comments"):
                continue
            try:
                spec = registry.get(module_key)
            except registry.UnknownModule:
                continue
            try:
                rows = self.source.get("retrieve_related", id=remote, relatedLabel=COMMENTS, relatedType=COMMENTS)
            except SourceError as exc:
                self.note(f"Comments of {remote}: not read ({exc}).")
                continue
            record = selectors.access_record(spec=spec, actor=self.actor, record_id=local)
            if record is None:
                continue
            for row in rows:
                remote_comment = str(row.get("id", ""))
                if not remote_comment or remote_comment in self.known:
                    continue
                author = self.known.get(str(row.get("creator") or row.get("assigned_user_id") or ""))
                header = (
                    f"({row.get('createdtime', '')})"
                    if author
                    else f"({row.get('creator', '')}, {row.get('createdtime', '')})"
                )
                body = f"{row.get('commentcontent', '')}\n\n— {header}"
                try:
                    with transaction.atomic():
                        comment = comment_add(spec=spec, actor=self.actor, record=record, body=body)
                        self.remember(remote_comment, "comments", comment.pk)
                except (ValidationError, PermissionDenied) as exc:
                    self.note(f"Comment {remote_comment}: not imported ({exc}).")
                self.progress["comments"] = self.progress.get("comments", 0) + 1


def vtiger_import(
    *, actor: Member, url: str, username: str, access_key: str, run: ImportRun | None = None, http: Any = None
) -> dict[str, Any]:
    """Import a vtiger install's data into this tenant as `actor` (an administrator)."""
    if not actor.is_admin:
        raise PermissionDenied
    importer = Importer(actor=actor, source=Source(url, username, access_key, http=http), run=run)
    return importer.execute()


def import_run_start(
    *, actor: Member, url: str, username: str, access_key: str, enqueue: Callable[[int], Any]
) -> ImportRun:
    """Record a migration run and queue it (administrators only)."""
    if not actor.is_admin:
        raise PermissionDenied
    run = ImportRun.objects.create(url=normalised_url(url), username=username, access_key=access_key, started_by=actor)
    transaction.on_commit(lambda: enqueue(run.pk))
    return run


def import_run_execute(*, run_id: int) -> ImportRun:
    """Run a queued migration; the access key is forgotten when it ends, whatever the outcome."""
    run = ImportRun.objects.select_related("started_by__user").get(pk=run_id)
    if run.status != ImportRun.Status.QUEUED or run.started_by is None:
        return run
    run.status = ImportRun.Status.RUNNING
    run.save(update_fields=["status"])
    try:
        result = vtiger_import(
            actor=run.started_by, url=run.url, username=run.username, access_key=run.access_key, run=run
        )
        run.status = ImportRun.Status.DONE
        run.progress, run.report = result["progress"], result["report"]
    except (SourceError, PermissionDenied) as exc:
        run.status = ImportRun.Status.FAILED
        run.error = str(exc) or "permission denied"
    except Exception as exc:  # the run must end, with its error, whatever went wrong
        logger.exception("vtiger import %s failed", run_id)
        run.status = ImportRun.Status.FAILED
        run.error = f"{type(exc).__name__}: {exc}"
    run.access_key = ""
    run.finished_at = timezone.now()
    run.save()
    return run
