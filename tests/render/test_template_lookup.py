"""Templates are package data with one lookup path, the same in a checkout and a wheel."""

from __future__ import annotations

import tomllib

import jinja2
from conftest import ROOT

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
