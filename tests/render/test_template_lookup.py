"""Templates are package data with one lookup path, the same in a checkout and a wheel."""

from __future__ import annotations

import os
import stat
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
from conftest import ROOT, write_service

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile
from jenkins_bridge.render.templates import environment

PACKAGE_TEMPLATES = ROOT / "jenkins_bridge" / "templates"


def test_templates_are_found_through_the_package_only() -> None:
    loader = environment().loader
    assert isinstance(loader, jinja2.PackageLoader)
    assert loader.package_name == "jenkins_bridge"
    for name in ("Jenkinsfile.j2", "starter.yaml.j2"):
        _, filename, _ = loader.get_source(environment(), name)
        assert filename == str(PACKAGE_TEMPLATES / name)


def test_the_top_level_templates_folder_is_a_relative_link_into_the_package() -> None:
    link = ROOT / "templates"
    assert link.is_symlink() and not link.readlink().is_absolute()
    assert link.resolve() == PACKAGE_TEMPLATES.resolve()


def test_the_wheel_ships_templates_as_package_data_not_a_second_copy() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert "jenkins_bridge" in wheel["packages"]
    assert "templates" not in wheel.get("force-include", {})


@pytest.fixture
def fresh_bytecode_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Jinja's per-user bytecode folder under ``tmp_path``, with no environment built yet."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    environment.cache_clear()
    yield tmp_path / f"_jinja2-cache-{os.getuid()}"
    environment.cache_clear()


def _jenkinsfile(root: Path) -> str:
    service = write_service(root, "payments", "api")
    text = render_jenkinsfile(load_services([service])[0])
    environment.cache_clear()  # the next call builds a new environment, as a new run does
    return text


def test_a_template_from_the_bytecode_cache_renders_what_a_compiled_one_does(
    fresh_bytecode_cache: Path, tmp_path: Path
) -> None:
    compiled = _jenkinsfile(tmp_path)
    buckets = list(fresh_bytecode_cache.glob("*.cache"))
    assert buckets, "the first run leaves the compiled template in the cache"
    assert stat.S_IMODE(fresh_bytecode_cache.stat().st_mode) == 0o700
    assert _jenkinsfile(tmp_path) == compiled


def test_a_stale_or_corrupt_bytecode_entry_is_compiled_again(
    fresh_bytecode_cache: Path, tmp_path: Path
) -> None:
    compiled = _jenkinsfile(tmp_path)
    (bucket,) = fresh_bytecode_cache.glob("*.cache")
    # Another source under the same template name and file (as after an upgrade): the
    # checksum of the source it came from no longer matches, so it is not used.
    env = environment()
    cache = env.bytecode_cache
    assert cache is not None
    _, filename, _ = env.loader.get_source(env, "Jenkinsfile.j2")  # type: ignore[union-attr]
    stale = cache.get_bucket(env, "Jenkinsfile.j2", filename, "STALE {{ 1 }}")
    stale.code = env.compile("STALE {{ 1 }}", "Jenkinsfile.j2", filename)
    cache.set_bucket(stale)
    environment.cache_clear()
    assert _jenkinsfile(tmp_path) == compiled
    bucket.write_bytes(b"not bytecode")
    assert _jenkinsfile(tmp_path) == compiled


def test_no_safe_bytecode_folder_means_compiling_every_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / f"_jinja2-cache-{os.getuid()}").symlink_to(tmp_path)  # not a folder of ours
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    environment.cache_clear()
    try:
        assert environment().bytecode_cache is None
        _jenkinsfile(tmp_path)  # still renders
    finally:
        environment.cache_clear()


def test_a_run_does_not_look_at_a_loaded_template_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering thousands of services asks for the template each time: once loaded, the
    installed file is not checked for changes again (two stats per service)."""
    [service] = load_services([write_service(tmp_path, "payments", "api")])
    environment.cache_clear()
    render_jenkinsfile(service)
    looked: list[str] = []
    real = os.path.getmtime

    def counting(path: str) -> float:
        looked.append(path)
        return real(path)

    monkeypatch.setattr(os.path, "getmtime", counting)
    for _ in range(3):
        render_jenkinsfile(service)
    assert looked == []
