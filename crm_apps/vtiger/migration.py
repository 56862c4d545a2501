"""Migration from vtiger: read a vtiger install (or anything speaking its webservice, this CRM's own
`/webservice.php` included) through the classic protocol and bring its users, picklist values, custom
fields, records (in reference order, with their relations) and comments here.

Every remote id is remembered (`ImportedId`), so running again updates what changed and creates what is
new, never a duplicate. Writes go through the engine's services as the importing admin (validation,
rights, audit, timeline). What cannot be mapped is listed in the run's report, never dropped silently.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from billing.entitlements import PlanLimitReached
from crm_apps.access.models import Group, Invitation, Member, Profile, Role, SharingDefault
from crm_apps.access.services import (
    group_save,
    invitation_create,
    profile_field_names,
    profile_save,
    profile_set_fields,
    profile_set_modules,
    role_create,
    sharing_default_set,
)
from crm_apps.engine import metadata, registry, selectors
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.models import FieldType
from crm_apps.engine.services import comment_add, custom_field_create, picklist_value_add, record_create, record_update
from crm_apps.engine.services.custom_fields import CUSTOM_KEY_RE
from crm_apps.modules.documents.models import Document, DocumentVersion, Folder
from crm_apps.modules.documents.services import (
    Upload,
    document_link_add,
    document_version_add,
    folder_create,
    max_upload_bytes,
)
from crm_apps.vtiger import catalog, ids
from crm_apps.vtiger.catalog import GROUPS, USERS, WsModule
from crm_apps.vtiger.errors import WsError
from crm_apps.vtiger.models import ImportedId, ImportRun
from crm_apps.vtiger.operations import COMMENTS
from crm_apps.vtiger.records import deserialize, validation_error
from saas.http import outbound_url_problem

logger = logging.getLogger(__name__)
DOCUMENTS = "documents"
# Documents' fields that describe the stored file: set here by the file's upload, not copied.
DOCUMENT_FILE_FIELDS = {
    "filename",
    "filelocationtype",
    "filesize",
    "filetype",
    "fileversion",
    "filestatus",
    "filedownloadcount",
}
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


@dataclasses.dataclass
class RemoteFile:
    """A document's file at the source: its bytes (`data`) or where they are (`path`), and what the source
    says about them (`declared_size`, checked against what arrives)."""

    key: str  # stable per file at the source ("attachment:140"), remembered so a re-run skips it
    name: str
    content_type: str
    data: bytes | None = None
    path: Path | None = None
    declared_size: int | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def size(self) -> int:
        return len(self.data) if self.data is not None else (self.path.stat().st_size if self.path else 0)


class MigrationSource(Protocol):
    """What the importer reads: a vtiger webservice (`Source`) or a vtiger database (`MysqlSource`)."""

    key: str
    url: str

    def login(self) -> dict[str, Any]: ...
    def types(self) -> list[str]: ...
    def describe(self, module: str) -> dict[str, Any]: ...
    def pages(self, module: str) -> Iterator[list[dict[str, Any]]]: ...
    def users(self) -> list[dict[str, Any]]: ...
    def groups(self) -> list[dict[str, Any]]: ...
    def comments(self, remote_id: str) -> list[dict[str, Any]]: ...
    def document_file(self, row: dict[str, Any]) -> RemoteFile | None: ...
    def document_links(self, remote_id: str) -> list[str]: ...
    def access_setup(self) -> dict[str, Any] | None: ...


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
        self.key = self.url
        self.file_operations = ["files_retrieve", "retrievedocattachment"]

    def _answer(self, response: Any) -> Any:
        try:
            body = json.loads(self._bounded(response)) if hasattr(response, "iter_content") else response.json()
        except ValueError as exc:
            raise SourceError(f"{self.url} did not answer JSON (HTTP {response.status_code})") from exc
        if not isinstance(body, dict) or not body.get("success"):
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise SourceError(f"{error.get('code', 'ERROR')}: {error.get('message', '')}")
        return body["result"]

    def _bounded(self, response: Any) -> bytes:
        """The answer's body, read (streamed) up to one upload's worth of base64 plus room for the envelope: a
        hostile source cannot stream gigabytes into the worker before the size checks run."""
        from crm_apps.modules.documents.services import max_upload_bytes

        cap = max_upload_bytes() * 4 // 3 + 1024 * 1024
        body = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=64 * 1024):
                body.extend(chunk)
                if len(body) > cap:
                    raise SourceError(f"{self.url}: the answer is larger than {cap} bytes")
        except requests.RequestException as exc:
            raise SourceError(f"{self.url}: the answer broke off ({type(exc).__name__})") from exc
        finally:
            response.close()
        return bytes(body)

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
                    stream=True,
                )
            )
            digest = hashlib.md5((challenge["token"] + self.access_key).encode(), usedforsecurity=False).hexdigest()
            result = self._answer(
                self.http.post(
                    self.url,
                    data={"operation": "login", "username": self.username, "accessKey": digest},
                    timeout=TIMEOUT,
                    allow_redirects=False,
                    stream=True,
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
                stream=True,
            )
        except requests.RequestException as exc:
            raise SourceError(f"{self.url}: could not connect ({type(exc).__name__})") from exc
        return self._answer(response)

    def types(self) -> list[str]:
        return list(self.get("listtypes")["types"])

    def describe(self, module: str) -> dict[str, Any]:
        return dict(self.get("describe", elementType=module))

    def pages(self, module: str) -> Iterator[list[dict[str, Any]]]:
        return self.query_all(module)

    def users(self) -> list[dict[str, Any]]:
        return list(self.get("query", query="SELECT * FROM Users;"))

    def groups(self) -> list[dict[str, Any]]:
        return list(self.get("query", query="SELECT * FROM Groups;"))

    def comments(self, remote_id: str) -> list[dict[str, Any]]:
        return list(self.get("retrieve_related", id=remote_id, relatedLabel=COMMENTS, relatedType=COMMENTS))

    def access_setup(self) -> dict[str, Any] | None:
        """Profiles, the role tree and group members: not served by vtiger's webservice."""
        return None

    def document_links(self, remote_id: str) -> list[str]:
        """Not read over the webservice (vtiger serves them per record, as the related list "Documents")."""
        return []

    def document_file(self, row: dict[str, Any]) -> RemoteFile | None:
        """A document's stored file through `files_retrieve` (vtiger 7.3+: by the attachment ids a Documents
        record lists in `imageattachmentids`, or by the document's id as this CRM accepts), else through
        `retrievedocattachment` (coreBOS and berliCRM); None when the document has no stored file or the
        source serves neither operation."""
        if row.get("filelocationtype") == "E" or ("filename" in row and not row.get("filename")):
            return None
        remote = str(row.get("id", ""))
        attachments = [a for a in str(row.get("imageattachmentids") or "").split(";") if a]
        for operation in list(self.file_operations):
            try:
                if operation == "files_retrieve":
                    found = self.get(operation, id=attachments[0] if attachments else remote)
                    entry = found[0] if isinstance(found, list) and found else None
                    if isinstance(entry, dict) and entry:
                        return self._file(f"file:{entry.get('fileid') or remote}", entry, "filecontents")
                else:
                    self._check_target()
                    found = self._answer(
                        self.http.post(
                            self.url,
                            data={"operation": operation, "sessionName": self.session, "id": remote, "returnfile": "1"},
                            timeout=TIMEOUT,
                            allow_redirects=False,
                            stream=True,
                        )
                    )
                    entry = found.get(remote) if isinstance(found, dict) else None
                    if isinstance(entry, dict) and entry:
                        return self._file(f"doc:{remote}", entry, "attachment")
            except SourceError as exc:
                if "UNKNOWN_OPERATION" in str(exc):
                    self.file_operations.remove(operation)  # never asked again in this run
                    continue
                raise
            except requests.RequestException as exc:
                raise SourceError(f"{self.url}: could not connect ({type(exc).__name__})") from exc
        return None

    def _file(self, key: str, entry: dict[str, Any], content: str) -> RemoteFile:
        try:
            data = base64.b64decode(str(entry.get(content) or ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SourceError(f"{key}: the file's content is not base64") from exc
        declared = entry.get("filesize")
        return RemoteFile(
            key=key,
            name=str(entry.get("filename") or "file"),
            content_type=str(entry.get("filetype") or ""),
            data=data,
            declared_size=int(str(declared)) if str(declared or "").isdigit() else None,
        )

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
    def __init__(self, *, actor: Member, source: MigrationSource, run: ImportRun | None = None) -> None:
        self.actor = actor
        self.source = source
        self.run = run
        self.key = source.key
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
        types = self.source.types()
        setup = self.source.access_setup()
        if setup is not None:
            self.save_progress("profiles")
            self.profiles(setup)
            self.save_progress("roles")
            self.roles(setup)
        self.save_progress("users")
        self.users()
        if GROUPS in types:
            self.save_progress("groups")
            self.groups(setup)
        local = catalog.module_names()
        modules = [t for t in types if t in local]
        for name in types:
            if name not in local and name not in (USERS, COMMENTS, GROUPS, "Currency", "DocumentFolders"):
                self.note(f"Module {name}: no module of that vtiger name here; its records were not imported.")
        if setup is not None:
            self.profile_details(setup)
            self.sharing(setup)
        for name in self.ordered(modules):
            ws = catalog.module(name)
            self.save_progress(f"fields:{name}")
            self.fields(ws)
            if setup is not None:
                self.profile_fields(setup, ws)
            self.save_progress(f"records:{name}")
            self.records(ws)
        self.save_progress("references")
        self.second_pass()
        self.save_progress("documents")
        self.document_links()
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
            users = self.source.users()
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
        if not any(module == "profiles" for module, _l, _m in self.known.values()):
            self.note(
                "Profiles, sharing rules and group members are not readable over vtiger's webservice: roles were "
                "created from the users' roles with the default role's profiles, groups with their names; review "
                "them in Settings › Access (or migrate from the vtiger database, which has them)."
            )

    def role(self, name: str) -> Role | None:
        """The role of this name, created under the top role with the default role's profiles when
        missing (vtiger's webservice gives a user's role, not its place in the tree or its profiles).
        None for no name or an id-shaped one (H5: the name is not readable)."""
        mapped = self.known.get(f"role:{name}")
        if mapped is not None:
            found = Role.objects.filter(pk=mapped[1]).first()
            return found if found is not None and found.parent_id is not None else None
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

    def groups(self, setup: dict[str, Any] | None = None) -> None:
        """Remote groups -> groups by name (created when missing), so records owned by a group stay owned by
        it here; with the database's group members, each group gets them too."""
        try:
            rows = self.source.groups()
        except SourceError as exc:
            self.note(f"Groups: could not be read ({exc}); records owned by groups are owned by the importer.")
            return
        created: list[tuple[str, Group]] = []
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
                if setup is None:
                    self.note(f"Group {name}: created without members; add them in Settings › Access.")
            self.remember(remote, "groups", group.pk)
            if setup is not None:
                created.append((remote, group))
        for remote, group in created:  # after every group exists, for nested groups
            self.group_members(remote, group, setup or {})

    def group_members(self, remote: str, group: Group, setup: dict[str, Any]) -> None:
        """The source's members, roles, role subtrees and nested groups are added to the group; nobody already
        in it is removed (a group of the same name may have members here)."""
        wanted = setup.get("group_members", {}).get(remote, {})
        members: list[Any] = list(group.members.values_list("pk", flat=True))
        roles: list[Any] = list(group.roles.values_list("pk", flat=True))
        trees: list[Any] = list(group.roles_with_subordinates.values_list("pk", flat=True))
        subgroups: list[Any] = list(group.subgroups.values_list("pk", flat=True))
        for user in wanted.get("users", []):
            found = self.known.get(user)
            if found is not None and found[0] == "members":
                members.append(found[1])
            else:
                self.note(f"Group {group.name}: user {user} is not a member here yet; add them when they join.")
        for kind, out in (("roles", roles), ("role_trees", trees)):
            for role in wanted.get(kind, []):
                found = self.known.get(f"role:{role}")
                if found is not None:
                    out.append(found[1])
        for other in wanted.get("groups", []):
            found = self.known.get(other)
            if found is not None and found[0] == "groups":
                subgroups.append(found[1])
        try:
            with transaction.atomic():
                group_save(
                    actor=self.actor,
                    group=group,
                    name=group.name,
                    description=group.description,
                    member_ids=members,
                    role_ids=roles,
                    role_tree_ids=trees,
                    subgroup_ids=subgroups,
                )
        except (ValidationError, PermissionDenied) as exc:
            self.note(f"Group {group.name}: members not set ({' '.join(getattr(exc, 'messages', [str(exc)]))}).")

    # --- access setup (only a vtiger database has it) ---

    def profiles(self, setup: dict[str, Any]) -> None:
        """Remote profiles -> profiles by name: global privileges (view all, edit all, import, export) now,
        module actions and field access once the modules' fields are known. A profile of the same name that
        this migration did not create is used as it is."""
        for row in setup.get("profiles", []):
            remote = f"profile:{row['id']}"
            name = str(row["name"]).strip()[:100]
            previous = self.known.get(remote)
            profile = Profile.objects.filter(pk=previous[1]).first() if previous else None
            if profile is None:
                profile = Profile.objects.filter(name__iexact=name).first()
                if profile is not None:
                    self.note(f"Profile {name}: already here; its permissions were left as they are.")
                    self.remember(remote, "profiles", profile.pk)
                    continue
            elif previous and previous[2] != "created":
                continue
            flags = {
                "view_all": bool(row["view_all"]),
                "edit_all": bool(row["edit_all"]),
                "can_import": bool(row["import"]),
                "can_export": bool(row["export"]),
            }
            try:
                with transaction.atomic():
                    profile = profile_save(
                        actor=self.actor,
                        profile=profile,
                        name=name,
                        description=str(row.get("description") or "")[:250],
                        flags=flags,
                    )
            except (ValidationError, PermissionDenied) as exc:
                self.note(f"Profile {name}: not created ({' '.join(getattr(exc, 'messages', [str(exc)]))}).")
                continue
            self.remember(remote, "profiles", profile.pk, "created")

    def _own_profiles(self, setup: dict[str, Any]) -> Iterator[tuple[dict[str, Any], Profile]]:
        for row in setup.get("profiles", []):
            found = self.known.get(f"profile:{row['id']}")
            if found is None or found[2] != "created":
                continue
            profile = Profile.objects.filter(pk=found[1]).first()
            if profile is not None:
                yield row, profile

    def profile_details(self, setup: dict[str, Any]) -> None:
        """Module actions of the profiles this migration created (view, create, edit, delete per module)."""
        local = catalog.module_names()
        for row, profile in self._own_profiles(setup):
            rights = {local[m].key: r for m, r in row.get("modules", {}).items() if m in local}
            missing = sorted(m for m in row.get("modules", {}) if m not in local and m not in (USERS, COMMENTS))
            if missing:
                self.note(
                    f"Profile {profile.name}: no module here for {', '.join(missing)}; those rights were not set."
                )
            try:
                with transaction.atomic():
                    profile_set_modules(actor=self.actor, profile=profile, rights=rights)
            except (ValidationError, PermissionDenied) as exc:
                self.note(f"Profile {profile.name}: module rights not set ({exc}).")

    def profile_fields(self, setup: dict[str, Any], ws: WsModule) -> None:
        """Field access (hidden, read-only) of the profiles this migration created, in one module."""
        assert ws.spec is not None
        names = self.field_names.get(ws.name, {})
        local = catalog.module(ws.name)
        allowed = profile_field_names(ws.spec)
        for row, profile in self._own_profiles(setup):
            access: dict[str, str] = {}
            for remote_name, value in row.get("fields", {}).get(ws.name, {}).items():
                f = local.fields.get(names.get(remote_name, ""))
                key = (f"custom.{f.attr}" if f.custom else f.attr) if f is not None else ""
                if not key or key not in allowed:
                    self.note(
                        f"Profile {profile.name}: {ws.name}.{remote_name} has no field here; its access was not set."
                    )
                elif allowed[key]:
                    self.note(f"Profile {profile.name}: {ws.name}.{remote_name} is required here and stays writable.")
                else:
                    access[key] = value
            if access:
                try:
                    with transaction.atomic():
                        profile_set_fields(actor=self.actor, profile=profile, module=ws.spec.key, access=access)
                except (ValidationError, PermissionDenied) as exc:
                    self.note(f"Profile {profile.name}: field access in {ws.name} not set ({exc}).")

    def roles(self, setup: dict[str, Any]) -> None:
        """The role tree: vtiger's top role is the workspace's top role; the others are matched by name or
        created under their parent with their profiles (the default role's when none came along)."""
        top = Role.objects.filter(parent__isnull=True).first()
        default = Role.objects.filter(default_for_new=True).first()
        for row in sorted(setup.get("roles", []), key=lambda r: r["depth"]):
            remote = f"role:{row['id']}"
            if not row["parent"]:
                if top is not None:
                    self.remember(remote, "roles", top.pk)
                continue
            if remote in self.known and Role.objects.filter(pk=self.known[remote][1]).exists():
                continue
            name = str(row["name"]).strip()[:100]
            found = Role.objects.filter(name__iexact=name).first()
            if found is not None:
                self.remember(remote, "roles", found.pk)
                continue
            parent_known = self.known.get(f"role:{row['parent']}")
            parent = Role.objects.filter(pk=parent_known[1]).first() if parent_known else top
            profile_ids: list[Any] = [
                self.known[f"profile:{p}"][1] for p in row.get("profiles", []) if f"profile:{p}" in self.known
            ]
            if not profile_ids and default is not None:
                profile_ids = list(default.profiles.values_list("pk", flat=True))
            if parent is None:
                continue
            try:
                with transaction.atomic():
                    role = role_create(actor=self.actor, name=name, parent=parent, profile_ids=profile_ids)
            except (ValidationError, PermissionDenied) as exc:
                self.note(f"Role {name}: not created ({' '.join(getattr(exc, 'messages', [str(exc)]))}).")
                continue
            self.remember(remote, "roles", role.pk, "created")

    def sharing(self, setup: dict[str, Any]) -> None:
        """Organisation-wide sharing defaults per module (vtiger_def_org_share)."""
        local = catalog.module_names()
        for module, access in sorted(setup.get("sharing", {}).items()):
            if module not in local:
                continue
            key = local[module].key
            current = SharingDefault.objects.filter(module=key).first()
            if current is not None and current.access == access:
                continue
            try:
                with transaction.atomic():
                    sharing_default_set(actor=self.actor, module=key, access=access)
            except (ValidationError, PermissionDenied) as exc:
                self.note(f"Sharing of {module}: not set ({exc}).")

    def fields(self, ws: WsModule) -> None:
        """Picklist values and custom fields the remote module has and this one lacks."""
        assert ws.spec is not None
        remote = self.source.describe(ws.name)
        names: dict[str, str] = {}
        for field in remote.get("fields", []):
            name = str(field.get("name", ""))
            kind = (field.get("type") or {}).get("name", "string")
            if name in SYSTEM_FIELDS or kind == "autogenerated":
                continue
            if ws.spec.key == DOCUMENTS and name in DOCUMENT_FILE_FIELDS:
                continue  # the file itself comes across (document_file), with its own name, size and type
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
        for page in self.source.pages(ws.name):
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
                if spec.key == DOCUMENTS and f"file-of:{remote}" not in self.known:
                    self.document_file(remote, row, record)  # a file an earlier run could not bring
                return
        rules = field_rules(actor=self.actor, spec=spec)
        local = catalog.module(ws.name)
        if spec.key == DOCUMENTS:
            self.document_folder(ws, remote, element)
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
            return
        except ValidationError as exc:
            counts["failed"] += 1
            error = validation_error(local, exc, "FAILED_TO_CREATE")
            self.note(f"{ws.name} {remote}: {error.code} {error.message}")
            return
        except PermissionDenied:
            counts["failed"] += 1
            self.note(f"{ws.name} {remote}: ACCESS_DENIED")
            return
        if spec.key == DOCUMENTS and record is not None and remote in self.known and not second:
            self.document_file(remote, row, record)

    def document_folder(self, ws: WsModule, remote: str, element: dict[str, Any]) -> None:
        """A document's folder by name, created when missing; a folder given by id (vtiger's webservice
        answers `22x<n>`) has no readable name: the document goes to the default folder."""
        local_name = "folderid"  # Documents' folder under its vtiger name (documents/module.py)
        value = str(element.get(local_name) or "").strip()
        if not value:
            return
        if ids.parse(value) is not None:
            element.pop(local_name, None)
            self.note(f"Documents {remote}: its folder is given by id ({value}); filed in the default folder.")
            return
        if not Folder.objects.filter(name=value[:100]).exists():
            try:
                with transaction.atomic():
                    folder_create(actor=self.actor, name=value[:100])
            except (ValidationError, PermissionDenied) as exc:
                element.pop(local_name, None)
                self.note(f"Documents {remote}: folder “{value}” not created ({exc}); filed in the default folder.")
                return
            metadata.metadata_cache_clear()

    def document_file(self, remote: str, row: dict[str, Any], document: Any) -> None:
        """Bring a document's stored file as a new version of the local document, once: the size the source
        declares must match what arrived, the per-file and plan storage limits apply (`document_version_add`),
        and a file whose SHA-256 is the current version's is not stored again."""
        try:
            found = self.source.document_file(row)
        except (SourceError, OSError) as exc:
            self.note(f"Documents {remote}: file not read ({exc}).")
            return
        if found is None:
            if row.get("filelocationtype") == "E" and row.get("filename"):
                self.note(f"Documents {remote}: an external link ({row['filename']}), not a stored file; not imported.")
            return
        size = found.size()
        if found.declared_size is not None and found.declared_size not in (0, size):
            self.note(
                f"Documents {remote}: the file has {size} bytes, the source says {found.declared_size}; not imported."
            )
            return
        if size > max_upload_bytes():
            self.note(f"Documents {remote}: the file ({size} bytes) is over the per-file limit; not imported.")
            return
        data = found.read()
        digest = hashlib.sha256(data).hexdigest()
        current = DocumentVersion.objects.filter(document_id=document.pk).order_by("-number").first()
        if current is not None and current.sha256 == digest:
            self.remember(f"file-of:{remote}", "document_files", current.pk)
            return
        try:
            with transaction.atomic():
                version = document_version_add(
                    actor=self.actor,
                    document_id=document.pk,
                    upload=Upload(stream=io.BytesIO(data), name=found.name, size=size),
                )
        except PlanLimitReached as exc:
            self.note(f"Documents {remote}: file not imported ({' '.join(exc.messages)}).")
            return
        except (ValidationError, PermissionDenied) as exc:
            self.note(f"Documents {remote}: file not imported ({' '.join(getattr(exc, 'messages', [str(exc)]))}).")
            return
        self.remember(f"file-of:{remote}", "document_files", version.pk)
        self.progress["files"] = self.progress.get("files", 0) + 1
        self.progress["file_bytes"] = self.progress.get("file_bytes", 0) + size

    def document_links(self) -> None:
        """Documents listed on the records they were listed on at the source (where the source says)."""
        for remote, (module_key, local, _modified) in list(self.known.items()):
            if module_key != DOCUMENTS:
                continue
            try:
                targets = self.source.document_links(remote)
            except SourceError as exc:
                self.note(f"Documents {remote}: links not read ({exc}).")
                continue
            for target in targets:
                found = self.known.get(target)
                if found is None or found[0] in ("members", "groups", "comments", "profiles", "roles", DOCUMENTS):
                    continue
                try:
                    with transaction.atomic():
                        document_link_add(actor=self.actor, document_id=local, module=found[0], record_id=found[1])
                except (ValidationError, PermissionDenied, Document.DoesNotExist) as exc:
                    self.note(f"Documents {remote}: not listed on {target} ({exc}).")

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
            if module_key in ("members", "groups", "comments", "profiles", "roles", "document_files"):
                continue
            try:
                spec = registry.get(module_key)
            except registry.UnknownModule:
                continue
            try:
                rows = self.source.comments(remote)
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
    """Import a vtiger install's data into this tenant as `actor` (an administrator), over its webservice."""
    return vtiger_import_from(actor=actor, source=Source(url, username, access_key, http=http), run=run)


def vtiger_import_from(*, actor: Member, source: MigrationSource, run: ImportRun | None = None) -> dict[str, Any]:
    """Import from a vtiger webservice or database into this tenant as `actor` (an administrator)."""
    if not actor.is_admin:
        raise PermissionDenied
    try:
        return Importer(actor=actor, source=source, run=run).execute()
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


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
