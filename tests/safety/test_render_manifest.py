"""The manifest is input, not trust: render removes an entry only if it lies inside -o with no
link on the way and still has the sha256 the manifest recorded; the order of writing leaves an
interrupted render stale, never up to date."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GOLDEN, CliResult

from jenkins_bridge.errors import Interrupted
from jenkins_bridge.output import manifest as manifest_module
from jenkins_bridge.output.confined import ConfinedDir
from jenkins_bridge.output.incremental import CACHE
from jenkins_bridge.output.run import render_run
from jenkins_bridge.output.workspace import RenderInterrupted, write_tree

Cli = Callable[..., CliResult]
PRECIOUS = "precious, not generated\n"


def _sources(src: Path, *names: str) -> None:
    src.mkdir(exist_ok=True)
    for existing in src.glob("*.yaml"):
        existing.unlink()
    for name in names:
        text = (GOLDEN / "minimal" / "hello.yaml").read_text().replace("hello", name)
        (src / f"{name}.yaml").write_text(text)


def _add_entries(out: Path, *entries: dict[str, object]) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["artifacts"].extend(entries)
    (out / "manifest.json").write_text(json.dumps(manifest))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def rendered(cli: Cli, tmp_path: Path) -> tuple[Path, Path]:
    src, out = tmp_path / "src", tmp_path / "out"
    _sources(src, "one", "two")
    assert cli("render", str(src), "-o", str(out)).exit_code == 0
    return src, out


# Manifest entries a hostile or careless hand could write; none of their targets may go.
HOSTILE_ENTRIES: dict[str, Callable[[Path], tuple[str, Path]]] = {
    "parent-escape": lambda t: ("../victim.txt", t / "victim.txt"),
    "deep-parent-escape": lambda t: ("core/../../victim.txt", t / "victim.txt"),
    "absolute": lambda t: (str(t / "victim.txt"), t / "victim.txt"),
    "dot-segments": lambda t: ("./core/./x/../../../victim.txt", t / "victim.txt"),
    "backslashes": lambda t: ("..\\victim.txt", t / "victim.txt"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_ENTRIES))
def test_entries_naming_places_outside_are_never_removed(
    cli: Cli, rendered: tuple[Path, Path], case: str
) -> None:
    src, out = rendered
    path, victim = HOSTILE_ENTRIES[case](out.parent)
    victim.write_text(PRECIOUS)
    _add_entries(out, {"path": path, "kind": "job-config", "sha256": _sha(PRECIOUS)})
    result = cli("--output", "json", "render", str(src), "-o", str(out), "--force")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert victim.read_text() == PRECIOUS
    assert path in [k["path"] for k in result.json()["data"]["kept"]]


def test_an_entry_reached_through_a_linked_folder_is_not_removed(
    cli: Cli, rendered: tuple[Path, Path]
) -> None:
    src, out = rendered
    outside = out.parent / "outside"
    outside.mkdir()
    (outside / "config.xml").write_text(PRECIOUS)
    (out / "link").symlink_to(outside)
    _add_entries(out, {"path": "link/config.xml", "kind": "job-config", "sha256": _sha(PRECIOUS)})
    check = cli("render", str(src), "-o", str(out), "--check")
    assert check.exit_code == 2 and "link/config.xml" in check.stdout
    assert PRECIOUS.strip() not in check.stdout
    result = cli("render", str(src), "-o", str(out), "--force")
    assert result.exit_code == 0
    assert (outside / "config.xml").read_text() == PRECIOUS
    assert "kept link/config.xml" in result.stdout and "symbolic link" in result.stdout


def test_a_listed_file_that_became_a_link_is_not_followed(
    cli: Cli, rendered: tuple[Path, Path]
) -> None:
    src, out = rendered
    victim = out.parent / "victim.txt"
    victim.write_text(PRECIOUS)
    jenkinsfile = out / "core" / "two" / "Jenkinsfile"
    jenkinsfile.unlink()
    jenkinsfile.symlink_to(victim)
    _sources(src, "one")  # two's files are now extra
    assert cli("render", str(src), "-o", str(out), "--force").exit_code == 0
    assert victim.read_text() == PRECIOUS
    assert jenkinsfile.is_symlink()  # kept, reported


def test_a_hand_edited_generated_file_is_kept_until_force(
    cli: Cli, rendered: tuple[Path, Path]
) -> None:
    src, out = rendered
    edited = out / "core" / "two" / "Jenkinsfile"
    edited.write_text(edited.read_text() + "// my notes\n")
    _sources(src, "one")
    check = cli("render", str(src), "-o", str(out), "--check")
    assert check.exit_code == 2
    assert "core/two/Jenkinsfile: no descriptor produces it, render keeps it" in check.stdout
    assert "my notes" not in check.stdout
    result = cli("--output", "json", "render", str(src), "-o", str(out))
    assert result.exit_code == 0
    data = result.json()["data"]
    assert data["removed"] == ["core/two/config.xml"]
    assert [k["path"] for k in data["kept"]] == ["core/two/Jenkinsfile"]
    assert "edited" in data["kept"][0]["reason"]
    assert "my notes" in edited.read_text()
    # Still owned: the manifest keeps listing it, so --check stays stale and --force removes it.
    assert cli("render", str(src), "-o", str(out), "--check").exit_code == 2
    forced = cli("--output", "json", "render", str(src), "-o", str(out), "--force")
    assert forced.json()["data"]["removed"] == ["core/two/Jenkinsfile"]
    assert not (out / "core" / "two").exists()
    assert cli("render", str(src), "-o", str(out), "--check").exit_code == 0


def test_an_unedited_file_no_longer_produced_is_removed(
    cli: Cli, rendered: tuple[Path, Path]
) -> None:
    src, out = rendered
    _sources(src, "one")
    result = cli("--output", "json", "render", str(src), "-o", str(out))
    assert result.json()["data"]["removed"] == ["core/two/Jenkinsfile", "core/two/config.xml"]
    assert result.json()["data"]["kept"] == []


def test_a_manifest_entry_without_a_valid_sha256_is_never_removed(
    cli: Cli, rendered: tuple[Path, Path]
) -> None:
    src, out = rendered
    stray = out / "core" / "notes.txt"
    stray.write_text(PRECIOUS)
    _add_entries(out, {"path": "core/notes.txt", "kind": "job-config", "sha256": "nope"})
    assert cli("render", str(src), "-o", str(out), "--force").exit_code == 0
    assert stray.read_text() == PRECIOUS


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, writes: int) -> list[str]:
    done: list[str] = []
    real = ConfinedDir.write

    def write(self: ConfinedDir, path: str, data: bytes) -> None:
        if len(done) == writes:
            raise KeyboardInterrupt
        real(self, path, data)
        done.append(path)

    monkeypatch.setattr(ConfinedDir, "write", write)
    return done


@pytest.mark.parametrize("writes", [0, 1, 2])
def test_an_interrupted_render_is_seen_as_stale_and_the_next_one_finishes(
    cli: Cli, rendered: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, writes: int
) -> None:
    src, out = rendered
    _sources(src, "one", "three")  # two goes, three comes, the manifest changes
    tree = render_run([src]).tree
    with monkeypatch.context() as patch:
        done = _interrupt_after(patch, writes)
        with pytest.raises(RenderInterrupted) as caught:
            write_tree(out, tree)
    assert isinstance(caught.value, Interrupted) and caught.value.exit_code == 130
    assert caught.value.data["written"] == done
    assert "manifest.json" not in done  # the manifest is always the last write
    assert cli("render", str(src), "-o", str(out), "--check").exit_code == 2
    assert cli("render", str(src), "-o", str(out)).exit_code == 0
    assert cli("render", str(src), "-o", str(out), "--check").exit_code == 0
    assert not list(out.rglob(".jenkins-bridge-tmp-*"))


def test_removals_come_after_writes_and_before_the_manifest(
    rendered: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = rendered
    _sources(src, "one", "three")
    tree = render_run([src]).tree
    events: list[str] = []
    real_write, real_remove = ConfinedDir.write, ConfinedDir.remove

    def write(self: ConfinedDir, path: str, data: bytes) -> None:
        events.append(f"write {path}")
        real_write(self, path, data)

    def remove(self: ConfinedDir, path: str) -> object:
        events.append(f"remove {path}")
        return real_remove(self, path)

    monkeypatch.setattr(ConfinedDir, "write", write)
    monkeypatch.setattr(ConfinedDir, "remove", remove)
    write_tree(out, tree)
    # the reuse cache goes before anything changes, so a stopped run leaves none to trust
    assert events.pop(0) == f"remove {CACHE}"
    kinds = [e.split()[0] for e in events]
    assert events[-1] == "write manifest.json"
    assert kinds.index("remove") > max(i for i, k in enumerate(kinds[:-1]) if k == "write")
    assert manifest_module.MANIFEST == "manifest.json"
