"""The profile's interface (its openapi.yaml) as data: limits it states, and its schemas as validators."""

from __future__ import annotations

from typing import Any

import jsonschema
import yaml

from conformance.inputs.openapi import read_openapi
from conformance.inputs.references import BUNDLED_KEY

__all__ = ["component_validator", "interface", "parameter_maximum"]


def interface(openapi_path: str) -> dict[str, Any]:
    """The OpenAPI document, through the harness's one reader (parsed once per change of the file; an empty
    mapping if it is not one). Raises OSError or yaml.YAMLError when it cannot be read."""
    document = read_openapi(openapi_path)
    return document if isinstance(document, dict) else {}


def parameter_maximum(openapi_path: str, path: str, method: str, name: str) -> Any:
    """The `maximum` the interface states for a parameter of an operation, as written; None when the interface
    cannot be read or states none."""
    try:
        parameters = interface(openapi_path)["paths"][path][method]["parameters"]
        return next(p for p in parameters if p.get("name") == name)["schema"]["maximum"]
    except (KeyError, TypeError, AttributeError, StopIteration, OSError, yaml.YAMLError):
        return None


def component_validator(openapi_path: str, name: str) -> jsonschema.Draft202012Validator:
    """A validator for the interface's `components/schemas/<name>` (its $refs resolved within the document, a
    bundled interface's copies of other documents included; formats checked)."""
    document = interface(openapi_path)
    schema = {"$ref": f"#/components/schemas/{name}", "components": document.get("components", {})}
    if BUNDLED_KEY in document:  # a bundled interface: what it copied from other documents
        schema[BUNDLED_KEY] = document[BUNDLED_KEY]
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
