"""Schema validation (jsonschema-rs): every broken rule once, at its place, nothing cached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import GOLDEN, ROOT

from jenkins_bridge.descriptor.validation import schema_problems
from jenkins_bridge.descriptor.yamlsource import LoadedDocument


def _problems(data: dict[str, Any]) -> list[str]:
    doc = LoadedDocument(file="svc.yaml", data=data)
    return sorted(p.message for p in schema_problems(doc, data))


def _service(**extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "jenkins-bridge/v1",
        "kind": "Service",
        "metadata": {"name": "web", "team": "shop"},
        "source": {"repo": "https://git.example.com/shop/web.git"},
        **extra,
    }


def test_a_valid_descriptor_has_no_schema_problem() -> None:
    assert _problems(_service()) == []


def test_dollar_ends_the_text_so_a_trailing_newline_is_refused() -> None:
    # Python's `$` also matches before a final newline; the schema means the end of the value.
    data = _service()
    data["source"]["branch"] = "main\n"
    assert _problems(data) == [
        "source.branch: must be a branch name (letters, digits, '.', '_', '/', '-')"
    ]


def test_each_missing_key_is_reported_once() -> None:
    data = _service()
    data["metadata"] = {}
    assert _problems(data) == [
        "metadata: missing required key 'name'",
        "metadata: missing required key 'team'",
    ]


def test_a_bad_key_name_is_reported_at_the_key() -> None:
    data = _service(runtime={"env": {"1bad": "x", "OK": "y"}})
    assert _problems(data) == [
        "runtime.env.1bad: '1bad' is not a valid name (letters, digits and '_', not starting "
        "with a digit)"
    ]


def test_validating_compiles_nothing_and_writes_nothing_in_the_home(tmp_path: Path) -> None:
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    cache.mkdir()
    script = (
        "from jenkins_bridge.cli import main\n"
        f"code = main(['validate', {str(GOLDEN / 'full')!r}])\n"
        "assert code == 0, code\n"
    )
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(cache)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert list(home.iterdir()) == [] and list(cache.iterdir()) == []
