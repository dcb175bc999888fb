"""Read YAML keeping the line of every key, so errors can say `file:line: key: ...`.

Every reader here is safe against hostile files: aliases may add at most `MAX_ALIAS_NODES` nodes to a document
(a "billion laughs" is refused at once, before anything is expanded), a recursive alias, a tag PyYAML's safe
loader does not know (`!!python/name:`), an impossible date and a number that is not finite (`.nan`, `.inf`)
are located usage errors, never a traceback and never a value.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from conformance.errors import ProfileError, UsageError

__all__ = ["MAX_ALIAS_NODES", "LocatedYaml", "dotted", "explain_schema_error", "load_located_yaml", "safe_load"]

PathKey = tuple[str | int, ...]
# libyaml's parser when PyYAML was built with it (the wheels are): the same documents, marks and errors, about
# ten times faster than the pure-Python one. Profiles, scenarios and interfaces are read on every run.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# How many nodes aliases may add to a document when expanded. The largest shipped document has no alias at all;
# nine levels of nine aliases would add 387 million.
MAX_ALIAS_NODES = 100_000


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, with libyaml when available, refusing documents whose aliases expand past
    `MAX_ALIAS_NODES` (raises yaml.YAMLError, as a malformed document does)."""
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problem = _alias_problem(node)
        if problem is not None:
            raise yaml.YAMLError(f"line {problem[1]}: {problem[0]}")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _alias_problem(root: yaml.Node) -> tuple[str, int] | None:
    """(what is wrong, line) when aliases make the document recursive or expand it by more than
    `MAX_ALIAS_NODES` nodes; None otherwise. Sizes are memoised per node, so this costs one pass over the
    composed graph however far the aliases would expand."""
    sizes: dict[int, int] = {}
    biggest: list[tuple[int, int]] = []  # (expanded size, line) of every node reached a second time
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in open_:
            return ("a YAML alias refers to a node that contains it (a recursive alias)",
                    node.start_mark.line + 1)
        if key in sizes:
            biggest.append((sizes[key], node.start_mark.line + 1))
            continue
        open_.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))
    total = sizes[id(root)]
    added = total - len(sizes)
    if added > MAX_ALIAS_NODES:
        line = max(biggest)[1] if biggest else root.start_mark.line + 1
        return (f"YAML aliases would expand the document by {added} nodes (the limit is {MAX_ALIAS_NODES}; the "
                f"largest aliased anchor starts here)", line)
    return None


@dataclass(frozen=True)
class LocatedYaml:
    """A parsed YAML document and the 1-based line of every key or list item in it."""

    data: Any
    lines: dict[PathKey, int]
    file: str

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)


def dotted(path: Sequence[str | int]) -> str:
    """`requirements[3].check.kind` from ('requirements', 3, 'check', 'kind')."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_located_yaml(path: Path, *, error: type[UsageError]) -> LocatedYaml:
    """Parse `path`; raise `error` (a located UsageError) on unreadable, malformed or duplicate-key YAML."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error("file not found", file=name, fix="check the path") from None  # type: ignore[call-arg]
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read: {exc}", file=name, fix="make it a readable UTF-8 file") from None  # type: ignore[call-arg]
    try:
        node = yaml.compose(text, Loader=_SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise error(  # type: ignore[call-arg]
            f"invalid YAML: {exc.problem or exc.context}", file=name, line=line,
            fix="fix the YAML syntax (indentation, quoting, a missing ':')",
        ) from None
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", file=name, fix="fix the YAML syntax") from None  # type: ignore[call-arg]
    except RecursionError:
        raise error("YAML nested too deeply", file=name, fix="flatten the document") from None  # type: ignore[call-arg]
    lines: dict[PathKey, int] = {}
    if node is None:
        return LocatedYaml(None, {(): 1}, name)
    problem = _alias_problem(node)
    if problem is not None:
        raise error(problem[0], file=name, line=problem[1],  # type: ignore[call-arg]
                    fix="write the repeated part out, or use fewer nested aliases")
    lines[()] = node.start_mark.line + 1
    constructor = yaml.SafeLoader("")  # builds scalars (dates, numbers, booleans) the way safe_load does
    try:
        data = _convert(node, (), lines, name, error, constructor)
    except RecursionError:
        raise error("YAML nested too deeply", file=name, fix="flatten the document") from None  # type: ignore[call-arg]
    finally:
        constructor.dispose()
    return LocatedYaml(data, lines, name)


_PLAIN_COLLECTIONS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _convert(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], file: str,
             error: type[UsageError], constructor: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_COLLECTIONS:
        raise error(f"the tag {node.tag} is not allowed here", file=file,  # type: ignore[call-arg]
                    line=node.start_mark.line + 1, key=dotted(path), fix="remove the tag")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise error(  # type: ignore[call-arg]
                    "a key must be a plain string", file=file, line=key_node.start_mark.line + 1,
                    key=dotted(path), fix="write the key as text",
                )
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                raise error(  # type: ignore[call-arg]
                    "duplicate key", file=file, line=key_node.start_mark.line + 1, key=dotted(child),
                    fix="remove one of the two entries",
                )
            lines[child] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, child, lines, file, error, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            items.append(_convert(item, child, lines, file, error, constructor))
        return items
    line = node.start_mark.line + 1
    try:
        value = constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"invalid YAML value: {problem}", file=file, line=line,  # type: ignore[call-arg]
                    key=dotted(path), fix="write a plain string, number, boolean or date (no tags)") from None
    except (ValueError, OverflowError) as exc:  # a timestamp that matches the pattern but is no date (2027-02-30)
        raise error(f"{node.value!r} cannot be read: {exc}", file=file, line=line,  # type: ignore[call-arg]
                    key=dotted(path), fix="write a real date (YYYY-MM-DD) or quote the text") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise error(f"{value} is not a number this harness accepts", file=file, line=line,  # type: ignore[call-arg]
                    key=dotted(path), fix="write a finite number") from None
    return value


def explain_schema_error(error: jsonschema.ValidationError, doc: LocatedYaml, *,
                         schema_name: str = "schemas/profile.schema.json") -> Iterator[ProfileError]:
    """One JSON Schema error as located, fixable problems (ProfileErrors; a caller re-raises them as its own
    kind of error with the same file, line, key and fix)."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed)):
            close = difflib.get_close_matches(key, allowed, n=1)
            fix = f"did you mean '{close[0]}'?" if close else f"allowed keys here: {', '.join(allowed)}"
            yield ProfileError("unknown key", file=doc.file, line=doc.line_of([*path, key]),
                               key=dotted([*path, key]), fix=fix)
        return
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield ProfileError(f"missing required key '{missing}'", file=doc.file, line=doc.line_of(path),
                           key=dotted(path), fix=f"add '{missing}' (see {schema_name})")
        return
    if error.validator in ("enum", "const"):
        value: Any = error.validator_value
        options: list[Any] = list(value) if error.validator == "enum" else [value]
        words = [str(o) for o in options]
        close = difflib.get_close_matches(str(error.instance), words, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(words)}"
        yield ProfileError(f"'{error.instance}' is not allowed", file=doc.file, line=doc.line_of(path),
                           key=dotted(path), fix=fix)
        return
    description = schema.get("description")
    fix = f"expected: {description}" if description else f"see {schema_name}"
    yield ProfileError(error.message.splitlines()[0], file=doc.file, line=doc.line_of(path),
                       key=dotted(path), fix=fix)
