"""The render cache's rows made where the services were rendered (``CacheRows``, a chunk's
columns encoded in the worker) and joined by the run give the very text the cache had when
the run encoded every row itself, whatever the chunks, the teams' order and the rows carried
from the previous cache; and that text reads back as the same cache."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import write_numbered_services
from hypothesis import given, settings
from hypothesis import strategies as st

from jenkins_bridge.descriptor.loading import discover
from jenkins_bridge.output.confined import ConfinedDir
from jenkins_bridge.output.incremental import (
    _FORMAT,
    _NOT_A_FILE,
    CACHE,
    CacheRows,
    InputDigests,
    RenderCache,
    _compact,
    _parse_cache,
    fingerprints,
    read_cache,
)
from jenkins_bridge.output.run import render_run
from jenkins_bridge.output.workspace import write_tree
from jenkins_bridge.workers import PARALLEL_THRESHOLD
from tests.output.cache_text import ROW_COLUMNS as _NAMES
from tests.output.cache_text import flat_cache

Service = tuple[str, str, dict[str, Any], dict[str, Any], dict[str, Any] | None, list[Any]]


def reference_json(cache: RenderCache, fresh: list[Service]) -> tuple[dict[str, Any], list[str]]:
    """The cache's head and details (as ``flat_cache`` reads them, segments joined) as
    ``RenderCache.to_json`` (now ``encoded``) wrote them when the run kept each rendered
    service's data and encoded every row itself (up to 1691850)."""
    table = cache.table
    kept = cache.kept if table is not None else []
    columns: dict[str, list[Any]] = {name: [] for name in (*_NAMES, "stats")}
    details: list[bytes] = []
    order: list[tuple[str, int, int]] = []
    if table is not None:
        order += zip(map(table.teams.__getitem__, kept), itertools.repeat(0), kept)
    order += ((str(s[2]["metadata"]["team"]), 1, i) for i, s in enumerate(fresh))
    order.sort()
    produced: set[str] = set()
    for team, new, index in order:
        if not new:
            assert table is not None
            start, end = table.starts[index], table.starts[index + 1]
            columns["keys"].append(table.keys[index])
            columns["prints"].append(table.prints[index])
            columns["routings"].append(table.routings[index])
            details.append(table.details[index])
            columns["paths"] += table.paths[start:end]
            columns["kinds"] += table.kinds[start:end]
            columns["shas"] += table.shas[start:end]
            columns["sources"] += table.sources[start:end]
            columns["stats"] += table.stats[start:end]
            columns["teams"].append(team)
            columns["counts"].append(end - start)
            continue
        key, fingerprint, summary, positions, routing, artifacts = fresh[index]
        columns["keys"].append(key)
        columns["prints"].append(fingerprint)
        columns["teams"].append(team)
        columns["routings"].append(routing)
        columns["counts"].append(len(artifacts))
        for path, kind, sha256, source in artifacts:
            columns["paths"].append(path)
            columns["kinds"].append(kind)
            columns["shas"].append(sha256)
            columns["sources"].append(source)
            columns["stats"].append(cache.files.get(path, _NOT_A_FILE))
            produced.add(path)
        compact = [summary, _compact(positions, key)]
        details.append(json.dumps(compact, separators=(",", ":")).encode())
    inputs = cache.inputs
    head = {
        "format": _FORMAT,
        "run": cache.run,
        "since": cache.since,
        **{name: values for name, values in columns.items() if name != "stats"},
        "stats": list(itertools.chain.from_iterable(columns["stats"])),
        "files": {path: s for path, s in cache.files.items() if path not in produced},
        "folders": list(cache.folders),
        "folder_stats": list(cache.folders.values()),
        "extra": [*cache.extra, *cache.carried_extra],
        "inputs": list(inputs),
        "input_stats": [value for record in inputs.values() for value in record[:5]],
        "input_digests": [record[5] for record in inputs.values()],
    }
    # (JSON's own types: tuples read back as lists)
    return json.loads(json.dumps(head)), [line.decode() for line in details]


def flat(text: str) -> tuple[dict[str, Any], list[str]]:
    """``flat_cache`` without the segments' sizes (how the rows are cut is not compared)."""
    head, details = flat_cache(text)
    sizes = head.pop("segments")
    assert sum(sizes) == len(details) and all(sizes)
    return head, details


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
_teams = st.sampled_from(["a", "b", "c", "é"])
_stat = st.tuples(*[st.integers(0, 2**63)] * 5)


@st.composite
def services(draw: st.DrawFn, prefix: str) -> list[Service]:
    found: list[Service] = []
    for number in range(draw(st.integers(0, 8))):
        key = f"{prefix}{number}/{draw(_text)}"
        team = draw(_teams)
        summary: dict[str, Any] = {"metadata": {"team": team, "name": draw(_text)}}
        own = draw(st.booleans())
        positions = {
            "name": (key if own else draw(_text), 4, 9),
            "team": (key, 5, draw(st.integers(1, 9))),
            "governed_by": tuple(
                (draw(_text), draw(_text)) for _ in range(draw(st.integers(0, 2)))
            ),
        }
        routing = draw(st.none() | st.fixed_dictionaries({"team": _text, "origin": _text}))
        artifacts = [
            (f"{team}/{key}/{i}", draw(_text), draw(_text), draw(st.none() | _text))
            for i in range(draw(st.integers(0, 3)))
        ]
        found.append((key, draw(_text), summary, positions, routing, artifacts))
    return found


def cache_with(draw: st.DrawFn, fresh: list[Service]) -> RenderCache:
    cache = RenderCache(draw(_text), since=draw(st.integers(0, 2**63)))
    paths = [path for s in fresh for path, *_ in s[5]]
    for path in draw(st.lists(st.sampled_from(paths), unique=True)) if paths else []:
        cache.files[path] = draw(_stat)
    cache.files["manifest.json"] = draw(_stat)
    cache.folders = {"a": draw(st.integers(0, 2**63))}
    cache.extra = [{"kind": "folder-config", "path": "a/folder.xml", "sha256": draw(_text)}]
    cache.inputs = {draw(_text): (*draw(_stat), draw(_text))}
    return cache


def chunked(draw: st.DrawFn, fresh: list[Service]) -> list[CacheRows]:
    """``fresh`` cut into chunks, each made as a worker makes it (some left unencoded)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(fresh)), max_size=4)))
    chunks = []
    for start, end in itertools.pairwise([0, *cuts, len(fresh)]):
        rows = CacheRows()
        for key, fingerprint, summary, positions, routing, artifacts in fresh[start:end]:
            rows.add(key, fingerprint, summary, positions, routing, artifacts)
        chunks.append(rows.encode() if draw(st.booleans()) else rows)
    return chunks


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_rows_made_apart_and_joined_are_the_cache_encoded_whole(data: st.DataObject) -> None:
    fresh = data.draw(services("k"))
    if data.draw(st.booleans()):  # often in team order, as a cold run's chunks are
        fresh.sort(key=lambda s: str(s[2]["metadata"]["team"]))
    cache = cache_with(data.draw, fresh)
    cache.rows = chunked(data.draw, fresh)
    text = cache.encoded().decode()
    assert flat(text) == reference_json(cache, fresh)
    # and it reads back as the rows it was given
    read = _parse_cache(text.encode())
    assert read is not None and read.table is not None
    assert sorted(read.table.keys) == sorted(s[0] for s in fresh)
    assert sorted(read.table.paths) == sorted(p for s in fresh for p, *_ in s[5])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_rows_among_carried_ones_are_the_cache_encoded_whole(data: st.DataObject) -> None:
    old = data.draw(services("old"))
    previous = cache_with(data.draw, old)
    previous.rows = chunked(data.draw, old)
    read = _parse_cache(previous.encoded().decode().encode())
    assert read is not None and read.table is not None
    fresh = data.draw(services("new"))
    cache = cache_with(data.draw, fresh)
    cache.table = read.table
    cache.kept = data.draw(st.lists(st.sampled_from(range(len(old))), unique=True)) if old else []
    cache.rows = chunked(data.draw, fresh)
    assert flat(cache.encoded().decode()) == reference_json(cache, fresh)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_cold_runs_fingerprints_taken_where_rendered_are_the_runs_own(
    tmp_path: Path, workers: int
) -> None:
    # Without a previous cache each chunk takes its descriptors' fingerprints and input
    # records itself: the same as the run takes them before rendering when it has a cache.
    src, out = tmp_path / "src", tmp_path / "out"
    write_numbered_services(src, PARALLEL_THRESHOLD + 20, teams=9)
    for team in range(0, 9, 2):
        (src / f"team-{team}" / "_defaults.yaml").write_text("pipeline: {agent: linux}\n")
    (src / "_defaults.yaml").write_text("pipeline: {timeoutMinutes: 30}\n")
    inputs = InputDigests()
    prints = fingerprints(discover([src]), inputs)
    # no cache, then a cache of another run key (other options): the same as the run's own
    for plugins in (None, {"workflow-job": "1400.v7fd111b_ec82f"}):
        run = render_run([src], plugins, workers, reuse=out, out=out)
        assert run.reused == 0
        write_tree(out, run.tree, cache=run.cache, previous=run.previous, staging=run.staging)
        with ConfinedDir(out) as root:
            cache = read_cache(root)
        assert cache is not None and cache.table is not None
        assert dict(zip(cache.table.keys, cache.table.prints, strict=True)) == prints
        own = {path: record for path, record in cache.inputs.items() if path in inputs.records}
        assert own == inputs.records  # every descriptor and _defaults.yaml, as recorded
    again = render_run([src], plugins, workers, reuse=out, out=out)
    assert again.reused == PARALLEL_THRESHOLD + 20


def carried_from(read: RenderCache, kept: list[int]) -> RenderCache:
    """A run's cache that carries ``kept`` rows of ``read`` (its table) and renders none,
    with ``read``'s own records."""
    assert read.table is not None
    cache = RenderCache(read.run, since=read.since, table=read.table, kept=kept)
    cache.files, cache.folders, cache.extra = dict(read.files), dict(read.folders), read.extra
    cache.inputs = dict(read.inputs)
    return cache


def encoded_whole(cache: RenderCache) -> bytes:
    """``cache.encoded()`` with nothing copied from the previous cache's text: every row
    encoded again."""
    assert cache.table is not None
    firsts = cache.table.firsts
    cache.table.firsts = []
    try:
        return cache.encoded()
    finally:
        cache.table.firsts = firsts


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_carrying_every_row_gives_back_the_very_text_read(data: st.DataObject) -> None:
    # every segment copied as it was read: the same bytes, cut in the same segments (with
    # every row encoded again instead, the rows would be one segment)
    old = data.draw(services("old"))
    old.sort(key=lambda s: str(s[2]["metadata"]["team"]))
    previous = cache_with(data.draw, old)
    previous.rows = chunked(data.draw, old)
    text = previous.encoded()
    read = _parse_cache(text)
    assert read is not None and read.table is not None
    assert carried_from(read, list(range(len(old)))).encoded() == text


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_spliced_cache_is_the_cache_encoded_whole(data: st.DataObject) -> None:
    # segments copied from the previous text where their rows stay together, the rest
    # encoded: the same cache as every row encoded again, whatever is carried and rendered
    old = data.draw(services("old"))
    if data.draw(st.booleans()):
        old.sort(key=lambda s: str(s[2]["metadata"]["team"]))
    previous = cache_with(data.draw, old)
    previous.rows = chunked(data.draw, old)
    read = _parse_cache(previous.encoded())
    assert read is not None and read.table is not None
    # (twice: the spliced text spliced again)
    for _ in range(2):
        rows = range(len(read.table.keys))
        kept = sorted(data.draw(st.lists(st.sampled_from(rows), unique=True))) if rows else []
        fresh = data.draw(services(f"new{len(kept)}-"))
        cache = carried_from(read, kept)
        cache.rows = chunked(data.draw, fresh)
        spliced = cache.encoded()
        assert flat(spliced.decode()) == flat(encoded_whole(cache).decode())
        assert flat(spliced.decode()) == reference_json(cache, fresh)
        again = _parse_cache(spliced)
        assert again is not None and again.table is not None
        read = again


def two_segments() -> bytes:
    cache = RenderCache("run")
    for team in ("a", "b"):
        rows = CacheRows()
        for i in range(2):
            files = [(f"{team}/{i}/{n}", "job-config", "0" * 64, None) for n in range(2)]
            summary = {"metadata": {"team": team}}
            positions = {"name": ["k", 1, 2], "team": ["k", 1, 3], "governed_by": []}
            rows.add(f"{team}{i}.yaml", "print", summary, positions, None, files)
        cache.rows.append(rows.encode())
    return cache.encoded()


def test_segments_as_written_read_back() -> None:
    text = two_segments()
    head, _ = flat_cache(text.decode())
    assert head["segments"] == [2, 2]
    read = _parse_cache(text)
    assert read is not None and read.table is not None
    assert read.table.keys == ["a0.yaml", "a1.yaml", "b0.yaml", "b1.yaml"]
    assert read.table.starts == [0, 2, 4, 6, 8]


def _move_a_file(text: str) -> str:
    # the first segment's last file given to the second: every column as long as before
    # across the segments, each segment's own not
    head, first, second, *details = text.split("\n")
    one, two = json.loads(first), json.loads(second)
    for column in range(5, 9):
        two[column].insert(0, one[column].pop())
    two[9][:0] = one[9][-5:]
    del one[9][-5:]  # (the rows' counts left: each segment's own no longer add up)
    return "\n".join([head, json.dumps(one), json.dumps(two), *details])


@pytest.mark.parametrize(
    "damage",
    [
        _move_a_file,
        lambda text: text.replace('"segments":[2,2]', '"segments":[2,1]'),
        lambda text: text.replace('"segments":[2,2]', '"segments":[1,3]'),
        lambda text: text.replace('"segments":[2,2]', '"segments":[4]'),
        lambda text: text.replace('"segments":[2,2]', '"segments":[2,0,2]'),
        lambda text: text.rstrip("\n"),
    ],
)
def test_a_segment_not_whole_is_no_cache(damage: Any) -> None:
    # each segment must be whole by itself: the next run copies it as it stands
    assert _parse_cache(two_segments()) is not None
    assert _parse_cache(damage(two_segments().decode()).encode()) is None


def test_an_incremental_runs_cache_copies_the_unchanged_segments(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    count = PARALLEL_THRESHOLD + 20
    write_numbered_services(src, count, teams=9)
    run = render_run([src], None, 2, reuse=out, out=out)
    write_tree(out, run.tree, cache=run.cache, previous=run.previous, staging=run.staging)
    before = (out / CACHE).read_bytes()
    sizes = json.loads(before.partition(b"\n")[0])["segments"]
    assert len(sizes) > 2
    target = src / "team-4" / "svc-13.yaml"
    target.write_text(target.read_text().replace("make test-13", "make test-13 again"))
    run = render_run([src], None, 2, reuse=out, out=out)
    assert run.reused == count - 1
    write_tree(out, run.tree, cache=run.cache, previous=run.previous, staging=run.staging)
    after = (out / CACHE).read_bytes()
    assert flat(after.decode()) == flat(encoded_whole(run.cache).decode())
    # every segment's line copied but those with the changed service's team (its row goes
    # after the team's carried ones: here into the next segment, where the team ends)
    old_lines = before.split(b"\n")[1 : 1 + len(sizes)]
    new_lines = set(after.split(b"\n")[1:])
    assert sum(line in new_lines for line in old_lines) == len(sizes) - 2
    again = render_run([src], None, 2, reuse=out, out=out)
    assert again.reused == count
