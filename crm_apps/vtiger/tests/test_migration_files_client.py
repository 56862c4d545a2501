"""The migration's webservice source asks for document files with `files_retrieve`, falls back to coreBOS's
`retrievedocattachment` when the source does not know it (and stops asking), and refuses broken content."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from crm_apps.vtiger.migration import Source, SourceError


class Answer:
    def __init__(self, body: Any) -> None:
        self.status_code = 200
        self._body = body

    def json(self) -> Any:
        return self._body


class FakeVtiger:
    """Answers like a vtiger without files_retrieve (coreBOS): every call recorded."""

    def __init__(self, content: str) -> None:
        self.calls: list[str] = []
        self.content = content

    def get(self, url: str, params: dict[str, Any], **kwargs: Any) -> Answer:
        self.calls.append(params["operation"])
        return Answer({"success": False, "error": {"code": "UNKNOWN_OPERATION", "message": "not here"}})

    def post(self, url: str, data: dict[str, Any], **kwargs: Any) -> Answer:
        self.calls.append(data["operation"])
        assert data["returnfile"] == "1"
        entry = {
            "recordid": "130",
            "filetype": "text/plain",
            "filename": "a.txt",
            "filesize": 5,
            "attachment": self.content,
        }
        return Answer(json.loads(json.dumps({"success": True, "result": {data["id"]: entry}})))


@pytest.fixture
def private_allowed(settings: Any) -> None:
    settings.VTIGER_ALLOW_PRIVATE = True


def test_falls_back_to_retrievedocattachment_and_stops_asking_for_the_unknown_operation(private_allowed):
    fake = FakeVtiger(base64.b64encode(b"hello").decode())
    source = Source("http://127.0.0.1:9", "admin", "key", http=fake)

    first = source.document_file({"id": "7x130", "filename": "a.txt", "filelocationtype": "I"})
    second = source.document_file({"id": "7x131", "filename": "b.txt", "filelocationtype": "I"})
    external = source.document_file({"id": "7x132", "filename": "https://x.example/a", "filelocationtype": "E"})

    assert first is not None and (first.read(), first.name, first.declared_size) == (b"hello", "a.txt", 5)
    assert second is not None and second.key == "doc:7x131"
    assert external is None
    assert fake.calls == ["files_retrieve", "retrievedocattachment", "retrievedocattachment"]


def test_content_that_is_not_base64_is_an_error(private_allowed):
    source = Source("http://127.0.0.1:9", "admin", "key", http=FakeVtiger("not base64 at all!"))

    with pytest.raises(SourceError, match="not base64"):
        source.document_file({"id": "7x130", "filename": "a.txt"})


class Streamed:
    """A real-looking streamed answer (requests with stream=True): chunks until the caller stops."""

    def __init__(self, chunks: int) -> None:
        self.status_code = 200
        self.chunks = chunks
        self.closed = False

    def iter_content(self, chunk_size: int) -> Any:
        yield b'{"success": true, "result": {"7x130": {"attachment": "'
        for _ in range(self.chunks):
            yield b"A" * chunk_size

    def close(self) -> None:
        self.closed = True


class Endless(FakeVtiger):
    def __init__(self) -> None:
        super().__init__("")
        self.answer = Streamed(chunks=10**6)

    def post(self, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
        self.calls.append(data["operation"])
        assert kwargs.get("stream") is True
        return self.answer


def test_an_endless_answer_is_cut_off_at_one_uploads_worth(private_allowed, settings):
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1
    fake = Endless()
    source = Source("http://127.0.0.1:9", "admin", "key", http=fake)

    with pytest.raises(SourceError, match="larger than"):
        source.document_file({"id": "7x130", "filename": "a.txt", "filelocationtype": "I"})
    assert fake.answer.closed


def test_a_file_request_to_a_private_address_is_refused_before_it_is_sent(settings):
    settings.VTIGER_ALLOW_PRIVATE = False
    fake = FakeVtiger("")
    source = Source("http://127.0.0.1:9", "admin", "key", http=fake)
    source.file_operations = ["retrievedocattachment"]

    with pytest.raises(SourceError, match="refused"):
        source.document_file({"id": "7x130", "filename": "a.txt", "filelocationtype": "I"})
    assert fake.calls == []
