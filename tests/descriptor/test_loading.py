"""Descriptor loading: discovery, team defaults, locked keys, model defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import GOLDEN, ROOT

from jenkins_bridge.descriptor import discover, load_service, load_services
from jenkins_bridge.errors import InvalidDescriptors, UsageError


def test_defaults_merge_under_each_descriptor() -> None:
    services = {s.metadata.name: s for s in load_services([GOLDEN / "team-defaults"])}
    assert services["billing"].pipeline.agent == "linux-docker"
    assert services["billing"].pipeline.keep_builds == 5  # own value
    assert services["billing"].pipeline.timeout_minutes == 45  # from defaults
    assert services["ledger"].pipeline.timeout_minutes == 10
    assert services["ledger"].runtime.restart == "always"
    assert services["ledger"].pipeline.notify.email == "platform@example.com"


def test_locked_override_names_both_files() -> None:
    with pytest.raises(InvalidDescriptors) as caught:
        load_services([GOLDEN / "err-locked-override"])
    (problem,) = caught.value.problems()
    assert problem.file is not None and problem.file.endswith("svc.yaml")
    assert "_defaults.yaml:3" in problem.message and "pipeline.agent" in problem.message


def test_minimal_descriptor_gets_documented_defaults() -> None:
    service = load_service(GOLDEN / "minimal" / "hello.yaml")
    assert service.source.branch == "main"
    assert service.pipeline.job_type == "pipeline"
    assert service.pipeline.agent == "any"
    assert service.image is None and service.deploy == ()
    assert service.runtime.healthcheck.path == "/healthz"
    assert len(service.digest) == 64


def test_digest_changes_with_content(tmp_path: Path) -> None:
    text = (GOLDEN / "minimal" / "hello.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text)
    first = load_service(tmp_path / "a.yaml").digest
    (tmp_path / "a.yaml").write_text(text + "monitoring: {metricsPath: /m}\n")
    assert load_service(tmp_path / "a.yaml").digest != first


def test_discover_skips_defaults_and_hidden(tmp_path: Path) -> None:
    (tmp_path / "_defaults.yaml").write_text("pipeline: {}\n")
    (tmp_path / ".hidden.yaml").write_text("x: 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yml").write_text("x: 1\n")
    (tmp_path / "notes.txt").write_text("x")
    assert [d.origin for d in discover([tmp_path])] == ["sub/a.yml"]
    with pytest.raises(UsageError):
        discover([tmp_path / "missing"])
    with pytest.raises(UsageError):
        discover([tmp_path / "sub" / "..", tmp_path / "empty"])


def test_all_problems_of_all_files_are_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: jenkins-bridge/v1\nkind: Service\n")
    (tmp_path / "b.yaml").write_text("a: [\n")
    with pytest.raises(InvalidDescriptors) as caught:
        load_services([tmp_path])
    files = {Path(p.file or "").name for p in caught.value.problems()}
    assert files == {"a.yaml", "b.yaml"}


def test_trailing_newline_in_a_name_is_rejected(tmp_path: Path) -> None:
    # Python's `$` matches before a final newline; the compiled check must not let it through.
    path = tmp_path / "svc.yaml"
    path.write_text(
        'apiVersion: jenkins-bridge/v1\nkind: Service\nmetadata: {name: "abc\\n", team: core}\n'
        "source: {repo: https://git.example.com/core/svc.git}\n"
    )
    with pytest.raises(InvalidDescriptors) as caught:
        load_services([path])
    (problem,) = caught.value.problems()
    assert problem.message.startswith("metadata.name:") and problem.line == 3


def test_naming_a_defaults_file_checks_the_descriptors_it_applies_to() -> None:
    found = discover([GOLDEN / "team-defaults" / "_defaults.yaml"])
    assert sorted(d.path.name for d in found) == ["billing.yaml", "ledger.yaml"]
    assert found[0].origin == "tests/golden/team-defaults/billing.yaml"  # path in the repository
    with pytest.raises(InvalidDescriptors) as caught:
        load_services([GOLDEN / "err-locked-override" / "_defaults.yaml"])
    assert "is locked by" in str(caught.value.problems()[0])


def test_a_file_named_twice_is_loaded_once() -> None:
    folder = GOLDEN / "team-defaults"
    services = load_services([folder / "_defaults.yaml", folder / "billing.yaml", folder])
    assert sorted(s.metadata.name for s in services) == ["billing", "ledger"]


def test_origin_is_the_path_in_the_repository_whatever_path_was_given(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "services" / "core").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "services" / "core" / "hello.yaml").write_text(
        (GOLDEN / "minimal" / "hello.yaml").read_text()
    )
    origins = {
        load_services([given])[0].origin
        for given in (repo, repo / "services", repo / "services" / "core" / "hello.yaml")
    }
    assert origins == {"services/core/hello.yaml"}
    # Outside a repository: relative to the folder given.
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "hello.yaml").write_text((GOLDEN / "minimal" / "hello.yaml").read_text())
    assert load_service(tmp_path / "loose").origin == "hello.yaml"


def test_filled_defaults_are_reused_locally_and_not_sent_between_processes() -> None:
    import pickle

    from jenkins_bridge.descriptor.loading import discover, load_files
    from jenkins_bridge.descriptor.schema import with_defaults

    loaded = load_files(discover([ROOT / "examples"]))
    assert loaded.records and set(loaded.filled) == {path for _, path, _ in loaded.records}
    for data, path, _ in loaded.records:
        assert loaded.filled[path] == with_defaults(data)
    crossed = pickle.loads(pickle.dumps(loaded))
    assert crossed.filled == {} and crossed.records == loaded.records
    # Built with the filled data or filling it again: the same services.
    assert crossed.services() == loaded.services()


def _walked_as_os_walk(folder: Path) -> list[tuple[str, str, str, str, str]]:
    """What discovery gave when it went through ``os.walk`` and looked at each file with
    ``os.path.islink``: the reference the scandir walk must equal."""
    import os

    from jenkins_bridge.descriptor.loading import _is_render_output, _repository_root

    roots: dict[str, str | None] = {}
    base = os.path.realpath(folder)
    found = []
    for current, dirs, files in os.walk(folder):
        if current != str(folder) and _is_render_output(current, files):
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        rel_dir = os.path.relpath(current, folder)
        for name in sorted(files):
            if name.startswith(("_", ".")) or not name.endswith((".yaml", ".yml")):
                continue
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            real = os.path.join(base, rel)
            root = _repository_root(os.path.dirname(real), roots)
            origin = real[len(root) + 1 :] if root is not None else rel
            key = os.path.realpath(real) if os.path.islink(real) else real
            path = Path(current, name)
            found.append((str(path), origin, key, base, root or base))
    return found


def test_discovery_finds_what_os_walk_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    tree = tmp_path / "tree"
    for folder in ("b", "a/deep/er", "_skipped", ".hidden", "repo/x", "out", "Z"):
        (tree / folder).mkdir(parents=True)
    for file in ("z.yaml", "A.yml", "b/2.yaml", "b/10.yaml", "a/deep/er/s.yaml", "a/n.txt"):
        (tree / file).write_text("x: 1\n")
    for file in ("_skipped/s.yaml", ".hidden/h.yaml", "b/_defaults.yaml", "b/.h.yaml"):
        (tree / file).write_text("x: 1\n")
    (tree / "repo" / ".git").write_text("gitdir: elsewhere\n")  # a worktree's .git file
    (tree / "repo" / "x" / "r.yaml").write_text("x: 1\n")
    (tmp_path / "elsewhere.yaml").write_text("x: 1\n")
    (tree / "Z" / "link.yaml").symlink_to(tmp_path / "elsewhere.yaml")  # a link: listed
    (tree / "Z" / "dangling.yaml").symlink_to(tree / "missing.yaml")  # listed, reported later
    (tree / "linked").symlink_to(tree / "a")  # a link to a folder: neither listed nor walked
    os.mkfifo(tree / "b" / "fifo.yaml")  # listed, refused when read
    (tree / "out" / "manifest.json").write_text('{\n  "generator": "jenkins-bridge"\n}\n')
    (tree / "out" / "alerts.yaml").write_text("x: 1\n")  # render output: not a descriptor
    (tmp_path / "via-link").symlink_to(tree)

    def walked(folder: Path | str) -> list[tuple[str, str, str, str, str]]:
        found = discover([folder])
        texts = [d.text for d in found]  # before any ``path`` is made: it is made when asked
        assert texts == [str(d.path) for d in found]
        return [(str(d.path), d.origin, d.key, d.top, d.root) for d in found]

    expected = _walked_as_os_walk(tree)
    assert [origin for _, origin, *_ in expected] == [
        "A.yml", "z.yaml", "Z/dangling.yaml", "Z/link.yaml", "a/deep/er/s.yaml",
        "b/10.yaml", "b/2.yaml", "b/fifo.yaml", "x/r.yaml",
    ]  # fmt: skip
    assert walked(tree) == expected
    assert walked(tmp_path / "via-link") == _walked_as_os_walk(tmp_path / "via-link")
    assert walked(tmp_path / "via-link" / "b") == _walked_as_os_walk(tmp_path / "via-link" / "b")
    monkeypatch.chdir(tree)
    assert walked(Path(".")) == _walked_as_os_walk(Path("."))
    assert walked(Path("a")) == _walked_as_os_walk(Path("a"))
    assert walked("./a//deep/") == _walked_as_os_walk(Path("a/deep"))
    assert walked(str(tree) + "/") == _walked_as_os_walk(tree)
