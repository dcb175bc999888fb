"""Bundling an interface's references to other documents (issue #21, item 1), without a socket: relative files,
and remote documents through a fetcher the test supplies or the reference cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from conformance.errors import ProfileError
from conformance.inputs.openapi import component_schema
from conformance.inputs.profiles import lint_profile, load_profile
from conformance.inputs.references import (
    BUNDLED_KEY,
    bundle_interface,
    bundled_path,
    cache_path,
    external_refs,
    write_bundle,
)
from tests.unit.test_profiles import make_profile

REMOTE = "https://standards.example/std/1.0/schemas"


def test_the_cache_keeps_a_document_under_scheme_host_and_path_and_never_outside_itself(tmp_path: Path) -> None:
    assert cache_path(tmp_path, f"{REMOTE}/link.yaml") == tmp_path / "https/standards.example/std/1.0/schemas/link.yaml"
    assert cache_path(tmp_path, "http://host:8080/a/../../../etc/passwd") == tmp_path / "http/host_8080/a/etc/passwd"
    assert cache_path(tmp_path, "https://host/").name == "index"
    with_query = cache_path(tmp_path, "https://host/doc?version=2")
    assert with_query.parent == tmp_path / "https/host" and with_query.name.startswith("doc_")


def interface_with(refs: str, version: str = "openapi: 3.0.3") -> str:
    return f"""\
{version}
info: {{title: mini, version: 1.0.0}}
paths:
  /health:
    get:
      operationId: health
      responses:
        "200":
          description: ok
          content: {{application/json: {{schema: {refs}}}}}
"""


def test_relative_files_and_remote_documents_become_one_self_contained_document(tmp_path: Path) -> None:
    folder = make_profile(tmp_path, openapi=interface_with('{$ref: "../../../shared/health.yaml#/Health"}'))
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "health.yaml").write_text(
        f'Health: {{type: object, properties: {{status: {{$ref: "{REMOTE}/status.yaml"}}}}}}\n')
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return b'{"type": "string", "enum": ["up", "down"]}'

    bundle = bundle_interface(folder / "openapi.yaml", cache=tmp_path / "cache", fetch=fetch, fix="-")
    assert fetched == [f"{REMOTE}/status.yaml"]
    assert list(external_refs(bundle.document)) == []
    assert bundle.document[BUNDLED_KEY]["health.yaml"]["Health"]["properties"]["status"] == {
        "$ref": f"#/{BUNDLED_KEY}/standards.example_std_1.0_schemas_status.yaml"}
    assert [d.origin for d in bundle.documents] == ["file", "fetched"]
    assert cache_path(tmp_path / "cache", f"{REMOTE}/status.yaml").is_file()  # kept for offline bundling
    write_bundle(folder / "openapi.yaml", bundle)
    assert lint_profile(folder) == []
    assert load_profile(folder).openapi_path == str(bundled_path(folder / "openapi.yaml"))
    again = bundle_interface(folder / "openapi.yaml", cache=tmp_path / "cache", fetch=None, fix="-")  # offline
    assert again.document == bundle.document and [d.origin for d in again.documents] == ["file", "cache"]


@pytest.mark.parametrize("version", ['swagger: "2.0"', "openapi: 3.1.0"])
def test_swagger_2_and_openapi_3_1_interfaces_bundle_and_lint(tmp_path: Path, version: str) -> None:
    text = interface_with('{$ref: "parts.yaml#/Health"}', version)
    if version.startswith("swagger"):
        text = text.replace('content: {application/json: {schema: {$ref: "parts.yaml#/Health"}}}',
                            'schema: {$ref: "parts.yaml#/Health"}')
    folder = make_profile(tmp_path, openapi=text)
    (folder / "parts.yaml").write_text("Health: {type: object, properties: {status: {type: string}}}\n")
    (problem,) = lint_profile(folder)
    assert "parts.yaml" in str(problem) and "conformance profiles bundle" in str(problem)
    write_bundle(folder / "openapi.yaml", bundle_interface(folder / "openapi.yaml", cache=tmp_path, fetch=None,
                                                           fix="-"))
    assert lint_profile(folder) == []


def test_each_reference_that_cannot_be_bundled_is_a_located_error(tmp_path: Path) -> None:
    folder = make_profile(tmp_path, openapi=interface_with(f'{{$ref: "{REMOTE}/health.yaml#/Health"}}'))
    source = folder / "openapi.yaml"
    with pytest.raises(ProfileError) as offline:
        bundle_interface(source, cache=tmp_path / "cache", fetch=None, fix="THE FIX")
    assert str(offline.value).startswith(f"{source}:10: paths./health.get.responses.200.content.application/json"
                                         f".schema.$ref: the remote document {REMOTE}/health.yaml is not in the "
                                         f"reference cache ({tmp_path / 'cache'}/https/standards.example/")
    assert str(offline.value).endswith("; THE FIX")

    def unreachable(url: str) -> bytes:
        raise OSError("ConnectError: connection refused")

    with pytest.raises(ProfileError, match="could not be fetched: ConnectError: connection refused; check the URL"):
        bundle_interface(source, cache=tmp_path / "cache", fetch=unreachable, fix="-")

    def answers(body: bytes) -> Callable[[str], bytes]:
        return lambda url: body

    with pytest.raises(ProfileError, match="has nothing at '#/Health'"):
        bundle_interface(source, cache=tmp_path / "c1", fetch=answers(b"Other: {}"), fix="-")
    with pytest.raises(ProfileError, match="may not refer to a file on this machine"):
        bundle_interface(source, cache=tmp_path / "c2", fetch=answers(b'Health: {$ref: "file:///etc/passwd"}'),
                         fix="-")
    with pytest.raises(ProfileError, match="neither JSON nor YAML"):
        bundle_interface(source, cache=tmp_path / "c3", fetch=answers(b"Health: [unclosed"), fix="-")
    bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n".encode()
        for i in range(8))
    with pytest.raises(ProfileError, match="neither JSON nor YAML"):  # the alias bomb is refused, not expanded
        bundle_interface(source, cache=tmp_path / "c4", fetch=answers(bomb), fix="-")


def test_a_self_referring_document_is_bundled_once(tmp_path: Path) -> None:
    folder = make_profile(tmp_path, openapi=interface_with('{$ref: "tree.yaml#/Node"}'))
    (folder / "tree.yaml").write_text('Node: {type: object, properties: {children: {type: array, items: '
                                      '{$ref: "#/Node"}}}}\n')
    bundle = bundle_interface(folder / "openapi.yaml", cache=tmp_path, fetch=None, fix="-")
    node = bundle.document[BUNDLED_KEY]["tree.yaml"]["Node"]
    assert node["properties"]["children"]["items"] == {"$ref": f"#/{BUNDLED_KEY}/tree.yaml/Node"}
    assert len(bundle.documents) == 1


def test_lint_says_when_a_referenced_file_does_not_exist_or_a_remote_one_is_already_cached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path / "cache"))
    folder = make_profile(tmp_path, openapi=interface_with('{$ref: "parts.yaml#/Health"}'))
    (problem,) = lint_profile(folder)
    assert f"refers to the file {folder / 'parts.yaml'}, which does not exist; fix the path" in str(problem)
    (folder / "openapi.yaml").write_text(interface_with(f'{{$ref: "{REMOTE}/health.yaml#/Health"}}'))
    cached = cache_path(tmp_path / "cache", f"{REMOTE}/health.yaml")
    cached.parent.mkdir(parents=True)
    cached.write_text("Health: {type: object}\n")
    (problem,) = lint_profile(folder)
    assert "(the document is in the reference cache, no network needed)" in str(problem)


def test_a_swagger_2_bundle_keeps_its_copies_for_schema_readers(tmp_path: Path) -> None:
    text = interface_with('{$ref: "parts.yaml#/Health"}', 'swagger: "2.0"').replace(
        'content: {application/json: {schema: {$ref: "parts.yaml#/Health"}}}', 'schema: {$ref: "#/definitions/H"}')
    folder = make_profile(tmp_path, openapi=text + 'definitions:\n  H: {$ref: "parts.yaml#/Health"}\n')
    (folder / "parts.yaml").write_text("Health: {type: object, required: [status], properties: "
                                       "{status: {type: string, x-nullable: true}}}\n")
    write_bundle(folder / "openapi.yaml", bundle_interface(folder / "openapi.yaml", cache=tmp_path, fetch=None,
                                                           fix="-"))
    validator = jsonschema.Draft202012Validator(component_schema(folder / "openapi.yaml", "H"))
    assert validator.is_valid({"status": None}) and not validator.is_valid({})


def test_a_broken_reference_inside_another_file_is_located_in_that_file(tmp_path: Path) -> None:
    folder = make_profile(tmp_path, openapi=interface_with('{$ref: "parts.yaml#/Health"}'))
    (folder / "parts.yaml").write_text('Health: {type: object, properties: {status: {$ref: "#/Missing"}}}\n')
    with pytest.raises(ProfileError) as raised:
        bundle_interface(folder / "openapi.yaml", cache=tmp_path, fetch=None, fix="-")
    assert str(raised.value).startswith(f"{folder / 'parts.yaml'}: Health.properties.status.$ref: ")
    assert "has nothing at '#/Missing'" in str(raised.value)
