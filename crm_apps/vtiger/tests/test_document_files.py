"""Document files over the webservice: vtiger 7.3+'s `files_retrieve` and coreBOS's `retrievedocattachment`
give a document's stored file in base64, only to members who may see the document, only on its workspace."""

from __future__ import annotations

import base64
import io

import pytest
from django_tenants.utils import schema_context

from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.documents.services import Upload, document_create, document_version_add
from crm_apps.vtiger import ids
from crm_apps.vtiger.tests.conftest import WsClient, key_of

pytestmark = pytest.mark.django_db
BODY = b"Prices 2027\nWidget: 10 EUR\n"


def upload(body: bytes, name: str) -> Upload:
    return Upload(stream=io.BytesIO(body), name=name, size=len(body))


def doc_id(tenant, document) -> str:
    with schema_context(tenant.schema_name):
        return f"7x{ids.crmid_for('documents', document.pk)}"


def test_a_documents_file_comes_back_in_base64_through_both_operations(tenant_a, admin_of, media_root, ws):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        document = document_create(actor=admin, data={"title": "Prices"}, upload=upload(b"old", "prices.txt"))
        version = document_version_add(actor=admin, document_id=document.pk, upload=upload(BODY, "prices 2027.txt"))
        empty = record_create(spec=registry.get("documents"), actor=admin, data={"title": "No file yet"})
    api = ws(tenant_a, admin)
    wanted, nothing = doc_id(tenant_a, document), doc_id(tenant_a, empty)

    files = api.get("files_retrieve", id=wanted)
    both = api.post("retrievedocattachment", id=f"{wanted},{nothing}", returnfile="1")
    names_only = api.post("retrievedocattachment", id=wanted, returnfile="0")
    none = api.get("files_retrieve", id=nothing)

    assert files["success"], files
    assert files["result"] == [
        {
            "fileid": str(version.pk),
            "filename": "prices 2027.txt",
            "filetype": "text/plain",
            "filesize": len(BODY),
            "filecontents": base64.b64encode(BODY).decode(),
        }
    ]  # the current version
    assert both["result"][wanted]["attachment"] == base64.b64encode(BODY).decode()
    assert both["result"][wanted]["filename"] == "prices 2027.txt" and both["result"][wanted]["filesize"] == len(BODY)
    assert both["result"][nothing] == {
        "recordid": nothing.partition("x")[2],
        "filetype": "",
        "filename": "",
        "filesize": 0,
        "attachment": "",
    }
    assert names_only["result"][wanted]["attachment"] == "" and names_only["result"][wanted]["filesize"] == len(BODY)
    assert none == {"success": True, "result": []}


def test_files_are_refused_to_members_who_cannot_see_the_document_and_for_other_ids(
    tenant_a, admin_of, member, media_root, ws
):
    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="documents", access="private")
        secret = document_create(actor=admin, data={"title": "Secret"}, upload=upload(BODY, "secret.txt"))
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Visible"})
        contact_id = f"4x{ids.crmid_for('contacts', contact.pk)}"
    api = ws(tenant_a, rep)
    wanted = doc_id(tenant_a, secret)

    answers = [
        api.get("files_retrieve", id=wanted),
        api.post("retrievedocattachment", id=wanted, returnfile="1"),
        api.get("files_retrieve", id=contact_id),
        api.get("files_retrieve", id="nonsense"),
        api.get("files_retrieve"),
    ]
    by_get = api.get("retrievedocattachment", id=wanted)

    assert [a["error"]["code"] for a in answers] == [
        "RECORD_NOT_FOUND",
        "RECORD_NOT_FOUND",
        "INVALID_ID_ATTRIBUTE",
        "INVALID_ID_ATTRIBUTE",
        "MANDATORY_FIELDS_MISSING",
    ]
    assert by_get["success"] is False  # a POST operation
    assert "Prices" not in str(answers) and base64.b64encode(BODY).decode() not in str(answers)


def test_another_workspaces_document_file_is_not_found_and_its_session_is_refused(
    tenant_a, tenant_b, admin_of, media_root, ws
):
    with schema_context(tenant_b.schema_name):
        foreign = document_create(actor=admin_of(tenant_b), data={"title": "Beta"}, upload=upload(BODY, "beta.txt"))
    foreign_id = doc_id(tenant_b, foreign)
    alpha = ws(tenant_a, admin_of(tenant_a))
    beta = ws(tenant_b, admin_of(tenant_b))
    beta_session_on_alpha = WsClient(tenant_a, admin_of(tenant_b).user.email, key_of(tenant_b, admin_of(tenant_b)))
    beta_session_on_alpha.session = beta.session

    on_alpha = alpha.get("files_retrieve", id=foreign_id)
    replayed = beta_session_on_alpha.get("files_retrieve", id=foreign_id)

    assert on_alpha["success"] is False and on_alpha["error"]["code"] in ("RECORD_NOT_FOUND", "INVALID_ID_ATTRIBUTE")
    assert replayed["success"] is False and replayed["error"]["code"] == "INVALID_SESSIONID"
    assert beta.get("files_retrieve", id=foreign_id)["result"][0]["filecontents"] == base64.b64encode(BODY).decode()


def test_one_answer_never_holds_more_than_one_uploads_worth_of_files(tenant_a, admin_of, media_root, ws, settings):
    """Up to 100 ids a request, each up to the upload limit, all base64 in one JSON answer: a memory bomb for
    the web process. Repeated ids count once; more than one upload's worth in total is LIMIT_EXCEEDED."""
    admin = admin_of(tenant_a)
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1
    half = b"x" * (600 * 1024)
    with schema_context(tenant_a.schema_name):
        first = document_create(actor=admin, data={"title": "A"}, upload=upload(half, "a.bin"))
        second = document_create(actor=admin, data={"title": "B"}, upload=upload(half, "b.bin"))
    api = ws(tenant_a, admin)
    one, two = doc_id(tenant_a, first), doc_id(tenant_a, second)

    repeated = api.post("retrievedocattachment", id=",".join([one] * 100), returnfile="1")
    too_much = api.post("retrievedocattachment", id=f"{one},{two}", returnfile="1")
    names_only = api.post("retrievedocattachment", id=f"{one},{two}", returnfile="0")

    assert repeated["success"] and list(repeated["result"]) == [one]
    assert not too_much["success"] and too_much["error"]["code"] == "LIMIT_EXCEEDED"
    assert names_only["success"] and set(names_only["result"]) == {one, two}
