"""``manifest.json``: every artifact a render wrote, with its sha256, so a later run knows which
files it owns (and may remove) and a reviewer can verify them.

The manifest already in the output is input to check, never trusted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jenkins_bridge import __version__
from jenkins_bridge.errors import BridgeError
from jenkins_bridge.output.confined import ConfinedDir, relative_parts
from jenkins_bridge.render.artifacts import Artifact, RenderedTree

MANIFEST = "manifest.json"


def add_manifest(tree: RenderedTree, text: str | None = None) -> None:
    """Add the manifest listing every artifact already in ``tree`` (``text``: its text, when
    the caller has it already, spliced from the previous one)."""
    if text is None:
        entries = [
            {"path": a.path, "kind": a.kind, "sha256": a.sha256, "source": a.source}
            for a in tree.entries()
        ]
        text = manifest_text(entries)
    tree.add(Artifact(MANIFEST, text, "manifest"))


def manifest_text(entries: Iterable[Mapping[str, object]]) -> str:
    ordered = sorted(entries, key=lambda entry: str(entry["path"]))
    manifest = {"generator": "jenkins-bridge", "version": __version__, "artifacts": ordered}
    fast = _flat_entries_text(ordered)
    if fast is None:
        return json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    head = json.dumps(manifest["generator"]), json.dumps(manifest["version"])
    return f'{{\n  "artifacts": {fast},\n  "generator": {head[0]},\n  "version": {head[1]}\n}}\n'


_SCALAR_TYPES = {str, int, float, bool, type(None)}


def _flat_entries_text(entries: list[Mapping[str, object]]) -> str | None:
    """``json.dumps(entries, indent=2, sort_keys=True)`` at the artifacts' depth (two levels
    in), byte for byte, for entries whose values are all scalars; None for anything else.

    With ``indent`` set, ``json`` uses its pure-Python encoder: for the ~15,000 entries of a
    5,000-service tree that was a sixth of an incremental ``render --check`` under the
    profiler (~0.1 s CPU). The C encoder does the same in about a third less.
    """
    if not entries:
        return "[]"
    # By exact type, in comprehensions (a loop of isinstance calls over the ~60,000 values was
    # a third of this at N = 5,000); a subclass of one of them takes json.dumps' path.
    if {type(entry) for entry in entries} != {dict} or not all(entries):
        return None
    if {type(key) for entry in entries for key in entry} != {str}:
        return None
    if not {type(value) for entry in entries for value in entry.values()} <= _SCALAR_TYPES:
        return None
    # Without ``indent`` the C encoder runs, and it takes any separators: the newline and
    # indent json.dumps(indent=2) puts between an entry's fields. The same separator then
    # stands between entries too, where it alone follows a '}' and precedes a '{' (a string
    # holds no raw newline), so those are re-indented one level out.
    sep = ",\n      "
    text = json.JSONEncoder(sort_keys=True, separators=(sep, ": ")).encode(entries)
    body = text[2:-2].replace("}" + sep + "{", "\n    },\n    {\n      ")
    return "[\n    {\n      " + body + "\n    }\n  ]"


# How manifest_text lays out a manifest with entries, around them.
_HEAD = '{\n  "artifacts": [\n'
_ENTRY_KEYS = ("kind", "path", "sha256", "source")
# One entry at the artifacts' depth, as ``_flat_entries_text`` lays it out (C encoder).
_ENTRY = json.JSONEncoder(sort_keys=True, separators=(",\n      ", ": "))


def _tail() -> str:
    version = json.dumps(__version__)
    return f'\n  ],\n  "generator": "jenkins-bridge",\n  "version": {version}\n}}\n'


def _entry_text(entry: Mapping[str, object]) -> str | None:
    """An entry's lines in the manifest, from its opening brace to its closing one; None for
    an entry of any other shape than the four fields render writes, as text or null."""
    if type(entry) is not dict or tuple(sorted(entry)) != _ENTRY_KEYS:
        return None
    if not all(type(value) is str for value in entry.values() if value is not None):
        return None
    return "    {\n      " + _ENTRY.encode(entry)[1:-1] + "\n    }"


def entry_text(kind: str, path: str, sha256: str, source: str | None) -> str:
    """One artifact's entry as ``manifest_text`` lays it out: made where the artifact was
    rendered, in parallel, for ``joined_manifest_text``."""
    text = _entry_text({"kind": kind, "path": path, "sha256": sha256, "source": source})
    assert text is not None  # four fields, text or null: the only shape refused is another
    return text


def joined_manifest_text(entries: Iterable[tuple[str, str]]) -> str | None:
    """``manifest_text`` of the artifacts whose ``(path, entry_text)`` these are, by joining
    them in path order (the whole list encoded again was ~20 ms at N = 2,000, ~70 ms at
    5,000, after the run's parallel part); None for none or a path given twice."""
    ordered = sorted(entries)
    if not ordered or len({path for path, _ in ordered}) != len(ordered):
        return None
    return _HEAD + ",\n".join(text for _, text in ordered) + _tail()


def spliced_manifest_text(
    previous: str, dropped: Iterable[Mapping[str, object]], fresh: Iterable[Mapping[str, object]]
) -> str | None:
    """``manifest_text`` of the entries of ``previous`` (a manifest's text as manifest_text
    laid it out) with ``dropped`` (entries of it) replaced by ``fresh``, without encoding the
    others again: each changed entry's lines are replaced where they stand. Only when both
    name the same paths (an entry's place then does not move); None otherwise, and for
    anything this cannot place exactly (an entry not found as laid out, another layout or
    version), so the caller encodes the whole list.

    At N = 5,000 the whole manifest (15,201 entries) was a sixth of an incremental
    ``render --check``; an edit changes the entries of one service.
    """
    if not previous.startswith(_HEAD) or not previous.endswith(_tail()):
        return None
    before = {str(entry.get("path")): entry for entry in dropped}
    after = {str(entry.get("path")): entry for entry in fresh}
    if before.keys() != after.keys():
        return None
    edits: list[tuple[int, int, str]] = []
    for path, entry in after.items():
        was, now = _entry_text(before[path]), _entry_text(entry)
        if was is None or now is None:
            return None
        if was == now:
            continue
        # The lines hold the path, and a manifest names a path once; no line of an entry but
        # its last starts with four spaces and a brace (a string holds no raw newline), so a
        # match is that entry's lines, from its first to its last.
        at = previous.find(was)
        if at < 0 or previous.find(was, at + len(was)) >= 0:
            return None
        edits.append((at, at + len(was), now))
    if not edits:
        return previous
    edits.sort()
    pieces: list[str] = []
    done = 0
    for start, end, text in edits:
        pieces += (previous[done:start], text)
        done = end
    pieces.append(previous[done:])
    return "".join(pieces)


_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One artifact an earlier render says it wrote: input to check, never trusted."""

    path: str
    sha256: str
    raw: Mapping[str, object]


@dataclass
class PreviousManifest:
    entries: dict[str, ManifestEntry] = field(default_factory=dict)
    unusable: list[tuple[str, str]] = field(default_factory=list)  # (path as given, why)


def read_manifest(root: ConfinedDir) -> PreviousManifest:
    """The manifest already in the output: entries with a plain relative path and a sha256.

    Anything else in it is set aside with a reason (and never removed); a manifest that is a
    link, or not JSON, stops the render.
    """
    if not root.exists:
        return PreviousManifest()
    found, data = root.read(MANIFEST)
    if found.kind == "missing":
        return PreviousManifest()
    if data is None:
        raise BridgeError(
            f"{root.root / MANIFEST}: {found.reason()}; refusing to read or replace it",
            hint="remove it, or render into a directory without links",
        )
    try:
        manifest = json.loads(data.decode("utf-8"))
        artifacts = manifest["artifacts"]
        if not isinstance(artifacts, list):
            raise TypeError("'artifacts' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise BridgeError(
            f"{root.root / MANIFEST} is not a jenkins-bridge manifest ({exc})",
            hint="render into an empty directory, or delete that file",
        ) from exc
    return manifest_of(artifacts)


def manifest_of(artifacts: Iterable[Any]) -> PreviousManifest:
    """A previous manifest's artifact entries, each checked as ``read_manifest`` does."""
    previous = PreviousManifest()
    for raw in artifacts:
        path = raw.get("path") if isinstance(raw, dict) else None
        digest = raw.get("sha256") if isinstance(raw, dict) else None
        if not isinstance(path, str) or relative_parts(path) is None or path == MANIFEST:
            previous.unusable.append((str(path), "not a plain relative path inside the output"))
        elif not isinstance(digest, str) or _SHA256.fullmatch(digest) is None:
            previous.unusable.append((path, "the manifest records no valid sha256 for it"))
        else:
            previous.entries[path] = ManifestEntry(path, digest, raw)
    return previous
