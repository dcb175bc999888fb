"""The one reader of a profile's OpenAPI documents (the interface, a receiver's wire format).

`read_openapi(path)` parses a document once per change of the file (cached on path and modification time)
with libyaml. `schema_view(path)` is the same document as JSON Schema means it: OpenAPI 3.0's
`nullable: true` becomes `type: [T, "null"]`, so a schema taken from a 3.0 interface means what the interface
says. Both return shared, cached objects: read them, never change them.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance.inputs.yamlfile import safe_load

__all__ = ["component_schema", "read_openapi", "schema_view"]


def read_openapi(path: Path | str) -> Any:
    resolved = Path(path).resolve()
    return _read(resolved, resolved.stat().st_mtime_ns)


def schema_view(path: Path | str) -> Any:
    resolved = Path(path).resolve()
    return _schema_view(resolved, resolved.stat().st_mtime_ns)


def component_schema(path: Path | str, name: str) -> dict[str, Any]:
    """A self-contained JSON Schema for `#/components/schemas/NAME` of the document (its `$ref`s resolve
    inside the same components), in the JSON Schema view."""
    document = schema_view(path)
    return {"$ref": f"#/components/schemas/{name}", "components": document.get("components", {})}


@lru_cache(maxsize=32)
def _read(path: Path, mtime_ns: int) -> Any:
    return safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=32)
def _schema_view(path: Path, mtime_ns: int) -> Any:
    data = _read(path, mtime_ns)
    if isinstance(data, dict) and str(data.get("openapi", "")).startswith("3.0"):
        data = copy.deepcopy(data)
        _nullable_to_type(data)
    return data


def _nullable_to_type(node: Any) -> None:
    if isinstance(node, dict):
        if node.pop("nullable", False) is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _nullable_to_type(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_type(value)
