"""Documents: uploads, versions, downloads through the permission check, limits, links, isolation."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from billing import entitlements
from billing.models import Plan
from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.documents.files import safe_name, sniff
from crm_apps.modules.documents.models import Document, DocumentLink, DocumentVersion
from crm_apps.modules.documents.services import Upload, document_create

pytestmark = pytest.mark.django_db

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def upload(body: bytes = b"hello world\n", name: str = "notes.txt") -> Upload:
    return Upload(stream=io.BytesIO(body), name=name, size=len(body))


def stored_files(media_root, tenant) -> list[str]:
    folder = media_root / tenant.schema_name / "documents"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\offer final.docx", "offer final.docx"),
        (".htaccess", "htaccess"),
        ("a\x00b\x1f<script>.html", "ab_script_.html"),
        ("", "file"),
        ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
        ("Коммерческое предложение.pdf", "Коммерческое предложение.pdf"),
    ],
)
def test_names_are_sanitised(raw, expected):
    assert safe_name(raw) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"<!DOCTYPE html><html><script>alert(1)</script>", "text/html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "text/html"),
        (b"plain words", "text/plain"),
        (b"MZ\x90\x00" + b"\x00" * 60, "application/x-msdownload"),
        (bytes(range(256)), "application/octet-stream"),
    ],
)
def test_content_types_are_sniffed_from_the_bytes(head, expected):
    assert sniff(head) == expected


def test_upload_through_the_api_then_a_new_version_then_download_each(client_for, tenant_a, admin_of, media_root):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Linked"})
    api = client_for(tenant_a, admin)

    created = api.post(
        "/api/v1/documents/",
        {
            "file": SimpleUploadedFile("../offer.txt", b"first draft", content_type="text/html"),
            "title": "Offer",
            "links": f"contacts:{contact.pk}",
        },
    )
    doc_id = created.json()["id"]
    second = api.post(
        f"/api/v1/documents/{doc_id}/versions", {"file": SimpleUploadedFile("offer-v2.txt", b"second draft")}
    )
    versions = api.get(f"/api/v1/documents/{doc_id}/versions").json()["results"]
    latest = api.get(f"/api/v1/documents/{doc_id}/download")
    first = api.get(f"/api/v1/documents/{doc_id}/versions/1/download")
    html_first = client_for(tenant_a, admin).get(f"/m/documents/{doc_id}/versions/1/download/")
    missing = api.get(f"/api/v1/documents/{doc_id}/versions/9/download")

    assert created.status_code == 201, created.content
    assert (created.json()["title"], created.json()["file_name"], created.json()["content_type"]) == (
        "Offer",
        "offer.txt",
        "text/plain",
    )
    assert second.status_code == 201
    assert [(v["number"], v["file_name"], v["size"]) for v in versions] == [
        (2, "offer-v2.txt", 12),
        (1, "offer.txt", 11),
    ]
    assert b"".join(latest.streaming_content) == b"second draft"
    assert b"".join(first.streaming_content) == b"first draft"
    assert b"".join(html_first.streaming_content) == b"first draft"
    assert latest["X-Content-Type-Options"] == "nosniff"
    assert latest["Content-Type"] == "text/plain; charset=utf-8"
    assert missing.status_code == 404
    with tenant_context(tenant_a):
        assert list(DocumentLink.objects.values_list("module", "record_id")) == [("contacts", contact.pk)]
        assert Document.objects.get(pk=doc_id).current_version == 2
    page = client_for(tenant_a, admin).get(f"/m/contacts/{contact.pk}/").content.decode()
    assert f"/m/documents/{doc_id}/" in page


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("page.html", b"<html><body><script>alert(document.cookie)</script></body></html>"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("feed.xml", b'<?xml version="1.0"?><x/>'),
        ("app.js", b"<script>fetch('/api/v1/contacts/')</script>"),
        ("photo.png", b"<html>not really a png</html>"),
    ],
)
def test_active_types_download_as_attachments(client_for, tenant_a, admin_of, media_root, name, body):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        doc = document_create(actor=admin, data={}, upload=upload(body, name))

    response = client_for(tenant_a, admin).get(f"/m/documents/{doc.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_png_is_shown_inline(client_for, tenant_a, admin_of, media_root):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        doc = document_create(actor=admin, data={}, upload=upload(PNG, "dot.png"))

    response = client_for(tenant_a, admin).get(f"/api/v1/documents/{doc.pk}/download")

    assert (response["Content-Type"], response["Content-Disposition"]) == ("image/png", 'inline; filename="dot.png"')


def test_a_member_who_cannot_see_the_document_gets_404_everywhere(client_for, tenant_a, admin_of, member, media_root):
    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="documents", access="private")
        sharing_default_set(actor=admin, module="contacts", access="private")
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Hidden"})
        doc = document_create(actor=admin, data={"title": "Secret"}, upload=upload(), links=[("contacts", contact.pk)])
    web = client_for(tenant_a, rep)

    answers = [
        web.get(f"/m/documents/{doc.pk}/download/").status_code,
        web.get(f"/m/documents/{doc.pk}/versions/1/download/").status_code,
        web.get(f"/api/v1/documents/{doc.pk}/download").status_code,
        web.get(f"/api/v1/documents/{doc.pk}/versions").status_code,
        web.post(f"/api/v1/documents/{doc.pk}/versions", {"file": SimpleUploadedFile("x.txt", b"x")}).status_code,
        web.post(f"/m/documents/{doc.pk}/versions/", {"file": SimpleUploadedFile("x.txt", b"x")}).status_code,
        web.post(
            f"/m/documents/upload/contacts/{contact.pk}/", {"file": SimpleUploadedFile("x.txt", b"x")}
        ).status_code,
        web.post(
            "/api/v1/documents/", {"file": SimpleUploadedFile("x.txt", b"x"), "links": f"contacts:{contact.pk}"}
        ).status_code,
    ]
    listed = web.get("/api/v1/documents/").json()["results"]

    assert answers == [404, 404, 404, 404, 404, 404, 404, 400]
    assert listed == []
    with tenant_context(tenant_a):
        assert DocumentVersion.objects.count() == 1
        assert Document.objects.count() == 1


def test_another_tenants_document_is_404_and_lists_nothing(client_for, tenant_a, tenant_b, admin_of, media_root):
    with tenant_context(tenant_b):
        foreign = document_create(actor=admin_of(tenant_b), data={"title": "Beta only"}, upload=upload(b"beta secret"))
    web = client_for(tenant_a, admin_of(tenant_a))

    answers = [
        web.get(f"/m/documents/{foreign.pk}/download/").status_code,
        web.get(f"/api/v1/documents/{foreign.pk}/download").status_code,
        web.get(f"/api/v1/documents/{foreign.pk}/versions").status_code,
        web.post(f"/api/v1/documents/{foreign.pk}/versions", {"file": SimpleUploadedFile("x.txt", b"x")}).status_code,
        web.post(
            f"/api/v1/documents/{foreign.pk}/links",
            {"module": "contacts", "id": str(foreign.pk)},
            content_type="application/json",
        ).status_code,
    ]
    listed = web.get("/api/v1/documents/").json()["results"]
    beta_signed_in_on_alpha = client_for(tenant_a, admin_of(tenant_b)).get(f"/api/v1/documents/{foreign.pk}/download")

    assert answers == [404, 404, 404, 404, 404]
    assert listed == []
    assert beta_signed_in_on_alpha.status_code in (401, 403)
    assert stored_files(media_root, tenant_a) == []


def test_size_and_storage_limits_refuse_and_write_nothing(client_for, tenant_a, admin_of, media_root, settings):
    admin = admin_of(tenant_a)
    api = client_for(tenant_a, admin)
    with tenant_context(tenant_a):
        doc = document_create(actor=admin, data={"title": "Kept"}, upload=upload(b"v1"))
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1

    too_big = api.post("/api/v1/documents/", {"file": SimpleUploadedFile("big.bin", b"x" * (1024 * 1024 + 1))})
    empty = api.post("/api/v1/documents/", {"file": SimpleUploadedFile("empty.txt", b"")})
    no_file = api.post("/api/v1/documents/", {"title": "No file"}, format="multipart")
    program = api.post("/api/v1/documents/", {"file": SimpleUploadedFile("setup.exe", b"MZ\x90\x00" + b"\x00" * 200)})
    Plan.objects.filter(code="enterprise").update(max_storage_mb=1)
    entitlements.plans_forget()
    (media_root / tenant_a.schema_name / "filler.bin").write_bytes(b"x" * 1_000_000)
    over_plan = api.post(f"/api/v1/documents/{doc.pk}/versions", {"file": SimpleUploadedFile("v2.txt", b"y" * 100_000)})

    assert (too_big.status_code, empty.status_code, no_file.status_code, program.status_code) == (400, 400, 400, 400)
    assert "at most 1 MB" in too_big.json()["file"][0]
    assert "Programs" in program.json()["file"][0]
    assert (over_plan.status_code, over_plan.json()["code"], over_plan.json()["limit"]) == (
        403,
        "plan_limit",
        "storage",
    )
    with tenant_context(tenant_a):
        assert list(Document.objects.values_list("title", "current_version")) == [("Kept", 1)]
        assert DocumentVersion.objects.count() == 1
    assert len(stored_files(media_root, tenant_a)) == 1


def test_upload_from_a_record_page_and_new_version_from_the_document_page(client_for, tenant_a, admin_of, media_root):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        deal = record_create(spec=registry.get("deals"), actor=admin, data=dict(registry.get("deals").example))
    web = client_for(tenant_a, admin)

    web.post(
        f"/m/documents/upload/deals/{deal.pk}/", {"file": SimpleUploadedFile("terms.txt", b"terms v1"), "title": ""}
    )
    with tenant_context(tenant_a):
        doc = Document.objects.get()
    web.post(f"/m/documents/{doc.pk}/versions/", {"file": SimpleUploadedFile("terms.txt", b"terms v2")})
    page = web.get(f"/m/documents/{doc.pk}/").content.decode()
    deal_page = web.get(f"/m/deals/{deal.pk}/").content.decode()

    assert doc.title == "terms.txt"
    assert f"/m/documents/{doc.pk}/versions/2/download/" in page
    assert f"/m/documents/{doc.pk}/versions/1/download/" in page
    assert f"/m/documents/{doc.pk}/" in deal_page


def test_folders_page_creates_unique_folders_for_admins_only(client_for, tenant_a, admin_of, member):
    from crm_apps.modules.documents.models import Folder

    admin = admin_of(tenant_a)
    web = client_for(tenant_a, admin)
    url = "/settings/modules/documents/folders/"

    created = web.post(url, {"name": "Contracts", "description": "Signed"})
    twice = web.post(url, {"name": "Contracts"})
    denied = client_for(tenant_a, member(tenant_a)).post(url, {"name": "Mine"})
    page = web.get(url).content.decode()

    assert (created.status_code, twice.status_code, denied.status_code) == (302, 200, 403)
    with tenant_context(tenant_a):
        assert sorted(Folder.objects.values_list("name", flat=True)) == ["Contracts", "Default"]
    assert "Contracts" in page and "Default" in page


def test_the_sweep_removes_files_of_purged_documents_and_orphans_only(tenant_a, admin_of, media_root):
    import datetime as dt

    from crm_apps.engine.services import record_delete, records_purge_deleted
    from crm_apps.modules.documents.services import document_files_sweep

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        kept = document_create(actor=admin, data={"title": "Kept"}, upload=upload(b"keep"))
        gone = document_create(actor=admin, data={"title": "Gone"}, upload=upload(b"gone"))
        record_delete(spec=registry.get("documents"), actor=admin, record=gone)
        Document.objects.filter(pk=gone.pk).update(deleted_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        records_purge_deleted()
        orphan = media_root / tenant_a.schema_name / "documents" / "orphan"
        orphan.write_bytes(b"rolled back upload")
        recent = document_files_sweep()  # everything is younger than an hour: nothing goes yet
        swept = document_files_sweep(older_than=dt.timedelta(0))
        version = DocumentVersion.objects.get(document=kept)

    assert recent == 0
    assert swept == 2
    assert stored_files(media_root, tenant_a) == [version.storage_name.split("/")[-1]]


def test_a_records_documents_over_the_api_need_the_record(client_for, tenant_a, tenant_b, admin_of, member, media_root):
    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="contacts", access="private")
        hidden = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Hidden"})
        mine = record_create(spec=registry.get("contacts"), actor=rep, data={"last_name": "Mine"})
        document_create(actor=admin, data={"title": "On hidden"}, upload=upload(), links=[("contacts", hidden.pk)])
    web = client_for(tenant_a, rep)

    uploaded = web.post(f"/api/v1/contacts/{mine.pk}/documents/", {"file": SimpleUploadedFile("a.txt", b"a")})
    listed = web.get(f"/api/v1/contacts/{mine.pk}/documents/").json()["results"]
    on_hidden = web.get(f"/api/v1/contacts/{hidden.pk}/documents/")
    upload_hidden = web.post(f"/api/v1/contacts/{hidden.pk}/documents/", {"file": SimpleUploadedFile("b.txt", b"b")})
    foreign = client_for(tenant_b, admin_of(tenant_b)).get(f"/api/v1/contacts/{mine.pk}/documents/")

    assert uploaded.status_code == 201
    assert [d["title"] for d in listed] == ["a.txt"]
    assert (on_hidden.status_code, upload_hidden.status_code, foreign.status_code) == (404, 404, 404)
    with tenant_context(tenant_a):
        assert Document.objects.count() == 2


def test_the_documents_api_leaves_out_fields_the_members_profile_hides(
    client_for, tenant_a, admin_of, member, media_root
):
    from crm_apps.access.models import Role
    from crm_apps.access.services import profile_save, profile_set_fields, role_create

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        profile = profile_save(actor=admin, profile=None, name="No descriptions", flags={})
        role = role_create(
            actor=admin, name="No descriptions", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
        profile_set_fields(actor=admin, profile=profile, module="documents", access={"description": "hidden"})
        rep = member(tenant_a, role=role)
        contact = record_create(spec=registry.get("contacts"), actor=rep, data={"last_name": "Mine"})
        document_create(
            actor=admin,
            data={"title": "Contract", "description": "secret terms", "owner": rep.pk},
            upload=upload(),
            links=[("contacts", contact.pk)],
        )
    web = client_for(tenant_a, rep)

    on_record = web.get(f"/api/v1/contacts/{contact.pk}/documents/").json()["results"]
    uploaded = web.post(f"/api/v1/contacts/{contact.pk}/documents/", {"file": SimpleUploadedFile("a.txt", b"a")})
    created = web.post("/api/v1/documents/", {"file": SimpleUploadedFile("b.txt", b"b")})

    assert [d["title"] for d in on_record] == ["Contract"]
    for body in (on_record[0], uploaded.json(), created.json()):
        assert "description" not in body
    assert "secret terms" not in str(on_record)
