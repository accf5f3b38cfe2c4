"""What a command imports to load one descriptor: every pipeline call pays for it, so modules
only some descriptors need (zoneinfo for a ``TZ=`` line, difflib for a misspelt key) or only a
failure needs (traceback) are imported when one does, and the result is the same either way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import GOLDEN
from test_fast_path import FAKE_DOCKER

_LAZY = ("zoneinfo", "sysconfig", "difflib", "traceback")
# validate builds no model, so it needs no digest (nor the JSON it is made of) either; image
# build does. Text output needs no json either.
_VALIDATE_LAZY = (*_LAZY, "hashlib", "json")


def _validate(path: Path) -> tuple[str, str, list[str]]:
    """stdout and stderr of a plain ``validate path`` in a fresh interpreter, and which of
    ``_VALIDATE_LAZY`` it imported."""
    code = (
        "import sys; from jenkins_bridge.cli import main;"
        f"rc = main(['validate', {str(path)!r}]);"
        f"print(rc, sorted(set({_VALIDATE_LAZY!r}) & set(sys.modules)), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    *err, loaded = proc.stderr.splitlines()
    return proc.stdout, "\n".join(err), [loaded]


def _service(tmp_path: Path, triggers: str = "", *, extra: str = "") -> Path:
    path = tmp_path / "svc.yaml"
    path.write_text(
        "apiVersion: jenkins-bridge/v1\nkind: Service\n"
        "metadata: {name: svc, team: qa}\n"
        "source: {repo: 'https://git.example.com/qa/svc.git'}\n"
        + (f"pipeline:\n  triggers: {triggers}\n" if triggers else "")
        + extra
    )
    return path


def test_a_valid_descriptor_without_a_time_zone_imports_none_of_the_lazy_modules(
    tmp_path: Path,
) -> None:
    for path in (GOLDEN / "minimal" / "hello.yaml", _service(tmp_path, "{cron: 'H 2 * * *'}")):
        out, err, loaded = _validate(path)
        assert out == "1 descriptor valid\n" and err == ""
        assert loaded == ["0 []"], path


def test_a_time_zone_is_still_checked_against_the_tz_database(tmp_path: Path) -> None:
    # the same check as before: zoneinfo is imported once a spec names a zone
    out, _, loaded = _validate(_service(tmp_path, '{cron: "TZ=Europe/Berlin\\nH 2 * * *"}'))
    assert out == "1 descriptor valid\n"
    assert loaded == ["0 ['sysconfig', 'zoneinfo']"]
    out, err, loaded = _validate(_service(tmp_path, '{cron: "TZ=Europe/Nowhere\\nH 2 * * *"}'))
    assert out == "" and "unknown time zone 'Europe/Nowhere'" in err
    assert loaded[0].startswith("1 ")


def test_a_misspelt_key_still_gets_a_suggestion(tmp_path: Path) -> None:
    out, err, loaded = _validate(_service(tmp_path, extra="imagee: {repository: x}\n"))
    assert out == ""
    assert "unknown key 'imagee' (did you mean 'image'?)" in err
    assert loaded == ["1 ['difflib']"]


def test_image_build_imports_none_of_the_lazy_modules(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    descriptor = _service(tmp_path, extra="image: {repository: '127.0.0.1:5000/qa/svc'}\n")
    code = (
        "import sys; from jenkins_bridge.cli import main;"
        f"rc = main(['image', 'build', {str(descriptor)!r}]);"
        f"print(rc, sorted(set({_LAZY!r}) & set(sys.modules)), file=sys.stderr)"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JENKINS_BRIDGE_")},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GIT_COMMIT": "f" * 40,
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert proc.stdout == "127.0.0.1:5000/qa/svc:ffffffffffff\n"
    assert proc.stderr.splitlines()[-1] == "0 []"


def test_image_build_builds_no_full_model(tmp_path: Path) -> None:
    # it reads the image section, labels' facts and digest (descriptor.image), not the
    # two dozen dataclasses of descriptor.model
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    descriptor = _service(tmp_path, extra="image: {repository: '127.0.0.1:5000/qa/svc'}\n")
    code = (
        "import sys; from jenkins_bridge.cli import main;"
        f"rc = main(['image', 'build', {str(descriptor)!r}]);"
        "print(rc, 'jenkins_bridge.descriptor.model' in sys.modules, file=sys.stderr)"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JENKINS_BRIDGE_")},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GIT_COMMIT": "f" * 40,
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert proc.stdout == "127.0.0.1:5000/qa/svc:ffffffffffff\n"
    assert proc.stderr.splitlines()[-1] == "0 False"


def test_the_trigger_and_label_grammars_load_only_for_a_descriptor_that_has_one(
    tmp_path: Path,
) -> None:
    grammars = ("jenkins_bridge.descriptor.cron", "jenkins_bridge.descriptor.label_expression")
    code = (
        "import sys; from jenkins_bridge.cli import main;"
        "rc = main(['validate', sys.argv[1]]);"
        f"print(rc, sorted(set({grammars!r}) & set(sys.modules)), file=sys.stderr)"
    )

    def validate(path: Path) -> tuple[str, str]:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
        )
        return proc.stdout, proc.stderr.splitlines()[-1]

    assert validate(GOLDEN / "minimal" / "hello.yaml") == ("1 descriptor valid\n", "0 []")
    out, loaded = validate(_service(tmp_path, "{poll: 'H H H H H H'}"))
    assert out == "" and loaded == f"1 {sorted(grammars)[:1]}"
    path = _service(tmp_path, extra="  agent: 'linux &&'\n")
    path.write_text(path.read_text().replace("  agent:", "pipeline:\n  agent:"))
    out, loaded = validate(path)
    assert out == "" and loaded == f"1 {sorted(grammars)[1:]}"
