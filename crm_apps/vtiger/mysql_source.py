"""A vtiger 7/8 database (MySQL/MariaDB) read as if it were its webservice: the migration's other source.

`MysqlSource` answers the same questions as the webservice `Source` (types, describe, users, groups, pages of
records, comments, document files) with rows in the webservice's shape: vtiger field names (`vtiger_field`),
ids `<ws entity id>x<crmid>` (`vtiger_ws_entity`), owners `19x<user>` / `20x<group>`, every value a string.
So the importer maps both the same way (`migration.Importer`), and a record read here gets the id the
webservice of the same install would give it. It also reads what the webservice does not serve: the role
tree, profiles (module actions, global privileges, field access, import/export), group members and the
organisation-wide sharing defaults (`access_setup`), and document files from vtiger's storage directory.

Only SELECTs are run; table and column names come from the dump's own metadata and are checked to be plain
identifiers before they are quoted into a statement; values are always parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from crm_apps.vtiger.migration import PAGE, RemoteFile, SourceError

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CRMENTITY = "vtiger_crmentity"
# Each standard module's tables and the column that holds the record id in each (vtiger's
# CRMEntity::$tab_name_index); a module not listed (vtlib modules) uses vtiger_entityname's id column.
TABLE_KEYS: dict[str, dict[str, str]] = {
    "Accounts": {
        "vtiger_account": "accountid",
        "vtiger_accountbillads": "accountaddressid",
        "vtiger_accountshipads": "accountaddressid",
        "vtiger_accountscf": "accountid",
    },
    "Contacts": {
        "vtiger_contactdetails": "contactid",
        "vtiger_contactaddress": "contactaddressid",
        "vtiger_contactsubdetails": "contactsubscriptionid",
        "vtiger_contactscf": "contactid",
        "vtiger_customerdetails": "customerid",
    },
    "Leads": {
        "vtiger_leaddetails": "leadid",
        "vtiger_leadaddress": "leadaddressid",
        "vtiger_leadsubdetails": "leadsubscriptionid",
        "vtiger_leadscf": "leadid",
    },
    "Potentials": {"vtiger_potential": "potentialid", "vtiger_potentialscf": "potentialid"},
    "Documents": {"vtiger_notes": "notesid", "vtiger_notescf": "notesid"},
    "HelpDesk": {"vtiger_troubletickets": "ticketid", "vtiger_ticketcf": "ticketid"},
    "Vendors": {"vtiger_vendor": "vendorid", "vtiger_vendorcf": "vendorid"},
    "Campaigns": {"vtiger_campaign": "campaignid", "vtiger_campaignscf": "campaignid"},
    "Products": {"vtiger_products": "productid", "vtiger_productcf": "productid"},
}
# vtiger uitype -> webservice type name (include/Webservices/WebserviceField.php's mapping, simplified).
UITYPES: dict[str, str] = {
    "1": "string", "2": "string", "3": "string", "4": "string", "8": "string", "12": "string", "22": "string",
    "255": "string", "5": "date", "6": "date", "23": "date", "7": "double", "9": "double", "71": "currency",
    "72": "currency", "11": "phone", "13": "email", "17": "url", "19": "text", "20": "text", "21": "text",
    "24": "text", "15": "picklist", "16": "picklist", "55": "string", "33": "multipicklist", "56": "boolean",
    "70": "datetime", "14": "time", "53": "owner", "52": "owner", "77": "owner", "26": "picklist",
    "27": "picklist", "28": "string", "10": "reference", "51": "reference", "57": "reference",
    "58": "reference", "59": "reference", "73": "reference", "75": "reference", "76": "reference",
    "78": "reference", "80": "reference", "81": "reference", "66": "reference", "68": "reference",
}  # fmt: skip
# Reference uitypes with a fixed target (uitype 10 reads vtiger_fieldmodulerel).
REFERS: dict[str, list[str]] = {
    "51": ["Accounts"], "73": ["Accounts"], "57": ["Contacts"], "58": ["Campaigns"], "59": ["Products"],
    "75": ["Vendors"], "81": ["Vendors"], "76": ["Potentials"], "78": ["Quotes"], "80": ["SalesOrder"],
    "66": ["Leads", "Accounts", "Potentials", "HelpDesk", "Campaigns"], "68": ["Accounts", "Contacts"],
}  # fmt: skip
USERS_ONLY = {"52", "77"}
# vtiger_actionmapping ids of the profile's module actions; permission 0 = allowed everywhere.
VIEW, CREATE, EDIT, SAVE, DELETE = 4, 7, 1, 0, 2
IMPORT, EXPORT = 5, 6
# vtiger_def_org_share.permission -> SharingDefault.Access
SHARING = {0: "public_read", 1: "public_read_write", 2: "public_read_write_delete", 3: "private"}
COMMENTS = "ModComments"


def _ident(name: str) -> str:
    if not IDENT.match(name or ""):
        raise SourceError(f"unexpected name in the database: {name!r}")
    return f"`{name}`"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def dsn_parts(dsn: str) -> dict[str, Any]:
    """mysql://user[:password]@host[:port]/database -> PyMySQL's connect() arguments."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("mysql", "mariadb") or not parts.path.strip("/"):
        raise SourceError("the database is given as mysql://user[:password]@host[:port]/database")
    try:
        port = parts.port or 3306
    except ValueError as exc:  # a port that is not a number, or out of range
        raise SourceError("the database's port is not a number between 1 and 65535") from exc
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": parts.path.strip("/"),
    }


class MysqlSource:
    """A vtiger database and its storage directory (the folder holding `storage/`'s year folders)."""

    def __init__(self, dsn: str, storage: str | Path | None = None) -> None:
        self.params = dsn_parts(dsn)
        self.storage = Path(storage).resolve() if storage else None
        # What a second run recognises as the same install: host, port and database (never the password).
        self.key = f"mysql://{self.params['host']}:{self.params['port']}/{self.params['database']}"
        self.url = self.key
        self.connection: Any = None
        self._ws_ids: dict[str, int] = {}
        self._tabs: dict[str, int] = {}
        self._users: set[int] = set()
        self._groups: set[int] = set()
        self._fields: dict[str, list[dict[str, Any]]] = {}

    # --- plumbing ---

    def login(self) -> dict[str, Any]:
        import pymysql

        try:
            self.connection = pymysql.connect(
                **self.params, charset="utf8mb4", cursorclass=pymysql.cursors.DictCursor, connect_timeout=10
            )
        except pymysql.MySQLError as exc:
            raise SourceError(f"{self.key}: could not connect ({exc.args[-1] if exc.args else exc})") from exc
        self._ws_ids = {r["name"]: int(r["id"]) for r in self._all("SELECT id, name FROM vtiger_ws_entity")}
        self._tabs = {
            r["name"]: int(r["tabid"])
            for r in self._all("SELECT tabid, name FROM vtiger_tab WHERE presence IN (0, 2) AND isentitytype = 1")
        }
        self._users = {int(r["id"]) for r in self._all("SELECT id FROM vtiger_users")}
        self._groups = {int(r["groupid"]) for r in self._all("SELECT groupid FROM vtiger_groups")}
        return {"userId": "", "sessionName": ""}

    def _all(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        import pymysql

        if self.connection is None:
            raise SourceError("not connected")
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        except pymysql.MySQLError as exc:
            raise SourceError(f"{self.key}: {exc.args[-1] if exc.args else exc}") from exc

    def _table_exists(self, table: str) -> bool:
        return bool(
            self._all(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                (self.params["database"], table),
            )
        )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def ws_id(self, module: str, number: Any) -> str:
        prefix = self._ws_ids.get(module)
        return f"{prefix}x{number}" if prefix and number not in (None, "", 0, "0") else ""

    def owner_id(self, number: Any) -> str:
        try:
            value = int(number or 0)
        except (TypeError, ValueError):
            return ""
        if value in self._users:
            return self.ws_id("Users", value)
        if value in self._groups:
            return self.ws_id("Groups", value)
        return ""

    # --- what the webservice also serves ---

    def types(self) -> list[str]:
        names = [n for n in self._tabs if n in self._ws_ids]
        return [*names, *(n for n in ("Users", "Groups") if n in self._ws_ids)]

    def fields_of(self, module: str) -> list[dict[str, Any]]:
        if module not in self._fields:
            self._fields[module] = self._all(
                "SELECT fieldid, fieldname, fieldlabel, columnname, tablename, uitype, typeofdata, defaultvalue "
                "FROM vtiger_field WHERE tabid = %s AND presence IN (0, 2) ORDER BY block, sequence, fieldid",
                (self._tabs[module],),
            )
        return self._fields[module]

    def _refers(self, field: dict[str, Any], module: str) -> list[str]:
        uitype = str(field["uitype"])
        if uitype == "10":
            rows = self._all(
                "SELECT relmodule FROM vtiger_fieldmodulerel WHERE fieldid = %s ORDER BY sequence, relmodule",
                (field["fieldid"],),
            )
            return [str(r["relmodule"]) for r in rows]
        return REFERS.get(uitype, [])

    def _picklist(self, name: str) -> list[dict[str, str]]:
        table = f"vtiger_{name}"
        if not IDENT.match(table) or not self._table_exists(table):
            return []
        order = "sortorderid" if self._column_exists(table, "sortorderid") else _ident(name)
        rows = self._all(f"SELECT {_ident(name)} AS v FROM {_ident(table)} ORDER BY {order}")  # noqa: S608
        return [{"label": _text(r["v"]), "value": _text(r["v"])} for r in rows]

    def _column_exists(self, table: str, column: str) -> bool:
        return bool(
            self._all(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                "AND column_name = %s",
                (self.params["database"], table, column),
            )
        )

    def describe(self, module: str) -> dict[str, Any]:
        if module not in self._tabs:
            raise SourceError(f"INVALID_MODULE: {module}")
        out = []
        for f in self.fields_of(module):
            uitype = str(f["uitype"])
            kind = UITYPES.get(uitype, "string")
            if str(f["fieldname"]) in ("createdtime", "modifiedtime"):
                kind = "datetime"
            type_info: dict[str, Any] = {"name": kind}
            if kind == "reference":
                type_info["refersTo"] = self._refers(f, module)
            if kind == "owner":
                type_info["refersTo"] = ["Users"] if uitype in USERS_ONLY else ["Users", "Groups"]
            if kind in ("picklist", "multipicklist") and uitype not in ("26", "27"):
                type_info["picklistValues"] = self._picklist(str(f["fieldname"]))
            out.append(
                {
                    "name": str(f["fieldname"]),
                    "label": str(f["fieldlabel"]),
                    "mandatory": "~M" in str(f["typeofdata"] or ""),
                    "type": type_info,
                    "default": _text(f["defaultvalue"]),
                }
            )
        return {"name": module, "idPrefix": str(self._ws_ids.get(module, "")), "fields": out}

    def _tables(self, module: str) -> dict[str, str]:
        keys = dict(TABLE_KEYS.get(module, {}))
        base = self._all(
            "SELECT tablename, entityidfield FROM vtiger_entityname WHERE tabid = %s", (self._tabs[module],)
        )
        if base:
            keys.setdefault(str(base[0]["tablename"]), str(base[0]["entityidfield"]))
        for f in self.fields_of(module):
            table = str(f["tablename"])
            if table != CRMENTITY and table not in keys and base:
                keys[table] = str(base[0]["entityidfield"])
        return keys

    def pages(self, module: str) -> Iterator[list[dict[str, Any]]]:
        """The module's live records, 100 a page, as webservice elements (oldest first)."""
        fields = self.fields_of(module)
        keys = self._tables(module)
        joins = "".join(
            f" LEFT JOIN {_ident(t)} ON {_ident(t)}.{_ident(k)} = e.crmid"
            for t, k in keys.items()
            if self._table_exists(t)
        )
        present = {t for t in keys if self._table_exists(t)} | {CRMENTITY}
        columns = []
        used = []
        for i, f in enumerate(fields):
            table = str(f["tablename"])
            if table not in present:
                continue
            source = "e" if table == CRMENTITY else _ident(table)
            columns.append(f"{source}.{_ident(str(f['columnname']))} AS c{i}")
            used.append((i, f))
        select = ", ".join(["e.crmid AS crmid", *columns])
        offset = 0
        while True:
            rows = self._all(
                f"SELECT {select} FROM vtiger_crmentity e{joins} "  # noqa: S608 - checked identifiers
                "WHERE e.deleted = 0 AND e.setype = %s ORDER BY e.crmid LIMIT %s, %s",
                (module, offset, PAGE),
            )
            yield self._elements(module, rows, used)
            if len(rows) < PAGE:
                return
            offset += PAGE

    def _elements(self, module: str, rows: list[dict[str, Any]], used: list[tuple[int, Any]]) -> list[dict[str, Any]]:
        wanted: set[int] = set()
        for i, f in used:
            if UITYPES.get(str(f["uitype"])) == "reference":
                wanted |= {int(r[f"c{i}"]) for r in rows if str(r[f"c{i}"] or "").isdigit() and int(r[f"c{i}"])}
        setypes = {}
        if wanted:
            marks = ", ".join(["%s"] * len(wanted))
            setypes = {
                int(r["crmid"]): str(r["setype"])
                for r in self._all(
                    f"SELECT crmid, setype FROM vtiger_crmentity WHERE deleted = 0 AND crmid IN ({marks})",  # noqa: S608
                    tuple(wanted),
                )
            }
        out = []
        for row in rows:
            element: dict[str, Any] = {"id": self.ws_id(module, row["crmid"])}
            for i, f in used:
                value = row[f"c{i}"]
                kind = UITYPES.get(str(f["uitype"]), "string")
                name = str(f["fieldname"])
                if kind == "reference":
                    number = int(value) if str(value or "").isdigit() else 0
                    element[name] = self.ws_id(setypes.get(number, ""), number) if number in setypes else ""
                elif kind == "owner":
                    element[name] = self.owner_id(value)
                elif kind == "boolean":
                    element[name] = "1" if str(value or "0") in ("1", "on", "yes") else "0"
                elif kind == "multipicklist":
                    element[name] = _text(value)
                elif kind in ("double", "currency") and value is not None:
                    element[name] = format(value.normalize(), "f") if hasattr(value, "normalize") else _text(value)
                elif name == "folderid":
                    element[name] = self._folder(value)
                else:
                    element[name] = _text(value)
            out.append(element)
        return out

    def _folder(self, value: Any) -> str:
        if not str(value or "").isdigit():
            return ""
        rows = self._all("SELECT foldername FROM vtiger_attachmentsfolder WHERE folderid = %s", (int(value),))
        return str(rows[0]["foldername"]) if rows else ""

    def users(self) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT u.id, u.user_name, u.first_name, u.last_name, u.email1, u.status, u.is_admin, r.roleid "
            "FROM vtiger_users u LEFT JOIN vtiger_user2role r ON r.userid = u.id WHERE u.deleted = 0 ORDER BY u.id"
        )
        return [
            {
                "id": self.ws_id("Users", r["id"]),
                "user_name": _text(r["user_name"]),
                "first_name": _text(r["first_name"]),
                "last_name": _text(r["last_name"]),
                "email1": _text(r["email1"]),
                "status": _text(r["status"]) or "Active",
                "is_admin": "on" if _text(r["is_admin"]) == "on" else "off",
                "roleid": _text(r["roleid"]),
            }
            for r in rows
        ]

    def groups(self) -> list[dict[str, Any]]:
        rows = self._all("SELECT groupid, groupname, description FROM vtiger_groups ORDER BY groupid")
        return [
            {
                "id": self.ws_id("Groups", r["groupid"]),
                "groupname": _text(r["groupname"]),
                "description": _text(r["description"]),
            }
            for r in rows
        ]

    def comments(self, remote_id: str) -> list[dict[str, Any]]:
        number = remote_id.partition("x")[2]
        if not number.isdigit() or not self._table_exists("vtiger_modcomments"):
            return []
        rows = self._all(
            "SELECT c.modcommentsid, c.commentcontent, e.smcreatorid, e.smownerid, e.createdtime, e.modifiedtime "
            "FROM vtiger_modcomments c JOIN vtiger_crmentity e ON e.crmid = c.modcommentsid "
            "WHERE e.deleted = 0 AND c.related_to = %s ORDER BY e.createdtime, c.modcommentsid",
            (int(number),),
        )
        return [
            {
                "id": self.ws_id(COMMENTS, r["modcommentsid"]),
                "commentcontent": _text(r["commentcontent"]),
                "creator": self.owner_id(r["smcreatorid"]),
                "assigned_user_id": self.owner_id(r["smownerid"]),
                "createdtime": _text(r["createdtime"]),
                "modifiedtime": _text(r["modifiedtime"]),
            }
            for r in rows
        ]

    def document_links(self, remote_id: str) -> list[str]:
        """The records a document is listed on (vtiger_senotesrel), as webservice ids."""
        number = remote_id.partition("x")[2]
        if not number.isdigit():
            return []
        rows = self._all(
            "SELECT e.crmid, e.setype FROM vtiger_senotesrel r JOIN vtiger_crmentity e ON e.crmid = r.crmid "
            "WHERE e.deleted = 0 AND r.notesid = %s ORDER BY e.crmid",
            (int(number),),
        )
        return [self.ws_id(str(r["setype"]), r["crmid"]) for r in rows if self.ws_id(str(r["setype"]), r["crmid"])]

    def document_file(self, row: dict[str, Any]) -> RemoteFile | None:
        """The file of a document stored in vtiger (filelocationtype I), read from the storage directory."""
        number = str(row.get("id", "")).partition("x")[2]
        if not number.isdigit() or row.get("filelocationtype") not in ("I", ""):
            return None
        found = self._all(
            "SELECT a.attachmentsid, a.name, a.type, a.path, a.storedname FROM vtiger_seattachmentsrel s "
            "JOIN vtiger_attachments a ON a.attachmentsid = s.attachmentsid WHERE s.crmid = %s "
            "ORDER BY a.attachmentsid DESC LIMIT 1"
            if self._column_exists("vtiger_attachments", "storedname")
            else "SELECT a.attachmentsid, a.name, a.type, a.path, NULL AS storedname FROM vtiger_seattachmentsrel s "
            "JOIN vtiger_attachments a ON a.attachmentsid = s.attachmentsid WHERE s.crmid = %s "
            "ORDER BY a.attachmentsid DESC LIMIT 1",
            (int(number),),
        )
        if not found:
            return None
        attachment = found[0]
        if self.storage is None:
            raise SourceError("no --storage directory was given, so document files cannot be read")
        path = self._stored_path(attachment)
        declared = row.get("filesize")
        return RemoteFile(
            key=f"attachment:{attachment['attachmentsid']}",
            name=_text(attachment["name"]),
            content_type=_text(attachment["type"]),
            path=path,
            declared_size=int(str(declared)) if str(declared or "").isdigit() else None,
        )

    def _stored_path(self, attachment: dict[str, Any]) -> Path:
        """<storage>/<path after "storage/"><attachmentsid>_<storedname or name>, never outside <storage>."""
        assert self.storage is not None
        relative = _text(attachment["path"]).replace("\\", "/")
        if relative.startswith("storage/"):
            relative = relative[len("storage/") :]
        candidates = [_text(attachment["storedname"]), _text(attachment["name"])]
        for stored in candidates:
            if not stored:
                continue
            try:
                path = (self.storage / relative / f"{attachment['attachmentsid']}_{stored}").resolve()
            except (ValueError, OSError) as exc:  # a NUL byte in a name, a path the system cannot resolve
                raise SourceError(f"attachment {attachment['attachmentsid']}: its path is not usable") from exc
            if not path.is_relative_to(self.storage):
                raise SourceError(f"attachment {attachment['attachmentsid']}: its path leaves the storage directory")
            if path.is_file():
                return path
        raise SourceError(f"attachment {attachment['attachmentsid']}: its file is not in the storage directory")

    # --- what only the database has ---

    def access_setup(self) -> dict[str, Any]:
        """Roles (tree and profiles), profiles (module actions, global privileges, field access, tools), group
        members and organisation-wide sharing defaults, keyed by vtiger module name and field name."""
        tab_names = {tabid: name for name, tabid in self._tabs.items()}
        return {
            "profiles": self._profiles(tab_names),
            "roles": self._roles(),
            "group_members": self._group_members(),
            "sharing": self._sharing(tab_names),
        }

    def _profiles(self, tab_names: dict[int, str]) -> list[dict[str, Any]]:
        field_names = {
            int(r["fieldid"]): str(r["fieldname"])
            for r in self._all("SELECT fieldid, fieldname FROM vtiger_field WHERE presence IN (0, 2)")
        }
        profiles: dict[int, dict[str, Any]] = {}
        for r in self._all("SELECT profileid, profilename, description FROM vtiger_profile ORDER BY profileid"):
            profiles[int(r["profileid"])] = {
                "id": int(r["profileid"]),
                "name": _text(r["profilename"]),
                "description": _text(r["description"]),
                "view_all": False,
                "edit_all": False,
                "modules": {},
                "fields": {},
                "import": False,
                "export": False,
            }
        for r in self._all(
            "SELECT profileid, globalactionid, globalactionpermission FROM vtiger_profile2globalpermissions"
        ):
            profile = profiles.get(int(r["profileid"]))
            if profile is not None and int(r["globalactionid"]) in (1, 2):
                profile["view_all" if int(r["globalactionid"]) == 1 else "edit_all"] = r["globalactionpermission"] == 0
        for r in self._all("SELECT profileid, tabid, permissions FROM vtiger_profile2tab"):
            profile, module = profiles.get(int(r["profileid"] or 0)), tab_names.get(int(r["tabid"] or 0))
            if profile is not None and module:
                profile["modules"][module] = {
                    "view": r["permissions"] == 0, "create": True, "edit": True, "delete": True,
                }  # fmt: skip
        actions: dict[tuple[int, str], dict[int, bool]] = {}
        for r in self._all("SELECT profileid, tabid, operation, permissions FROM vtiger_profile2standardpermissions"):
            module = tab_names.get(int(r["tabid"]))
            if module:
                actions.setdefault((int(r["profileid"]), module), {})[int(r["operation"])] = r["permissions"] == 0
        for (profile_id, module), ops in actions.items():
            profile = profiles.get(profile_id)
            if profile is None:
                continue
            rights = profile["modules"].setdefault(module, {"view": True, "create": True, "edit": True, "delete": True})
            rights["view"] = rights["view"] and ops.get(VIEW, True)
            rights["create"] = ops.get(CREATE, ops.get(SAVE, True))
            rights["edit"] = ops.get(EDIT, ops.get(SAVE, True))
            rights["delete"] = ops.get(DELETE, True)
        for r in self._all("SELECT profileid, tabid, fieldid, visible, readonly FROM vtiger_profile2field"):
            profile, module = profiles.get(int(r["profileid"])), tab_names.get(int(r["tabid"] or 0))
            name = field_names.get(int(r["fieldid"]))
            if profile is None or not module or not name:
                continue
            if r["visible"] not in (0, None):
                profile["fields"].setdefault(module, {})[name] = "hidden"
            elif r["readonly"] not in (0, None):
                profile["fields"].setdefault(module, {})[name] = "readonly"
        for r in self._all("SELECT profileid, activityid, permission FROM vtiger_profile2utility"):
            profile = profiles.get(int(r["profileid"]))
            if profile is not None and int(r["activityid"]) in (IMPORT, EXPORT) and r["permission"] == 0:
                profile["import" if int(r["activityid"]) == IMPORT else "export"] = True
        return list(profiles.values())

    def _roles(self) -> list[dict[str, Any]]:
        roles: list[dict[str, Any]] = [
            {
                "id": _text(r["roleid"]),
                "name": _text(r["rolename"]),
                "parent": (_text(r["parentrole"]).split("::")[-2] if "::" in _text(r["parentrole"]) else ""),
                "depth": int(r["depth"] or 0),
                "profiles": [],
            }
            for r in self._all("SELECT roleid, rolename, parentrole, depth FROM vtiger_role ORDER BY depth, roleid")
        ]
        by_role = {role["id"]: role for role in roles}
        for r in self._all("SELECT roleid, profileid FROM vtiger_role2profile ORDER BY profileid"):
            if _text(r["roleid"]) in by_role:
                by_role[_text(r["roleid"])]["profiles"].append(int(r["profileid"]))
        return roles

    def _group_members(self) -> dict[str, dict[str, list[str]]]:
        members: dict[str, dict[str, list[str]]] = {}
        for table, column, kind in (
            ("vtiger_users2group", "userid", "users"),
            ("vtiger_group2role", "roleid", "roles"),
            ("vtiger_group2rs", "roleandsubid", "role_trees"),
            ("vtiger_group2grouprel", "containsgroupid", "groups"),
        ):
            if not self._table_exists(table):
                continue
            for r in self._all(f"SELECT groupid, {_ident(column)} AS v FROM {_ident(table)} ORDER BY 1, 2"):  # noqa: S608
                value = _text(r["v"])
                if kind == "users":
                    value = self.ws_id("Users", value)
                elif kind == "groups":
                    value = self.ws_id("Groups", value)
                members.setdefault(self.ws_id("Groups", r["groupid"]), {}).setdefault(kind, []).append(value)
        return members

    def _sharing(self, tab_names: dict[int, str]) -> dict[str, str]:
        sharing = {}
        if self._table_exists("vtiger_def_org_share"):
            for r in self._all("SELECT tabid, permission FROM vtiger_def_org_share"):
                module = tab_names.get(int(r["tabid"]))
                if module and r["permission"] in SHARING:
                    sharing[module] = SHARING[int(r["permission"])]
        return sharing
