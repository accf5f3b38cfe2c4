"""The validator generated from the schema: committed, current, and all that runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import GOLDEN, ROOT

from jenkins_bridge.descriptor import generate, schema_check
from jenkins_bridge.descriptor.schema import SCHEMA
from jenkins_bridge.descriptor.schema_violation import SchemaViolation


def test_the_committed_validator_is_generated_from_the_current_schema() -> None:
    committed = generate.TARGET.read_text(encoding="utf-8")
    assert committed == generate.render_schema_check(), (
        "descriptor/schema_check.py is stale: regenerate with "
        "`python -m jenkins_bridge.descriptor.generate`"
    )


def test_validating_compiles_nothing_and_writes_nothing_in_the_home(tmp_path: Path) -> None:
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    cache.mkdir()
    script = (
        "import sys\n"
        "from jenkins_bridge.cli import main\n"
        f"code = main(['validate', {str(GOLDEN / 'full')!r}])\n"
        "assert code == 0, code\n"
        "assert 'fastjsonschema' not in sys.modules, 'fastjsonschema imported at run time'\n"
    )
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(cache)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert list(home.iterdir()) == [] and list(cache.iterdir()) == []


def test_annotations_are_left_out_but_keys_named_like_them_are_kept() -> None:
    rules = generate.rules_only(SCHEMA)
    parameter = rules["properties"]["pipeline"]["properties"]["parameters"]["items"]
    assert {"default", "description"} <= set(parameter["properties"])  # keys, not annotations
    assert "description" not in parameter and "default" not in parameter["properties"]["type"]
    assert (
        parameter["properties"]["name"]["pattern"]
        == SCHEMA["properties"]["pipeline"]["properties"]["parameters"]["items"]["properties"][
            "name"
        ]["pattern"]
    )


def test_the_generated_validator_names_the_place_and_rule() -> None:
    data = {
        "apiVersion": "jenkins-bridge/v1",
        "kind": "Service",
        "metadata": {"name": "web", "team": "shop"},
        "source": {"repo": "https://git.example.com/shop/web.git", "branch": "main\n"},
    }
    try:
        schema_check.check(data)
    except SchemaViolation as exc:
        assert (exc.path, exc.rule) == (("source", "branch"), "pattern")
    else:
        raise AssertionError("a branch ending in a newline passed the schema")
    del data["source"]["branch"]
    schema_check.check(data)
