"""Documents an interface refers to outside itself: remote (`https://...`) and relative file `$ref`s.

A run reads one self-contained interface and never fetches anything: an interface with references outside itself
is used through its **bundled copy**, `<name>.bundled.yaml` next to it in the profile folder (so the profile
digest covers it), written by `conformance profiles bundle`. Bundling reads each referenced document from the
disk (a relative file reference), from the **reference cache**, or (only when bundling online) fetches it once
into the cache (with the `Fetcher` it is given: `conformance.engine.fetch.fetch_document`, bounded):

    $CONFORMANCE_CACHE_DIR, else <user cache dir>/conformance/references  (e.g. ~/.cache/conformance/references)
        https/schemas.opengis.net/ogcapi/features/part1/1.0/openapi/schemas/link.yaml   (scheme/host/path)

Only what the interface reaches is copied, under the root key `x-documents` (one entry per document), and every
`$ref` is rewritten to point there (`#/x-documents/<document>/<pointer>`), so the bundle holds internal `#/...`
references only. `x-conformance-bundle` records the source's sha256 and every document's, so a bundle older than
its source is refused (`bundle_problem`). JSON Schema `$id`-based resolution inside schemas is not followed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import ProfileError
from conformance.inputs.yamlfile import dotted, load_located_yaml, safe_load

__all__ = [
    "BUNDLED_KEY",
    "BUNDLE_INFO_KEY",
    "CACHE_ENV",
    "Bundle",
    "bundle_interface",
    "bundle_problem",
    "bundled_path",
    "cache_dir",
    "cache_path",
    "external_refs",
    "write_bundle",
]

CACHE_ENV = "CONFORMANCE_CACHE_DIR"
BUNDLED_KEY = "x-documents"  # not `x-bundled`: schemathesis keeps its own bundles under that key
BUNDLE_INFO_KEY = "x-conformance-bundle"
MAX_DOCUMENTS = 500  # documents one interface may pull in

Fetcher = Callable[[str], bytes]


def cache_dir(option: Path | str | None = None) -> Path:
    """The reference cache: `option`, else $CONFORMANCE_CACHE_DIR, else the user's cache folder."""
    if option:
        return Path(option).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "conformance" / "references"


def cache_path(cache: Path, url: str) -> Path:
    """Where the cache keeps the document at `url`: `<cache>/<scheme>/<host>/<path>` (a query adds a digest)."""
    parts = urllib.parse.urlsplit(url)
    segments = [s for s in parts.path.split("/") if s not in ("", ".", "..")]
    if not segments or parts.path.endswith("/"):
        segments.append("index")
    if parts.query:
        segments[-1] += "_" + hashlib.sha256(parts.query.encode()).hexdigest()[:12]
    host = re.sub(r"[^A-Za-z0-9._-]", "_", parts.netloc)
    return cache.joinpath(parts.scheme, host, *(re.sub(r"[^A-Za-z0-9._~-]", "_", s) for s in segments))


def bundled_path(source: Path | str) -> Path:
    """The bundled copy of an interface: `openapi.yaml` -> `openapi.bundled.yaml`, next to it."""
    source = Path(source)
    return source.with_name(f"{source.stem}.bundled.yaml")


def external_refs(document: Any) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """Every `$ref` of the document that leads outside it, with the key path where it is written."""
    for ref, where in _refs(document, ()):
        if not ref.startswith("#"):
            yield ref, where


def _refs(node: Any, where: tuple[str | int, ...]) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value, (*where, key)
            else:
                yield from _refs(value, (*where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, (*where, index))


@dataclass(frozen=True)
class Document:
    uri: str  # without fragment
    origin: str  # "file", "cache" or "fetched"
    sha256: str


@dataclass
class Bundle:
    """A self-contained interface and the documents it was made from."""

    document: dict[str, Any]
    documents: list[Document] = field(default_factory=list)


@dataclass
class _Bundler:
    source: Path
    cache: Path
    fetch: Fetcher | None  # None: offline (the disk and the cache only)
    fix: str
    root_uri: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    parsed: dict[str, Any] = field(default_factory=dict)
    documents: list[Document] = field(default_factory=list)
    queue: list[tuple[str, str, str, tuple[str | int, ...]]] = field(default_factory=list)
    done: set[tuple[str, str]] = field(default_factory=set)
    copies: dict[str, Any] = field(default_factory=dict)

    def key(self, uri: str) -> str:
        if uri not in self.keys:
            parts = urllib.parse.urlsplit(uri)
            name = (parts.netloc + parts.path) if parts.scheme != "file" else Path(parts.path).name
            slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "document"
            taken = set(self.keys.values())
            candidate, n = slug, 2
            while candidate in taken:
                candidate, n = f"{slug}_{n}", n + 1
            self.keys[uri] = candidate
        return self.keys[uri]

    def rewrite(self, node: Any, base: str, label: str, where: tuple[str | int, ...]) -> Any:
        """A copy of `node` (written in the document at `base`) with every `$ref` made internal to the bundle."""
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    out[key] = self.internal(value, base, label, (*where, key))
                else:
                    out[key] = self.rewrite(value, base, label, (*where, key))
            return out
        if isinstance(node, list):
            return [self.rewrite(v, base, label, (*where, i)) for i, v in enumerate(node)]
        return node

    def internal(self, ref: str, base: str, label: str, where: tuple[str | int, ...]) -> str:
        absolute = urllib.parse.urljoin(base, ref)
        uri, _, fragment = absolute.partition("#")
        pointer = urllib.parse.unquote(fragment)
        if pointer and not pointer.startswith("/"):
            raise self.error(f"$ref {ref!r}: the fragment '#{fragment}' is not a JSON pointer", label, where,
                             "refer to a part of a document as `document#/path/to/it`")
        if uri == self.root_uri:
            return "#" + pointer
        scheme = urllib.parse.urlsplit(uri).scheme
        if scheme not in ("file", "http", "https"):
            raise self.error(f"$ref {ref!r}: only http(s) and relative file references can be bundled", label,
                             where, "refer to the document by an https:// URL or a path relative to this file")
        if scheme == "file" and urllib.parse.urlsplit(base).scheme != "file":
            raise self.error(f"$ref {ref!r}: a remote document may not refer to a file on this machine", label,
                             where, "bundle only documents you trust; report the reference to its publisher")
        self.queue.append((uri, pointer, label, where))
        return f"#/{BUNDLED_KEY}/{_escape(self.key(uri))}{pointer}"

    def shown(self, uri: str) -> str:
        """A file document as a path relative to the interface (the bundle names no folder of this machine)."""
        if not uri.startswith("file:"):
            return uri
        path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(uri).path))
        return Path(os.path.relpath(path, self.source.resolve().parent)).as_posix()

    def error(self, message: str, label: str, where: tuple[str | int, ...], fix: str) -> ProfileError:
        line = None
        if label == str(self.source):
            try:
                line = load_located_yaml(self.source, error=ProfileError).line_of(list(where))
            except ProfileError:
                line = None
        return ProfileError(message, file=label, line=line, key=dotted(list(where)) or None, fix=fix)

    def load(self, uri: str, ref_label: str, where: tuple[str | int, ...]) -> Any:
        if uri in self.parsed:
            return self.parsed[uri]
        if len(self.parsed) >= MAX_DOCUMENTS:
            raise self.error(f"the interface pulls in more than {MAX_DOCUMENTS} documents", ref_label, where,
                             "trim the interface to what the profile tests")
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme == "file":
            path = Path(urllib.request.url2pathname(parts.path))
            try:
                content, origin = path.read_bytes(), "file"
            except OSError as exc:
                raise self.error(f"the referenced file {path} cannot be read ({exc.strerror})", ref_label, where,
                                 "fix the path (relative to the file that refers to it)") from None
        else:
            cached = cache_path(self.cache, uri)
            if cached.is_file():
                content, origin = cached.read_bytes(), "cache"
            elif self.fetch is None:
                raise self.error(f"the remote document {uri} is not in the reference cache ({cached})", ref_label,
                                 where, self.fix)
            else:
                try:
                    content = self.fetch(uri)
                except OSError as exc:
                    raise self.error(f"the remote document {uri} could not be fetched: {exc}", ref_label, where,
                                     f"check the URL and the network, or save the document as {cached} and bundle "
                                     "with --offline") from None
                _store(cached, content)
                origin = "fetched"
        try:
            data = _parse(content)
        except ValueError as exc:
            raise self.error(f"the referenced document {uri} is neither JSON nor YAML: {exc}", ref_label, where,
                             "refer to an OpenAPI or JSON Schema document") from None
        self.parsed[uri] = data
        self.documents.append(Document(uri, origin, hashlib.sha256(content).hexdigest()))
        return data

    def run(self) -> Bundle:
        self.root_uri = self.source.resolve().as_uri()
        raw = self.source.read_bytes()
        try:
            root = _parse(raw)
        except ValueError as exc:
            raise ProfileError(f"the interface is neither JSON nor YAML: {exc}", file=str(self.source),
                               fix="fix the file (`conformance profiles lint` locates the problem)") from None
        if not isinstance(root, dict):
            raise ProfileError("the interface is not a mapping", file=str(self.source), line=1,
                               fix="start it with `openapi: 3.1.0`")
        root.pop(BUNDLED_KEY, None)
        root.pop(BUNDLE_INFO_KEY, None)
        out = self.rewrite(root, self.root_uri, str(self.source), ())
        while self.queue:
            uri, pointer, label, where = self.queue.pop(0)
            if (uri, pointer) in self.done:
                continue
            self.done.add((uri, pointer))
            document = self.load(uri, label, where)
            try:
                target = _resolve_pointer(document, pointer)
            except LookupError:
                raise self.error(f"$ref: {uri} has nothing at '#{pointer}'", label, where,
                                 "fix the pointer after '#'") from None
            label = urllib.request.url2pathname(urllib.parse.urlsplit(uri).path) if uri.startswith("file:") else uri
            copied = self.rewrite(target, uri, label, tuple(_tokens(pointer)))
            _place(self.copies.setdefault(self.key(uri), {}), pointer, copied, self.copies, self.key(uri))
        if self.copies:
            out[BUNDLED_KEY] = self.copies
        out[BUNDLE_INFO_KEY] = {
            "note": "written by `conformance profiles bundle`; do not edit: edit the source and bundle again",
            "source": self.source.name, "source_sha256": hashlib.sha256(raw).hexdigest(),
            "documents": [{"uri": self.shown(d.uri), "sha256": d.sha256, "key": self.keys[d.uri]}
                          for d in self.documents]}
        return Bundle(out, list(self.documents))


def bundle_interface(source: Path, *, cache: Path, fetch: Fetcher | None, fix: str) -> Bundle:
    """The self-contained form of the interface at `source` (raises a located `ProfileError` naming any document
    that cannot be had: `fix` is what the user is told to do about a remote one missing offline)."""
    return _Bundler(source, cache, fetch, fix).run()


def write_bundle(source: Path, bundle: Bundle) -> Path:
    """Write the bundle next to its source (atomically) and return its path."""
    target = bundled_path(source)
    text = ("# Bundled from " + source.name + " by `conformance profiles bundle`: self-contained, do not edit.\n"
            + yaml.safe_dump(bundle.document, sort_keys=False, allow_unicode=True, width=120))
    _store(target, text.encode("utf-8"))
    return target


def bundle_problem(source: Path) -> str | None:
    """Why the bundled copy of `source` cannot be used (None when it can): missing, unreadable, or made from an
    older source or local file (a file no longer there is not a problem: the copy holds what was used)."""
    target = bundled_path(source)
    if not target.is_file():
        return f"it has no bundled copy ({target.name})"
    try:
        info = (_parse(target.read_bytes()) or {}).get(BUNDLE_INFO_KEY) or {}
    except (ValueError, AttributeError):
        return f"its bundled copy {target.name} is unreadable"
    if info.get("source_sha256") != hashlib.sha256(source.read_bytes()).hexdigest():
        return f"its bundled copy {target.name} was made from an older {source.name}"
    for entry in info.get("documents") or []:
        uri = str(entry.get("uri", ""))
        if "://" not in uri:  # a file, relative to the interface: stale if it is here and changed
            path = source.parent / uri
            if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != entry.get("sha256"):
                return f"its bundled copy {target.name} was made from an older {uri}"
    return None


def _parse(content: bytes) -> Any:
    text = content.decode("utf-8-sig", errors="strict") if content else ""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(" ".join(str(exc).split())[:300]) from None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]] if pointer else []


def _resolve_pointer(document: Any, pointer: str) -> Any:
    node = document
    for token in _tokens(pointer):
        if isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                raise LookupError(token)
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise LookupError(token)
    return node


def _place(container: dict[str, Any], pointer: str, value: Any, copies: dict[str, Any], key: str) -> None:
    """Put `value` at `pointer` of a document's sparse copy (missing parents become mappings)."""
    tokens = _tokens(pointer)
    if not tokens:
        copies[key] = copy.deepcopy(value) if not isinstance(value, dict) else {**value, **{
            k: v for k, v in container.items() if k not in value}}
        return
    node: Any = container
    for token in tokens[:-1]:
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            node = node.setdefault(token, {})
    if isinstance(node, list):
        node[int(tokens[-1])] = value
    else:
        node[tokens[-1]] = value


def _store(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)
