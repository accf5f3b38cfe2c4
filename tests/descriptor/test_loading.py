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
