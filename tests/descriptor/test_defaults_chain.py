"""``_defaults.yaml`` governs its whole subtree: values inherit, locks cannot be undone below,
and a team cannot be split across folders governed by different defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from jenkins_bridge.descriptor import load_service, load_services
from jenkins_bridge.errors import InvalidDescriptors, Problem


def descriptor(name: str, team: str = "core", extra: str = "") -> str:
    return (
        "apiVersion: jenkins-bridge/v1\nkind: Service\n"
        f"metadata: {{name: {name}, team: {team}}}\n"
        "source: {repo: https://git.example.com/core/svc.git}\n" + extra
    )


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def problems_of(*paths: Path) -> list[Problem]:
    with pytest.raises(InvalidDescriptors) as caught:
        load_services(list(paths))
    return caught.value.problems()


LOCKED_AGENT = "pipeline: {agent: linux, timeoutMinutes: 30}\nlocked: [pipeline.agent]\n"
# Team core, whose folder locks the agent, and one of its services.
LOCKED_CORE = {"core/_defaults.yaml": LOCKED_AGENT, "core/svc.yaml": descriptor("svc")}
LAPTOP = "pipeline: {agent: laptop}\n"


def test_nested_folders_inherit_defaults(tmp_path: Path) -> None:
    write(tmp_path, {"team/_defaults.yaml": LOCKED_AGENT, "team/a/b/svc.yaml": descriptor("svc")})
    (service,) = load_services([tmp_path])
    assert service.pipeline.agent == "linux" and service.pipeline.timeout_minutes == 30


def test_a_nested_descriptor_cannot_override_a_lock_above_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "team/_defaults.yaml": LOCKED_AGENT,
            "team/sub/svc.yaml": descriptor("svc", extra=LAPTOP),
        },
    )
    (problem,) = problems_of(tmp_path)
    assert problem.file == str(tmp_path / "team/sub/svc.yaml") and problem.line == 5
    assert "pipeline.agent: is locked by" in problem.message
    assert f"{tmp_path / 'team/_defaults.yaml'}:2:" in problem.message


def test_a_nearer_defaults_overrides_values_but_not_locks(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "team/_defaults.yaml": LOCKED_AGENT,
            # May change timeoutMinutes; may not change the locked agent, even with `locked: []`.
            "team/sub/_defaults.yaml": "pipeline: {agent: mine, timeoutMinutes: 5}\nlocked: []\n",
            "team/sub/svc.yaml": descriptor("svc"),
        },
    )
    (problem,) = problems_of(tmp_path)
    assert problem.file == str(tmp_path / "team/sub/_defaults.yaml")
    assert (problem.line, problem.column) == (1, 12)
    assert "pipeline.agent: is locked by" in problem.message


def test_a_nearer_defaults_may_change_unlocked_values_and_add_locks(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "team/_defaults.yaml": LOCKED_AGENT,
            "team/sub/_defaults.yaml": "pipeline: {timeoutMinutes: 5, keepBuilds: 3}\n"
            "locked: [pipeline.keepBuilds]\n",
            "team/sub/svc.yaml": descriptor("svc"),
            "team/sub/bad.yaml": descriptor("bad", extra="pipeline: {keepBuilds: 9}\n"),
        },
    )
    (problem,) = problems_of(tmp_path)
    assert problem.file == str(tmp_path / "team/sub/bad.yaml")
    assert "pipeline.keepBuilds: is locked by" in problem.message
    (tmp_path / "team/sub/bad.yaml").unlink()
    (service,) = load_services([tmp_path])
    assert (service.pipeline.agent, service.pipeline.timeout_minutes) == ("linux", 5)
    assert service.pipeline.keep_builds == 3


def test_outside_a_repository_defaults_govern_from_the_folder_given(tmp_path: Path) -> None:
    write(tmp_path, {"team/_defaults.yaml": LOCKED_AGENT, "team/sub/svc.yaml": descriptor("svc")})
    assert load_service(tmp_path / "team/sub/svc.yaml").pipeline.agent == "any"
    assert load_service(tmp_path / "team").pipeline.agent == "linux"


def test_in_a_repository_a_file_named_alone_is_governed_from_the_top(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(
        tmp_path,
        {
            "team/_defaults.yaml": LOCKED_AGENT,
            "team/sub/svc.yaml": descriptor("svc", extra=LAPTOP),
        },
    )
    (problem,) = problems_of(tmp_path / "team/sub/svc.yaml")
    assert "locked by" in problem.message
    (problem,) = problems_of(tmp_path / "team/sub")


def test_values_from_an_outer_defaults_are_located_there(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "team/_defaults.yaml": "pipeline: {timeoutMinutes: soon}\n",
            "team/sub/_defaults.yaml": "pipeline: {keepBuilds: 3}\n",
            "team/sub/svc.yaml": descriptor("svc"),
        },
    )
    (problem,) = problems_of(tmp_path)
    assert problem.file == str(tmp_path / "team/_defaults.yaml") and problem.line == 1


def test_problems_of_an_outer_defaults_are_reported_through_nested_folders(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "team/_defaults.yaml": "locked: pipeline.agent\n",
            "team/sub/_defaults.yaml": "pipeline: {keepBuilds: 3}\n",
            "team/sub/svc.yaml": descriptor("svc"),
        },
    )
    (problem,) = problems_of(tmp_path)
    assert problem.file == str(tmp_path / "team/_defaults.yaml")
    assert "locked: must be a list of dotted paths" in problem.message


def test_a_team_split_across_different_defaults_names_both(tmp_path: Path) -> None:
    # Next door, out of reach of core's locks:
    write(tmp_path, LOCKED_CORE | {"escape/other.yaml": descriptor("other", extra=LAPTOP)})
    (problem,) = problems_of(tmp_path)
    assert problem.file == str(tmp_path / "escape/other.yaml") and problem.line == 3
    assert "team 'core'" in problem.message
    assert "no _defaults.yaml" in problem.message
    assert str(tmp_path / "core/_defaults.yaml") in problem.message
    assert str(tmp_path / "core/svc.yaml") in problem.message


def test_a_team_may_span_folders_under_the_same_defaults(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "core/_defaults.yaml": LOCKED_AGENT,
            "core/api/svc.yaml": descriptor("svc"),
            "core/web/other.yaml": descriptor("other"),
            "elsewhere/third.yaml": descriptor("third", team="frontend"),
        },
    )
    assert len(load_services([tmp_path])) == 3


def test_a_lock_on_a_path_no_descriptor_has_is_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "_defaults.yaml": "locked: [pipeline.agnet, runtime.env.HOME, pipeline.agent]\n",
            "svc.yaml": descriptor("svc"),
        },
    )
    (problem,) = problems_of(tmp_path)
    assert (problem.line, problem.column) == (1, 10)
    assert problem.message == "locked[0]: 'pipeline.agnet' is not a descriptor key"


def test_naming_a_defaults_file_checks_its_whole_subtree(tmp_path: Path) -> None:
    write(tmp_path, LOCKED_CORE | {"core/sub/deep.yaml": descriptor("deep", extra=LAPTOP)})
    (problem,) = problems_of(tmp_path / "core/_defaults.yaml")
    assert problem.file == str(tmp_path / "core/sub/deep.yaml")


def test_a_team_split_is_seen_across_chunks_loaded_apart(tmp_path: Path) -> None:
    from jenkins_bridge.descriptor.loading import check_chunks, discover, load_files

    write(tmp_path, LOCKED_CORE | {"escape/other.yaml": descriptor("other")})
    files = discover([tmp_path])
    chunks = [load_files(files[:1]), load_files(files[1:])]  # as parallel workers would
    assert not chunks[0].problems and not chunks[1].problems
    with pytest.raises(InvalidDescriptors) as caught:
        check_chunks(chunks)
    (problem,) = caught.value.problems()
    assert "team 'core' is governed here by" in problem.message
