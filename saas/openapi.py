"""The OpenAPI schema's generator (drf-spectacular), with what `manage.py check --deploy` needs to be clean.

- `AutoSchema` names every operation after its whole path, parameters included
  (`GET /api/v1/taxes/{tax_id}` is `taxes_tax_id_retrieve`), so no two operations collide; drf-spectacular's
  default drops the parameters and numbered the clashes (`taxes_retrieve_2`).
- `json_object_view` documents an APIView whose methods take and answer JSON objects it validates itself
  (no serializer to guess from): the request body and the answer are JSON objects (field errors are
  400s with a message per field, as everywhere in the API)."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema


class AutoSchema(openapi.AutoSchema):
    def get_operation_id(self) -> str:
        parts = [part for part in self.path.strip("/").split("/") if part]
        if parts[:2] == ["api", "v1"]:
            parts = parts[2:]
        tokens = [part.strip("{}").replace("-", "_").replace(".", "_") for part in parts] or ["root"]
        if self.method == "GET":
            action = "retrieve" if self.path.rstrip("/").endswith("}") else "list"
        else:
            action = self.method_mapping[self.method.lower()]
        return "_".join([*tokens, action])


def json_object_view(description: str = "", *, upload: bool = False, binary: str | None = None) -> Any:
    """Class decorator: every method takes a JSON object (or multipart, `upload`) and answers a JSON object
    (or a file of the media type `binary`)."""
    request: Any = {"multipart/form-data": OpenApiTypes.OBJECT} if upload else OpenApiTypes.OBJECT
    # Not a dict: each method gets its own success status (GET 200, POST 201, DELETE 204).
    answer: Any = {(200, binary): OpenApiTypes.BINARY} if binary else OpenApiTypes.OBJECT
    return extend_schema(description=description or None, request=request, responses=answer)
