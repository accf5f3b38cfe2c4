"""``load_image_descriptor`` (what image build and push read) loads and checks a descriptor
exactly as ``load_service`` does: the same values as the full model for every descriptor of
the golden tree, and the same problems for every broken one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import GOLDEN

from jenkins_bridge.descriptor.loading import discover, load_image_descriptor, load_service
from jenkins_bridge.errors import BridgeError

_FILES = sorted(
    path
    for folder in GOLDEN.iterdir()
    if folder.is_dir()
    for path in folder.glob("*.yaml")
    if not path.name.startswith("_")
)


def _outcome(load: Callable[[Path], Any], path: Path) -> tuple[str, Any]:
    try:
        return "ok", load(path)
    except BridgeError as exc:
        return type(exc).__name__, (exc.exit_code, exc.problems())


def test_the_golden_tree_has_descriptors_with_and_without_an_image() -> None:
    images = [path for path in _FILES if "\nimage:" in path.read_text()]
    assert images and len(images) < len(_FILES)


@pytest.mark.parametrize("path", _FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_same_values_or_problems_as_the_full_model(path: Path) -> None:
    assert [d.path for d in discover([path])] == [path]
    kind, service = _outcome(load_service, path)
    view_kind, view = _outcome(load_image_descriptor, path)
    assert view_kind == kind
    if kind != "ok":
        assert view == service
        return
    assert view.image == service.image
    assert (view.name, view.description, view.source_repo) == (
        service.metadata.name,
        service.metadata.description,
        service.source.repo,
    )
    assert (view.path, view.digest) == (service.path, service.digest)
