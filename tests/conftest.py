"""Shared test helpers: run the CLI in-process, an emulator the environment points at, the
descriptor and repository writers several packages use, and Groovy 2.4 parsing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from jenkins_bridge.cli import main
from jenkins_bridge.testing import JenkinsEmulator

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
PARSE_CHECK = ROOT / "tests" / "groovy" / "ParseCheck.groovy"
LIBRARY_REPO = "https://git.example.com/platform/jenkins-bridge.git"
USER, TOKEN = "admin", "token123"  # the emulator's user in provisioning tests


@pytest.fixture
def library_repo(monkeypatch: pytest.MonkeyPatch) -> str:
    """The platform's library repository, as a deployment configures it once (plan and apply
    refuse to run without one; tests of that refusal unset it)."""
    monkeypatch.setenv("JENKINS_BRIDGE_LIBRARY_REPO", LIBRARY_REPO)
    return LIBRARY_REPO


def write_service(root: Path, team: str, name: str, *, branch: str = "main", **extra: str) -> Path:
    """A minimal descriptor ``root/team/name.yaml`` (``extra``: more top-level keys, as YAML)."""
    lines = [
        "apiVersion: jenkins-bridge/v1",
        "kind: Service",
        f"metadata: {{name: {name}, team: {team}}}",
        f"source: {{repo: 'https://git.example.com/{team}/{name}.git', branch: {branch}}}",
    ]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    path = root / team / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def emulator() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator(users={USER: TOKEN}) as emu:
        yield emu


@pytest.fixture
def jenkins_env(emulator: JenkinsEmulator, monkeypatch: pytest.MonkeyPatch) -> JenkinsEmulator:
    monkeypatch.setenv("JENKINS_URL", emulator.url)
    monkeypatch.setenv("JENKINS_USER", USER)
    monkeypatch.setenv("JENKINS_TOKEN", TOKEN)
    monkeypatch.delenv("JENKINS_BRIDGE_CONFIG", raising=False)
    return emulator


def git_repository(path: Path, remote: str | None = None) -> Path:
    """A git repository at ``path`` with ``remote`` as origin; no commits (only its remote
    names it)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    if remote is not None:
        subprocess.run(["git", "-C", str(path), "remote", "add", "origin", remote], check=True)
    return path


def write_numbered_services(
    root: Path, count: int, *, teams: int, parameters: bool = False
) -> Path:
    """``count`` descriptors ``team-<i % teams>/svc-<i>.yaml``, each with a test step of its own
    (and with ``parameters``, a parameter whose default differs per service); returns ``root``."""
    for i in range(count):
        team = i % teams
        lines = [
            "apiVersion: jenkins-bridge/v1",
            "kind: Service",
            f"metadata: {{name: svc-{i}, team: team-{team}}}",
            f'source: {{repo: "https://git.example.com/{i}.git"}}',
            "pipeline:",
        ]
        if parameters:
            lines.append(f'  parameters: [{{name: P, default: "v{i}"}}]')
        lines.append(f'  test: [{{name: unit, run: "make test-{i}"}}]')
        folder = root / f"team-{team}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"svc-{i}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def write_image_service(folder: Path, image_fields: str = "") -> Path:
    """``folder/service.yaml``: service qa/app whose image is 127.0.0.1:5000/qa/app, with
    ``image_fields`` (YAML) added under ``image:``; returns its path."""
    path = folder / "service.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            apiVersion: jenkins-bridge/v1
            kind: Service
            metadata: {name: app, team: qa}
            source: {repo: https://git.example.com/qa/app.git}
            image:
              repository: 127.0.0.1:5000/qa/app
            """
        )
        + textwrap.indent(textwrap.dedent(image_fields), "  ")
    )
    return path


def post_by_hand(
    emulator: JenkinsEmulator,
    path: str,
    xml: str | None = None,
    *,
    form: dict[str, str] | None = None,
) -> None:
    """POST ``path`` of the emulator as a person would (UI or script, as ``USER``): an XML
    body, a form, or nothing; Jenkins answers 200 or a redirect."""
    response = requests.post(
        emulator.url + path,
        data=xml.encode() if xml is not None else form,
        headers={"Content-Type": "application/xml"} if xml is not None else {},
        auth=(USER, TOKEN),
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code in (200, 302), response.headers.get("X-Error")


Provisioned = Callable[..., Path]


@pytest.fixture
def provisioned(cli: Callable[..., CliResult], jenkins_env: JenkinsEmulator) -> Provisioned:
    """``provisioned(root, "team/name", ...)``: write a minimal descriptor for each ``team/name``
    under ``root``, apply the whole of ``root`` to the emulator once and return ``root``; that
    apply must succeed (the state a test of a later plan or apply starts from)."""

    def apply_once(root: Path, *services: str) -> Path:
        for service in services:
            team, _, name = service.partition("/")
            write_service(root, team, name)
        result = cli("apply", str(root), "--max-rps", "0")
        assert result.exit_code == 0, result.stdout + result.stderr
        return root

    return apply_once


@pytest.fixture
def bytes_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every chunk ``os.read`` returns from now on, in order."""
    sizes: list[int] = []
    real_read = os.read

    def counting_read(fd: int, size: int) -> bytes:
        chunk = real_read(fd, size)
        sizes.append(len(chunk))
        return chunk

    monkeypatch.setattr(os, "read", counting_read)
    return sizes


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


def run_groovy(
    arguments: Sequence[str], key: str, *, timeout: float, cwd: Path | None = None
) -> tuple[dict[str, dict[str, Any]], str]:
    """Runs Groovy 2.4 once; returns the JSON lines it printed, by their ``key`` field, and its
    stderr (the scripts print one JSON object a line; anything else on stdout is ignored)."""
    groovy = shutil.which("groovy")
    if groovy is None:
        pytest.fail("groovy is not installed; run `make test`, which installs it")
    proc = subprocess.run(
        [groovy, *arguments], capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd
    )
    entries = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            entries[entry[key]] = entry
    return entries, proc.stderr


def groovy_facts(paths: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """Parse every file in one Groovy 2.4 JVM; map path -> facts (ok, strings, calls, ...)."""
    facts, stderr = run_groovy([str(PARSE_CHECK), *map(str, paths)], "file", timeout=240)
    missing = [str(p) for p in paths if str(p) not in facts]
    assert not missing, f"groovy gave no verdict for {missing}: {stderr[-2000:]}"
    return facts
