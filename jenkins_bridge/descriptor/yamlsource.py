"""Safe YAML loading that keeps where every value came from.

PyYAML alone accepts duplicate keys silently, expands aliases without limit and forgets positions
once it builds Python objects. Here we compose the node graph (aliases stay shared nodes, so a
"billion laughs" document costs nothing to compose) and walk it ourselves: duplicates become
errors, expansion is budgeted, and every value's ``file:line:column`` is kept for messages.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from jenkins_bridge.errors import Problem

try:  # the C parser is several times faster; positions are the same
    from yaml import CSafeLoader as _ParserLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _ParserLoader  # type: ignore[assignment]

# The parser asks for the tag of every node (a Python call, a few regexes for a plain
# scalar): the answer depends on nothing but these arguments, and keys and small values
# repeat across descriptors. Bounded: cleared when full.
_RESOLVED: dict[tuple[Any, Any, Any], str] = {}
_RESOLVED_MAX = 4096


class _Loader(_ParserLoader):
    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        key = (kind, value, implicit)
        tag = _RESOLVED.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            if len(_RESOLVED) >= _RESOLVED_MAX:
                _RESOLVED.clear()
            _RESOLVED[key] = tag
        return tag


# A cached tag would be wrong if a resolver depended on where a node is (a path resolver).
assert not _ParserLoader.yaml_path_resolvers

KeyPath = tuple[str | int, ...]  # keys and list indexes from a document's root
Position = tuple[str, int, int]  # file, line, column (1-based)

MAX_BYTES = 1_000_000
MAX_NODES = 50_000  # values produced after alias expansion; real descriptors use < 500
MAX_DEPTH = 64

# C0 controls except tab and newline, DEL, C1 controls, lone surrogates, non-characters.
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# What a key may not hold and a message may not print raw: the characters above, tab and
# newline, and the bidirectional controls that make text read differently from what it is.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)

_STR_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}
_SCALAR = yaml.ScalarNode


@dataclass
class LoadedDocument:
    """A YAML mapping as plain data, plus the composed node tree to locate any value in.

    Positions are looked up only when a problem is reported, so loading a valid descriptor
    pays nothing for them. ``fallback`` is the ``_defaults.yaml`` merged under this document
    (itself with the ones above it as its fallback): values that came from there are located
    there.
    """

    file: str
    data: dict[str, Any]
    root: Any = None
    fallback: LoadedDocument | None = None

    def where(self, path: KeyPath, *, key: bool = False) -> Position:
        """Best position for ``path``: the key or value itself, else its nearest ancestor."""
        chain = []  # this document, then the _defaults.yaml files nearest first
        doc: LoadedDocument | None = self
        while doc is not None:
            chain.append(doc)
            doc = doc.fallback
        probe = path
        while True:
            for doc in chain:
                if doc.root is not None:
                    found = _locate(doc.root, probe, key=key)
                    if found is not None:
                        return (doc.file, found[0], found[1])
            if not probe:
                return (self.file, 1, 1)
            probe = probe[:-1]


def _locate(root: Any, path: KeyPath, *, key: bool) -> tuple[int, int] | None:
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


def visible(text: str) -> str:
    """``text`` safe to print on one terminal line: control characters as ``\\x1b`` etc."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _INVISIBLE.sub(escape, text)


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
    data = _walk(node, file, budget, 0, _Merger(file, fail))
    assert isinstance(data, dict)
    return LoadedDocument(file=file, data=data, root=node)


def _walk(node: Any, file: str, budget: list[int], depth: int, merger: _Merger) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise merger.problem(
            f"document expands to more than {MAX_NODES} values (alias bomb?); "
            "descriptors should not need so many aliases",
            node.start_mark,
        )
    if depth > MAX_DEPTH:
        raise merger.problem(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark)

    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, file, merger.fail)
    if node.tag not in (_SEQ_TAG, _MAP_TAG):  # `!!python/object/apply:...` [...], `!!set`...
        raise merger.problem(
            f"tag '{visible(_short_tag(node.tag))}' is not supported", node.start_mark
        )
    if isinstance(node, yaml.SequenceNode):
        return [
            _plain_text(child, budget, depth + 1) or _walk(child, file, budget, depth + 1, merger)
            for child in node.value
        ]
    assert isinstance(node, yaml.MappingNode)
    result: dict[str, Any] = {}
    pairs = merger.pairs(node)
    for key_node, value_node in pairs:
        if not isinstance(key_node, yaml.ScalarNode):
            raise merger.problem("mapping keys must be plain strings", key_node.start_mark)
        # Keys stay as written: YAML 1.1 would turn `on:` or `yes:` into booleans.
        key = str(key_node.value)
        bad = _INVISIBLE.search(key)
        if bad is not None:  # it would reach messages and terminals: refuse it, shown escaped
            raise merger.problem(
                f"key '{visible(key)}' holds control character U+{ord(bad.group()):04X}; "
                "keys are plain names",
                key_node.start_mark,
            )
        if key in result:
            first_node = next(k for k, _ in pairs if str(k.value) == key)
            first = _pos(file, first_node.start_mark)
            raise merger.problem(
                f"duplicate key '{key}' (first defined at line {first[1]}, column {first[2]})",
                key_node.start_mark,
            )
        result[key] = _plain_text(value_node, budget, depth + 1) or _walk(
            value_node, file, budget, depth + 1, merger
        )
    return result


def _plain_text(node: Any, budget: list[int], depth: int) -> str | None:
    """A non-empty text scalar that ``_walk`` would return as it is, taken without the call
    (most values are); None for anything else, which ``_walk`` then handles (and refuses)."""
    if node.__class__ is not _SCALAR or node.tag not in _STR_TAGS:
        return None
    text = node.value
    if not text or budget[0] <= 0 or depth > MAX_DEPTH or _FORBIDDEN.search(text) is not None:
        return None
    budget[0] -= 1
    return str(text)


_MERGE_TAG = "tag:yaml.org,2002:merge"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


def _merged_pairs(node: Any) -> list[tuple[Any, Any]]:
    """Key/value pairs of a mapping in a document already loaded (to locate a value there)."""
    pairs: list[tuple[Any, Any]] = node.value
    for key_node, _ in pairs:
        if key_node.tag == _MERGE_TAG:
            return _Merger("", None).pairs(node)
    return pairs  # no merge key: the pairs as they are (what _Merger.pairs returns for them)


class _Merger:
    """Key/value pairs of mappings with YAML merge keys (``<<: *base``) applied, own keys last.

    With ``fail`` (while loading), a merge of something other than mappings, a merge that
    includes the mapping itself (``a: &a {<<: *a}``) and one that expands past ``MAX_NODES``
    pairs are errors; without (when only locating a value), such merges are skipped. Each
    mapping is merged once, so aliases of merged mappings cost nothing more.
    """

    def __init__(self, file: str, fail: Any) -> None:
        self.file = file
        self.fail = fail
        self.done: dict[int, list[tuple[Any, Any]]] = {}
        self.active: set[int] = set()

    def problem(self, message: str, mark: Any) -> YamlProblem:
        """The loading error ``message``, located at ``mark``."""
        line, column = _pos(self.file, mark)[1:]
        problem: YamlProblem = self.fail(message, line, column)
        return problem

    def _refuse(self, message: str, mark: Any) -> None:
        if self.fail is not None:
            raise self.problem(message, mark)

    def pairs(self, node: Any) -> list[tuple[Any, Any]]:
        pairs: list[tuple[Any, Any]] = node.value
        for key_node, _ in pairs:
            if key_node.tag == _MERGE_TAG and isinstance(key_node, yaml.ScalarNode):
                break
        else:
            return pairs  # the common case: no merge keys
        if id(node) in self.done:
            return self.done[id(node)]
        self.active.add(id(node))
        try:
            result = self._merge(pairs)
        finally:
            self.active.discard(id(node))
        self.done[id(node)] = result
        return result

    def _merge(self, pairs: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        own_pairs: list[tuple[Any, Any]] = []
        merged: list[tuple[Any, Any]] = []
        taken: set[object] = set()
        for key_node, value_node in pairs:
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE_TAG):
                own_pairs.append((key_node, value_node))
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self._refuse(
                        "'<<' merge needs a mapping or a list of mappings", source.start_mark
                    )
                elif id(source) in self.active:
                    self._refuse(
                        "'<<' merges a mapping into itself (the alias refers to a mapping "
                        "that contains this merge)",
                        key_node.start_mark,
                    )
                else:
                    # Sources listed earlier win (YAML merge spec); keys repeated within one
                    # source stay, so that walking them reports the duplicate.
                    pairs_of_source = self.pairs(source)
                    merged.extend(p for p in pairs_of_source if _key(p[0]) not in taken)
                    taken.update(_key(k) for k, _ in pairs_of_source)
                    if len(merged) > MAX_NODES:
                        self._refuse(
                            f"'<<' merges expand to more than {MAX_NODES} keys (alias bomb?)",
                            source.start_mark,
                        )
                        return []
        own = {k.value for k, _ in own_pairs if isinstance(k, yaml.ScalarNode)}
        kept = [
            (k, v) for k, v in merged if not (isinstance(k, yaml.ScalarNode) and k.value in own)
        ]
        return kept + own_pairs


_constructor = yaml.SafeLoader("")


def _key(node: Any) -> object:
    """A mapping key to compare merged keys by (a node that is not a scalar never matches)."""
    return node.value if isinstance(node, yaml.ScalarNode) else node


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


# The plain scalar types, constructed by SafeConstructor's own functions: construct_object
# would also remember every node it built in the shared constructor (for aliases), so a
# worker's memory grew with every number and boolean of every descriptor it read.
_SCALAR_CONSTRUCTORS = {
    tag: yaml.SafeLoader.yaml_constructors[tag]
    for tag in (
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
    )
}


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
    construct = _SCALAR_CONSTRUCTORS.get(node.tag)
    try:
        if construct is not None:
            value = construct(_constructor, node)
        else:
            value = _constructor.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        # An unknown or unsafe tag (e.g. !!python/object); never a constructor we run.
        line, column = _pos(file, node.start_mark)[1:]
        raise fail(f"tag '{visible(_short_tag(node.tag))}' is not supported", line, column) from exc
    except (yaml.YAMLError, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        # PyYAML's constructors trust the tag: `!!int abc` or `!!float ""` raise plain errors.
        line, column = _pos(file, node.start_mark)[1:]
        raise fail(
            f"'{_written(node)}' is not a valid {visible(_short_tag(node.tag))} value",
            line,
            column,
        ) from exc
    if isinstance(value, float) and not math.isfinite(value):
        line, column = _pos(file, node.start_mark)[1:]
        raise fail(f"'{_written(node)}' is not a finite number", line, column)
    return value


def _written(node: Any) -> str:
    """A scalar as written, safe and short enough for a message."""
    written = visible(str(node.value))
    return written if len(written) <= 40 else written[:37] + "..."
