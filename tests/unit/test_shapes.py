"""The TypedDicts of conformance.scoring.shapes say exactly what the published JSON Schemas say: the same keys,
the same required keys, object by object."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.schemas import load_schema
from conformance.scoring import shapes


def _keys(typed: Any) -> tuple[set[str], set[str]]:
    return set(typed.__required_keys__), set(typed.__required_keys__) | set(typed.__optional_keys__)


def _node(schema: dict[str, Any], path: list[str]) -> dict[str, Any]:
    node = schema
    for step in path:
        node = node[step]
    if "$ref" in node:
        return _node(schema, node["$ref"].removeprefix("#/").split("/"))
    return node


CASES = [
    (shapes.Scorecard, "scorecard", []),
    (shapes.ProfileId, "scorecard", ["properties", "profile"]),
    (shapes.OptionalTally, "scorecard", ["properties", "optional"]),
    (shapes.RequirementRow, "scorecard", ["$defs", "requirement"]),
    (shapes.FindingRow, "scorecard", ["$defs", "finding"]),
    (shapes.RunSummary, "scorecard", ["properties", "run"]),
    (shapes.Comparison, "comparison", []),
    (shapes.ComparisonRank, "comparison", ["properties", "ranking", "items"]),
    (shapes.ComparisonCandidate, "comparison", ["properties", "candidates", "items"]),
]


@pytest.mark.parametrize(("typed", "schema_name", "path"), CASES, ids=[c[0].__name__ for c in CASES])
def test_typed_dict_matches_its_published_schema(typed: Any, schema_name: str, path: list[str]) -> None:
    node = _node(load_schema(schema_name), path)
    required, every = _keys(typed)
    assert every == set(node["properties"]), f"{typed.__name__} keys differ from {schema_name} {'/'.join(path)}"
    assert required == set(node.get("required", [])), f"{typed.__name__} required keys differ"
