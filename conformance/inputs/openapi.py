"""The one reader of a profile's OpenAPI documents (the interface, a receiver's wire format).

`read_openapi(path)` parses a document once per change of the file (cached on path and modification time)
with libyaml. A document with `$ref`s outside itself is read through its bundled copy (`openapi.bundled.yaml`,
written by `conformance profiles bundle`; `conformance.inputs.references`) when there is one, so every reader
sees a self-contained document and nothing is fetched. OpenAPI 3.0, 3.1 and Swagger 2.0 are read as written.
`schema_view(path)` is the same document as JSON Schema means it: OpenAPI 3.0's `nullable: true` (Swagger 2.0's
`x-nullable: true`) becomes `type: [T, "null"]`, so a schema taken from such an interface means what the
interface says; a 3.1 document's schemas are JSON Schema 2020-12 already. Both return shared, cached objects:
read them, never change them.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance.inputs.references import BUNDLED_KEY, bundled_path, external_refs
from conformance.inputs.yamlfile import safe_load

__all__ = ["component_schema", "local_target", "read_openapi", "schema_view"]


def read_openapi(path: Path | str, *, raw: bool = False) -> Any:
    """The document at `path`, or its bundled copy when it refers outside itself and has one (`raw`: the
    document as written)."""
    resolved = Path(path).resolve()
    document = _read(resolved, resolved.stat().st_mtime_ns)
    if not raw:
        bundled = bundled_path(resolved)
        if bundled.is_file() and any(True for _ in external_refs(document)):
            return _read(bundled, bundled.stat().st_mtime_ns)
    return document


def schema_view(path: Path | str) -> Any:
    resolved = Path(path).resolve()
    bundled = bundled_path(resolved)
    if bundled.is_file() and any(True for _ in external_refs(_read(resolved, resolved.stat().st_mtime_ns))):
        resolved = bundled
    return _schema_view(resolved, resolved.stat().st_mtime_ns)


def component_schema(path: Path | str, name: str) -> dict[str, Any]:
    """A self-contained JSON Schema for the document's named schema (`#/components/schemas/NAME`, Swagger 2.0's
    `#/definitions/NAME`; its `$ref`s resolve inside the same document), in the JSON Schema view."""
    document = schema_view(path)
    copies = {BUNDLED_KEY: document[BUNDLED_KEY]} if BUNDLED_KEY in document else {}
    if "swagger" in document:
        return {"$ref": f"#/definitions/{name}", "definitions": document.get("definitions", {}), **copies}
    return {"$ref": f"#/components/schemas/{name}", "components": document.get("components", {}), **copies}


def local_target(document: Any, ref: str) -> Any:
    """What an internal `$ref` (`#/a/b~1c`) names in the document (None when nothing is there)."""
    if not ref.startswith("#"):
        return None
    node = document
    for token in [t.replace("~1", "/").replace("~0", "~") for t in ref[1:].split("/")[1:]]:
        if isinstance(node, dict):
            node = node.get(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


@lru_cache(maxsize=32)
def _read(path: Path, mtime_ns: int) -> Any:
    return safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=32)
def _schema_view(path: Path, mtime_ns: int) -> Any:
    data = _read(path, mtime_ns)
    if isinstance(data, dict) and str(data.get("openapi", "")).startswith("3.0"):
        data = copy.deepcopy(data)
        _nullable_to_type(data, "nullable")
    elif isinstance(data, dict) and str(data.get("swagger", "")) == "2.0":
        data = copy.deepcopy(data)
        _nullable_to_type(data, "x-nullable")
    return data


def _nullable_to_type(node: Any, keyword: str) -> None:
    if isinstance(node, dict):
        if node.pop(keyword, False) is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _nullable_to_type(value, keyword)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_type(value, keyword)
