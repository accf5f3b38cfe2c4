"""Write, prune and check a rendered tree in the output directory (``-o``).

Only regular files inside it are written, never through a link (see ``confined``); what an
earlier render wrote is known from its manifest and removed only while unchanged.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jenkins_bridge.errors import BridgeError, Interrupted, Problem
from jenkins_bridge.output.confined import ConfinedDir, Found
from jenkins_bridge.output.incremental import CACHE, CACHE_GITIGNORE, RenderCache, record_output
from jenkins_bridge.output.manifest import (
    MANIFEST,
    ManifestEntry,
    PreviousManifest,
    manifest_text,
    read_manifest,
)
from jenkins_bridge.output.staging import Staging, refusal
from jenkins_bridge.render.artifacts import Artifact, ArtifactDigest, RenderedTree


@dataclass(frozen=True, slots=True)
class KeptFile:
    """A file an earlier render wrote that this one left in place, and why."""

    path: str
    reason: str


def _removal_verdict(entry: ManifestEntry, found: Found, data: bytes | None, force: bool) -> str:
    """ "remove", "gone", or why the file stays."""
    if found.kind == "missing":
        return "gone"
    if data is None:
        return found.reason()
    if hashlib.sha256(data).hexdigest() != entry.sha256 and not force:
        return "edited since it was rendered (render --force removes it)"
    return "remove"


@dataclass(frozen=True)
class _Leftover:
    """A file the previous render wrote and this one does not: what lies there now, and
    ``verdict`` ("remove", "gone", or why it stays)."""

    path: str
    entry: ManifestEntry
    found: Found
    data: bytes | None
    verdict: str


def _leftovers(
    root: ConfinedDir, tree: RenderedTree, previous: PreviousManifest, force: bool
) -> Iterator[_Leftover]:
    """The previous manifest's files no artifact of ``tree`` replaces, in path order (each is
    read when reached, so a caller may remove the one before)."""
    for path, entry in sorted(previous.entries.items()):
        if path in tree.artifacts or path in tree.staged or path in tree.carried:
            continue
        found, data = root.read(path)
        yield _Leftover(path, entry, found, data, _removal_verdict(entry, found, data, force))


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[KeptFile] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)  # leftover temporary files

    def as_data(self) -> dict[str, object]:
        return {
            "written": list(self.written),
            "unchanged": len(self.unchanged),
            "removed": list(self.removed),
            "kept": [{"path": k.path, "reason": k.reason} for k in self.kept],
        }


class UnsafeOutput(BridgeError):
    """Paths under ``-o`` that render will not write through; nothing was written."""

    code = "unsafe-output-path"

    def __init__(self, root: Path, refusals: Sequence[tuple[str, str]]) -> None:
        self._problems = [
            Problem(self.code, f"{root / path}: {reason}; refusing to write through it")
            for path, reason in refusals
        ]
        super().__init__(
            f"{len(refusals)} path(s) under {root} are links or not regular files",
            hint="remove them, or render into a directory without links; nothing was written",
        )

    def problems(self) -> list[Problem]:
        hint = Problem(self.code, f"{self.message} ({self.hint})")
        return [*self._problems, hint]


class RenderInterrupted(Interrupted):
    def __init__(self, report: WriteReport) -> None:
        super().__init__("render", report.as_data())


def _folders(paths: Iterable[str]) -> set[str]:
    folders = {""}
    for path in paths:
        parts = path.split("/")[:-1]
        folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return folders


def write_tree(
    out: Path,
    tree: RenderedTree,
    *,
    force: bool = False,
    cache: RenderCache | None = None,
    previous: PreviousManifest | None = None,
    staging: Staging | None = None,
) -> WriteReport:
    """Make ``out`` hold ``tree``; remove what an earlier render wrote and this one did not.

    Only regular files inside ``out`` are written, never through a link (see ``confined``).
    A file the old manifest lists is removed only if it is still exactly what was rendered
    (its sha256), unless ``force``. Order: the old cache goes first, then artifacts, removals,
    the manifest and last the new ``cache`` (what the next run may reuse), so an interrupted
    run leaves a tree that ``--check`` and the next render see as stale and render again.
    Carried artifacts (``tree.carried``) were checked in place by the run: not read again.
    ``previous``: the old manifest's entries other than the carried files', as the run's
    cache vouched for them (``RenderRun.previous``); None reads the manifest.
    ``staging``: what the run's workers compared and staged for ``tree.staged`` (moved into
    place here, with the same refusals; deleted in any case once this returns or raises).
    """
    report = WriteReport()
    try:
        with ConfinedDir(out, create=True) as root:
            root.remove(CACHE)
            kept = _write(root, tree, force, report, previous, staging)
            if cache is not None:
                # the manifest too; what was moved into place whole was noted as it was made
                placed = staging.placed_files if staging is not None else {}
                paths = [*tree.artifacts, *(p for p in tree.staged if p not in placed)]
                record_output(cache, out, paths)
                if staging is not None:
                    staging.record(cache, out)
                produced = cache.produced()
                made: list[Artifact | ArtifactDigest] = [*tree.artifacts.values()]
                made.extend(tree.staged.values())
                cache.extra = [
                    {"kind": a.kind, "path": a.path, "sha256": a.sha256, "source": a.source}
                    for a in made
                    if a.path != MANIFEST and a.path not in produced
                ]
                cache.extra.extend(dict(entry) for entry in kept)
                root.write(*CACHE_GITIGNORE)
                root.write(CACHE, cache.encoded())
    except KeyboardInterrupt:
        raise RenderInterrupted(report) from None
    finally:
        if staging is not None:
            staging.discard()
    return report


def _write(
    root: ConfinedDir,
    tree: RenderedTree,
    force: bool,
    report: WriteReport,
    previous: PreviousManifest | None,
    staging: Staging | None,
) -> list[Mapping[str, object]]:
    """Write and remove; the old manifest's entries the new one keeps (files left in place)."""
    if previous is None:
        previous = read_manifest(root)
    report.kept.extend(KeptFile(path, why) for path, why in previous.unusable)
    # Look at every target first: one link anywhere refuses the render before a byte is written.
    # Only the paths wait: each is encoded again when written, so the whole tree is never held
    # twice (as text and as bytes: 63 MB more at N = 5,000, the run's peak memory).
    pending: list[str] = []
    refusals: dict[str, str] = {}  # one line per offending path (a linked folder once)
    for path, artifact in sorted(tree.artifacts.items()):
        if path == MANIFEST:
            continue
        found, current = root.read(path)
        refused = refusal(path, found)
        if refused is not None:
            refusals.setdefault(*refused)
        elif current is not None and current == artifact.text.encode("utf-8"):
            report.unchanged.append(path)
        else:
            pending.append(path)  # a hard link too: replaced by a new file of its own
    spare = None
    if staging is not None:  # the workers' part of the scan
        staging.raise_error()
        for refused in staging.refusals:
            refusals.setdefault(*refused)
        report.unchanged.extend(staging.unchanged)
        spare = staging.target.folder
    if refusals:
        raise UnsafeOutput(root.root, sorted(refusals.items()))
    report.unchanged.extend(sorted(tree.carried))
    # A run that was stopped left no cache, so where files are carried none was stopped.
    # The folders of staged files were looked at by the workers (``dirty``).
    stale = [path for path in previous.entries if path not in tree.carried]
    folders = _folders([*tree.artifacts, *stale]).union(staging.dirty if staging else ())
    for folder in sorted(folders):
        report.cleaned.extend(root.remove_temporaries(folder, spare=spare))
    if staging is not None:
        staging.move_into(root, report.written)
    for path in pending:
        root.write(path, tree.artifacts[path].text.encode("utf-8"))
        report.written.append(path)
    report.written.sort()
    carried: list[Mapping[str, object]] = []
    for left in _leftovers(root, tree, previous, force):
        if left.verdict == "remove":
            root.remove(left.path)
            report.removed.append(left.path)
        elif left.verdict != "gone":
            report.kept.append(KeptFile(left.path, left.verdict))
            if left.found.kind == "file":
                carried.append(left.entry.raw)  # still ours: a later --force may remove it
    manifest = tree.artifacts[MANIFEST].text
    if carried:
        own = json.loads(manifest)["artifacts"]
        manifest = manifest_text([*own, *carried])
    data = manifest.encode("utf-8")
    found, current = root.read(MANIFEST)
    if current == data:
        report.unchanged.append(MANIFEST)
    else:
        root.write(MANIFEST, data)
        report.written.append(MANIFEST)
    return carried


@dataclass
class CheckReport:
    # path -> unified diff (stale, missing or extra), or one line naming a file that is not
    # compared (a link, a file render would keep) and why: content from there is never shown.
    diffs: dict[str, str]

    @property
    def clean(self) -> bool:
        return not self.diffs


_CONTEXT = 3  # difflib.unified_diff's default lines of context


def _diff(path: str, current: str | None, wanted: str | None) -> str:
    text_a, text_b = current or "", wanted or ""
    start, end_a, end_b, shift = _equal_ends(text_a, text_b)
    before = text_a[start:end_a].splitlines(keepends=True)
    after = text_b[start:end_b].splitlines(keepends=True)
    # Lines equal at both ends, beyond the context, are left out before difflib compares:
    # manifest.json (~15,000 lines at N = 5,000) changes in two, and matching all of it
    # was a fifth of an incremental render --check. Hunk headers are shifted back after.
    same_start = _common_prefix(before, after)
    most = min(len(before), len(after)) - same_start
    same_end = min(_common_prefix(before[::-1], after[::-1]), most)
    skip, tail = max(0, same_start - _CONTEXT), max(0, same_end - _CONTEXT)
    diff = difflib.unified_diff(
        before[skip : len(before) - tail],
        after[skip : len(after) - tail],
        fromfile=f"a/{path}" if current is not None else "/dev/null",
        tofile=f"b/{path}" if wanted is not None else "/dev/null",
        n=_CONTEXT,
    )
    lines = (_shift_hunk(line, skip + shift) if line.startswith("@@ ") else line for line in diff)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# What str.splitlines ends a line at besides "\n" (the last three are not ASCII)
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_LARGE = 1 << 16  # texts shorter than this are split whole


def _equal_ends(a: str, b: str) -> tuple[int, int, int, int]:
    """Where to cut two large texts before splitting them into lines: ``a[start:end_a]`` and
    ``b[start:end_b]`` still hold every line that differs and ``_CONTEXT`` equal lines on
    each side (more where lines are short), cut after a newline; ``shift``: the lines
    before ``start``. Found by comparing the texts in slices (in C), so the equal ends of
    manifest.json (~90,000 lines at N = 5,000) are never split into lines: that was most
    of an incremental ``render --check``'s diff. Only where the head holds no line break
    but "\\n" (it is counted by them); otherwise, and for small texts, nothing is cut."""
    whole = 0, len(a), len(b), 0
    if min(len(a), len(b)) < _LARGE:
        return whole
    first = _first_difference(a, b)
    start = a.rfind("\n", 0, first) + 1
    for _ in range(_CONTEXT):
        if start == 0:
            break
        start = a.rfind("\n", 0, start - 1) + 1
    breaks = _OTHER_BREAKS[:6] if a.isascii() else _OTHER_BREAKS
    if any(a.find(other, 0, start) >= 0 for other in breaks):
        start = 0
    # The common ending, not reaching back into the common start; cut after a newline in
    # it (the line before it ends the same way in both), past ``_CONTEXT`` more lines.
    same = _common_suffix(a, b, min(len(a), len(b)) - first)
    end_a = a.find("\n", len(a) - same) + 1
    for _ in range(_CONTEXT):
        if end_a == 0:
            break
        end_a = a.find("\n", end_a) + 1
    if end_a == 0:
        return start, len(a), len(b), a.count("\n", 0, start)
    return start, end_a, end_a - len(a) + len(b), a.count("\n", 0, start)


_SLICE = 1 << 15


def _first_difference(a: str, b: str) -> int:
    """The length of the longest common start of ``a`` and ``b``."""
    most = min(len(a), len(b))
    low = 0
    while low < most:
        high = min(low + _SLICE, most)
        if a[low:high] != b[low:high]:
            break
        low = high
    else:
        return most
    # a[:low] == b[:low] and a[low:high] != b[low:high]
    while high - low > 1:
        middle = (low + high) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle
    return low


def _common_suffix(a: str, b: str, most: int) -> int:
    """The length of the longest common ending of ``a`` and ``b``, at most ``most``."""
    la, lb = len(a), len(b)
    low = 0
    while low < most:
        high = min(low + _SLICE, most)
        if a[la - high : la - low] != b[lb - high : lb - low]:
            break
        low = high
    else:
        return most
    while high - low > 1:
        middle = (low + high) // 2
        if a[la - middle : la - low] == b[lb - middle : lb - low]:
            low = middle
        else:
            high = middle
    return low


def _common_prefix(left: Sequence[str], right: Sequence[str]) -> int:
    """How many lines both start with: halving by slice comparisons, each done in C (a loop
    over manifest.json's ~100,000 lines at N = 5,000 was a tenth of render --check's CPU)."""
    low, high = 0, min(len(left), len(right))  # left[:low] == right[:low]; high: at most
    while low < high:
        middle = (low + high + 1) // 2
        if left[low:middle] == right[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _shift_hunk(header: str, skip: int) -> str:
    """``@@ -3,7 +3,8 @@`` with both start lines moved down by ``skip``."""
    if not skip:
        return header
    old, new = header[3:].split(" @@", 1)[0].split(" ")

    def moved(part: str) -> str:
        start, _, length = part[1:].partition(",")
        return part[0] + str(int(start) + skip) + ("," + length if length else "")

    return f"@@ {moved(old)} {moved(new)} @@" + header[3:].split(" @@", 1)[1]


def _decoded(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def check_tree(
    out: Path,
    tree: RenderedTree,
    *,
    force: bool = False,
    previous: PreviousManifest | None = None,
) -> CheckReport:
    """Compare the tree with ``out`` without writing; a unified diff per file that differs.

    Files render would not write or remove (links, files outside, hand-edited files) are
    named with the reason, never printed. ``previous``: as for ``write_tree``.
    """
    diffs: dict[str, str] = {}
    with ConfinedDir(out) as root:
        if not root.exists:
            for path, artifact in sorted(tree.artifacts.items()):
                diffs[path] = _diff(path, None, artifact.text)
            return CheckReport(diffs)
        if previous is None:
            try:
                previous = read_manifest(root)
            except BridgeError as exc:
                previous = PreviousManifest()
                diffs[MANIFEST] = f"{MANIFEST}: not compared: {exc.message}\n"
        for path, why in previous.unusable:
            diffs[path] = f"{path}: listed in {MANIFEST} but not removable: {why}\n"
        for path, artifact in sorted(tree.artifacts.items()):
            if path in diffs:
                continue
            found, data = root.read(path)
            if found.kind == "hardlink":
                diffs[path] = f"{path}: not compared: {found.reason()}; render replaces it\n"
                continue
            if found.kind in ("through-symlink", "other") and found.target is not None:
                # One line for a linked team folder, not one per file under it.
                what = "a symbolic link" if found.kind == "through-symlink" else "not a folder"
                diffs.setdefault(
                    found.target,
                    f"{found.target}: not compared: it is {what}; render refuses it\n",
                )
                continue
            if found.kind not in ("file", "missing"):
                diffs[path] = f"{path}: not compared: {found.reason()}; render refuses it\n"
                continue
            current = _decoded(data)
            if current != artifact.text:
                diffs[path] = _diff(path, current, artifact.text)
        for left in _leftovers(root, tree, previous, force):
            if left.verdict == "remove":
                diffs[left.path] = _diff(left.path, _decoded(left.data), None)
            elif left.verdict != "gone":
                diffs[left.path] = (
                    f"{left.path}: no descriptor produces it, render keeps it: {left.verdict}\n"
                )
    return CheckReport(diffs)
