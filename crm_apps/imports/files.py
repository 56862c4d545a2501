"""Reading import files (CSV, XLSX, vCard, iCalendar) into rows, and writing the failed rows back in the
file's own format.

Every format becomes the same shape: a list of column names and rows of strings (`Sheet`). CSV's
encoding is detected with charset-normalizer (a byte-order mark wins: UTF-8 and UTF-16 with a BOM are
certain) and its delimiter with `csv.Sniffer` over the first lines; both are shown on the mapping step and
may be overridden. XLSX is read with openpyxl's read-only mode (the first sheet, or the one chosen).
A vCard becomes one row per card with fixed columns (FN, N parts, EMAIL, TEL, ORG, TITLE, ADR parts,
NOTE, BDAY); an iCalendar file one row per VEVENT or VTODO (SUMMARY, DTSTART, DTEND/DUE, LOCATION,
DESCRIPTION, STATUS, PRIORITY, kind). Those two keep each item's original text, so the error file of a
vCard import is a vCard file of the cards that failed.

Bytes are stored in the tenant's storage (django-tenants' `TenantFileSystemStorage`:
MEDIA_ROOT/<schema>/imports/<uuid>) and served only by the permission-checked views.
"""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

CSV, XLSX, VCARD, ICAL = "csv", "xlsx", "vcard", "ical"
FORMATS = (CSV, XLSX, VCARD, ICAL)
PREFIX = "imports"
MAX_BYTES = 100 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_COLUMNS = 300
# vCard and iCalendar files are parsed whole (their items are small and few): a lower ceiling.
MAX_ITEM_FILE_BYTES = 20 * 1024 * 1024
# What a request reads of a file (upload, re-read, the mapping page): the first rows are kept for samples
# and picklist values, the rest only counted, so a 100 MB file never becomes a million lists in a web
# worker. The Celery jobs (dry run, import) read everything.
PREVIEW_ROWS = 20_000
ERRORS_COLUMN = "Import errors"
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1251", "latin-1", "cp1252", "koi8-r", "iso-8859-15")
DELIMITERS = (",", ";", "\t", "|")
XLSX_MAGIC = b"PK\x03\x04"


class FileProblem(ValueError):
    """The file cannot be read as the format it claims (shown on the upload step / as a 400)."""


@dataclass
class Sheet:
    headers: list[str]
    rows: list[list[str]]
    raw: list[str] = field(default_factory=list)  # vCard/iCalendar: each row's original text
    encoding: str = ""
    delimiter: str = ""
    sheets: list[str] = field(default_factory=list)
    sheet: str = ""
    total: int = -1  # every data row of the file (more than `rows` when read with `keep`)

    def __post_init__(self) -> None:
        if self.total < 0:
            self.total = len(self.rows)


def detect_format(name: str, head: bytes) -> str:
    """The file's format from its first bytes, then its extension."""
    lowered = name.lower()
    if head.startswith(XLSX_MAGIC):
        return XLSX
    text = head[:4096].lstrip(b"\xef\xbb\xbf").lstrip().upper()
    if text.startswith(b"BEGIN:VCARD") or lowered.endswith((".vcf", ".vcard")):
        return VCARD
    if text.startswith(b"BEGIN:VCALENDAR") or lowered.endswith((".ics", ".ical")):
        return ICAL
    if lowered.endswith((".xlsx", ".xlsm")):
        return XLSX
    return CSV


def detect_encoding(data: bytes) -> str:
    """A byte-order mark decides; otherwise charset-normalizer's best guess (UTF-8 for plain ASCII)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[: 256 * 1024]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4 and len(sample) < len(data):
            return "utf-8"  # the sample cut a character in two
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=["cp1251", "latin_1", "cp1252", "koi8_r", "utf_16", "iso8859_15"]).best()
    if best is None:
        return "latin-1"
    if best.encoding == "cp1252" and not any(0x80 <= b <= 0x9F for b in sample):
        return "latin-1"  # the same characters: name it by the standard most files claim
    return {"latin_1": "latin-1", "utf_16": "utf-16", "koi8_r": "koi8-r", "iso8859_15": "iso-8859-15"}.get(
        best.encoding, best.encoding.replace("_", "-")
    )


def detect_delimiter(text: str) -> str:
    sample = "\n".join(text[: 64 * 1024].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def decode(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise FileProblem(
            _("The file is not valid %(encoding)s text; choose another encoding.") % {"encoding": encoding}
        ) from exc
    return text.lstrip("\ufeff")


def _headers(first: list[Any]) -> list[str]:
    names: list[str] = []
    for index, value in enumerate(first):
        name = str(value if value is not None else "").strip() or _("Column %(n)d") % {"n": index + 1}
        names.append(name)
    return names


def _check_size(headers: list[str], count: int) -> None:
    if not headers:
        raise FileProblem(_("The file has no header row."))
    if len(headers) > MAX_COLUMNS:
        raise FileProblem(_("The file has more than %(n)d columns.") % {"n": MAX_COLUMNS})
    if count > MAX_ROWS:
        raise FileProblem(_("The file has more than %(n)s rows; split it.") % {"n": f"{MAX_ROWS:,}"})


def read_csv(data: bytes, *, encoding: str = "", delimiter: str = "", keep: int | None = None) -> Sheet:
    """The CSV's rows, decoded as a stream (the whole text is never held at once); with `keep`, only the
    first `keep` rows are kept and the others counted."""
    encoding = encoding or detect_encoding(data)
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise FileProblem(
            _("The file is not valid %(encoding)s text; choose another encoding.") % {"encoding": encoding}
        ) from exc
    stream_encoding = "utf-8-sig" if encoding in ("utf-8", "utf8") else encoding  # a BOM is not a header
    head = data[: 64 * 1024].decode(stream_encoding, errors="ignore").lstrip("\ufeff")
    delimiter = delimiter or detect_delimiter(head)
    if delimiter not in DELIMITERS:
        raise FileProblem(_("Choose a delimiter: comma, semicolon, tab or vertical bar."))
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=stream_encoding, newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        first = next(reader, None)
        if first is None:
            raise FileProblem(_("The file is empty."))
        if first and first[0].startswith("\ufeff"):
            first[0] = first[0][1:]
        headers = _headers(first)
        width = len(headers)
        if width > MAX_COLUMNS:
            _check_size(headers, 0)
        rows = []
        total = 0
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            total += 1
            if keep is None or total <= keep:
                rows.append(row[:width] + [""] * (width - len(row)))
            if total > MAX_ROWS:
                break
    except csv.Error as exc:
        raise FileProblem(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc
    except UnicodeDecodeError as exc:
        raise FileProblem(
            _("The file is not valid %(encoding)s text; choose another encoding.") % {"encoding": encoding}
        ) from exc
    _check_size(headers, total)
    return Sheet(headers=headers, rows=rows, encoding=encoding, delimiter=delimiter, total=total)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(data: bytes, *, sheet: str = "", keep: int | None = None) -> Sheet:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileProblem(_("The XLSX file cannot be read.")) from exc
    try:
        names = list(workbook.sheetnames)
        if sheet and sheet not in names:
            raise FileProblem(_("The workbook has no sheet “%(sheet)s”.") % {"sheet": sheet})
        chosen = sheet or names[0]
        rows_iter = workbook[chosen].iter_rows(values_only=True)
        first = next(rows_iter, None)
        if first is None:
            raise FileProblem(_("The sheet is empty."))
        while first is not None and not any(v not in (None, "") for v in first):
            first = next(rows_iter, None)
        if first is None:
            raise FileProblem(_("The sheet is empty."))
        # Trailing empty header cells are not columns.
        values = list(first)
        while values and values[-1] in (None, ""):
            values.pop()
        headers = _headers(values)
        width = len(headers)
        rows = []
        total = 0
        for raw in rows_iter:
            if keep is not None and total >= keep:  # past the preview: count, without converting cells
                if any(v not in (None, "") for v in raw[:width]):
                    total += 1
                if total > MAX_ROWS:
                    break
                continue
            row = [_cell(v) for v in raw[:width]]
            if not any(c.strip() for c in row):
                continue
            total += 1
            rows.append(row + [""] * (width - len(row)))
            if total > MAX_ROWS:
                break
    finally:
        workbook.close()
    _check_size(headers, total)
    return Sheet(headers=headers, rows=rows, sheets=names, sheet=chosen, total=total)


VCARD_COLUMNS = [
    "FN",
    "N.given",
    "N.family",
    "N.prefix",
    "EMAIL",
    "EMAIL.2",
    "TEL",
    "TEL.cell",
    "TEL.home",
    "TEL.fax",
    "ORG",
    "TITLE",
    "ADR.street",
    "ADR.city",
    "ADR.region",
    "ADR.code",
    "ADR.country",
    "BDAY",
    "NOTE",
    "URL",
]


def _split_items(text: str, begin: str, end: str) -> list[str]:
    """The BEGIN..END blocks of `text` (unfolded later by vobject), in order."""
    items, current, depth = [], [], 0
    for line in text.splitlines():
        upper = line.strip().upper()
        if upper == begin:
            depth += 1
        if depth:
            current.append(line)
        if upper == end and depth:
            depth -= 1
            if depth == 0:
                items.append("\r\n".join(current) + "\r\n")
                current = []
    return items


def read_vcard(data: bytes, *, encoding: str = "") -> Sheet:
    import vobject

    encoding = encoding or detect_encoding(data)
    text = decode(data, encoding)
    raw_items = _split_items(text, "BEGIN:VCARD", "END:VCARD")
    if not raw_items:
        raise FileProblem(_("The file holds no vCard."))
    rows, raw = [], []
    for item in raw_items:
        try:
            card = vobject.readOne(item)
        except Exception as exc:
            raise FileProblem(_("A vCard cannot be read: %(error)s") % {"error": str(exc)[:200]}) from exc
        rows.append(_vcard_row(card))
        raw.append(item)
    _check_size(VCARD_COLUMNS, len(rows))
    return Sheet(headers=list(VCARD_COLUMNS), rows=rows, raw=raw, encoding=encoding)


def _types(prop: Any) -> set[str]:
    return {str(t).lower() for t in prop.params.get("TYPE", [])}


def _vcard_row(card: Any) -> list[str]:
    values = dict.fromkeys(VCARD_COLUMNS, "")
    contents = card.contents
    if "fn" in contents:
        values["FN"] = str(contents["fn"][0].value)
    if "n" in contents:
        name = contents["n"][0].value
        values["N.given"] = " ".join(filter(None, [name.given, name.additional])).strip() if name.given else ""
        values["N.family"] = str(name.family or "")
        values["N.prefix"] = str(name.prefix or "")
    emails = [str(p.value) for p in contents.get("email", [])]
    values["EMAIL"], values["EMAIL.2"] = [*emails, "", ""][:2]
    for prop in contents.get("tel", []):
        kinds = _types(prop)
        key = (
            "TEL.cell" if "cell" in kinds else "TEL.fax" if "fax" in kinds else "TEL.home" if "home" in kinds else "TEL"
        )
        if not values[key]:
            values[key] = str(prop.value)
        elif not values["TEL"]:
            values["TEL"] = str(prop.value)
    if "org" in contents:
        org = contents["org"][0].value
        values["ORG"] = str(org[0] if isinstance(org, list) and org else org or "")
    for name, key in (("title", "TITLE"), ("note", "NOTE"), ("url", "URL"), ("bday", "BDAY")):
        if name in contents:
            values[key] = str(contents[name][0].value)
    if "adr" in contents:
        adr = contents["adr"][0].value
        values["ADR.street"] = str(adr.street or "")
        values["ADR.city"] = str(adr.city or "")
        values["ADR.region"] = str(adr.region or "")
        values["ADR.code"] = str(adr.code or "")
        values["ADR.country"] = str(adr.country or "")
    return [values[c].strip() for c in VCARD_COLUMNS]


ICAL_COLUMNS = ["KIND", "SUMMARY", "DTSTART", "DTEND", "DUE", "LOCATION", "DESCRIPTION", "STATUS", "PRIORITY", "UID"]


ICAL_KINDS = {"events": "event", "tasks": "task"}


def read_ical(data: bytes, *, encoding: str = "", kind: str = "") -> Sheet:
    import icalendar

    encoding = encoding or detect_encoding(data)
    text = decode(data, encoding)
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception as exc:
        raise FileProblem(_("The iCalendar file cannot be read: %(error)s") % {"error": str(exc)[:200]}) from exc
    rows, raw = [], []
    for component in calendar.walk():
        if component.name not in ("VEVENT", "VTODO"):
            continue
        if kind and kind != ("event" if component.name == "VEVENT" else "task"):
            continue
        row = {c: "" for c in ICAL_COLUMNS}
        row["KIND"] = "event" if component.name == "VEVENT" else "task"
        for key in ("SUMMARY", "LOCATION", "DESCRIPTION", "STATUS", "PRIORITY", "UID"):
            if key in component:
                row[key] = str(component.get(key))
        for key in ("DTSTART", "DTEND", "DUE"):
            if key in component:
                row[key] = _cell(component.decoded(key))
        rows.append([row[c] for c in ICAL_COLUMNS])
        raw.append(component.to_ical().decode())
    if not rows:
        raise FileProblem(_("The file holds no events or tasks."))
    _check_size(ICAL_COLUMNS, len(rows))
    return Sheet(headers=list(ICAL_COLUMNS), rows=rows, raw=raw, encoding=encoding)


def read(
    data: bytes,
    *,
    file_format: str,
    encoding: str = "",
    delimiter: str = "",
    sheet: str = "",
    module: str = "",
    keep: int | None = None,
) -> Sheet:
    """The file's rows; `FileProblem` when it cannot be read that way. An iCalendar file gives an events
    module its VEVENTs and a tasks module its VTODOs. With `keep` (a request's preview), only the first
    `keep` rows are kept and `Sheet.total` counts them all."""
    if file_format == XLSX:
        return read_xlsx(data, sheet=sheet, keep=keep)
    if file_format in (VCARD, ICAL) and len(data) > MAX_ITEM_FILE_BYTES:
        raise FileProblem(_("vCard and iCalendar files of at most 20 MB can be imported; split the file."))
    if file_format == VCARD:
        sheet_data = read_vcard(data, encoding=encoding)
    elif file_format == ICAL:
        sheet_data = read_ical(data, encoding=encoding, kind=ICAL_KINDS.get(module, ""))
    else:
        return read_csv(data, encoding=encoding, delimiter=delimiter, keep=keep)
    if keep is not None:
        sheet_data.rows, sheet_data.raw = sheet_data.rows[:keep], sheet_data.raw[:keep]
    return sheet_data


# Storage -------------------------------------------------------------------------------------------


def store(content: bytes | IO[bytes], *, kind: str = "upload") -> str:
    """Save bytes in the current tenant's storage under a generated name; returns that name."""
    name = f"{PREFIX}/{kind}-{uuid.uuid4().hex}"
    body = content if isinstance(content, bytes) else content.read()
    return default_storage.save(name, ContentFile(body))


def load(storage_name: str) -> bytes:
    with default_storage.open(storage_name, "rb") as handle:
        data: bytes = handle.read()
    return data


def remove(storage_name: str) -> None:
    if storage_name and default_storage.exists(storage_name):
        default_storage.delete(storage_name)


def open_stored(storage_name: str) -> IO[bytes]:
    handle: IO[bytes] = default_storage.open(storage_name, "rb")
    return handle


# Error files ---------------------------------------------------------------------------------------


def error_file(sheet: Sheet, *, file_format: str, failed: list[tuple[int, str]]) -> tuple[bytes, str]:
    """The failed rows in the file's own format with their errors, and the file extension. CSV keeps the
    encoding (UTF-8 when a value does not fit it) and delimiter and adds an "Import errors" column; XLSX
    the same in one sheet; vCard/iCalendar the failed items' original text (errors as comments would be
    lost by most programs, so they are in the history page's report)."""
    if file_format in (VCARD, ICAL):
        chunks = [sheet.raw[i] for i, _message in failed]
        if file_format == ICAL:
            body = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kestrel//Import errors//EN\r\n"
            body += "".join(chunks) + "END:VCALENDAR\r\n"
            return body.encode(), "ics"
        return "".join(chunks).encode(), "vcf"
    header = [*sheet.headers, ERRORS_COLUMN]
    rows = ([*sheet.rows[i], message] for i, message in failed)
    if file_format == XLSX:
        from crm_apps.engine.exports import safe_cell, xlsx_bytes

        content, _written = xlsx_bytes(
            title=sheet.sheet or "Errors",
            header=header,
            rows=([safe_cell(c) for c in row] for row in rows),
            limit=MAX_ROWS,
        )
        return content, "xlsx"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sheet.delimiter or ",", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = sheet.encoding or "utf-8"
    try:
        encoded = text.encode(encoding)
    except UnicodeEncodeError:
        encoded = text.encode("utf-8-sig")
    return encoded, "csv"


def iter_chunks(rows: list[Any], size: int) -> Iterator[tuple[int, list[Any]]]:
    for start in range(0, len(rows), size):
        yield start, rows[start : start + size]
