"""Rendering into a folder among the descriptors: the generated YAML (Prometheus rules and
configs, Alertmanager routes) is not read back as descriptors by the next run."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import GOLDEN

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.output.run import render_run


def test_a_render_output_folder_is_not_searched_for_descriptors(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    repo = tmp_path / "descriptors"
    shutil.copytree(GOLDEN / "full", repo, ignore=shutil.ignore_patterns("expected*"))
    result = cli("render", str(repo), "-o", str(repo / "generated"))
    assert result.exit_code == 0, result.stderr
    assert list((repo / "generated").rglob("*.yml")), "the case renders monitoring YAML"
    assert [s.full_name for s in load_services([repo])] == ["payments/payments-api"]
    again = render_run([repo]).tree
    assert "generated" not in " ".join(again.artifacts)


def test_a_folder_with_some_other_manifest_is_still_searched(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "full", tmp_path / "repo", ignore=shutil.ignore_patterns("expected*"))
    nested = tmp_path / "repo" / "team"
    nested.mkdir()
    (nested / "manifest.json").write_text('{"generator": "someone else"}\n', encoding="utf-8")
    shutil.copy(GOLDEN / "minimal" / "hello.yaml", nested / "hello.yaml")
    names = sorted(s.full_name for s in load_services([tmp_path / "repo"]))
    assert len(names) == 2, names
