"""The CLI contract: exit codes, the JSON envelope, init, render --check, start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import GOLDEN, ROOT

from jenkins_bridge import __version__
from jenkins_bridge.output.incremental import CACHE_FOLDER


def test_version_and_module_entry_point() -> None:
    for argv in (
        [sys.executable, "-m", "jenkins_bridge", "--version"],
        [str(Path(sys.executable).parent / "jenkins-bridge"), "--version"],
    ):
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        assert __version__ in out


def test_version_does_not_import_heavy_modules() -> None:
    # Pipelines call the CLI many times per build; --version must not pay for docker & co.
    code = (
        "import sys; from jenkins_bridge.cli import main; main(['--version']);"
        "heavy = {'docker', 'jenkins', 'jsonschema', 'jinja2', 'requests', 'yaml'};"
        "heavy &= set(sys.modules);"
        "print(sorted(heavy), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.strip() == "[]"


def _imported(argv: list[str]) -> tuple[str, set[str]]:
    """stdout of ``python -X importtime ARGV`` and the modules it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, check=True
    )
    lines = [line.split("|")[-1].strip() for line in proc.stderr.splitlines()]
    return proc.stdout, {line for line in lines if line and not line.startswith("imported")}


def test_bare_version_answers_before_click_is_imported() -> None:
    # Importing click costs more than Python's own start-up; a bare --version never needs it.
    fast, modules = _imported(["-m", "jenkins_bridge", "--version"])
    assert "click" not in modules and "jenkins_bridge.cli" not in modules
    # ...and says exactly what click's version option says on the full path.
    slow, modules = _imported(["-m", "jenkins_bridge", "--no-color", "--version"])
    assert "click" in modules
    assert fast == slow == f"jenkins-bridge, version {__version__}\n"
    # The console script takes the same path.
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'jenkins-bridge = "jenkins_bridge.__main__:main"' in pyproject


def test_validate_of_one_file_loads_no_renderer_or_process_pool() -> None:
    # validate runs on every commit; templates (jinja2) and the pool are render's business.
    out, modules = _imported(
        ["-m", "jenkins_bridge", "validate", str(ROOT / "examples" / "platform" / "ledger.yaml")]
    )
    assert out == "1 descriptor valid\n"
    assert not {"jinja2", "multiprocessing", "jenkins_bridge.render"} & modules


def test_validate_ok_text_and_json(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("validate", str(ROOT / "examples"))
    assert result.exit_code == 0 and "3 descriptors valid" in result.stdout
    envelope = cli("--output", "json", "validate", str(ROOT / "examples")).json()
    assert envelope["status"] == "ok" and envelope["errors"] == []
    names = sorted(s["name"] for s in envelope["data"]["services"])
    assert names == ["payments/payments-api", "platform/ledger", "platform/portal"]


def test_usage_errors_exit_1_not_2(cli) -> None:  # type: ignore[no-untyped-def]
    for args in (("validate",), ("render", "x"), ("no-such-command",), ("validate", "/nope")):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert "Traceback" not in result.stderr
    envelope = cli("--output", "json", "validate", "/nope").json()
    assert envelope["status"] == "usage" and "no such file" in envelope["errors"][0]["message"]


def test_render_check_detects_stale_missing_and_extra(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    src.mkdir()
    for name in ("one", "two"):
        text = (GOLDEN / "minimal" / "hello.yaml").read_text().replace("hello", name)
        (src / f"{name}.yaml").write_text(text)
    out = tmp_path / "out"
    assert cli("render", str(src), "-o", str(out), "--check").exit_code == 2  # missing
    assert cli("render", str(src), "-o", str(out)).exit_code == 0
    assert cli("render", str(src), "-o", str(out), "--check").exit_code == 0
    # A hand edit of a generated file is stale: --check shows the diff and exits 2.
    jenkinsfile = out / "core" / "one" / "Jenkinsfile"
    jenkinsfile.write_text(jenkinsfile.read_text().replace("agent any", "agent { label 'x' }"))
    result = cli("render", str(src), "-o", str(out), "--check")
    assert result.exit_code == 2
    assert "-            agent { label 'x' }" in result.stdout
    assert "+            agent any" in result.stdout
    before = jenkinsfile.read_text()
    assert "agent { label 'x' }" in before  # --check wrote nothing
    # Removing a service: its files are extra; render removes only files it owns.
    (src / "two.yaml").unlink()
    (out / "core" / "mine.txt").write_text("not ours")
    result = cli("--output", "json", "render", str(src), "-o", str(out), "--check")
    assert result.exit_code == 2
    assert "core/two/Jenkinsfile" in result.json()["data"]["stale"]
    assert cli("render", str(src), "-o", str(out)).exit_code == 0
    assert not (out / "core" / "two").exists()
    assert (out / "core" / "mine.txt").read_text() == "not ours"
    assert "agent any" in jenkinsfile.read_text()


def test_manifest_lists_every_artifact_with_its_hash(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    out = tmp_path / "out"
    assert cli("render", str(ROOT / "examples"), "-o", str(out)).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    paths = {entry["path"] for entry in manifest["artifacts"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    cache = {p.relative_to(out).as_posix() for p in (out / CACHE_FOLDER).iterdir()}
    assert paths == on_disk - {"manifest.json"} - cache
    for entry in manifest["artifacts"]:
        digest = hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"]


def test_render_is_byte_identical_across_runs_and_cwd(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    outputs = []
    for index, cwd in enumerate((ROOT, tmp_path)):
        out = tmp_path / f"out{index}"
        command = [sys.executable, "-m", "jenkins_bridge", "render", str(ROOT / "examples")]
        subprocess.run(
            [*command, "-o", str(out)], cwd=cwd, env=env, check=True, capture_output=True
        )
        files = [p for p in out.rglob("*") if p.is_file() and CACHE_FOLDER not in p.parts]
        outputs.append({p.relative_to(out): p.read_bytes() for p in files})
    assert outputs[0] == outputs[1]


def test_init_writes_a_valid_starter_and_refuses_to_overwrite(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "api.yaml"
    assert cli("init", "api", "--team", "shop", "-o", str(target)).exit_code == 0
    assert "# " in target.read_text()  # commented
    assert cli("validate", str(target)).exit_code == 0
    again = cli("init", "api", "--team", "shop", "-o", str(target))
    assert again.exit_code == 1 and "already exists" in again.stderr
    bad = cli("init", "Bad_Name", "--team", "shop", "-o", str(tmp_path / "b.yaml"))
    assert bad.exit_code == 1 and "not a valid name" in bad.stderr


def test_the_starter_uncommented_is_valid_with_its_per_environment_settings(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import re

    target = tmp_path / "api.yaml"
    assert cli("init", "api", "--team", "shop", "-o", str(target)).exit_code == 0
    lines = target.read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("# image:")))
    text = "\n".join(lines[:start] + [re.sub(r"^# ?", "", line) for line in lines[start:]])
    assert "runtime:                     # production's own settings" in text
    target.write_text(text + "\n")
    result = cli("validate", str(target))
    assert result.exit_code == 0, result.stderr


def test_schema_is_json_schema(cli) -> None:  # type: ignore[no-untyped-def]
    import jsonschema

    result = cli("schema")
    schema = json.loads(result.stdout)
    jsonschema.validators.validator_for(schema).check_schema(schema)
    assert set(schema["required"]) == {"apiVersion", "kind", "metadata", "source"}
