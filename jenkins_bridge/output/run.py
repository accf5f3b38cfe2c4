"""The one entry point from descriptor paths to the tree render writes: load, validate and
render every descriptor (in several processes for large runs), then add the manifest.

Given the output directory, a run takes from its cache the services whose inputs and files
are unchanged (``incremental``) and renders only the others; the tree is the same, byte for
byte, as a full render's. Given where the files go (``out``), each chunk's files are compared
with the output and staged there by the process that rendered them (``staging``), for
``write_tree`` to move into place once the whole run has passed."""

from __future__ import annotations

import dataclasses
import functools
import gc
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jenkins_bridge.descriptor.loading import (
    DescriptorFile,
    LoadedFiles,
    check_chunks,
    discover,
    load_files,
    locate,
)
from jenkins_bridge.descriptor.model import Receiver
from jenkins_bridge.errors import InvalidDescriptors
from jenkins_bridge.output.confined import ConfinedDir
from jenkins_bridge.output.incremental import (
    CacheRows,
    InputDigests,
    OutputStat,
    Placement,
    RenderCache,
    ServiceTable,
    expand_position,
    fingerprints,
    manifest_entries,
    placement,
    read_cache,
    run_key,
)
from jenkins_bridge.output.manifest import (
    MANIFEST,
    PreviousManifest,
    add_manifest,
    entry_text,
    joined_manifest_text,
    manifest_of,
    spliced_manifest_text,
)
from jenkins_bridge.output.staging import StagedChunk, StageTarget, Staging, stage_chunk
from jenkins_bridge.render.artifacts import (
    Artifact,
    ArtifactDigest,
    RenderedTree,
    render_alert_routes,
    render_folders,
    render_service,
)
from jenkins_bridge.render.jenkinsfile import TooLargeForJenkins
from jenkins_bridge.render.job_config import PluginVersions, SharedLibrary
from jenkins_bridge.render.monitoring.alertmanager import AlertRouting, alert_routing
from jenkins_bridge.workers import map_chunks


@dataclass(frozen=True, slots=True)
class RenderRun:
    services: int  # how many descriptors were rendered
    tree: RenderedTree  # every artifact and the manifest
    cache: RenderCache  # what to keep beside the output for the next run
    reused: int = 0  # services taken from the previous run's cache
    # What the manifest in the output holds beyond the carried services' files, when the
    # cache vouches for it (None: read it)
    previous: PreviousManifest | None = None
    # The files the run's chunks staged in the output, for write_tree (given ``out``)
    staging: Staging | None = None


# (descriptor file, its artifacts, its alert routing) for each service a chunk rendered; a
# chunk that staged its files sends only what they are (path, kind, digest), not their text
Rendered = list[tuple[Path, Sequence[Artifact | ArtifactDigest], AlertRouting | None]]


def _load_and_render(
    files: Sequence[DescriptorFile],
    plugins: PluginVersions | None,
    stage: StageTarget | None = None,
    prints: dict[str, str | None] | None = None,
    fingerprint: bool = False,
) -> tuple[LoadedFiles, Rendered, StagedChunk | None, CacheRows | None]:
    """Load and render a chunk of descriptors (in a worker for a large run); stage their
    files given ``stage``, and make their rows of the render cache given their
    fingerprints (``prints``), or taken here first (``fingerprint``: their input files'
    records go back with the rows)."""
    inputs = None
    if fingerprint:
        inputs = InputDigests()
        prints = fingerprints(files, inputs)
    loaded = load_files(files)
    rendered: Rendered = []
    staged: StagedChunk | None = None
    if not loaded.problems:  # a chunk with problems fails the whole run: skip the work
        for service in loaded.services():
            try:
                artifacts = render_service(service, plugins)
            except TooLargeForJenkins as refused:  # render is pure: it is placed here
                by_path = {f.path: f for f in files}
                loaded.problems.append(refused.at(*locate(by_path[service.path], refused.part)))
                continue
            except InvalidDescriptors as refused:  # data, so it crosses the process pool
                loaded.problems.extend(refused.problems())
                continue
            for artifact in artifacts:
                artifact.sha256  # noqa: B018 - digested here, in parallel, not in the parent
            rendered.append((service.path, artifacts, alert_routing(service)))
    if stage is not None and not loaded.problems:  # written ahead, here, in parallel
        texts = [a for _, artifacts, _ in rendered for a in artifacts if isinstance(a, Artifact)]
        staged = stage_chunk(stage, texts)
        rendered = [
            (path, [ArtifactDigest(a.path, a.kind, a.sha256, a.source) for a in artifacts], routing)
            for path, artifacts, routing in rendered
        ]
    # The run reads only what the checks across files need of each descriptor: the whole
    # merged data would cross the process pool and stay in the parent (~7 KB a service).
    loaded.records = [(_summary(data), path, origin) for data, path, origin in loaded.records]
    rows = _cache_rows(files, loaded, rendered, prints) if prints is not None else None
    if rows is not None and inputs is not None:
        rows.inputs = inputs.records
    return loaded, rendered, staged, rows


def _cache_rows(
    files: Sequence[DescriptorFile],
    loaded: LoadedFiles,
    rendered: Rendered,
    prints: dict[str, str | None],
) -> CacheRows:
    """The rendered services' rows of the render cache, encoded here (in parallel, where
    the services are at hand) for the run to join; a service whose fingerprint is unknown
    (its descriptor could not be read) has none."""
    rows = CacheRows()
    keys = {descriptor.path: descriptor.key for descriptor in files}
    summaries = {path: summary for summary, path, _ in loaded.records}
    for path, artifacts, routing in rendered:
        key = keys[path]
        fingerprint = prints.get(key)
        if fingerprint is None:
            continue
        rows.add(
            key,
            fingerprint,
            summaries[path],
            {
                "name": loaded.name_positions[path],
                "team": loaded.team_positions[path],
                "governed_by": loaded.governed_by[path],
            },
            dataclasses.asdict(routing) if routing is not None else None,
            [(a.path, a.kind, a.sha256, a.source) for a in artifacts],
        )
    return rows.encode()


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    """The part of a descriptor's data the checks across files read (``check_chunks``)."""
    metadata = data["metadata"]
    summary: dict[str, Any] = {"metadata": {"team": metadata["team"], "name": metadata["name"]}}
    receivers = data.get("monitoring", {}).get("alerts", {}).get("receivers")
    if receivers:
        summary["monitoring"] = {"alerts": {"receivers": receivers}}
    return summary


def _routing(raw: dict[str, Any] | None) -> AlertRouting | None:
    if raw is None:
        return None
    return AlertRouting(raw["team"], raw["service"], Receiver(**raw["receiver"]), raw["origin"])


# An ``ArtifactDigest`` from its fields as one tuple, made in C (``ArtifactDigest._make`` and
# ``ArtifactDigest(*fields)`` both run Python code per object).
_new_digest: Callable[[tuple[str, str, str, str | None]], ArtifactDigest] = functools.partial(
    tuple.__new__, ArtifactDigest
)


def _carried_chunk(
    table: ServiceTable, entries: Sequence[tuple[DescriptorFile, int]]
) -> LoadedFiles:
    """The cached services (rows of ``table``) as a chunk the checks across files read like a
    loaded one."""
    chunk = LoadedFiles([], [], {})
    for descriptor, row in entries:
        path = descriptor.path
        summary, positions = table.detail(row)
        chunk.records.append((summary, path, descriptor.origin))
        chunk.name_positions[path] = expand_position(positions["name"], descriptor.key)
        chunk.team_positions[path] = expand_position(positions["team"], descriptor.key)
        chunk.governed_by[path] = tuple(tuple(f) for f in positions["governed_by"])
    return chunk


def _options(plugins: PluginVersions | None, library: SharedLibrary | None) -> dict[str, Any]:
    return {
        "plugins": dict(plugins or {}),
        "library": dataclasses.asdict(library) if library is not None else None,
    }


# What reading a cache entry of another shape raises (``read_cache`` checks only the tables
# whose values are compared as they are: stats and digests).
_DAMAGED_CACHE = (KeyError, IndexError, TypeError, ValueError, AttributeError)


def render_run(
    paths: Sequence[str | Path],
    plugins: PluginVersions | None = None,
    workers: int | None = None,
    library: SharedLibrary | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    reuse: Path | None = None,
    keep_cache: bool = True,
    out: Path | None = None,
) -> RenderRun:
    """Load, validate and render every descriptor under ``paths``; raise every problem at once.

    Large runs load and render in several processes (``workers``: default one per CPU, at
    most 4); the checks across files and the manifest are done here, so the result is the
    same, byte for byte, whatever the worker count. ``progress(done, total)`` counts
    descriptors as parallel chunks finish. ``reuse``: the output directory whose cache may
    stand in for services whose inputs and files did not change. ``keep_cache=False``
    (``--check``, which writes nothing): the returned ``cache`` lacks what the carried
    services' files were (15,000 entries to copy at N = 5,000 that nothing would read).
    ``out``: where ``write_tree`` will write the tree; each chunk stages its changed files
    there as it is rendered (``RenderRun.staging``, deleted if the run raises).
    """
    collecting = gc.isenabled()  # _render_run pauses the collector; as it was at the end
    gc.disable()  # what discovery and the cache make lives to the end of the run
    try:
        files = discover(paths)
        previous = _previous(reuse)
    finally:
        if collecting:
            _promote()
            gc.enable()
    staging = Staging(out) if out is not None else None
    try:
        if previous is not None:
            # The cache's ~100,000 objects live to the end of the run: the collector need not
            # walk them on every later collection (5 % of an incremental run's instructions).
            gc.freeze()
            try:
                return _render_run(
                    paths, plugins, workers, library, progress, reuse, keep_cache, files,
                    previous, staging,
                )  # fmt: skip
            except _DAMAGED_CACHE:
                # The cache is only a shortcut and read as it is: an entry of another shape
                # (valid JSON edited by hand) fails where it is used. Nothing has been written
                # yet, so the run starts again without it, as a full render; a fault of the
                # render itself is raised again there.
                if staging is not None:
                    staging.discard()
                    staging = Staging(staging.target.out)
                if collecting:
                    gc.enable()
            finally:
                gc.unfreeze()
        return _render_run(
            paths, plugins, workers, library, progress, reuse, keep_cache, files, None, staging
        )
    except BaseException:
        if staging is not None:  # Ctrl-C and a worker that died included
            staging.discard()
        raise
    finally:
        if collecting:
            _promote()
            gc.enable()


def _promote() -> None:
    """Move every object the collector tracks into its oldest generation without a pass over
    them (``gc.freeze`` then ``gc.unfreeze``). What a run made while the collector was paused
    lives as long as its result: the young collections right after it walked it all for
    nothing (4-9 ms at the end of an incremental ``render`` at N = 5,000, ~1 ms in
    ``discover``); a full collection still looks at it."""
    gc.freeze()
    gc.unfreeze()


def _render_run(
    paths: Sequence[str | Path],
    plugins: PluginVersions | None,
    workers: int | None,
    library: SharedLibrary | None,
    progress: Callable[[int, int], None] | None,
    reuse: Path | None,
    keep_cache: bool,
    files: list[DescriptorFile],
    previous: RenderCache | None,
    staging: Staging | None,
) -> RenderRun:
    # The run's own work makes ~100,000 short-lived objects (stats, tuples, entries) and no
    # cycles: the collector's passes over them found nothing and were 2 % of an incremental
    # run's instructions. It runs while services are rendered (``render_run`` restores it).
    collecting = gc.isenabled()
    gc.disable()
    # Input files' digests do not depend on the run: trusted by stat whatever the options.
    inputs = InputDigests(*((previous.inputs, previous.since) if previous is not None else ()))
    key = run_key(files, _options(plugins, library), inputs)
    if previous is not None and previous.run != key:
        previous = None
    # Without a previous cache of this run key the fingerprints decide nothing before the
    # services are rendered, they are only recorded: each chunk takes its own where it is
    # rendered (in parallel; ~65 ms of the run's own time at N = 5,000), its input files'
    # records after this run's start (``inputs.started``) as here.
    prints = fingerprints(files, inputs) if previous is not None else None
    carried: list[tuple[DescriptorFile, int]] = []  # with its row in the previous table
    changed: list[DescriptorFile] = files
    now = OutputStat(reuse) if reuse is not None else None
    table = previous.table if previous is not None else None
    placed = Placement(set(), {})
    if previous is not None and table is not None and reuse is not None:
        changed = []
        placed = placement(previous, reuse)
        rows = table.rows()
        misplaced, recorded = placed.misplaced, table.prints
        assert prints is not None  # taken above, given a previous cache
        for descriptor in files:
            row = rows.get(descriptor.key)
            if row is not None and prints[descriptor.key] == recorded[row] and row not in misplaced:
                carried.append((descriptor, row))
            else:
                changed.append(descriptor)
    target = staging.target if staging is not None else None
    if collecting:
        # The fingerprints, the rows carried...: to the end of the run, out of collections
        # until it ends (``render_run`` then moves them to the oldest generation, as the rest)
        gc.freeze()
        gc.enable()
    # The results name each service by its descriptor's path: the parent's own objects again
    chunks = map_chunks(
        _load_and_render,
        changed,
        plugins,
        target,
        prints,
        prints is None,
        workers=workers,
        progress=progress,
        shared=[descriptor.path for descriptor in changed],
    )
    gc.disable()
    loaded_chunks = [loaded for loaded, _, _, _ in chunks]
    if carried:
        # Every check across files compares services of one team (names, its _defaults.yaml
        # chain, its receivers; by the team's name in lower case), and the carried services
        # passed them together in the run that recorded them (the same descriptors, options
        # and tool: the run key). So only the changed services' teams can fail now: the
        # carried services of other teams are left out (at N = 5,000, one service changed:
        # ~40 ms of an incremental run for 25 services instead of 5,000).
        touched = {
            data["metadata"]["team"].lower()
            for loaded in loaded_chunks
            for data, _, _ in loaded.records
        }
        assert table is not None  # rows are carried from it
        teams_of = table.teams
        related = [entry for entry in carried if teams_of[entry[1]].lower() in touched]
        try:
            check_chunks([*loaded_chunks, _carried_chunk(table, related)])
        except InvalidDescriptors:
            # Report exactly what a full run reports (the order of files decides which of
            # two definitions is named first).
            if staging is not None:
                staging.discard()
            if collecting:
                gc.enable()
            return render_run(paths, plugins, workers, library, progress)
    else:
        check_chunks(loaded_chunks)
    cache = RenderCache(key, inputs=inputs.records, since=inputs.started)
    tree = RenderedTree()
    teams: list[str] = []
    routings: list[AlertRouting] = []
    for loaded, rendered, staged, made in chunks:
        if staging is not None and staged is not None:
            staging.chunks.append(staged)
        if made is not None:
            cache.rows.append(made)
            cache.inputs.update(made.inputs)  # taken where it was rendered
        for _, artifacts, routing in rendered:
            for artifact in artifacts:
                if isinstance(artifact, Artifact):
                    tree.add(artifact)
                else:
                    tree.stage(artifact)
            if routing is not None:
                routings.append(routing)
        teams.extend(data["metadata"]["team"] for data, _, _ in loaded.records)
    kept = [row for _, row in carried]
    if table is not None and kept:
        spans = map(range, map(table.starts.__getitem__, kept), [table.starts[r + 1] for r in kept])
        at = list(itertools.chain.from_iterable(spans))
        names = list(map(table.paths.__getitem__, at))
        # Each made by ``tuple.__new__`` in C: the named tuple's own ``__new__`` is a Python
        # function, called 15,000 times at N = 5,000 (~2.5 ms of an incremental run).
        tree.carried.update(
            zip(
                names,
                map(
                    _new_digest,
                    zip(
                        names,
                        map(table.kinds.__getitem__, at),
                        map(table.shas.__getitem__, at),
                        map(table.sources.__getitem__, at),
                        strict=True,
                    ),
                ),
                strict=True,
            )
        )
        for raw in map(table.routings.__getitem__, kept):
            routing = _routing(raw)
            if routing is not None:
                routings.append(routing)
        teams.extend(map(table.teams.__getitem__, kept))
        if keep_cache:
            cache.table, cache.kept, cache.folders = table, kept, dict(placed.folders)
    folders_kept = _carry_folder_files(tree, cache, previous, placed, now, set(teams), keep_cache)
    for artifact in render_folders(set(teams) - folders_kept, plugins, library):
        tree.add(artifact)
    # Teams' routes list their services in name order, whatever order they came in.
    for artifact in render_alert_routes(routings):
        tree.add(artifact)
    manifest = None
    text = None
    if previous is not None and now is not None and reuse is not None:
        entries = manifest_entries(previous, MANIFEST, kept, now)
        if entries is not None:
            entries = [entry for entry in entries if entry.get("path") not in tree.carried]
            manifest = manifest_of(entries)
            text = _spliced_manifest(reuse, previous, now, entries, tree)
    if text is None and staging is not None and not carried:
        text = _joined_manifest(staging, tree)
    add_manifest(tree, text)
    return RenderRun(len(teams), tree, cache, len(carried), manifest, staging)


def _joined_manifest(staging: Staging, tree: RenderedTree) -> str | None:
    """The manifest joined from the entries each chunk made where it rendered, and the run's
    own files' (folders, routes); None: encoded whole."""
    entries = [entry for chunk in staging.chunks for entry in chunk.entries]
    if len(entries) != len(tree.staged):
        return None
    own = tree.artifacts.values()
    entries.extend((a.path, entry_text(a.kind, a.path, a.sha256, a.source)) for a in own)
    return joined_manifest_text(entries)


def _carry_folder_files(
    tree: RenderedTree,
    cache: RenderCache,
    previous: RenderCache | None,
    placed: Placement,
    now: OutputStat | None,
    teams: set[str],
    keep_cache: bool,
) -> set[str]:
    """The teams whose ``folder.xml`` is carried as the previous run wrote it: its text is
    the team's name under the run's options and tool (the run key), so it is the same while
    the file is the one recorded (same stat) in a team folder found in place. At N = 5,000
    that is 200 files neither rendered nor read again by ``--check`` and ``render``."""
    if previous is None or now is None:
        return set()
    recorded = {
        str(entry.get("path")): entry
        for entry in previous.extra
        if entry.get("kind") == "folder-config" and entry.get("source") is None
    }
    carried: set[str] = set()
    for team in sorted(teams):
        path = f"{team}/folder.xml"
        entry = recorded.get(path)
        stat = previous.files.get(path)
        if (
            entry is None
            or stat is None
            or team not in placed.folders
            or type(entry.get("sha256")) is not str
            or now.file(path) != stat
        ):
            continue
        tree.carry(ArtifactDigest(path, "folder-config", str(entry["sha256"]), None))
        if keep_cache:
            cache.files[path] = stat
            cache.carried_extra.append(entry)
        carried.add(team)
    return carried


def _spliced_manifest(
    reuse: Path,
    previous: RenderCache,
    now: OutputStat,
    entries: list[dict[str, Any]],
    tree: RenderedTree,
) -> str | None:
    """The new manifest's text as the old one with the entries that changed replaced, when
    ``manifest.json`` is still the file the cached run wrote (its stat the recorded one
    before and after reading it); None: encode it whole."""
    with ConfinedDir(reuse) as root:
        _, data = root.read(MANIFEST)
    if data is None or now.file(MANIFEST) != previous.files.get(MANIFEST):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    made: list[Artifact | ArtifactDigest] = [*tree.artifacts.values(), *tree.staged.values()]
    fresh = [{"path": a.path, "kind": a.kind, "sha256": a.sha256, "source": a.source} for a in made]
    return spliced_manifest_text(text, entries, fresh)


def _previous(reuse: Path | None) -> RenderCache | None:
    if reuse is None:
        return None
    with ConfinedDir(reuse) as root:
        return read_cache(root)
