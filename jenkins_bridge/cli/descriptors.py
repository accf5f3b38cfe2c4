"""Commands that work on descriptors alone: validate, render, schema, init."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jenkins_bridge.cli.fast import render_outcome, validate_outcome
from jenkins_bridge.cli.library import library_options
from jenkins_bridge.cli.output import Outcome
from jenkins_bridge.errors import BridgeError, UsageError

if TYPE_CHECKING:
    from jenkins_bridge.render.job_config import SharedLibrary


@click.command(help="Check descriptors; every problem is reported as file:line:column.")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths: tuple[str, ...]) -> Outcome:
    # A plain `validate PATH...` never gets here: jenkins_bridge.cli.fast answers it without
    # click, through the same function.
    return validate_outcome(paths)


def _read_plugins(path: str | None) -> dict[str, str]:
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read plugin versions from {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) for k, v in data.items()
    ):
        raise UsageError(f"{path}: expected a mapping of plugin name to version")
    return {k: str(v) for k, v in data.items()}


@click.command(help="Write Jenkinsfile and config.xml per service, folder.xml per team.")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o", "--out", "out", required=True, type=click.Path(file_okay=False), help="Output directory."
)
@click.option(
    "--check", is_flag=True, help="Write nothing; print a diff and exit 2 if OUT is stale."
)
@click.option(
    "--plugins",
    type=click.Path(dir_okay=False),
    help='YAML/JSON mapping of plugin name to version for plugin="name@version" attributes.',
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Processes for large runs (default: one per CPU, at most 4).",
)
@library_options
@click.option(
    "--force",
    is_flag=True,
    help="Also remove files an earlier render wrote that were edited since (they are kept "
    "and reported otherwise).",
)
def render(
    paths: tuple[str, ...],
    out: str,
    check: bool,
    plugins: str | None,
    workers: int | None,
    force: bool,
    library: SharedLibrary,
) -> Outcome:
    # A plain `render PATH... -o OUT [--check] [--force]` never gets here: cli.fast answers it
    # without click, through the same function.
    return render_outcome(
        paths,
        out,
        check=check,
        plugins=_read_plugins(plugins),
        workers=workers,
        force=force,
        library=library,
    )


@click.command(help="Print the descriptor JSON Schema (point your editor at it).")
def schema() -> Outcome:
    from jenkins_bridge.descriptor.schema import SCHEMA

    text = json.dumps(SCHEMA, indent=2, sort_keys=True)
    return Outcome("ok", {"schema": SCHEMA}, text)


@click.command(help="Write a commented starter descriptor.")
@click.argument("name")
@click.option("--team", required=True, help="Owning team (the Jenkins folder).")
@click.option(
    "-o", "--out", "out", type=click.Path(dir_okay=False), help="File (default NAME.yaml)."
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(name: str, team: str, out: str | None, force: bool) -> Outcome:
    from jenkins_bridge.descriptor.schema import NAME_PATTERN
    from jenkins_bridge.render.templates import environment

    for label, value in (("NAME", name), ("--team", team)):
        if not re.match(NAME_PATTERN, value):
            raise UsageError(
                f"{label} {value!r} is not a valid name",
                hint="use 1-63 lowercase letters, digits or '-'",
            )
    target = Path(out or f"{name}.yaml")
    if target.exists() and not force:
        raise UsageError(f"{target} already exists", hint="pass --force to overwrite it")
    text = environment().get_template("starter.yaml.j2").render(name=name, team=team)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BridgeError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return Outcome(
        "ok",
        {"file": str(target)},
        f"wrote {target}; edit it, then run: jenkins-bridge validate {target}",
    )
