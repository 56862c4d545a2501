"""Extension manifests: JSON Schema validation (`manifest.schema.json`) plus the checks a schema cannot
express (modules exist in the CRM registry, field keys are free, semantic versions, the platform is new
enough, labels and names that translations refer to exist, webhooks only for modules the extension may read).

Every problem is reported with its JSON path (`custom_fields.0.type`) and a translated message; a
manifest is data and is never executed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import jsonschema
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _
from packaging.version import InvalidVersion, Version

from crm_apps.access.api.scopes import feature_scopes, scopes_held

SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")
SCHEMA_VERSION = 2
# Kinds that need `schema_version: 2` (an app behind them, or content the wave's features install).
V2_KINDS = (
    "app",
    "ui",
    "document_templates",
    "email_templates",
    "reports",
    "workflow_actions",
    "workflow_triggers",
    "telephony",
    "field_types",
)
UI_KINDS = ("record_panels", "dashboard_widgets", "record_actions", "list_actions", "settings_pages")
# Deeper than any real manifest (the schema's deepest path is about 6 levels).
MAX_MANIFEST_DEPTH = 20
MAX_MANIFEST_BYTES = 256 * 1024
PICKLIST_TYPES = ("picklist", "multipicklist")


def platform_version() -> Version:
    """The running platform's version (the installed distribution's); `min_platform_version` is checked against it."""
    try:
        return Version(importlib_metadata.version("crm-platform"))
    except importlib_metadata.PackageNotFoundError:  # a checkout that was never pip-installed
        return Version("0.1.0")


@cache
def schema() -> dict[str, Any]:
    """The manifest JSON Schema (served publicly at /marketplace/manifest.schema.json)."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@cache
def _validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema())
    return jsonschema.Draft202012Validator(schema())


class ManifestInvalid(ValidationError):
    """A manifest with problems: `errors` maps JSON paths to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__({path: list(messages) for path, messages in errors.items()})


@dataclass(frozen=True)
class Manifest:
    """A validated manifest (the JSON as given) with its parsed versions."""

    data: dict[str, Any]
    version: Version
    min_platform_version: Version

    @property
    def key(self) -> str:
        return str(self.data["key"])

    def items(self, kind: str) -> list[Any]:
        return list(self.data.get(kind) or [])

    @property
    def scopes(self) -> list[str]:
        return sorted(self.data.get("scopes") or [])


def _path(parts: Any) -> str:
    return ".".join(str(p) for p in parts) or "manifest"


def _schema_message(error: jsonschema.ValidationError) -> tuple[str, str]:
    """A translated message for one schema error, and the path it belongs to."""
    path = _path(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        return _path([*error.absolute_path, missing]), _("This field is required.")
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        if extra:
            return _path([*error.absolute_path, extra[0]]), _("Unknown property “%(name)s”.") % {"name": extra[0]}
        return path, _("Unknown property.")
    if kind == "type":
        names = {
            "object": _("an object"),
            "array": _("a list"),
            "string": _("text"),
            "integer": _("a whole number"),
            "boolean": _("true or false"),
        }
        return path, _("Expected %(type)s.") % {"type": names.get(str(value), str(value))}
    if kind == "const":
        return path, _("Must be %(value)s.") % {"value": json.dumps(value)}
    if kind == "enum":
        return path, _("Must be one of: %(values)s.") % {"values": ", ".join(str(v) for v in value)}
    if kind == "pattern":
        return path, _("“%(value)s” does not have the required form (%(pattern)s).") % {
            "value": str(error.instance)[:100],
            "pattern": value,
        }
    if kind == "minLength":
        return path, _("Must not be empty.") if value == 1 else _("Use at least %(n)d characters.") % {"n": value}
    if kind == "maxLength":
        return path, _("Use at most %(n)d characters.") % {"n": value}
    if kind == "minItems":
        return path, _("Give at least %(n)d item(s).") % {"n": value}
    if kind == "maxItems":
        return path, _("Give at most %(n)d items.") % {"n": value}
    if kind == "maxProperties":
        return path, _("Give at most %(n)d entries.") % {"n": value}
    if kind == "minimum":
        return path, _("Must be at least %(n)s.") % {"n": value}
    if kind == "maximum":
        return path, _("Must be at most %(n)s.") % {"n": value}
    if kind == "uniqueItems":
        return path, _("Items must not repeat.")
    return path, _("Invalid value.")


def _semver(text: str) -> Version | None:
    """MAJOR.MINOR.PATCH (no pre-release, build or epoch parts)."""
    try:
        parsed = Version(text)
    except InvalidVersion:
        return None
    if len(parsed.release) != 3 or parsed.pre or parsed.post or parsed.dev or parsed.local or parsed.epoch:
        return None
    if str(parsed) != text:
        return None
    return parsed


class _Problems:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)


class _Semantic:
    """Checks across items and against the CRM registry, one section of the manifest per method. Sections
    share what earlier ones found: the labels a translation may name, the custom fields added per module."""

    def __init__(self, data: dict[str, Any], problems: _Problems) -> None:
        from crm_apps.engine import registry

        self.data = data
        self.problems = problems
        self.specs = {s.key: s for s in registry.all_specs()}
        self.labels: set[str] = set()
        self.custom: dict[str, dict[str, dict[str, Any]]] = {}

    def items(self, section: str) -> list[tuple[str, dict[str, Any]]]:
        return [(f"{section}.{index}", item) for index, item in enumerate(self.data.get(section) or [])]

    def module_ok(self, path: str, module: str) -> bool:
        if module not in self.specs:
            self.problems.add(path, _("Unknown module “%(module)s”.") % {"module": module})
            return False
        return True

    def versions(self) -> tuple[Version | None, Version | None]:
        version = _semver(self.data["version"])
        if version is None:
            self.problems.add("version", _("Use a semantic version such as 1.2.0."))
        minimum = _semver(self.data["min_platform_version"])
        if minimum is None:
            self.problems.add("min_platform_version", _("Use a semantic version such as 1.2.0."))
        elif minimum > platform_version():
            self.problems.add(
                "min_platform_version",
                _("This platform is version %(current)s; the extension needs %(needed)s.")
                % {"current": platform_version(), "needed": minimum},
            )
        return version, minimum

    def custom_modules(self) -> None:
        """Modules the manifest builds: its fields and views may name them."""
        from crm_apps.custom_modules.models import CustomModule
        from crm_apps.custom_modules.overlay import spec_for
        from crm_apps.custom_modules.services import RESERVED_KEYS
        from crm_apps.engine import registry

        declared: set[str] = set()
        for base, item in self.items("custom_modules"):
            self.labels.update((item["label"], item["plural"]))
            key = item["key"]
            if "__" in key or key in registry.builtin_keys() or key in RESERVED_KEYS:
                self.problems.add(f"{base}.key", _("“%(key)s” is a built-in module or a reserved word.") % {"key": key})
            elif key in declared:
                self.problems.add(f"{base}.key", _("The module “%(key)s” appears twice.") % {"key": key})
            declared.add(key)
            # A stand-in spec (no row yet), so later sections can check fields and views against it.
            self.specs[key] = spec_for(
                CustomModule(key=key, label=item["label"], label_plural=item["plural"], number_prefix="X")
            )

    def custom_fields(self) -> None:
        from crm_apps.engine.services import CUSTOM_KEY_RE, RESERVED_CUSTOM_KEYS

        for base, item in self.items("custom_fields"):
            self.labels.add(item["label"])
            if not self.module_ok(f"{base}.module", item["module"]):
                continue
            key = item["key"]
            standard = {f.name for f in self.specs[item["module"]].model._meta.get_fields()}
            if not CUSTOM_KEY_RE.match(key) or "__" in key or key in RESERVED_CUSTOM_KEYS or key in standard:
                self.problems.add(f"{base}.key", _("“%(key)s” is reserved or used by a standard field.") % {"key": key})
            if key in self.custom.get(item["module"], {}):
                self.problems.add(f"{base}.key", _("The key “%(key)s” appears twice in this module.") % {"key": key})
            self.custom.setdefault(item["module"], {})[key] = item
            self.custom_field_options(base, item)

    def custom_field_options(self, base: str, item: dict[str, Any]) -> None:
        """Options belong to their types: choices to picklists, a maximum length to text, a target to records."""
        if item["type"] in PICKLIST_TYPES:
            if not item.get("choices"):
                self.problems.add(f"{base}.choices", _("Picklist fields need choices."))
            self.labels.update(item.get("choices") or [])
        elif "choices" in item:
            self.problems.add(f"{base}.choices", _("Only picklist fields have choices."))
        if "max_length" in item and item["type"] != "text":
            self.problems.add(f"{base}.max_length", _("Only text fields have a maximum length."))
        if item["type"] == "record":
            if "target" not in item:
                self.problems.add(f"{base}.target", _("Record references need the module they point to."))
            else:
                self.module_ok(f"{base}.target", item["target"])
        elif "target" in item:
            self.problems.add(f"{base}.target", _("Only record references have a target module."))

    def picklist_values(self) -> None:
        for base, item in self.items("picklist_values"):
            self.labels.update(item["values"])
            if not self.module_ok(f"{base}.module", item["module"]):
                continue
            own = self.custom.get(item["module"], {}).get(item["field"])
            if item["field"] not in self.specs[item["module"]].picklists and not (
                own and own["type"] in PICKLIST_TYPES
            ):
                self.problems.add(
                    f"{base}.field",
                    _("“%(field)s” is not a picklist field of %(module)s (standard, or added by this manifest).")
                    % {"field": item["field"], "module": item["module"]},
                )

    def pipelines(self) -> None:
        pipeline_names: set[str] = set()
        for base, item in self.items("pipelines"):
            self.labels.add(item["name"])
            self.labels.update(stage["name"] for stage in item["stages"])
            if item["name"].lower() in pipeline_names:
                self.problems.add(f"{base}.name", _("Pipeline names must be unique."))
            pipeline_names.add(item["name"].lower())
            stage_names: set[str] = set()
            for stage_index, stage in enumerate(item["stages"]):
                if stage["name"].lower() in stage_names:
                    self.problems.add(f"{base}.stages.{stage_index}.name", _("Stage names must be unique."))
                stage_names.add(stage["name"].lower())
                if stage.get("is_won") and stage.get("is_lost"):
                    self.problems.add(f"{base}.stages.{stage_index}", _("A stage cannot be both won and lost."))

    def saved_views(self) -> None:
        for base, item in self.items("saved_views"):
            self.labels.add(item["name"])
            if self.module_ok(f"{base}.module", item["module"]):
                self.saved_view(base, item)

    def saved_view(self, base: str, item: dict[str, Any]) -> None:
        from crm_apps.engine.selectors import sortable_columns

        spec = self.specs[item["module"]]
        own_keys = set(self.custom.get(item["module"], {}))
        allowed = {*spec.filter_fields, "owner", "tags", "created_at", "updated_at"}
        for name in item.get("filters") or {}:
            field, _sep, op = name.partition("__")
            known = field in allowed or (field.startswith("custom.") and field[7:] in own_keys)
            if not known or op not in ("", "gte", "lte"):
                self.problems.add(f"{base}.filters.{name}", _("Unknown filter “%(name)s”.") % {"name": name})
        ordering = item.get("ordering") or ""
        if ordering and ordering.lstrip("-") not in sortable_columns(spec):
            self.problems.add(f"{base}.ordering", _("You cannot sort by “%(field)s”.") % {"field": ordering})
        for column_index, column in enumerate(item.get("columns") or []):
            if column not in own_keys:
                self.problems.add(
                    f"{base}.columns.{column_index}",
                    _("Extra columns are custom fields this manifest adds to %(module)s.") % {"module": item["module"]},
                )

    def scopes_and_webhooks(self) -> None:
        scopes = scopes_held(self.data.get("scopes") or [])  # write includes read, as for the token
        for index, scope in enumerate(self.data.get("scopes") or []):
            if scope.split(":")[0] not in feature_scopes():  # a feature's scope (automation:write)
                self.module_ok(f"scopes.{index}", scope.split(":")[0])
        url_validator = URLValidator(schemes=["http", "https"])
        for base, item in self.items("webhooks"):
            try:
                url_validator(item["url"])
            except ValidationError:
                self.problems.add(f"{base}.url", _("Enter a valid http(s) URL."))
            for event_index, event in enumerate(item["events"]):
                module = event.split(".")[0]
                if self.module_ok(f"{base}.events.{event_index}", module) and f"{module}:read" not in scopes:
                    self.problems.add(
                        f"{base}.events.{event_index}",
                        _("Events of %(module)s need the scope “%(module)s:read” or “%(module)s:write”.")
                        % {"module": module},
                    )

    def translations(self) -> None:
        language = self.data.get("language", "en")
        for lang, table in (self.data.get("translations") or {}).items():
            if lang == language:
                self.problems.add(f"translations.{lang}", _("The manifest's own language needs no translation."))
            for source in table:
                if source not in self.labels:
                    self.problems.add(
                        f"translations.{lang}.{source}",
                        _(
                            "“%(label)s” is not a label or name this manifest adds (custom field labels and "
                            "choices, picklist values, pipeline, stage and saved view names, written exactly)."
                        )
                        % {"label": source},
                    )

    # -- schema version 2: the app and what the wave's features install ---------------------------
    def app_kinds(self) -> None:
        present = [kind for kind in V2_KINDS if self.data.get(kind)]
        if self.data.get("schema_version") != 2:
            for kind in present:
                self.problems.add(kind, _("Needs “schema_version”: 2."))
            return
        origin = (self.data.get("app") or {}).get("origin", "")
        if origin:
            self.origin_ok(origin)
        for kind in UI_KINDS:
            self.urls_on_origin(f"ui.{kind}", (self.data.get("ui") or {}).get(kind) or [], origin)
        self.urls_on_origin("workflow_actions", self.data.get("workflow_actions") or [], origin)
        self.actions_within_scopes()
        self.document_templates()
        self.keys_unique("email_templates")
        for base, item in self.items("email_templates"):
            if item.get("module"):
                self.module_ok(f"{base}.module", item["module"])
        self.keys_unique("reports")
        self.telephony(origin)
        self.field_types(origin)
        self.workflow_triggers(origin)

    def workflow_triggers(self, origin: str) -> None:
        """Events the app reports: keys unique, modules that exist and its scopes may read; the app's
        origin declared (its installation's secret signs the reports)."""
        items = self.data.get("workflow_triggers") or []
        if items and not origin:
            self.problems.add("workflow_triggers", _("Declare the app's origin (“app.origin”) first."))
        self.keys_unique("workflow_triggers", items)
        scopes = scopes_held(self.data.get("scopes") or [])
        for base, item in self.items("workflow_triggers"):
            for module_index, module in enumerate(item["modules"]):
                path = f"{base}.modules.{module_index}"
                if self.module_ok(path, module) and f"{module}:read" not in scopes:
                    self.problems.add(
                        path,
                        _("Triggers on %(module)s need the scope “%(module)s:read” or “%(module)s:write”.")
                        % {"module": module},
                    )

    def telephony(self, origin: str) -> None:
        """A telephony provider reports calls (calls:write) and may offer a click-to-call page on its origin."""
        telephony = self.data.get("telephony")
        if not telephony:
            return
        if "calls:write" not in scopes_held(self.data.get("scopes") or []):
            self.problems.add("telephony", _("A telephony provider needs the scope “calls:write”."))
        if not origin:
            self.problems.add("telephony", _("Declare the app's origin (“app.origin”) first."))
        click = telephony.get("click_to_call")
        if not telephony["events"] and not click:
            self.problems.add("telephony", _("Declare “events”: true, a “click_to_call” page, or both."))
        if click and origin and not click["url"].startswith(origin + "/"):
            self.problems.add(
                "telephony.click_to_call.url",
                _("The address must be on the app's origin %(origin)s.") % {"origin": origin},
            )

    def field_types(self, origin: str) -> None:
        """Field types: parts the platform validates (the engine's structured field type), a display
        template naming them, modules that exist and the app may write, the panel on the app's origin."""
        from crm_apps.engine.field_types import display_template_problems

        items = self.data.get("field_types") or []
        self.keys_unique("field_types", items)
        declared = set(self.data.get("scopes") or [])
        for base, item in self.items("field_types"):
            seen: set[str] = set()
            for part_index, part in enumerate(item["parts"]):
                if part["key"] in seen:
                    self.problems.add(
                        f"{base}.parts.{part_index}.key", _("The key “%(key)s” is used twice.") % {"key": part["key"]}
                    )
                seen.add(part["key"])
                if "max_length" in part and part["type"] != "text":
                    self.problems.add(
                        f"{base}.parts.{part_index}.max_length", _("Only text parts have a maximum length.")
                    )
                for bound in ("min", "max"):
                    if bound in part and part["type"] not in ("decimal", "integer"):
                        self.problems.add(
                            f"{base}.parts.{part_index}.{bound}", _("Only number parts have a minimum or maximum.")
                        )
                if "min" in part and "max" in part and part["min"] > part["max"]:
                    self.problems.add(f"{base}.parts.{part_index}.min", _("The minimum is above the maximum."))
            for problem in display_template_problems(item.get("display", ""), seen):
                self.problems.add(f"{base}.display", problem)
            for module_index, module in enumerate(item["modules"]):
                path = f"{base}.modules.{module_index}"
                if self.module_ok(path, module) and f"{module}:write" not in declared:
                    self.problems.add(
                        path,
                        _("Fields on %(module)s save their values: they need the scope “%(module)s:write”.")
                        % {"module": module},
                    )
            url = item["panel"]["url"]
            if not origin:
                self.problems.add(f"{base}.panel.url", _("Declare the app's origin (“app.origin”) first."))
            elif not url.startswith(origin + "/"):
                self.problems.add(
                    f"{base}.panel.url", _("The address must be on the app's origin %(origin)s.") % {"origin": origin}
                )

    def actions_within_scopes(self) -> None:
        """Record and list actions pass record ids to the app: only of modules its scopes may read."""
        scopes = scopes_held(self.data.get("scopes") or [])
        for kind in ("record_actions", "list_actions"):
            for index, item in enumerate((self.data.get("ui") or {}).get(kind) or []):
                for module_index, module in enumerate(item.get("modules") or []):
                    if f"{module}:read" not in scopes:
                        self.problems.add(
                            f"ui.{kind}.{index}.modules.{module_index}",
                            _("Actions on %(module)s need the scope “%(module)s:read” or “%(module)s:write”.")
                            % {"module": module},
                        )

    def origin_ok(self, origin: str) -> None:
        from django.conf import settings

        scheme, _sep, rest = origin.partition("://")
        host = rest.split(":")[0]
        if scheme != "https" and not settings.WEBHOOKS_ALLOW_PRIVATE:
            self.problems.add("app.origin", _("The app's origin must use https."))
        if "." not in host and not settings.WEBHOOKS_ALLOW_PRIVATE:
            self.problems.add("app.origin", _("Give the app's public host name."))
        base = settings.BASE_DOMAIN.split(":")[0]
        if host == base or host.endswith("." + base):
            # Frames keep the app's own origin (allow-same-origin): never the platform's.
            self.problems.add("app.origin", _("An app cannot live on the platform's own domain."))

    def keys_unique(self, section: str, items: list[Any] | None = None) -> None:
        seen: set[str] = set()
        for index, item in enumerate(items if items is not None else self.data.get(section) or []):
            if item["key"] in seen:
                self.problems.add(
                    f"{section}.{index}.key", _("The key “%(key)s” is used twice.") % {"key": item["key"]}
                )
            seen.add(item["key"])

    def urls_on_origin(self, section: str, items: list[Any], origin: str) -> None:
        self.keys_unique(section, items)
        for index, item in enumerate(items):
            base = f"{section}.{index}"
            if not origin:
                self.problems.add(f"{base}.url", _("Declare the app's origin (“app.origin”) first."))
            elif not item["url"].startswith(origin + "/"):
                self.problems.add(
                    f"{base}.url", _("The address must be on the app's origin %(origin)s.") % {"origin": origin}
                )
            for module_index, module in enumerate(item.get("modules") or []):
                self.module_ok(f"{base}.modules.{module_index}", module)

    def document_templates(self) -> None:
        from crm_apps.inventory.render import TemplateError, validate

        seen: set[tuple[str, str]] = set()
        for base, item in self.items("document_templates"):
            pair = (item["module"], item["language"])
            if pair in seen:
                self.problems.add(base, _("A second template of this module in this language."))
            seen.add(pair)
            try:
                validate(item["html"])
            except TemplateError as exc:
                self.problems.add(f"{base}.html", _("The template does not parse: %(error)s") % {"error": exc})


def _semantic(data: dict[str, Any], problems: _Problems) -> tuple[Version | None, Version | None]:
    """Checks across items and against the CRM registry (translations last: they name earlier labels)."""
    check = _Semantic(data, problems)
    versions = check.versions()
    check.custom_modules()  # before custom fields: they may add fields to a module declared here
    check.custom_fields()
    check.picklist_values()
    check.pipelines()
    check.saved_views()
    check.scopes_and_webhooks()
    check.translations()
    check.app_kinds()
    return versions


def _too_deep() -> str:
    return _("The manifest nests objects and lists more than %(depth)d levels deep.") % {"depth": MAX_MANIFEST_DEPTH}


def _text_depth(text: str) -> int:
    """The deepest nesting of [ and { in JSON text, outside strings (a linear scan, before parsing:
    a manifest thousands of levels deep must not reach the recursive parser and validator)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _value_depth(value: Any) -> int:
    """The deepest nesting of dicts and lists in an already parsed value, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_MANIFEST_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def manifest_validate(raw: Any) -> Manifest:
    """Parse (from text/bytes or a dict) and validate a manifest; ManifestInvalid names every problem."""
    if isinstance(raw, bytes | bytearray):
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ManifestInvalid({"manifest": [_("The manifest is larger than 256 KB.")]})
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ManifestInvalid({"manifest": [_("The manifest must be UTF-8 text.")]}) from exc
    if isinstance(raw, str):
        if len(raw.encode("utf-8")) > MAX_MANIFEST_BYTES:
            raise ManifestInvalid({"manifest": [_("The manifest is larger than 256 KB.")]})
        if _text_depth(raw) > MAX_MANIFEST_DEPTH:
            raise ManifestInvalid({"manifest": [_too_deep()]})
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ManifestInvalid(
                {"manifest": [_("Not valid JSON: %(error)s (line %(line)d).") % {"error": exc.msg, "line": exc.lineno}]}
            ) from exc
    if _value_depth(raw) > MAX_MANIFEST_DEPTH:
        raise ManifestInvalid({"manifest": [_too_deep()]})
    problems = _Problems()
    errors = sorted(_validator().iter_errors(raw), key=lambda e: (list(map(str, e.absolute_path)), str(e.validator)))
    for error in errors:
        path, message = _schema_message(error)
        problems.add(path, message)
    if problems.errors:
        raise ManifestInvalid(problems.errors)
    version, minimum = _semantic(raw, problems)
    if problems.errors or version is None or minimum is None:
        raise ManifestInvalid(problems.errors)
    return Manifest(data=raw, version=version, min_platform_version=minimum)


def manifest_summary(manifest: Manifest) -> dict[str, Any]:
    """What an install adds, for the consent screen: counts and names per kind, and the scopes."""
    data = manifest.data
    return {
        "custom_modules": [(m["key"], m["plural"]) for m in data.get("custom_modules") or []],
        "custom_fields": [(f["module"], f["label"], f["type"]) for f in data.get("custom_fields") or []],
        "picklist_values": [(p["module"], p["field"], p["values"]) for p in data.get("picklist_values") or []],
        "pipelines": [(p["name"], [s["name"] for s in p["stages"]]) for p in data.get("pipelines") or []],
        "saved_views": [(v["module"], v["name"]) for v in data.get("saved_views") or []],
        "translations": sorted((data.get("translations") or {}).keys()),
        "webhooks": [(w["url"], w["events"]) for w in data.get("webhooks") or []],
        "scopes": manifest.scopes,
        "app_origin": (data.get("app") or {}).get("origin", ""),
        "ui": [
            (kind, item["label"], item["url"]) for kind in UI_KINDS for item in (data.get("ui") or {}).get(kind) or []
        ],
        "document_templates": [(t["module"], t["language"]) for t in data.get("document_templates") or []],
        "email_templates": [t["name"] for t in data.get("email_templates") or []],
        "reports": [r["name"] for r in data.get("reports") or []],
        "workflow_actions": [(a["label"], a["url"]) for a in data.get("workflow_actions") or []],
        "workflow_triggers": [(t["label"], t["modules"]) for t in data.get("workflow_triggers") or []],
        "telephony": data.get("telephony") or {},
        "field_types": [
            (t["label"], t["modules"], [p["label"] for p in t["parts"]]) for t in data.get("field_types") or []
        ],
    }
