"""Exported-bean model and the api/json pruners of Stapler's export layer.

Jenkins serialises @Exported getters through org.kohsuke.stapler.export; this module mirrors
the parts that decide the *shape* of api/json: which properties appear (tree=/depth=), when
`_class` is written, and `{m,n}` ranges on collections.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]

# Property values may be computed lazily: a root listing with thousands of jobs should only
# build what the pruner lets through.
ExportValue = object


class TreeSyntaxError(ValueError):
    """A malformed `tree=` parameter; Jenkins answers it with 500."""


@dataclass(frozen=True)
class Prop:
    """One @Exported property. `declared` is the Java type the getter declares for beans."""

    name: str
    value: ExportValue
    visibility: int = 1
    declared: str | None = None


@dataclass(frozen=True)
class Bean:
    """An exported object: its Java class name and its properties in Stapler's order."""

    class_name: str
    props: Sequence[Prop]


@dataclass(frozen=True)
class Range:
    """mirrors org.kohsuke.stapler.export.Range: [start, end) over a collection."""

    start: int = 0
    end: int | None = None

    def apply(self, items: Sequence[object]) -> Sequence[object]:
        return items[self.start : self.end]


ALL = Range()


class Pruner(Protocol):
    def accept(self, prop: Prop) -> Pruner | None: ...

    @property
    def range(self) -> Range: ...


@dataclass
class ByDepth:
    """mirrors org.kohsuke.stapler.export.TreePruner.ByDepth: `depth=d` is ByDepth(1 - d)."""

    n: int
    _next: ByDepth | None = None

    def accept(self, prop: Prop) -> ByDepth | None:
        if prop.visibility < self.n:
            return None
        if self._next is None:
            self._next = ByDepth(self.n + 1)
        return self._next

    @property
    def range(self) -> Range:
        return ALL


@dataclass
class TreeNode:
    children: dict[str, TreeNode] = field(default_factory=dict)
    range: Range = ALL


@dataclass(frozen=True)
class NamedPath:
    """mirrors org.kohsuke.stapler.export.NamedPathPruner (the `tree=` parameter)."""

    node: TreeNode

    def accept(self, prop: Prop) -> NamedPath | None:
        sub = self.node.children.get(prop.name) or self.node.children.get("*")
        return NamedPath(sub) if sub is not None else None

    @property
    def range(self) -> Range:
        return self.node.range

    @classmethod
    def parse(cls, spec: str) -> NamedPath:
        return cls(_TreeParser(spec).parse())


_DELIMS = ",[]{}"
_NUMBER = re.compile(r"[0-9]+")


class _TreeParser:
    """Recursive descent over `name[sub]{m,n},...`, with the same grammar as NamedPathPruner."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> TreeNode:
        root = TreeNode()
        self._list(root)
        if self.pos != len(self.text):
            raise TreeSyntaxError(f"expected EOF at {self.pos}")
        return root

    def _peek(self) -> str:
        """A delimiter character, "" at the end, or a whole name token."""
        if self.pos == len(self.text):
            return ""
        ch = self.text[self.pos]
        if ch in _DELIMS:
            return ch
        end = len(self.text)
        for d in _DELIMS:
            x = self.text.find(d, self.pos)
            if x != -1:
                end = min(end, x)
        return self.text[self.pos : end]

    def _accept(self, delim: str) -> bool:
        if self.pos < len(self.text) and self.text[self.pos] == delim:
            self.pos += 1
            return True
        return False

    def _expect(self, delim: str) -> None:
        if not self._accept(delim):
            raise TreeSyntaxError(f"expected {delim!r} at {self.pos}")

    def _number(self) -> int:
        tok = self._peek()
        if tok in ("", *_DELIMS) or not _NUMBER.fullmatch(tok):
            raise TreeSyntaxError(f"expected number at {self.pos}")
        self.pos += len(tok)
        return int(tok)

    def _list(self, node: TreeNode) -> None:
        self._node(node)
        if self._accept(","):
            self._list(node)

    def _node(self, parent: TreeNode) -> None:
        tok = self._peek()
        if tok == "" or tok in _DELIMS:
            raise TreeSyntaxError(f"expected name at {self.pos}")
        self.pos += len(tok)
        sub = TreeNode()
        parent.children[tok] = sub
        if self._accept("["):
            self._list(sub)
            self._expect("]")
        if self._accept("{"):
            sub.range = self._range()
            self._expect("}")

    def _range(self) -> Range:
        if self._accept(","):
            return Range(0, self._number())  # {,M}
        start = self._number()
        if self._peek() == "}":
            return Range(start, start + 1)  # {N}
        self._expect(",")
        if self._peek() == "}":
            return Range(start, None)  # {N,}
        return Range(start, self._number())  # {N,M}


def pruner_for(tree: str | None, depth: str | None) -> Pruner:
    """mirrors org.kohsuke.stapler.ResponseImpl.serveExposedBean: `tree` wins over `depth`."""
    if tree is not None:
        return NamedPath.parse(tree)
    return ByDepth(1 - int(depth or "0"))


def write_bean(bean: Bean, pruner: Pruner, declared: str | None = None) -> dict[str, JsonValue]:
    """mirrors org.kohsuke.stapler.export.Model.writeNestedObjectTo with ClassAttributeBehaviour
    IF_NEEDED: `_class` only when the runtime class differs from the declared type."""
    out: dict[str, JsonValue] = {}
    if bean.class_name != declared:
        out["_class"] = bean.class_name
    for prop in bean.props:
        child = pruner.accept(prop)
        if child is None:
            continue
        value = prop.value() if callable(prop.value) else prop.value
        out[prop.name] = _write_value(value, child, prop.declared)
    return out


def _write_value(value: object, pruner: Pruner, declared: str | None) -> JsonValue:
    """mirrors org.kohsuke.stapler.export.Property.writeValue."""
    if isinstance(value, Bean):
        return write_bean(value, pruner, declared)
    if isinstance(value, list | tuple):
        return [_write_value(v, pruner, declared) for v in pruner.range.apply(list(value))]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _write_value(v, pruner, declared) for k, v in value.items()}
    raise TypeError(f"cannot export {type(value).__name__}")
