"""Imports: formats and encodings, mapping (guessed, saved), dry run = run, dedupe modes, references, rights
and limits, undo at size, cancel, error files, the API and its 400s, cross-tenant refusal, exports."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from billing import entitlements
from billing.models import Plan
from crm_apps.access.grants import access_changed
from crm_apps.access.models import Profile
from crm_apps.audit.models import AuditEvent
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import custom_field_create, record_create
from crm_apps.imports import files, mapping, services
from crm_apps.imports.models import ImportEntry, ImportJob, SavedMapping
from crm_apps.modules.contacts.models import Contact
from crm_apps.modules.organizations.models import Organization

pytestmark = pytest.mark.django_db

HEADER = ["First name", "Last name", "Email", "Phone", "Company"]


def csv_bytes(rows, header=HEADER, delimiter=",", encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(actor, body, name="people.csv", module="contacts", **kwargs) -> ImportJob:
    return services.import_upload(actor=actor, module=module, file_name=name, content=body, **kwargs)


def configure(actor, job, **kwargs) -> ImportJob:
    kwargs.setdefault("columns", job.mapping)
    return services.import_configure(actor=actor, job=job, **kwargs)


def run(job, *, dry=False) -> ImportJob:
    """What the task does (the tests' transaction stands in for the worker's)."""
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.VALIDATING if dry else ImportJob.Status.QUEUED)
    return services.import_execute(job_id=job.pk, dry_run=dry)


def undo(job, actor) -> ImportJob:
    job.refresh_from_db()
    services.import_undo_start(actor=actor, job=job)
    return services.import_undo_execute(job_id=job.pk)


def contacts():
    return Contact.objects.filter(deleted_at__isnull=True)


# --- files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
        ("cp1251", "cp1251"),
        ("latin-1", "latin-1"),
    ],
)
def test_csv_encodings_are_detected(tenant_a, admin_of, encoding, expected):
    admin = admin_of(tenant_a)
    names = {
        "cp1251": [
            ["Иван", "Петров", "ivan@example.com", "", "Рога и копыта"],
            ["Мария", "Сидорова", "m@example.com", "", "Ромашка"],
        ],
        "latin-1": [
            ["José", "Müller", "jose@example.com", "", "Café Crème"],
            ["Zoë", "Brontë", "z@example.com", "", "Ça va"],
        ],
    }.get(encoding, [["Ann", "Ærø", "ann@example.com", "", "Åsa AB"], ["Иван", "Ёлкин", "i@example.com", "", "Ёж"]])
    with tenant_context(tenant_a):
        job = upload(admin, csv_bytes(names, encoding=encoding))
        assert job.encoding == expected
        configure(admin, job, options={"create_references": True})
        job = run(job)
        assert job.status == ImportJob.Status.DONE, job.message
        assert job.created == 2
        stored = set(contacts().values_list("first_name", "last_name"))
        assert {(r[0], r[1]) for r in names} <= stored


def test_delimiter_detected_shown_and_overridable(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    body = csv_bytes([["Ann", "Lee", "ann@example.com", "", ""]], delimiter=";")
    with tenant_context(tenant_a):
        job = upload(admin, body)
        assert job.delimiter == ";"
        assert job.headers == HEADER
        job = services.import_reread(actor=admin, job=job, encoding="utf-8", delimiter=",", sheet="")
        assert job.delimiter == ","
        assert job.headers == [";".join(HEADER)]  # read as one column, as asked
        job = services.import_reread(actor=admin, job=job, encoding="", delimiter=";", sheet="")
        assert job.headers == HEADER
        assert job.mapping == {"0": "first_name", "1": "last_name", "2": "email", "3": "phone", "4": "organization"}
        with pytest.raises(ValidationError) as error:
            services.import_reread(actor=admin, job=job, encoding="utf-8", delimiter="#", sheet="")
        assert "delimiter" in error.value.message_dict


def xlsx_bytes(sheets: dict[str, list[list[str]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_first_or_chosen_sheet(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    body = xlsx_bytes(
        {
            "Notes": [["Whatever"], ["x"]],
            "People": [["Имя", "Фамилия", "Эл. почта"], ["Ольга", "Петрова", "olga@example.com"]],
        }
    )
    with tenant_context(tenant_a):
        job = upload(admin, body, name="people.xlsx")
        assert job.file_format == "xlsx"
        assert job.sheets == ["Notes", "People"]
        assert job.sheet == "Notes"
        job = services.import_reread(actor=admin, job=job, encoding="", delimiter="", sheet="People")
        assert job.mapping == {"0": "first_name", "1": "last_name", "2": "email"}  # Russian headings
        configure(admin, job)
        job = run(job)
        assert job.created == 1
        assert contacts().get(email="olga@example.com").last_name == "Петрова"


VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;Dr.;\r\n"
    "EMAIL;TYPE=work:grace@navy.example\r\nTEL;TYPE=cell:+1 202 555 0111\r\nORG:US Navy\r\nTITLE:Admiral\r\n"
    "ADR;TYPE=work:;;1 Navy Way;Arlington;VA;22202;USA\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Surname\r\nN:;Nobody;;;\r\nEMAIL:nobody@example.com\r\nEND:VCARD\r\n"
)


def test_vcard_contacts_and_error_file_is_vcard(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        job = upload(admin, VCARDS.encode(), name="team.vcf")
        assert job.file_format == "vcard"
        assert job.total_rows == 2
        configure(admin, job, options={"create_references": True})
        job = run(job)
        assert (job.created, job.failed, job.references_created) == (1, 1, 1), job.report
        grace = contacts().get(email="grace@navy.example")
        assert (grace.first_name, grace.last_name, grace.mobile, grace.title) == (
            "Grace",
            "Hopper",
            "+1 202 555 0111",
            "Admiral",
        )
        assert grace.organization.name == "US Navy"
        assert grace.mailing_city == "Arlington"
        errors = files.load(job.error_storage_name).decode()
        assert errors.count("BEGIN:VCARD") == 1 and "nobody@example.com" in errors
        assert job.error_extension == "vcf"


ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
    "BEGIN:VEVENT\r\nUID:e1@example\r\nSUMMARY:Kick-off\r\nDTSTART:20270105T100000Z\r\nDTEND:20270105T110000Z\r\n"
    "LOCATION:Room 1\r\nEND:VEVENT\r\n"
    "BEGIN:VTODO\r\nUID:t1@example\r\nSUMMARY:Send the offer\r\nDUE;VALUE=DATE:20270110\r\nEND:VTODO\r\n"
    "END:VCALENDAR\r\n"
)


def test_icalendar_events_and_tasks(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        job = upload(admin, ICS.encode(), name="cal.ics", module="events")
        assert job.file_format == "ical" and job.total_rows == 1
        assert {"subject", "start", "end", "location"} <= set(job.mapping.values())
        configure(admin, job)
        job = run(job)
        assert job.created == 1, job.report
        event = registry.get("events").records().get(subject="Kick-off")
        assert event.location == "Room 1" and event.start.isoformat().startswith("2027-01-05T10:00")
        job = upload(admin, ICS.encode(), name="cal.ics", module="tasks")
        assert job.total_rows == 1
        configure(admin, job)
        job = run(job)
        assert job.created == 1, job.report
        task = registry.get("tasks").records().get(subject="Send the offer")
        assert str(task.due_date) == "2027-01-10"


def test_unreadable_files_are_a_form_error(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        for body, name in ((b"", "a.csv"), (b"PK\x03\x04broken", "a.xlsx"), (b"BEGIN:VCALENDAR\r\nnope", "a.ics")):
            with pytest.raises(ValidationError) as error:
                upload(admin, body, name=name)
            assert "file" in error.value.message_dict
        with pytest.raises(ValidationError):
            upload(admin, b"a,b\n1,2\n", module="nope")
        assert not ImportJob.objects.exists()


# --- mapping ----------------------------------------------------------------------------------------


def test_mapping_is_guessed_in_english_and_russian_and_custom_fields(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        custom_field_create(
            actor=admin, spec=registry.get("contacts"), key="loyalty_tier", label="Loyalty tier", type="text"
        )
        spec = registry.get("contacts")
        headers = ["Имя", "Surname", "E-mail", "Мобильный телефон", "Организация", "Loyalty tier", "Noise", "Owner"]
        assert mapping.guess(spec, headers) == {
            "0": "first_name",
            "1": "last_name",
            "2": "email",
            "3": "mobile",
            "4": "organization",
            "5": "custom.loyalty_tier",
            "7": "owner",
        }


def test_saved_mapping_is_reused_by_heading(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        job = upload(
            admin, csv_bytes([["A", "B", "a@example.com", "", ""]], header=["Given", "Family", "Mail", "Tel", "Firm"])
        )
        assert job.mapping == {"2": "email", "3": "phone"}
        configure(
            admin,
            job,
            columns={"0": "first_name", "1": "last_name", "2": "email", "4": "organization"},
            defaults={"title": "Imported"},
            dedupe_fields=["email"],
            dedupe_mode="fill",
        )
        saved = services.mapping_save(actor=admin, job=job, name="Trade fair list")
        assert saved.columns == {"Given": "first_name", "Family": "last_name", "Mail": "email", "Firm": "organization"}
        # Same headings in another order: the mapping follows the headings.
        body = csv_bytes([["x@example.com", "Xu", "Xi"]], header=["Mail", "Family", "Given"])
        again = upload(admin, body, saved_mapping=saved)
        assert again.mapping == {"0": "email", "1": "last_name", "2": "first_name"}
        assert (again.defaults, again.dedupe_fields, again.dedupe_mode) == ({"title": "Imported"}, ["email"], "fill")
        assert SavedMapping.objects.filter(module="contacts").count() == 1


def test_mapping_refuses_unknown_fields_twice_mapped_and_bad_options(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        job = upload(admin, csv_bytes([["A", "B", "a@example.com", "", ""]]))
        with pytest.raises(ValidationError) as error:
            configure(
                admin,
                job,
                columns={"0": "first_name", "1": "first_name", "2": "nope", "9": "email"},
                dedupe_fields=["title"],
                dedupe_mode="merge-ish",
                options={"owner_id": 999999},
            )
        assert set(error.value.message_dict) == {
            "mapping.1",
            "mapping.2",
            "mapping.9",
            "dedupe",
            "dedupe_mode",
            "owner",
        }


# --- dry run, dedupe, references ---------------------------------------------------------------------


def seed(admin, count=3):
    spec = registry.get("contacts")
    return [
        record_create(
            spec=spec,
            actor=admin,
            data={
                "first_name": f"Old{i}",
                "last_name": f"Name{i}",
                "email": f"p{i}@example.com",
                "title": "" if i else "Boss",
            },
        )
        for i in range(count)
    ]


def file_rows():
    return [
        ["New0", "Person0", "P0@Example.com", "", ""],  # matches p0 (case)
        ["New1", "Person1", "p1@example.com", "", ""],  # matches p1
        ["Fresh", "One", "fresh@example.com", "", ""],
        ["Fresh", "Again", "FRESH@example.com", "", ""],  # same as the row above
        ["Bad", "", "bad-email", "", ""],  # fails: last name, email
    ]


def test_dry_run_equals_the_real_run_and_keeps_nothing(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        seed(admin)
        job = upload(admin, csv_bytes(file_rows()))
        configure(admin, job, dedupe_fields=["email"], dedupe_mode="overwrite", options={"create_values": True})
        before = (contacts().count(), TimelineEntry.objects.count(), AuditEvent.objects.count())
        checked = run(job, dry=True)
        assert checked.status == ImportJob.Status.VALIDATED
        assert (contacts().count(), TimelineEntry.objects.count(), AuditEvent.objects.count()) == before
        assert not ImportEntry.objects.exists()
        dry = {k: checked.report[k] for k in ("created", "updated", "merged", "skipped", "failed")}
        dry_errors = checked.report["errors"]
        done = run(checked)
        assert done.status == ImportJob.Status.DONE
        real = {k: done.report[k] for k in ("created", "updated", "merged", "skipped", "failed")}
        assert dry == real == {"created": 1, "updated": 3, "merged": 0, "skipped": 0, "failed": 1}
        assert dry_errors == done.report["errors"]
        assert set(done.report["errors"][0]["errors"]) == {"last_name", "email"}


@pytest.mark.parametrize(
    ("mode", "expected_counts", "p0_title", "p1_first"),
    [
        ("skip", (1, 0, 0, 3, 1), "Boss", "Old1"),
        ("overwrite", (1, 3, 0, 0, 1), "Lead", "New1"),
        ("fill", (1, 0, 1, 2, 1), "Boss", "Old1"),
    ],
)
def test_dedupe_modes(tenant_a, admin_of, mode, expected_counts, p0_title, p1_first):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        seed(admin)
        rows = [[*r, "Lead"] for r in file_rows()]
        job = upload(admin, csv_bytes(rows, header=[*HEADER, "Title"]))
        configure(admin, job, dedupe_fields=["email"], dedupe_mode=mode)
        job = run(job)
        assert (job.created, job.updated, job.merged, job.skipped, job.failed) == expected_counts
        assert contacts().get(email="p0@example.com").title == p0_title
        assert contacts().get(email="p1@example.com").first_name == p1_first
        assert contacts().filter(email="fresh@example.com").count() == 1  # within the file too
        if mode == "fill":
            assert contacts().get(email="p1@example.com").title == "Lead"  # it was empty


def test_phone_dedupe_is_normalised_and_name_with_organisation(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Globex"})
        record_create(
            spec=registry.get("contacts"),
            actor=admin,
            data={"first_name": "Hank", "last_name": "Scorpio", "phone": "+1 (415) 555-0100", "organization": org.pk},
        )
        job = upload(admin, csv_bytes([["Hank", "S", "", "001 415 555 0100", ""]]))
        configure(admin, job, dedupe_fields=["phone"], dedupe_mode="skip")
        assert run(job).skipped == 1
        job = upload(admin, csv_bytes([["hank", "scorpio", "", "", "GLOBEX"], ["Hank", "Scorpio", "", "", ""]]))
        configure(admin, job, dedupe_fields=["name"], dedupe_mode="skip")
        job = run(job)
        assert (job.skipped, job.created) == (1, 1)  # same name elsewhere is someone else


def test_references_by_number_name_email_and_created_organisations(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        acme = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Acme"})
        rows = [
            ["A", "One", "a1@example.com", "", acme.number],
            ["A", "Two", "a2@example.com", "", "acme"],
            ["A", "Three", "a3@example.com", "", "Initech"],
        ]
        job = upload(admin, csv_bytes(rows))
        configure(admin, job)
        checked = run(job, dry=True)
        assert (checked.report["created"], checked.report["failed"]) == (2, 1)
        assert "organization" in checked.report["errors"][0]["errors"]
        configure(admin, checked, options={"create_references": True})
        job = run(checked)
        assert (job.created, job.failed, job.references_created) == (3, 0, 1)
        assert contacts().get(email="a1@example.com").organization_id == acme.pk
        assert contacts().get(email="a2@example.com").organization_id == acme.pk
        initech = Organization.objects.get(name="Initech")
        assert contacts().get(email="a3@example.com").organization_id == initech.pk
        # Deals (the per-record path, with hooks) point at organisations and contacts by email.
        deal_rows = [["Big deal", "Initech", "a1@example.com", "1000", "2027-03-01"]]
        job = upload(
            admin,
            csv_bytes(deal_rows, header=["Deal name", "Organization", "Contact", "Amount", "Close date"]),
            module="deals",
        )
        configure(
            admin, job, columns={"0": "name", "1": "organization", "2": "contact", "3": "amount", "4": "close_date"}
        )
        job = run(job)
        assert job.created == 1, job.report
        deal = registry.get("deals").records().get(name="Big deal")
        assert deal.organization_id == initech.pk
        assert deal.contact.email == "a1@example.com"
        # Undo removes the organisation it created as well.
        first = ImportJob.objects.get(pk=checked.pk)
        undo(first, admin)
        assert not Organization.objects.filter(name="Initech", deleted_at__isnull=True).exists()


def test_picklist_values_mapped_or_created_by_admins(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        rows = [["A", "B", "a@example.com", "", "", "conference"], ["C", "D", "c@example.com", "", "", "Mystery"]]
        job = upload(admin, csv_bytes(rows, header=[*HEADER, "Lead source"]))
        assert job.mapping["5"] == "lead_source"
        configure(admin, job, value_map={"lead_source": {"Mystery": "Cold Call"}})
        job = run(job)
        assert job.created == 2, job.report
        assert contacts().get(email="a@example.com").lead_source == "Conference"
        assert contacts().get(email="c@example.com").lead_source == "Cold Call"
        job = upload(
            admin, csv_bytes([["E", "F", "e@example.com", "", "", "Podcast"]], header=[*HEADER, "Lead source"])
        )
        configure(admin, job)
        assert run(job, dry=True).report["failed"] == 1
        configure(admin, job, options={"create_values": True})
        job = run(job)
        assert job.created == 1 and job.report["values_created"]
        assert contacts().get(email="e@example.com").lead_source == "Podcast"


# --- rights and limits --------------------------------------------------------------------------------


def test_import_needs_the_privilege_and_respects_field_rules(tenant_a, member):
    importer = member(tenant_a)
    with tenant_context(tenant_a):
        profiles = list(importer.role.profiles.all()) if importer.role else []
        Profile.objects.filter(pk__in=[p.pk for p in profiles]).update(can_import=False)
        access_changed()
        with pytest.raises(PermissionDenied):
            upload(importer, csv_bytes([["A", "B", "a@example.com", "", ""]]))
        Profile.objects.filter(pk__in=[p.pk for p in profiles]).update(can_import=True)
        access_changed()
        job = upload(importer, csv_bytes([["A", "B", "a@example.com", "", ""]]))
        with pytest.raises(ValidationError) as error:
            configure(importer, job, options={"create_values": True})
        assert "create_values" in error.value.message_dict


def test_plan_record_limit_is_checked_before_running(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        from billing.selectors import record_count

        used = record_count(tenant_a.schema_name)
    Plan.objects.filter(code="starter").update(max_records=used + 2)
    entitlements.plans_forget()
    tenant_a.plan_code = "starter"
    try:
        with tenant_context(tenant_a):
            job = upload(admin, csv_bytes([[f"A{i}", "B", f"a{i}@example.com", "", ""] for i in range(5)]))
            configure(admin, job)
            with pytest.raises(entitlements.PlanLimitReached) as error:
                services.import_start(actor=admin, job=job)
            assert "5 new records do not fit" in error.value.text
            job.refresh_from_db()
            assert job.status == ImportJob.Status.UPLOADED
            assert not contacts().exists()
    finally:
        Plan.objects.filter(code="starter").update(max_records=None)
        entitlements.plans_forget()


# --- undo, cancel, error files ------------------------------------------------------------------------


def test_undo_at_size_deletes_created_and_restores_updated(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        seed(admin, count=3)
        rows = [[f"F{i}", f"L{i}", f"bulk{i}@example.com", "", ""] for i in range(20_000)]
        rows += [["Changed", "Name", "p0@example.com", "", ""], ["Changed", "Name", "p2@example.com", "", ""]]
        job = upload(admin, csv_bytes(rows))
        configure(admin, job, dedupe_fields=["email"], dedupe_mode="overwrite")
        job = run(job)
        assert (job.created, job.updated) == (20_000, 2)
        assert contacts().count() == 20_003
        changed = contacts().get(email="p0@example.com")
        assert (changed.first_name, changed.version) == ("Changed", 2)
        assert contacts().filter(search_vector="l19999").count() == 1
        assert AuditEvent.objects.filter(action="import", record_id=str(job.pk)).count() == 1
        job = undo(job, admin)
        assert job.status == ImportJob.Status.UNDONE
        assert contacts().count() == 3
        restored = contacts().get(email="p0@example.com")
        assert (restored.first_name, restored.last_name, restored.title) == ("Old0", "Name0", "Boss")
        assert contacts().filter(search_vector="old0").count() == 1
        assert AuditEvent.objects.filter(action="import_undone", record_id=str(job.pk)).count() == 1
        with pytest.raises(ValidationError):
            services.import_undo_start(actor=admin, job=job)


def test_undo_leaves_records_edited_after_the_import_as_they_are(tenant_a, admin_of, client_for):
    from crm_apps.engine.services import record_update

    admin = admin_of(tenant_a)
    spec = registry.get("contacts")
    with tenant_context(tenant_a):
        seed(admin, count=2)
        rows = [["New", "One", "new1@example.com", "", ""], ["New", "Two", "new2@example.com", "", ""]]
        rows += [["Changed", "Name", "p0@example.com", "", ""], ["Changed", "Name", "p1@example.com", "", ""]]
        job = upload(admin, csv_bytes(rows))
        configure(admin, job, dedupe_fields=["email"], dedupe_mode="overwrite")
        job = run(job)
        assert (job.created, job.updated) == (2, 2)
        # every entry holds the version the import left its record at (written with the entries)
        from crm_apps.imports.models import ImportEntry

        for entry in ImportEntry.objects.filter(job=job):
            assert entry.version_after == Contact.objects.get(pk=entry.record_id).version
        kept_new = contacts().get(email="new1@example.com")
        record_update(spec=spec, actor=admin, record=kept_new, data={"title": "Signed up"})
        kept_changed = contacts().get(email="p1@example.com")
        record_update(spec=spec, actor=admin, record=kept_changed, data={"last_name": "Typed later"})

        job = undo(job, admin)

        assert job.status == ImportJob.Status.UNDONE
        assert job.report["undo"] == {"deleted": 1, "restored": 1, "kept": 2}
        assert sorted(contacts().values_list("email", flat=True)) == [
            "new1@example.com",
            "p0@example.com",
            "p1@example.com",
        ]
        assert contacts().get(email="p0@example.com").first_name == "Old0"
        later = contacts().get(email="p1@example.com")
        assert (later.first_name, later.last_name) == ("Changed", "Typed later")
        undone_lines = TimelineEntry.objects.filter(data__undo=True).values_list("record_id", flat=True)
        assert sorted(map(str, undone_lines)) == sorted(
            [str(Contact.objects.get(email="new2@example.com").pk), str(contacts().get(email="p0@example.com").pk)]
        )
    page = client_for(tenant_a, admin).get(f"/imports/{job.pk}/").content.decode()
    assert "2 records were edited after the import and were left as they are." in page


def test_cancel_rolls_the_run_back(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        job = upload(admin, csv_bytes([[f"F{i}", "L", f"c{i}@example.com", "", ""] for i in range(50)]))
        configure(admin, job)
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
        job.refresh_from_db()
        services.import_cancel(actor=admin, job=job)
        job = services.import_execute(job_id=job.pk, dry_run=False)
        assert job.status == ImportJob.Status.CANCELLED
        assert not contacts().exists() and not ImportEntry.objects.exists()
        with pytest.raises(ValidationError):
            services.import_cancel(actor=admin, job=job)


def test_csv_error_file_round_trips(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    rows = [["Ок", "Fine", "ok@example.com", "", ""], ["Плохо", "", "not-an-email", "", ""]]
    with tenant_context(tenant_a):
        job = upload(admin, csv_bytes(rows, delimiter=";", encoding="cp1251"))
        configure(admin, job)
        job = run(job)
        assert (job.created, job.failed) == (1, 1)
        body = files.load(job.error_storage_name)
        text = body.decode("cp1251")
        table = list(csv.reader(io.StringIO(text), delimiter=";"))
        assert table[0] == [*HEADER, files.ERRORS_COLUMN]
        assert table[1][:3] == ["Плохо", "", "not-an-email"] and "email" in table[1][5]
        table[1][1], table[1][2] = "Fixed", "fixed@example.com"
        fixed = io.StringIO()
        csv.writer(fixed, delimiter=";").writerows(table)
        again = upload(admin, fixed.getvalue().encode("cp1251"), name="people-errors.csv")
        assert again.encoding == "cp1251" and again.delimiter == ";"
        configure(admin, again)
        again = run(again)
        assert (again.created, again.failed) == (1, 0)
        assert contacts().get(email="fixed@example.com").first_name == "Плохо"


def test_xlsx_error_file_is_xlsx(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        body = xlsx_bytes(
            {"S": [["First name", "Last name", "Email"], ["A", "B", "a@example.com"], ["@handle", "", "x"]]}
        )
        job = upload(admin, body, name="p.xlsx")
        configure(admin, job)
        job = run(job)
        assert (job.created, job.failed, job.error_extension) == (1, 1, "xlsx")
        sheet = files.read(files.load(job.error_storage_name), file_format="xlsx")
        assert sheet.headers == ["First name", "Last name", "Email", files.ERRORS_COLUMN]
        assert sheet.rows[0][0] == "'@handle"  # never a formula


# --- API, views, isolation ------------------------------------------------------------------------------


def api_post(client, **data):
    return client.post("/api/v1/imports/", data=data)


def test_api_upload_status_undo_and_clear_400s(tenant_a, admin_of, client_for, django_capture_on_commit_callbacks):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    assert api_post(client, module="contacts").json() == {"file": ["Send the file to import."]}
    bad = api_post(
        client,
        file=SimpleUploadedFile("a.csv", csv_bytes([["A", "B", "a@example.com", "", ""]])),
        module="contacts",
        mapping="{nope",
    )
    assert bad.status_code == 400 and bad.json() == {"mapping": ["Send valid JSON."]}
    bad = api_post(
        client,
        file=SimpleUploadedFile("a.csv", csv_bytes([["A", "B", "a@example.com", "", ""]])),
        module="contacts",
        mapping=json.dumps({"Email": "no_such_field"}),
    )
    assert bad.status_code == 400 and "mapping.Email" in bad.json()
    assert api_post(client, file=SimpleUploadedFile("a.csv", b"a,b\n1,2\n"), module="martians").json() == {
        "module": ["Unknown module."]
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api_post(
            client,
            file=SimpleUploadedFile(
                "a.csv", csv_bytes([["A", "B", "a@example.com", "", ""], ["C", "", "c@x", "", ""]])
            ),
            module="contacts",
            mapping=json.dumps({"First name": "first_name", "Last name": "last_name", "Email": "email"}),
            dedupe=json.dumps({"fields": ["email"], "mode": "overwrite"}),
        )
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    status = client.get(f"/api/v1/imports/{job_id}").json()
    assert status["status"] == "done"
    assert status["counts"] == {
        "created": 1,
        "updated": 0,
        "merged": 0,
        "skipped": 0,
        "failed": 1,
        "references_created": 0,
    }
    assert status["progress"]["percent"] == 100
    errors = client.get(status["error_file"].replace("http://testserver", ""))
    assert errors.status_code == 200 and b"c@x" in b"".join(errors.streaming_content)
    with django_capture_on_commit_callbacks(execute=True):
        undone = client.post(f"/api/v1/imports/{job_id}/undo")
    assert undone.status_code == 202
    assert client.get(f"/api/v1/imports/{job_id}").json()["status"] == "undone"
    again = client.post(f"/api/v1/imports/{job_id}/undo")
    assert again.status_code == 400 and "status" in again.json()
    schema = client.get("/api/v1/schema/?format=json")
    paths = json.loads(schema.content)["paths"]
    assert {"/api/v1/imports/", "/api/v1/imports/{job_id}", "/api/v1/imports/{job_id}/undo"} <= set(paths)


def test_imports_and_their_files_are_tenant_and_member_bound(tenant_a, tenant_b, admin_of, member, client_for):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        job = upload(admin, csv_bytes([["A", "", "bad", "", ""]]))
        configure(admin, job)
        job = run(job)
        assert job.error_storage_name.startswith("imports/")
    other_admin = admin_of(tenant_b)
    outsider = client_for(tenant_b, other_admin)
    for path in (
        f"/api/v1/imports/{job.pk}",
        f"/imports/{job.pk}/",
        f"/imports/{job.pk}/errors/",
        f"/imports/{job.pk}/file/",
    ):
        assert outsider.get(path).status_code == 404, path
    assert outsider.post(f"/api/v1/imports/{job.pk}/undo").status_code == 404
    colleague = member(tenant_a)
    with tenant_context(tenant_a):
        Profile.objects.filter(pk__in=[p.pk for p in colleague.role.profiles.all()]).update(can_import=True)
        access_changed()
    client = client_for(tenant_a, colleague)
    assert client.get(f"/imports/{job.pk}/errors/").status_code == 404  # not theirs
    assert client_for(tenant_a, admin).get(f"/imports/{job.pk}/errors/").status_code == 200


def test_wizard_pages_and_list_actions(tenant_a, admin_of, client_for):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    listing = client.get("/m/contacts/?q=ann").content.decode()
    assert 'href="/imports/new/contacts/?q=ann"' in listing
    assert 'href="/imports/export/contacts/?q=ann"' in listing
    page = client.post(
        "/imports/new/contacts/",
        {"file": SimpleUploadedFile("p.csv", csv_bytes([["Ann", "Lee", "ann@example.com", "", ""]]))},
    )
    assert page.status_code == 302
    mapping_url = page["Location"]
    form = client.get(mapping_url).content.decode()
    assert 'name="column-2"' in form and '<option value="email" selected>' in form
    done = client.post(
        mapping_url, {"column-0": "first_name", "column-1": "last_name", "column-2": "email", "go": "check"}
    )
    assert done.status_code == 302
    assert client.get(done["Location"]).status_code == 200
    assert client.get("/imports/").status_code == 200
    assert client.get(mapping_url.replace("mapping/", "status.json")).json()["status"] in ("validating", "validated")


def test_export_all_matching_runs_in_the_background_for_its_member(
    tenant_a, tenant_b, admin_of, member, client_for, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        seed(admin, count=3)
    client = client_for(tenant_a, admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/imports/export/contacts/", {"format": "csv", "q::q": "Old1"})
    assert response.status_code == 302
    with tenant_context(tenant_a):
        from crm_apps.imports.models import ExportJob

        export = ExportJob.objects.get()
        assert (export.status, export.rows) == ("done", 1)
        assert AuditEvent.objects.filter(action="export", details__background=True).count() == 1
    download = client.get(f"/imports/exports/{export.pk}/download/")
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    assert "p1@example.com" in body and "p0@example.com" not in body
    colleague = member(tenant_a)
    with tenant_context(tenant_a):
        Profile.objects.filter(pk__in=[p.pk for p in colleague.role.profiles.all()]).update(can_export=True)
        access_changed()
    assert client_for(tenant_a, colleague).get(f"/imports/exports/{export.pk}/download/").status_code == 404
    other = client_for(tenant_b, admin_of(tenant_b))
    assert other.get(f"/imports/exports/{export.pk}/download/").status_code == 404


def test_encoding_detection_units():
    assert files.detect_encoding(codecs.BOM_UTF8 + b"a") == "utf-8-sig"
    assert files.detect_encoding("Привет, мир; как дела у всех сегодня".encode("utf-16")) == "utf-16"
    assert (
        files.detect_encoding("Привет, как дела? Съешь же ещё этих мягких французских булок".encode("cp1251"))
        == "cp1251"
    )
    assert files.detect_delimiter("a\tb\tc\n1\t2\t3\n") == "\t"


def test_a_custom_module_with_custom_fields_and_a_member_without_the_privilege(tenant_a, admin_of, member, client_for):
    from crm_apps.custom_modules.services import custom_module_create

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        custom_module_create(
            actor=admin,
            key="equipment",
            label="Equipment",
            label_plural="Equipment",
            fields=[
                {"key": "serial", "label": "Serial", "type": "text", "required": True, "unique": True},
                {"key": "bought", "label": "Bought", "type": "date"},
            ],
        )
        body = csv_bytes(
            [["Drill", "S-1", "31.12.2024"], ["Saw", "", ""], ["Lathe", "S-1", ""]], header=["Name", "Serial", "Bought"]
        )
        job = upload(admin, body, module="equipment")
        assert job.mapping == {"0": "name", "1": "custom.serial", "2": "custom.bought"}
        configure(admin, job, dedupe_fields=["custom.serial"], dedupe_mode="skip")
        job = run(job)
        assert (job.created, job.skipped, job.failed) == (1, 1, 1), job.report
        spec = registry.get("equipment")
        drill = spec.records().get()
        assert drill.custom_data == {"serial": "S-1", "bought": "2024-12-31"}
        assert "custom.serial" in job.report["errors"][0]["errors"]
        undo(job, admin)
        assert not spec.records().filter(deleted_at__isnull=True).exists()
    outsider = member(tenant_a)
    with tenant_context(tenant_a):
        Profile.objects.filter(pk__in=[p.pk for p in outsider.role.profiles.all()]).update(can_import=False)
        access_changed()
    client = client_for(tenant_a, outsider)
    response = client.post(
        "/api/v1/imports/", data={"file": SimpleUploadedFile("a.csv", b"a\n1\n"), "module": "contacts"}
    )
    assert response.status_code == 403
    assert client.get("/imports/new/contacts/").status_code == 403
    assert 'href="/imports/new/contacts/' not in client.get("/m/contacts/").content.decode()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_request_keeps_only_a_preview_of_a_big_file_and_the_job_reads_it_all(
    tenant_a, admin_of, monkeypatch, file_format
):
    monkeypatch.setattr(files, "PREVIEW_ROWS", 5)
    admin = admin_of(tenant_a)
    rows = [[f"F{n}", f"Last{n}", f"p{n}@example.com", "", ""] for n in range(12)]
    if file_format == "csv":
        body, name = csv_bytes(rows), "people.csv"
    else:
        from openpyxl import Workbook

        book = Workbook()
        book.active.append(HEADER)
        for row in rows:
            book.active.append(row)
        out = io.BytesIO()
        book.save(out)
        body, name = out.getvalue(), "people.xlsx"
    preview = files.read(body, file_format=file_format, keep=5)
    with tenant_context(tenant_a):
        job = upload(admin, body, name=name)
        configure(admin, job)
        job = run(job)

    assert (len(preview.rows), preview.total) == (5, 12)
    assert job.total_rows == 12
    assert job.created == 12, job.report


def test_a_csv_that_breaks_its_encoding_late_is_a_clear_error():
    body = b"Name,Email\r\n" + b"Ann,ann@example.com\r\n" * 3 + b"Bad \xff\xfe,x@example.com\r\n"

    with pytest.raises(files.FileProblem, match="not valid utf-8 text"):
        files.read_csv(body, encoding="utf-8")
    assert files.read_csv(body, encoding="latin-1").total == 4


def test_vcard_and_icalendar_files_have_a_lower_size_ceiling(monkeypatch):
    monkeypatch.setattr(files, "MAX_ITEM_FILE_BYTES", 100)

    with pytest.raises(files.FileProblem, match="at most 20 MB"):
        files.read(VCARDS.encode(), file_format="vcard")


# --- owners, defaults, iCalendar error file, the history ------------------------------------------------


def test_owner_by_column_email_or_name_fixed_owner_and_unknown_owners_fail(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    rita = member(tenant_a, email="rita.owner@example.com")
    sam = member(tenant_a, email="sam.owner@example.com")
    with tenant_context(tenant_a):
        rita.user.name = "Rita Owner"
        rita.user.save(update_fields=["name"])
        rows = [
            ["A", "One", "o1@example.com", "", "", "RITA.OWNER@example.com"],
            ["A", "Two", "o2@example.com", "", "", "rita owner"],
            ["A", "Three", "o3@example.com", "", "", "nobody@example.com"],
            ["A", "Four", "o4@example.com", "", "", ""],
        ]
        job = upload(admin, csv_bytes(rows, header=[*HEADER, "Assigned to"]))
        configure(admin, job, columns={**job.mapping, "5": "owner"})
        job = run(job)
        assert (job.created, job.failed) == (3, 1), job.report
        assert contacts().get(email="o1@example.com").owner_id == rita.pk
        assert contacts().get(email="o2@example.com").owner_id == rita.pk
        assert contacts().get(email="o4@example.com").owner_id == admin.pk  # no owner in the row: the importer
        assert set(job.report["errors"][0]["errors"]) == {"owner"}
        # A fixed owner for every row without one.
        fixed = upload(admin, csv_bytes([["B", "One", "f1@example.com", "", ""]]))
        configure(admin, fixed, options={"owner_id": sam.pk})
        fixed = run(fixed)
        assert fixed.created == 1 and contacts().get(email="f1@example.com").owner_id == sam.pk


def test_default_values_fill_the_fields_a_row_leaves_empty(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        rows = [["A", "One", "d1@example.com", "", ""], ["A", "Two", "d2@example.com", "", ""]]
        job = upload(
            admin, csv_bytes([[*r, t] for r, t in zip(rows, ["", "CEO"], strict=True)], header=[*HEADER, "Title"])
        )
        configure(admin, job, defaults={"title": "Imported", "mailing_city": "Riga"})
        job = run(job)
        assert job.created == 2, job.report
        first, second = contacts().get(email="d1@example.com"), contacts().get(email="d2@example.com")
        assert (first.title, first.mailing_city) == ("Imported", "Riga")
        assert (second.title, second.mailing_city) == ("CEO", "Riga")  # a cell wins over the default
        with pytest.raises(ValidationError) as error:
            configure(admin, upload(admin, csv_bytes(rows)), defaults={"no_such_field": "x"})
        assert any(key.startswith("defaults") for key in error.value.message_dict)


def test_icalendar_error_file_is_icalendar(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
        "BEGIN:VEVENT\r\nUID:ok@example\r\nSUMMARY:Fine\r\nDTSTART:20270105T100000Z\r\nDTEND:20270105T110000Z\r\n"
        "END:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:bad@example\r\nDTSTART:20270106T100000Z\r\nDTEND:20270106T110000Z\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    with tenant_context(tenant_a):
        job = upload(admin, body.encode(), name="cal.ics", module="events")
        configure(admin, job)
        job = run(job)
        assert (job.created, job.failed) == (1, 1), job.report
        assert job.error_extension == "ics"
        errors = files.load(job.error_storage_name).decode()
        assert errors.startswith("BEGIN:VCALENDAR") and errors.count("BEGIN:VEVENT") == 1
        assert "bad@example" in errors and "ok@example" not in errors
        # The error file is an iCalendar file the importer reads again.
        again = upload(admin, errors.encode(), name="cal-errors.ics", module="events")
        assert again.file_format == "ical" and again.total_rows == 1


def history_row(page: str, file_name: str) -> list[str]:
    """The cells (as text) of the history table's row of `file_name`."""
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        if file_name in row:
            return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
    return []


def test_the_history_lists_who_when_file_and_counts_to_its_readers_only(
    tenant_a, tenant_b, admin_of, member, client_for
):
    admin = admin_of(tenant_a)
    importer, other = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        Profile.objects.filter(pk__in=importer.role.profiles.values("pk")).update(can_import=True)
        Profile.objects.filter(pk__in=other.role.profiles.values("pk")).update(can_import=True)
        access_changed()
        body = csv_bytes([["A", "One", "h1@example.com", "", ""], ["B", "", "bad", "", ""]])
        job = run(configure(importer, upload(importer, body, name="fair-2027.csv")))
        assert (job.created, job.failed) == (1, 1)
    row = history_row(client_for(tenant_a, importer).get("/imports/").content.decode(), "fair-2027.csv")
    assert row, "the importer's history lists the import"
    when, who, file_name, module, _status, created, updated, merged, skipped, failed = row
    assert when and who in (importer.user.name, importer.user.email) and file_name == "fair-2027.csv"
    assert module == "Contacts"
    assert (created, updated, merged, skipped, failed) == ("1", "0", "0", "0", "1")
    assert history_row(client_for(tenant_a, admin).get("/imports/").content.decode(), "fair-2027.csv")
    assert not history_row(client_for(tenant_a, other).get("/imports/").content.decode(), "fair-2027.csv")
    assert not history_row(client_for(tenant_b, admin_of(tenant_b)).get("/imports/").content.decode(), "fair-2027.csv")


def test_progress_gives_rows_per_second_and_time_left_from_the_workers_reports(tenant_a, admin_of, client_for):
    import time as real_time
    from unittest import mock

    from django.core.cache import cache

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        job = upload(admin, csv_bytes([["A", "B", f"p{i}@example.com", "", ""] for i in range(3)]))
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
        now = real_time.time()
        cache.set(services.progress_key(job.pk), {"phase": "writing", "done": 500, "total": 2000, "started": now - 10})
        with mock.patch.object(services.time, "time", return_value=now):
            progress = services.progress_get(ImportJob.objects.get(pk=job.pk))
    assert progress == {
        "phase": "writing",
        "done": 500,
        "total": 2000,
        "percent": 25,
        "rows_per_second": 50.0,
        "eta_seconds": 30,
    }
    status = client_for(tenant_a, admin).get(f"/api/v1/imports/{job.pk}").json()
    assert status["status"] == "running" and set(status["progress"]) == set(progress)
    assert status["progress"]["total"] == 2000 and status["progress"]["rows_per_second"] > 0
