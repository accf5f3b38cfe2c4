"""``render`` and ``render --check`` after an edit redo only what the edit can change, and give
exactly what a full render gives: byte for byte, across edits to a descriptor, a
``_defaults.yaml``, the options, a template and the tool version; anything they cannot trust
(no cache, a foreign or broken one, ``--force``, a file edited or replaced under the output)
falls back to rendering, never to a stale file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.output import incremental
from jenkins_bridge.output import run as run_module
from jenkins_bridge.output.incremental import CACHE, CACHE_FOLDER
from tests.conftest import ROOT, CliResult, write_numbered_services, write_service
from tests.output.cache_text import flat_cache, flat_text

Cli = Callable[..., CliResult]


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` but the cache, by relative path."""
    files = {}
    for folder, _, names in os.walk(out):
        for name in names:
            path = Path(folder, name)
            rel = path.relative_to(out).as_posix()
            if not rel.startswith(CACHE_FOLDER + "/"):
                files[rel] = path.read_bytes()
    return files


def read_raw_cache(out: Path) -> tuple[dict[str, Any], list[Any]]:
    """The cache's columns (each segment's joined) and each service's details ([summary,
    positions]), as JSON."""
    head, details = flat_cache((out / CACHE).read_text())
    return head, [json.loads(line) for line in details]


def write_raw_cache(out: Path, head: dict[str, Any], details: list[Any]) -> None:
    (out / CACHE).write_text(flat_text(head, [json.dumps(row) for row in details]))


@pytest.fixture
def descriptors(tmp_path: Path) -> Path:
    """The bundled examples (defaults chains, locks, monitoring, images) and a few more."""
    root = tmp_path / "descriptors"
    shutil.copytree(ROOT / "examples", root)
    write_numbered_services(root / "extra", 6, teams=2)
    return root


def render(cli: Cli, descriptors: Path, out: Path, *options: str) -> CliResult:
    result = cli("--output", "json", "render", str(descriptors), "-o", str(out), *options)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def assert_same_as_full(cli: Cli, descriptors: Path, out: Path, *options: str) -> set[str]:
    """Render incrementally into ``out`` and in full into a new folder; the trees must be
    identical. Returns what the incremental run wrote."""
    before = snapshot(out)
    written = set(render(cli, descriptors, out, *options).json()["data"]["written"])
    full = out.parent / f"{out.name}-full"
    shutil.rmtree(full, ignore_errors=True)
    render(cli, descriptors, full, *options)
    after = snapshot(out)
    assert after == snapshot(full)
    changed = {p for p in after if before.get(p) != after[p]}
    assert written == changed, "render rewrote files that did not change, or missed some"
    return written


def test_unchanged_inputs_reuse_every_service(cli: Cli, descriptors: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    assert (out / CACHE).is_file()
    subprocess.run(["git", "init", "-q", str(out)], check=True)
    ignored = subprocess.run(
        ["git", "-C", str(out), "status", "--porcelain", "--ignored", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"!! {CACHE_FOLDER}/" in ignored and f"?? {CACHE}" not in ignored
    result = render(cli, descriptors, out).json()["data"]
    assert result["written"] == [] and result["reused"] == result["services"]
    check = cli("--output", "json", "render", "--check", str(descriptors), "-o", str(out))
    assert check.exit_code == 0, check.stdout


def test_descriptor_edit_rewrites_only_that_service(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    target = descriptors / "extra" / "team-1" / "svc-3.yaml"
    target.write_text(target.read_text().replace("make test-3", "make test-3 check"))
    written = assert_same_as_full(cli, descriptors, out)
    assert written == {"team-1/svc-3/Jenkinsfile", "team-1/svc-3/config.xml", "manifest.json"}
    # and only that service was rendered: every other one came from the cache
    target.write_text(target.read_text().replace("check", "lint"))
    data = render(cli, descriptors, out).json()["data"]
    assert data["reused"] == data["services"] - 1 > 0


def test_defaults_edit_reaches_every_governed_service(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    defaults = descriptors / "platform" / "_defaults.yaml"
    defaults.write_text(defaults.read_text().replace("keepBuilds: 30", "keepBuilds: 31"))
    written = assert_same_as_full(cli, descriptors, out)
    assert {p.split("/")[0] for p in written} == {"platform", "manifest.json"}


def test_new_defaults_file_in_a_folder(cli: Cli, descriptors: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    (descriptors / "extra" / "team-0" / "_defaults.yaml").write_text("pipeline: {keepBuilds: 7}\n")
    written = assert_same_as_full(cli, descriptors, out)
    assert {p.split("/")[0] for p in written} == {"team-0", "manifest.json"}


def test_options_change_renders_again(cli: Cli, descriptors: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    plugins = tmp_path / "plugins.yaml"
    plugins.write_text("workflow-job: '1400.v7fd111b_ec82f'\n")
    assert assert_same_as_full(cli, descriptors, out, "--plugins", str(plugins))
    plugins.write_text("workflow-job: '1401.v7fd111b_ec82f'\n")
    assert assert_same_as_full(cli, descriptors, out, "--plugins", str(plugins))
    repo = "https://git.example.com/platform/other-library.git"
    assert assert_same_as_full(
        cli, descriptors, out, "--plugins", str(plugins), "--library-repo", repo
    )


def test_added_and_removed_descriptors(cli: Cli, descriptors: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    (descriptors / "extra" / "team-1" / "svc-1.yaml").unlink()
    assert_same_as_full(cli, descriptors, out)
    write_service(descriptors / "more", "team-9", "fresh")
    assert_same_as_full(cli, descriptors, out)


def test_edited_output_file_is_rendered_again(cli: Cli, descriptors: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    jenkinsfile = next(out.glob("platform/portal/Jenkinsfile"))
    jenkinsfile.write_text("edited by hand\n")
    stale = cli("--output", "json", "render", "--check", str(descriptors), "-o", str(out))
    assert stale.exit_code == 2 and stale.json()["data"]["stale"] == ["platform/portal/Jenkinsfile"]
    written = assert_same_as_full(cli, descriptors, out)
    assert written == {"platform/portal/Jenkinsfile"}


def test_edit_that_keeps_size_and_modification_time_is_still_caught(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    """Size, mtime and inode can all be put back by hand (an editor that writes in place,
    ``touch -r``); the change time cannot, and the cache records it too."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    jenkinsfile = out / "platform" / "portal" / "Jenkinsfile"
    before = jenkinsfile.stat()
    text = jenkinsfile.read_bytes()
    with jenkinsfile.open("r+b") as handle:  # in place: same inode
        handle.write(b"X" + text[1:2] + (b"Y" if text[2:3] != b"Y" else b"Z") + text[3:])
    os.utime(jenkinsfile, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = jenkinsfile.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    stale = cli("--output", "json", "render", "--check", str(descriptors), "-o", str(out))
    assert stale.exit_code == 2 and stale.json()["data"]["stale"] == ["platform/portal/Jenkinsfile"]
    assert assert_same_as_full(cli, descriptors, out) == {"platform/portal/Jenkinsfile"}


def assert_same_as_reading_the_manifest(cli: Cli, descriptors: Path, out: Path) -> None:
    """``render --check`` then ``render`` into ``out`` (whose cache stands in for its manifest)
    and into a copy without the cache (which reads the manifest): the same report, the same
    files written, removed and kept, and the same tree."""
    copy = out.parent / f"{out.name}-uncached"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(out, copy, symlinks=True)
    shutil.rmtree(copy / CACHE_FOLDER)
    results = []
    for target in (out, copy):
        args = (str(descriptors), "-o", str(target))
        check = cli("--output", "json", "render", "--check", *args)
        done = render(cli, descriptors, target).json()["data"]
        reported = json.loads(check.stdout.replace(str(target), "OUT"))
        reported["data"].pop("reused")  # the copy has no cache to reuse
        results.append((check.exit_code, reported))
        results.append({k: done[k] for k in ("written", "removed", "kept", "unchanged")})
    assert results[0] == results[2]
    assert results[1] == results[3]
    assert snapshot(out) == snapshot(copy)


def test_files_a_changed_service_no_longer_produces_are_removed_or_kept_as_in_full(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    """The old manifest's entries come from the cache while manifest.json is the file the
    last render wrote: a renamed service's old files are left over (one edited by hand is
    kept, and stays in the manifest through later incremental runs)."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    (out / "team-0" / "svc-2" / "Jenkinsfile").write_text("edited by hand\n")
    target = descriptors / "extra" / "team-0" / "svc-2.yaml"
    target.write_text(target.read_text().replace("name: svc-2,", "name: svc-2b,"))
    assert_same_as_reading_the_manifest(cli, descriptors, out)
    assert not (out / "team-0" / "svc-2" / "config.xml").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert "team-0/svc-2/Jenkinsfile" in {a["path"] for a in manifest["artifacts"]}
    other = descriptors / "extra" / "team-1" / "svc-3.yaml"
    other.write_text(other.read_text().replace("make test-3", "make test-3 again"))
    assert_same_as_reading_the_manifest(cli, descriptors, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "team-0/svc-2/Jenkinsfile" in {a["path"] for a in manifest["artifacts"]}


def test_a_manifest_edited_by_hand_is_read_not_taken_from_the_cache(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    """An entry added to manifest.json by hand names a file render then owns (and removes),
    as a full render reading that manifest does."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    ghost = out / "team-0" / "ghost" / "Jenkinsfile"
    ghost.parent.mkdir()
    ghost.write_bytes(b"left by an older render\n")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["artifacts"].append(
        {
            "kind": "jenkinsfile",
            "path": "team-0/ghost/Jenkinsfile",
            "sha256": hashlib.sha256(ghost.read_bytes()).hexdigest(),
            "source": None,
        }
    )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    target = descriptors / "extra" / "team-0" / "svc-2.yaml"
    target.write_text(target.read_text().replace("make test-2", "make test-2 again"))
    stale = cli("--output", "json", "render", "--check", str(descriptors), "-o", str(out))
    assert "team-0/ghost/Jenkinsfile" in stale.json()["data"]["stale"]
    assert_same_as_reading_the_manifest(cli, descriptors, out)
    assert not ghost.exists()


def test_check_leaves_the_cache_as_it_was(cli: Cli, descriptors: Path, tmp_path: Path) -> None:
    """``--check`` builds no full cache (it writes nothing): the next render still reuses
    every service but the edited one."""
    out = tmp_path / "out"
    services = render(cli, descriptors, out).json()["data"]["services"]
    cache = (out / CACHE).read_bytes()
    target = descriptors / "extra" / "team-0" / "svc-2.yaml"
    target.write_text(target.read_text().replace("make test-2", "make test-2 again"))
    stale = cli("--output", "json", "render", "--check", str(descriptors), "-o", str(out))
    assert stale.exit_code == 2 and stale.json()["data"]["reused"] == services - 1
    assert (out / CACHE).read_bytes() == cache
    assert render(cli, descriptors, out).json()["data"]["reused"] == services - 1
    assert assert_same_as_full(cli, descriptors, out) == set()


def test_output_folder_replaced_by_a_link_is_refused_as_in_full(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    moved = tmp_path / "elsewhere"
    (out / "payments").rename(moved)
    (out / "payments").symlink_to(moved)
    incremental = cli("render", str(descriptors), "-o", str(out))
    shutil.copytree(out, tmp_path / "copy", symlinks=True)
    (tmp_path / "copy" / CACHE).unlink(missing_ok=True)
    full = cli("render", str(descriptors), "-o", str(tmp_path / "copy"))
    assert incremental.exit_code == full.exit_code == 1
    assert incremental.stderr.replace(str(out), "OUT") == full.stderr.replace(
        str(tmp_path / "copy"), "OUT"
    )
    assert "symbolic link" in incremental.stderr


@pytest.mark.parametrize(
    "cache_text",
    ["not json", '{"format": "jenkins-bridge-render-cache/0"}', '{"format": 1, "run": []}', "[]"],
)
def test_foreign_or_broken_cache_means_full_render(
    cli: Cli, descriptors: Path, tmp_path: Path, cache_text: str
) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    target = descriptors / "extra" / "team-0" / "svc-2.yaml"
    target.write_text(target.read_text().replace("make test-2", "make test-2 again"))
    (out / CACHE).write_text(cache_text)
    assert_same_as_full(cli, descriptors, out)
    assert read_raw_cache(out)[0]["format"] == "jenkins-bridge-render-cache/9"  # good again


def test_edit_that_changes_no_output_writes_nothing(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    target = descriptors / "payments" / "payments-api.yaml"
    target.write_text(target.read_text() + "\n# a comment changes no output\n")
    assert assert_same_as_full(cli, descriptors, out) == set()


def test_problems_are_reported_as_a_full_run_does(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    twin = descriptors / "extra" / "team-0" / "svc-4.yaml"
    twin.write_text(twin.read_text().replace("svc-4", "svc-2"))
    incremental = cli("render", str(descriptors), "-o", str(out))
    shutil.copytree(out, tmp_path / "copy")
    (tmp_path / "copy" / CACHE).unlink()
    full = cli("render", str(descriptors), "-o", str(tmp_path / "copy"))
    assert incremental.exit_code == full.exit_code == 1
    assert incremental.stderr == full.stderr and "already defined" in full.stderr


def test_check_after_an_edit_reports_what_full_check_reports(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    target = descriptors / "extra" / "team-0" / "svc-0.yaml"
    target.write_text(target.read_text().replace("make test-0", "make test-0 twice"))
    incremental = cli("--output", "json", "render", "--check", str(descriptors), "-o", str(out))
    (out / CACHE).unlink()
    full = cli("--output", "json", "render", "--check", str(descriptors), "-o", str(out))
    assert incremental.exit_code == full.exit_code == 2
    reused = incremental.json()["data"].pop("reused")
    assert full.json()["data"].pop("reused") == 0 < reused
    assert incremental.json()["data"] | {"reused": 0} == full.json()["data"]


def _copy_tool(tmp_path: Path) -> Path:
    """A copy of the package to edit (templates, version) as an upgrade or a checkout would."""
    site = tmp_path / "tool"
    shutil.copytree(
        ROOT / "jenkins_bridge", site / "jenkins_bridge", ignore=shutil.ignore_patterns("*.pyc")
    )
    return site


def _render_with(site: Path, descriptors: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-m", "jenkins_bridge", "render", str(descriptors), "-o", str(out)],
        env=env,
        cwd=site,  # not the checkout: ``-m`` puts the working folder first on the path
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("edit", ["template", "version"])
def test_template_or_version_change_renders_again(
    descriptors: Path, tmp_path: Path, edit: str
) -> None:
    site = _copy_tool(tmp_path)
    out = tmp_path / "out"
    _render_with(site, descriptors, out)
    if edit == "template":
        template = site / "jenkins_bridge" / "templates" / "Jenkinsfile.j2"
        template.write_text(template.read_text().replace("pipeline {", "pipeline { // edited", 1))
    else:
        init = site / "jenkins_bridge" / "__init__.py"
        text = init.read_text()
        init.write_text(text.replace('__version__ = "', '__version__ = "9', 1))
        assert init.read_text() != text
    before = snapshot(out)
    _render_with(site, descriptors, out)
    full = tmp_path / "full"
    _render_with(site, descriptors, full)
    after = snapshot(out)
    assert after != before, "the edit changed no output: the test proves nothing"
    assert sorted(p for p in after if after[p] != snapshot(full).get(p)) == []


def _swap_folder(folder: Path) -> None:
    """Replace ``folder`` by a new folder holding the same files: each file keeps its inode,
    size and modification time; only the folder (and so its inode) is new."""
    old = folder.with_name(folder.name + ".old")
    folder.rename(old)
    folder.mkdir()
    for entry in old.iterdir():
        entry.rename(folder / entry.name)
    old.rmdir()


@pytest.mark.parametrize(
    "folder,services",
    [
        ("platform/portal", 1),  # one service's folder
        ("platform/ledger/monitoring", 1),  # a folder below a service's
        ("team-1", 3),  # a team's folder: every service under it
    ],
)
def test_replaced_output_folder_is_not_trusted(
    cli: Cli, descriptors: Path, tmp_path: Path, folder: str, services: int
) -> None:
    # The cache records each folder above a file; a new folder in its place (a checkout, a
    # restore, or a link swapped in and out) means the services under it are rendered again,
    # however many of their files, or of other services' files, share the folder.
    out = tmp_path / "out"
    render(cli, descriptors, out)
    assert (out / folder).is_dir()
    _swap_folder(out / folder)
    data = render(cli, descriptors, out).json()["data"]
    assert data["reused"] == data["services"] - services
    assert_same_as_full(cli, descriptors, out)
    data = render(cli, descriptors, out).json()["data"]
    assert data["reused"] == data["services"]


# --- input files trusted by their stat (as git's index) ---------------------------------------


def _record(path: Path, digest: str) -> tuple[int, int, int, int, int, str]:
    info = path.stat()
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, digest)


def test_an_input_whose_stat_is_recorded_is_not_read_again_unless_racy(tmp_path: Path) -> None:
    """A recorded stat stands for the bytes (the recorded digest is believed, even a wrong
    one: that is what makes it cheap); but not for a file changed within ``RACY_NS`` of the
    start of the run that recorded it, where an edit in the same clock tick keeps the stat."""
    path = tmp_path / "svc.yaml"
    path.write_bytes(b"name: a\n")
    real = hashlib.sha256(b"name: a\n").hexdigest()
    mtime = path.stat().st_mtime_ns
    recorded = {str(path): _record(path, "f" * 64)}
    long_after = max(mtime, path.stat().st_ctime_ns) + incremental.RACY_NS + 1
    assert incremental.InputDigests(recorded, long_after).of(str(path)) == "f" * 64
    # racy: the run that recorded it started too soon after the file changed
    assert incremental.InputDigests(recorded, long_after - 2).of(str(path)) == real
    assert incremental.InputDigests(recorded, mtime).of(str(path)) == real
    # what the next cache keeps: the trusted record as it was, a read file's fresh record
    trusting = incremental.InputDigests(recorded, long_after)
    trusting.of(str(path))
    assert trusting.records == recorded
    reading = incremental.InputDigests(recorded, mtime)
    reading.of(str(path))
    assert reading.records == {str(path): _record(path, real)}
    # a modification time set back (``touch -r``) does not hide a recent change time
    back = mtime - 3600 * 10**9
    os.utime(path, ns=(back, back))
    recorded = {str(path): _record(path, "f" * 64)}
    since = back + incremental.RACY_NS + 1
    assert incremental.InputDigests(recorded, since).of(str(path)) == real
    # a modification time set ahead of the change time (``touch -d tomorrow``) is racy too
    ahead = mtime + 3600 * 10**9
    os.utime(path, ns=(ahead, ahead))
    recorded = {str(path): _record(path, "f" * 64)}
    since = path.stat().st_ctime_ns + incremental.RACY_NS + 1
    assert incremental.InputDigests(recorded, since).of(str(path)) == real
    assert incremental.InputDigests(recorded, ahead + incremental.RACY_NS + 1).of(str(path)) == (
        "f" * 64
    )


@pytest.mark.parametrize("field", range(5))
def test_any_stat_field_that_differs_means_the_input_is_read(tmp_path: Path, field: int) -> None:
    path = tmp_path / "svc.yaml"
    path.write_bytes(b"name: a\n")
    record = list(_record(path, "f" * 64))
    record[field] += 1
    since = max(record[3], record[4]) + incremental.RACY_NS + 10
    digests = incremental.InputDigests({str(path): tuple(record)}, since)  # type: ignore[dict-item]
    assert digests.of(str(path)) == hashlib.sha256(b"name: a\n").hexdigest()


def test_missing_and_unreadable_inputs(tmp_path: Path) -> None:
    digests = incremental.InputDigests()
    assert digests.of(str(tmp_path / "none.yaml")) == incremental.ABSENT
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere")
    assert digests.of(str(tmp_path / "dangling.yaml")) == incremental.UNREADABLE
    os.mkfifo(tmp_path / "fifo.yaml")
    assert digests.of(str(tmp_path / "fifo.yaml")) == incremental.UNREADABLE
    assert digests.records == {}


@pytest.fixture
def trusting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs written just before a render are racy, so a test's renders would read every file
    and never trust a stat: without the margin (the clock alone), they are trusted."""
    monkeypatch.setattr(incremental, "RACY_NS", 0)


def _replace_keeping_stat_times(path: Path, data: bytes, *, rename: bool) -> None:
    """New bytes of the same size with the old modification time: written in place (same
    inode) or as a new file renamed over it (a new inode), as editors do."""
    before = path.stat()
    assert len(data) == before.st_size
    if rename:
        new = path.with_name(path.name + ".new")
        new.write_bytes(data)
        os.utime(new, ns=(before.st_atime_ns, before.st_mtime_ns))
        new.rename(path)
        assert path.stat().st_ino != before.st_ino
    else:
        with path.open("r+b") as handle:
            handle.write(data)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert path.stat().st_ino == before.st_ino
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


@pytest.mark.usefixtures("trusting")
@pytest.mark.parametrize("rename", [False, True], ids=["in-place", "renamed-over"])
@pytest.mark.parametrize("which", ["descriptor", "defaults"])
def test_input_edit_that_keeps_size_and_modification_time_is_caught(
    cli: Cli, descriptors: Path, tmp_path: Path, rename: bool, which: str
) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    data = render(cli, descriptors, out).json()["data"]
    assert data["reused"] == data["services"]  # every input trusted by its stat
    if which == "descriptor":
        path = descriptors / "extra" / "team-1" / "svc-3.yaml"
        old, new = b"make test-3", b"make test-4"
    else:
        path = descriptors / "platform" / "_defaults.yaml"
        old, new = b"keepBuilds: 30", b"keepBuilds: 31"
    text = path.read_bytes()
    assert old in text
    _replace_keeping_stat_times(path, text.replace(old, new), rename=rename)
    stale = cli("--output", "json", "render", "--check", str(descriptors), "-o", str(out))
    assert stale.exit_code == 2
    written = assert_same_as_full(cli, descriptors, out)
    expected = "team-1" if which == "descriptor" else "platform"
    assert {p.split("/")[0] for p in written} == {expected, "manifest.json"}


@pytest.mark.usefixtures("trusting")
def test_output_file_renamed_over_with_same_size_and_time_is_caught(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    render(cli, descriptors, out)
    jenkinsfile = out / "platform" / "portal" / "Jenkinsfile"
    text = jenkinsfile.read_bytes()
    _replace_keeping_stat_times(jenkinsfile, b"X" + text[1:], rename=True)
    stale = cli("--output", "json", "render", "--check", str(descriptors), "-o", str(out))
    assert stale.exit_code == 2 and stale.json()["data"]["stale"] == ["platform/portal/Jenkinsfile"]
    assert assert_same_as_full(cli, descriptors, out) == {"platform/portal/Jenkinsfile"}


def test_racy_input_is_read_even_when_the_cache_vouches_for_it(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    """With the margin as shipped, a descriptor written just before the render that recorded
    it is read again by the next run, whatever digest the cache holds for it: here a wrong one
    (what an edit in the same clock tick as the recording would leave) is not believed, and
    the service is still taken from the cache because its real bytes did not change."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    cache, details = read_raw_cache(out)
    target = str((descriptors / "extra" / "team-1" / "svc-3.yaml").resolve())
    at = cache["inputs"].index(target)
    assert cache["input_stats"][5 * at : 5 * at + 5] == list(_record(Path(target), "")[:5])
    cache["input_digests"][at] = hashlib.sha256(b"something else").hexdigest()
    write_raw_cache(out, cache, details)
    data = render(cli, descriptors, out).json()["data"]
    assert data["reused"] == data["services"] and data["written"] == []


def _receiver(path: Path, email: str) -> None:
    path.write_text(
        path.read_text() + f"monitoring: {{alerts: {{receivers: {{ops: {{email: {email}}}}}}}}}\n"
    )


@pytest.mark.parametrize("conflict", ["name", "receiver", "team-defaults"])
@pytest.mark.parametrize("check", [False, True])
def test_a_changed_service_conflicting_with_a_carried_one_fails_as_in_full(
    cli: Cli, descriptors: Path, tmp_path: Path, conflict: str, check: bool
) -> None:
    """The checks across files see the carried services of a changed service's team (the
    others are left out: they passed together when recorded); each kind of conflict between
    an edited descriptor and one taken from the cache is reported exactly as a full run
    reports it."""
    team0 = descriptors / "extra" / "team-0"
    if conflict == "receiver":
        _receiver(team0 / "svc-2.yaml", "a@example.com")  # recorded below, then carried
    out = tmp_path / "out"
    render(cli, descriptors, out)
    edited = team0 / "svc-4.yaml"
    if conflict == "name":
        edited.write_text(edited.read_text().replace("name: svc-4", "name: svc-2"))
        expected = "already defined"
    elif conflict == "receiver":
        _receiver(edited, "b@example.com")
        expected = "declared here differently"
    else:  # platform's services are governed by platform/_defaults.yaml, this one by none
        edited.write_text(edited.read_text().replace("team: team-0", "team: platform"))
        expected = "keep a team's descriptors under the same _defaults.yaml"
    options = ["--check"] if check else []
    incremental = cli("render", *options, str(descriptors), "-o", str(out))
    shutil.copytree(out, tmp_path / "copy")
    (tmp_path / "copy" / CACHE).unlink()
    full = cli("render", *options, str(descriptors), "-o", str(tmp_path / "copy"))
    assert incremental.exit_code == full.exit_code == 1
    assert incremental.stdout == full.stdout
    assert incremental.stderr == full.stderr and expected in full.stderr


def test_an_edit_in_one_team_leaves_other_teams_checks_out(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    """Only the changed services' teams are checked across files again, and the result is
    still the full render's."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    target = descriptors / "extra" / "team-1" / "svc-3.yaml"
    target.write_text(target.read_text().replace("make test-3", "make test-3 again"))
    seen: list[int] = []
    real = run_module.check_chunks

    def counting(chunks: list[Any]) -> None:
        seen.append(sum(len(chunk.records) for chunk in chunks))
        real(chunks)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "check_chunks", counting)
        written = assert_same_as_full(cli, descriptors, out)
    assert written == {"team-1/svc-3/Jenkinsfile", "team-1/svc-3/config.xml", "manifest.json"}
    assert seen[0] == 3  # team-1's three services (svc-1, svc-3, svc-5), not all of them


def test_cached_positions_are_the_loaded_ones(cli: Cli, descriptors: Path, tmp_path: Path) -> None:
    """The cache writes a position in the service's own descriptor without its file; what the
    checks across files are given back is the position the loader found."""
    from jenkins_bridge.descriptor.loading import discover, load_files
    from jenkins_bridge.output.confined import ConfinedDir

    out = tmp_path / "out"
    render(cli, descriptors, out)
    _, details = read_raw_cache(out)
    assert all(row[1]["name"][0] is None for row in details)  # written once, as key
    files = discover([descriptors])
    loaded = load_files(files)
    with ConfinedDir(out) as root:
        cache = incremental.read_cache(root)
    assert cache is not None and cache.table is not None
    rows = cache.table.rows()
    assert len(rows) == len(files)
    for descriptor in files:
        _, positions = cache.table.detail(rows[descriptor.key])
        for part, expected in (("name", loaded.name_positions), ("team", loaded.team_positions)):
            got = incremental.expand_position(positions[part], descriptor.key)
            assert got == tuple(expected[descriptor.path])


@pytest.mark.parametrize(
    ("table", "change"),
    [
        ("stats", lambda column: column[:-1]),
        ("folder_stats", lambda column: column[:-1]),
        ("input_stats", lambda column: column[:-1]),
        ("input_digests", lambda column: [*column[:-1], 12345]),
        ("shas", lambda column: column[:-1]),
        ("prints", lambda column: column[1:]),
        ("files", lambda column: {path: record[:4] for path, record in column.items()}),
    ],
)
def test_a_cache_entry_of_the_wrong_shape_means_full_render(
    cli: Cli,
    descriptors: Path,
    tmp_path: Path,
    trusting: None,
    table: str,
    change: Callable[[Any], Any],
) -> None:
    """Stats and digests are taken from the cache as they are: a column of another length, or
    a digest that is not text, is refused with the whole cache, never a crash or a stale
    file."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    raw, details = read_raw_cache(out)
    raw[table] = change(raw[table])
    write_raw_cache(out, raw, details)
    target = descriptors / "extra" / "team-0" / "svc-2.yaml"
    target.write_text(target.read_text().replace("make test-2", "make test-2 again"))
    assert_same_as_full(cli, descriptors, out)


def _damage_details(
    change: Callable[[list[Any]], object],
) -> Callable[[dict[str, Any], list[Any]], None]:
    def damage(raw: dict[str, Any], details: list[Any]) -> None:
        for row in details:
            change(row)

    return damage


def _damage_column(
    column: str, change: Callable[[Any], Any]
) -> Callable[[dict[str, Any], list[Any]], None]:
    def damage(raw: dict[str, Any], details: list[Any]) -> None:
        raw[column] = [change(value) for value in raw[column]]

    return damage


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(_damage_details(lambda row: row[1].update(name=5)), id="position-not-a-list"),
        pytest.param(_damage_details(lambda row: row[1].pop("governed_by")), id="position-missing"),
        pytest.param(
            _damage_details(lambda row: row[0].pop("metadata")), id="summary-without-metadata"
        ),
        pytest.param(_damage_details(lambda row: row.pop()), id="details-of-one-field"),
        pytest.param(_damage_column("routings", lambda _: {"team": "x"}), id="routing-half-built"),
        pytest.param(_damage_column("paths", lambda _: None), id="path-not-text"),
        pytest.param(_damage_column("teams", lambda _: 5), id="team-not-text"),
        pytest.param(_damage_column("counts", lambda _: "3"), id="count-not-a-number"),
    ],
)
@pytest.mark.parametrize("check", [False, True])
def test_a_service_entry_damaged_by_hand_means_full_render(
    cli: Cli,
    descriptors: Path,
    tmp_path: Path,
    trusting: None,
    damage: Callable[[dict[str, Any], list[Any]], None],
    check: bool,
) -> None:
    """The cache is only a shortcut: a service entry that is valid JSON of another shape (a
    hand edit) is never a traceback; the run renders everything, as without a cache."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    raw, details = read_raw_cache(out)
    damage(raw, details)
    write_raw_cache(out, raw, details)
    target = descriptors / "extra" / "team-0" / "svc-2.yaml"
    target.write_text(target.read_text().replace("make test-2", "make test-2 again"))
    if check:
        result = cli("render", "--check", str(descriptors), "-o", str(out))
        assert result.exit_code == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "svc-2" in result.stdout + result.stderr
    assert_same_as_full(cli, descriptors, out)


@pytest.mark.parametrize("damage", [None, "entry", "manifest"])
def test_the_manifest_is_spliced_and_anything_it_cannot_vouch_for_is_encoded_whole(
    cli: Cli, descriptors: Path, tmp_path: Path, damage: str | None
) -> None:
    """After an edit, the manifest is the previous one with the changed entries replaced where
    they stand; when the cache's record of the previous entries does not match the file (here
    an alert route's digest changed in the cache), or the file is not the one recorded, the
    whole list is encoded: the tree is the full render's either way."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    if damage == "entry":
        raw, details = read_raw_cache(out)
        route = next(e for e in raw["extra"] if e["kind"] == "alertmanager-route")
        route["sha256"] = "0" * 64  # rendered again each run, so replaced in the manifest
        write_raw_cache(out, raw, details)
    elif damage == "manifest":
        manifest = out / "manifest.json"
        manifest.write_bytes(manifest.read_bytes())  # the same bytes, a new change time
    target = descriptors / "extra" / "team-1" / "svc-3.yaml"
    target.write_text(target.read_text().replace("make test-3", "make test-3 check"))
    spliced: list[str | None] = []
    real = run_module.spliced_manifest_text

    def spying(*args: Any) -> str | None:
        spliced.append(real(*args))
        return spliced[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "spliced_manifest_text", spying)
        written = assert_same_as_full(cli, descriptors, out)
    assert written == {"team-1/svc-3/Jenkinsfile", "team-1/svc-3/config.xml", "manifest.json"}
    if damage is None:
        assert len(spliced) == 1 and spliced[0] is not None
    elif damage == "entry":
        assert spliced == [None]
    else:
        assert spliced == []  # the manifest is read, and nothing is spliced


@pytest.mark.parametrize("folder", ["platform/portal", "platform/ledger/monitoring", "platform"])
@pytest.mark.parametrize("change", ["missing", "another-inode"])
def test_a_folder_the_cache_does_not_vouch_for_renders_its_services_again(
    cli: Cli, descriptors: Path, tmp_path: Path, change: str, folder: str
) -> None:
    """Each folder on the way to a carried file must be in the cache as the folder that is
    there now (a directory, the same inode): a record missing or not matching (a hand edit
    of the cache) renders the services under it again, and only those."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    raw, details = read_raw_cache(out)
    at = raw["folders"].index(folder)
    if change == "missing":
        del raw["folders"][at]
        del raw["folder_stats"][at]
    else:
        raw["folder_stats"][at] += 1
    under = len({p.split("/")[1] for p in raw["paths"] if p.startswith(folder + "/")})
    assert under >= 1
    write_raw_cache(out, raw, details)
    data = render(cli, descriptors, out).json()["data"]
    assert data["reused"] == data["services"] - under
    assert data["written"] == []  # rendered again, the same bytes
    data = render(cli, descriptors, out).json()["data"]
    assert data["reused"] == data["services"]


@pytest.mark.parametrize("change", [None, "edited", "removed", "record"])
@pytest.mark.parametrize("check", [False, True])
def test_team_folder_files_are_carried_while_in_place(
    cli: Cli, descriptors: Path, tmp_path: Path, change: str | None, check: bool
) -> None:
    """A team's folder.xml depends on the team's name and the run's options alone: after an
    edit it is taken as it is while it is the file the cache recorded; edited or removed by
    hand, or its record not the file's, it is rendered again (and --check names it)."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    folder = out / "team-0" / "folder.xml"
    if change == "edited":
        folder.write_text(folder.read_text() + "<!-- by hand -->\n")
    elif change == "removed":
        folder.unlink()
    elif change == "record":
        raw, details = read_raw_cache(out)
        raw["files"]["team-0/folder.xml"][1] += 1  # its size
        write_raw_cache(out, raw, details)
    target = descriptors / "extra" / "team-1" / "svc-3.yaml"
    target.write_text(target.read_text().replace("make test-3", "make test-3 check"))
    rendered: list[list[str]] = []
    real = run_module.render_folders

    def spying(teams: Any, *args: Any) -> Any:
        rendered.append(sorted(teams))
        return real(teams, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "render_folders", spying)
        if check:
            stale = cli("--output", "json", "render", "--check", str(descriptors), "-o", str(out))
            assert stale.exit_code == 2
            names = set(stale.json()["data"]["stale"])
            assert ("team-0/folder.xml" in names) == (change in ("edited", "removed"))
        written = assert_same_as_full(cli, descriptors, out)
    assert rendered[0] == ([] if change is None else ["team-0"])
    expected = {"team-1/svc-3/Jenkinsfile", "team-1/svc-3/config.xml", "manifest.json"}
    if change in ("edited", "removed"):
        expected.add("team-0/folder.xml")
    assert written == expected


@pytest.mark.parametrize("damaged", [False, True])
def test_the_collector_runs_while_services_are_rendered_and_after_the_run(
    cli: Cli, descriptors: Path, tmp_path: Path, damaged: bool
) -> None:
    """The run pauses the garbage collector for its own work, not while services are
    rendered (a full render after a damaged cache too), and leaves it as it found it."""
    import gc

    out = tmp_path / "out"
    render(cli, descriptors, out)
    if damaged:
        raw, details = read_raw_cache(out)
        raw["teams"] = [5] * len(raw["teams"])  # fails where it is used: a full render
        write_raw_cache(out, raw, details)
    target = descriptors / "extra" / "team-1" / "svc-3.yaml"
    target.write_text(target.read_text().replace("make test-3", "make test-3 check"))
    seen: list[bool] = []
    real = run_module.map_chunks

    def spying(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    assert gc.isenabled()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "map_chunks", spying)
        data = render(cli, descriptors, out).json()["data"]
    assert data["reused"] == (0 if damaged else data["services"] - 1)
    assert seen and all(seen) and gc.isenabled()


@pytest.mark.parametrize("cached", [False, True])
def test_what_a_run_makes_is_not_walked_by_young_collections(
    cli: Cli, tmp_path: Path, cached: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The objects a run makes while the collector is paused live as long as its result: they
    go to the oldest generation without a pass, so no collection runs in the run's own work
    or right after it (services are rendered by ``map_chunks``, which collects after them),
    and the collector is on again."""
    import gc

    from jenkins_bridge.output.run import render_run
    from jenkins_bridge.render.job_config import SharedLibrary

    src, out = tmp_path / "src", tmp_path / "out"
    write_numbered_services(src, 300, teams=3)  # thousands of objects: collections if walked
    if cached:
        render(cli, src, out)
        target = src / "team-1" / "svc-4.yaml"
        target.write_text(target.read_text().replace("make test-4", "make test-4 again"))
    seen: list[str] = []
    where = ["the run"]
    real = run_module.map_chunks

    def mapping(*args: Any, **kwargs: Any) -> Any:
        where[0] = "map_chunks"
        try:
            return real(*args, **kwargs)
        finally:
            where[0] = "the run"

    def started(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and where[0] != "map_chunks":
            seen.append(where[0])

    monkeypatch.setattr(run_module, "map_chunks", mapping)
    library = SharedLibrary(scope="folder", repo=None, credentials_id=None)  # as the CLI's
    gc.collect()
    gc.callbacks.append(started)
    try:
        run = render_run([src], {}, library=library, reuse=out if cached else None)
        where[0] = "after it"
        after = [object() for _ in range(gc.get_threshold()[0] // 2)]  # the first allocations
    finally:
        gc.callbacks.remove(started)
    assert run.services == 300 and run.reused == (299 if cached else 0) and after
    assert seen == [] and gc.isenabled()


def test_the_cache_keeps_each_teams_services_together(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    """Rows are written in team order, also after an edit (a rendered service goes back
    among its team's carried ones), so the next run opens each team folder once."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    for team, name in (("team-0", "svc-2"), ("payments", "payments-api")):
        target = next(descriptors.rglob(f"{name}.yaml"))
        target.write_text(target.read_text() + f"# {team} edited\n")
        data = render(cli, descriptors, out).json()["data"]
        assert data["reused"] == data["services"] - 1
        raw, _ = read_raw_cache(out)
        assert raw["teams"] == sorted(raw["teams"])
        firsts = [path.split("/")[0] for path in raw["paths"]]
        assert firsts == sorted(firsts)


@pytest.mark.parametrize("check", [False, True])
def test_a_service_folder_replaced_by_a_link_is_refused_as_in_full(
    cli: Cli, descriptors: Path, tmp_path: Path, check: bool
) -> None:
    """A service's folder moved away and linked back keeps every file's inode, size and
    times: the listing of its team folder shows a link, so its files are not in place, and
    the run reports what a full run reports."""
    out = tmp_path / "out"
    render(cli, descriptors, out)
    moved = tmp_path / "elsewhere"
    (out / "platform" / "portal").rename(moved)
    (out / "platform" / "portal").symlink_to(moved)
    options = ["--check"] if check else []
    incremental = cli("render", *options, str(descriptors), "-o", str(out))
    shutil.copytree(out, tmp_path / "copy", symlinks=True)
    (tmp_path / "copy" / CACHE).unlink(missing_ok=True)
    full = cli("render", *options, str(descriptors), "-o", str(tmp_path / "copy"))
    assert incremental.exit_code == full.exit_code != 0
    assert incremental.stdout.replace(str(out), "OUT") == full.stdout.replace(
        str(tmp_path / "copy"), "OUT"
    )
    assert incremental.stderr.replace(str(out), "OUT") == full.stderr.replace(
        str(tmp_path / "copy"), "OUT"
    )
    assert "symbolic link" in incremental.stdout + incremental.stderr


def test_carried_files_are_the_digests_a_full_run_makes(
    cli: Cli, descriptors: Path, tmp_path: Path
) -> None:
    """Each carried file is known by the same ``ArtifactDigest`` (path, kind, sha256,
    source) as the full run that recorded it made (its fields in that order)."""
    from jenkins_bridge.output.run import render_run
    from jenkins_bridge.render.artifacts import ArtifactDigest
    from jenkins_bridge.render.job_config import SharedLibrary

    out = tmp_path / "out"
    render(cli, descriptors, out)
    target = descriptors / "extra" / "team-1" / "svc-3.yaml"
    target.write_text(target.read_text().replace("make test-3", "make test-3 check"))
    library = SharedLibrary(scope="folder", repo=None, credentials_id=None)  # as the CLI's
    full = render_run([descriptors], {}, library=library)
    run = render_run([descriptors], {}, library=library, reuse=out)
    assert run.reused == run.services - 1 > 0
    carried = run.tree.carried
    assert len(carried) > 10
    for path, digest in carried.items():
        made = full.tree.artifacts[path]
        assert type(digest) is ArtifactDigest
        assert digest == ArtifactDigest(path, made.kind, made.sha256, made.source)
        assert digest.sha256 == hashlib.sha256((out / path).read_bytes()).hexdigest()
