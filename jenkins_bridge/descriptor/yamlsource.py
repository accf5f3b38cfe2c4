"""Safe YAML loading that keeps where every value came from.

PyYAML alone accepts duplicate keys silently, expands aliases without limit and forgets positions
once it builds Python objects. Here we compose the node graph (aliases stay shared nodes, so a
"billion laughs" document costs nothing to compose) and walk it ourselves: duplicates become
errors, expansion is budgeted, and every value's ``file:line:column`` is kept for messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from jenkins_bridge.errors import Problem

try:  # the C parser is several times faster; positions are the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[str | int, ...]
Position = tuple[str, int, int]  # file, line, column (1-based)

MAX_BYTES = 1_000_000
MAX_NODES = 50_000  # values produced after alias expansion; real descriptors use < 500
MAX_DEPTH = 64

# C0 controls except tab and newline, DEL, C1 controls, lone surrogates, non-characters.
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

_STR_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}


@dataclass
class LoadedDocument:
    """A YAML mapping as plain data, plus the composed node tree to locate any value in.

    Positions are looked up only when a problem is reported, so loading a valid descriptor
    pays nothing for them. ``fallback`` is the ``_defaults.yaml`` merged under this document:
    values that came from there are located there.
    """

    file: str
    data: dict[str, Any]
    root: Any = None
    fallback: LoadedDocument | None = None

    def where(self, path: Path, *, key: bool = False) -> Position:
        """Best position for ``path``: the key or value itself, else its nearest ancestor."""
        probe = path
        while True:
            for doc in (self, self.fallback):
                if doc is not None and doc.root is not None:
                    found = _locate(doc.root, probe, key=key)
                    if found is not None:
                        return (doc.file, found[0], found[1])
            if not probe:
                return (self.file, 1, 1)
            probe = probe[:-1]


def _locate(root: Any, path: Path, *, key: bool) -> tuple[int, int] | None:
    node = root
    mark = root.start_mark
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = None
            for key_node, value_node in _merged_pairs(node):
                if isinstance(key_node, yaml.ScalarNode) and str(key_node.value) == part:
                    match = (key_node, value_node)  # the last one wins, as in _walk
            if match is None:
                return None
            mark = match[0].start_mark if key else match[1].start_mark
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return None
            node = node.value[part]
            mark = node.start_mark
        else:
            return None
    if not key or not path:
        mark = node.start_mark
    return (int(mark.line) + 1, int(mark.column) + 1)


class YamlProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _where(data: bytes, needle: bytes | None, offset: int | None = None) -> tuple[int, int]:
    """1-based line and column of a byte offset (or of the first ``needle``)."""
    at = data.find(needle) if needle is not None else (offset or 0)
    line = data.count(b"\n", 0, at) + 1
    column = at - (data.rfind(b"\n", 0, at) + 1) + 1
    return line, column


def _pos(file: str, mark: Any) -> Position:
    return (file, int(mark.line) + 1, int(mark.column) + 1)


def load_yaml_mapping(text: bytes | str, file: str) -> LoadedDocument:
    """Parse one YAML document that must be a mapping; raise ``YamlProblem`` with a location."""

    def fail(message: str, line: int | None = None, column: int | None = None) -> YamlProblem:
        return YamlProblem(Problem("yaml", message, file, line, column))

    if isinstance(text, bytes):
        raw = text
        if len(raw) > MAX_BYTES:
            raise fail(f"file is larger than {MAX_BYTES // 1000} kB; is this a descriptor?", 1, 1)
        if b"\x00" in raw:
            raise fail("file is binary (it holds NUL bytes), not YAML text", *_where(raw, b"\x00"))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, column = _where(raw, None, exc.start)
            raise fail(
                f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x})", line, column
            ) from exc
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise fail("file is empty; a descriptor needs at least apiVersion, kind and metadata", 1, 1)

    loader = _Loader(text)
    try:
        node = loader.get_node() if loader.check_node() else None
        if node is not None and loader.check_node():
            second = loader.get_node()
            where = _pos(file, second.start_mark) if second is not None else (file, 1, 1)
            raise fail(
                "file holds more than one YAML document ('---'); put one service per file",
                where[1],
                where[2],
            )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.problem:
            context = exc.context
            if exc.context_mark is not None and exc.context_mark is not exc.problem_mark:
                context += f" that starts at line {exc.context_mark.line + 1}"
                context += f", column {exc.context_mark.column + 1}"
                if "end of stream" in str(exc.problem):
                    # An unclosed quote or bracket: where it opens is what the user must fix.
                    mark = exc.context_mark
            message += f" ({context})"
        if mark is not None:
            raise fail(message, mark.line + 1, mark.column + 1) from exc
        raise fail(message) from exc
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise fail(
            f"character U+{ord(char):04X} is not allowed in YAML (control characters are not)",
            line,
            column,
        ) from exc
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above carries a mark
        raise fail(f"YAML error: {str(exc).splitlines()[0]}", 1, 1) from exc
    finally:
        loader.dispose()

    if node is None:
        raise fail("file is empty; a descriptor needs at least apiVersion, kind and metadata", 1, 1)
    if not isinstance(node, yaml.MappingNode):
        line, column = _pos(file, node.start_mark)[1:]
        raise fail(
            "a descriptor must be a YAML mapping (key: value) at the top level", line, column
        )

    budget = [MAX_NODES]
    data = _walk(node, file, budget, 0, fail)
    assert isinstance(data, dict)
    return LoadedDocument(file=file, data=data, root=node)


def _walk(node: Any, file: str, budget: list[int], depth: int, fail: Any) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        line, column = _pos(file, node.start_mark)[1:]
        raise fail(
            f"document expands to more than {MAX_NODES} values (alias bomb?); "
            "descriptors should not need so many aliases",
            line,
            column,
        )
    if depth > MAX_DEPTH:
        line, column = _pos(file, node.start_mark)[1:]
        raise fail(f"nesting deeper than {MAX_DEPTH} levels", line, column)

    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, file, fail)
    if isinstance(node, yaml.SequenceNode):
        return [_walk(child, file, budget, depth + 1, fail) for child in node.value]
    assert isinstance(node, yaml.MappingNode)
    result: dict[str, Any] = {}
    seen: dict[str, Any] = {}
    for key_node, value_node in _merged_pairs(node, fail, file):
        if not isinstance(key_node, yaml.ScalarNode):
            line, column = _pos(file, key_node.start_mark)[1:]
            raise fail("mapping keys must be plain strings", line, column)
        # Keys stay as written: YAML 1.1 would turn `on:` or `yes:` into booleans.
        key = str(key_node.value)
        if key in seen:
            first = _pos(file, seen[key].start_mark)
            line, column = _pos(file, key_node.start_mark)[1:]
            raise fail(
                f"duplicate key '{key}' (first defined at line {first[1]}, column {first[2]})",
                line,
                column,
            )
        seen[key] = key_node
        result[key] = _walk(value_node, file, budget, depth + 1, fail)
    return result


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _merged_pairs(node: Any, fail: Any = None, file: str = "") -> list[tuple[Any, Any]]:
    """Key/value pairs of a mapping with YAML merge keys (``<<: *base``) applied, own keys last.

    With ``fail``, a merge of something other than mappings is an error; without (when only
    locating a value in a document already loaded), it is skipped.
    """
    pairs: list[tuple[Any, Any]] = node.value
    if not any(k.tag == _MERGE_TAG for k, _ in pairs if isinstance(k, yaml.ScalarNode)):
        return pairs  # the common case: no merge keys
    own_pairs: list[tuple[Any, Any]] = []
    merged: list[tuple[Any, Any]] = []
    for key_node, value_node in pairs:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE_TAG:
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    if fail is None:
                        continue
                    line, column = _pos(file, source.start_mark)[1:]
                    raise fail("'<<' merge needs a mapping or a list of mappings", line, column)
                merged.extend(_merged_pairs(source, fail, file))
            continue
        own_pairs.append((key_node, value_node))
    own = {k.value for k, _ in own_pairs if isinstance(k, yaml.ScalarNode)}
    return [(k, v) for k, v in merged if k.value not in own] + own_pairs


_constructor = yaml.SafeLoader("")


def _scalar(node: Any, file: str, fail: Any) -> Any:
    if node.tag in _STR_TAGS:
        text = str(node.value)
        bad = _FORBIDDEN.search(text)
        if bad is not None:
            line, column = _pos(file, node.start_mark)[1:]
            raise fail(
                f"control character U+{ord(bad.group()):04X} is not allowed in a value "
                "(Jenkins names and XML 1.0 reject it)",
                line,
                column,
            )
        return text
    try:
        return _constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        line, column = _pos(file, node.start_mark)[1:]
        raise fail(f"bad value: {exc}", line, column) from exc
