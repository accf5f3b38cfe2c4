"""``plan`` and ``apply``: provision descriptors onto a Jenkins controller.

This module parses options, calls ``provision.commands`` and prints its typed results.
Credentials come from the environment (``provision.controller``), never from the command line,
and never appear in output.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from jenkins_bridge.cli.completion import controllers
from jenkins_bridge.cli.library import provision_library_options
from jenkins_bridge.cli.output import Counter, Outcome, counting_wanted, paint, progress
from jenkins_bridge.errors import EXIT_ERROR, EXIT_OK, BridgeError, Problem, UsageError
from jenkins_bridge.provision.commands import DEFAULT_CONFIRM_ABOVE

if TYPE_CHECKING:
    from jenkins_bridge.provision.commands import ApplyResult, ProvisionOptions
    from jenkins_bridge.provision.controller import LibrarySettings
    from jenkins_bridge.provision.executor import ApplyReport
    from jenkins_bridge.provision.plan import Plan


class ProvisionCommand(click.Command):
    """Lets ``--prune`` stand alone: click's optional option values would swallow the next
    argument (``--prune services/``), so a bare ``--prune`` is rewritten to ``--prune=disable``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        for index, arg in enumerate(args):
            if arg == "--":
                rewritten.extend(args[index:])
                break
            rewritten.append("--prune=disable" if arg == "--prune" else arg)
        return super().parse_args(ctx, rewritten)


_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _defaulted(
    name: str, kind: click.IntRange | click.FloatRange, default: float, help: str
) -> _Decorator:
    """A numeric option whose help shows its default."""
    return click.option(name, type=kind, default=default, show_default=True, help=help)


def _connection_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options: list[_Decorator] = [
        click.argument("paths", nargs=-1, required=True, type=click.Path()),
        click.option("--jenkins", metavar="URL", help="Controller URL (default $JENKINS_URL)."),
        click.option(
            "--controller",
            metavar="NAME",
            help="A controller from controllers.yaml ($JENKINS_BRIDGE_CONFIG); its entry may "
            "also hold the library settings (library: repo, version, credentials_id, scope), "
            "which the --library-* options override.",
            shell_complete=controllers,
        ),
        click.option(
            "--prune",
            type=click.Choice(["disable", "delete"]),
            default=None,
            metavar="[=disable|delete]",
            help="Handle managed jobs no longer in the descriptors: disable (bare --prune) "
            "or delete.",
        ),
        click.option(
            "--prune-scope",
            type=click.Choice(["teams", "all"]),
            default="teams",
            show_default=True,
            help="teams: prune only inside the teams the descriptors name; all: anywhere on "
            "the controller, including removed teams (when these descriptors are the only "
            "source of managed jobs).",
        ),
        _defaulted(
            "--max-delete",
            click.IntRange(min=0),
            5,
            "Refuse to delete more items than this in one run.",
        ),
        click.option(
            "--force-adopt",
            is_flag=True,
            help="Take over same-named jobs this repository does not own (made by hand, "
            "copied, or owned by another descriptor repository).",
        ),
        click.option(
            "--source-id",
            metavar="ID",
            help="Identity of this descriptor repository in ownership lines (default: its "
            "git remote URL, normalised).",
        ),
        click.option(
            "--verify", is_flag=True, help="Also fetch every live config.xml and report drift."
        ),
        _defaulted("--workers", click.IntRange(1, 64), 8, "Parallel requests."),
        _defaulted("--max-rps", click.FloatRange(min=0), 50.0, "Request-rate cap (0: none)."),
        _defaulted("--timeout", click.FloatRange(min=1), 30.0, "Seconds per request."),
    ]

    @functools.wraps(function)
    def packed(
        jenkins: str | None,
        controller: str | None,
        prune: str | None,
        prune_scope: str,
        max_delete: int,
        force_adopt: bool,
        source_id: str | None,
        verify: bool,
        workers: int,
        max_rps: float,
        timeout: float,
        **kwargs: Any,
    ) -> Any:
        from jenkins_bridge.provision.commands import ProvisionOptions
        from jenkins_bridge.provision.controller import ConnectionLimits

        options = ProvisionOptions(
            jenkins=jenkins,
            controller=controller,
            prune="delete" if prune == "delete" else "disable" if prune else None,
            prune_scope="all" if prune_scope == "all" else "teams",
            max_delete=max_delete,
            force_adopt=force_adopt,
            source_id=source_id,
            verify=verify,
            limits=ConnectionLimits(workers=workers, max_rps=max_rps, timeout=timeout),
        )
        return function(options=options, **kwargs)

    command: Callable[..., Any] = packed
    for option in reversed(options):
        command = option(command)
    return command


_MARKS = {
    "create": ("+", "create"),
    "update": ("~", "update"),
    "disable": ("-", "delete"),
    "delete": ("x", "delete"),
    "refuse": ("!", "error"),
    "conflict": ("!", "error"),
}


def _plan_lines(plan: Plan, show_diffs: bool) -> list[str]:
    lines = []
    for action in plan.actions:
        mark, style = _MARKS[action.kind]
        line = f"{mark} {action.describe()}"
        if action.changed:
            line += f": {', '.join(action.changed)}"
        if action.hint and action.kind in ("refuse", "conflict"):
            line += f": {action.hint}"
        lines.append(paint(line, style))
        if show_diffs and action.diff:
            lines.extend(_diff_line(d) for d in action.diff.rstrip("\n").split("\n"))
    lines.extend(f"note: {n}" for n in plan.notes)
    lines.extend(f"{paint('error:', 'error')} {b}" for b in plan.blocked)
    return lines


def _diff_line(line: str) -> str:
    if line.startswith(("---", "+++", "# ")):
        return paint(line, "heading")
    if line.startswith("@@"):
        return paint(line, "muted")
    if line.startswith("+"):
        return paint(line, "create")
    if line.startswith("-"):
        return paint(line, "delete")
    return line


def _review_lines(plan: Plan) -> list[str]:
    """What plain ``plan`` did not look at, and what only --prune would act on."""
    lines = []
    kinds = plan.change_kinds()
    if kinds:
        lines.append(
            "updates by kind of change: " + ", ".join(f"{kind} {n}" for kind, n in kinds.items())
        )
    if plan.orphans:
        shown = ", ".join(plan.orphans[:10])
        more = f" and {len(plan.orphans) - 10} more" if len(plan.orphans) > 10 else ""
        lines.append(
            f"{len(plan.orphans)} managed job(s) have no descriptor (would be pruned with "
            f"--prune): {shown}{more}"
        )
    if plan.unverified:
        lines.append(
            f"{plan.unverified} unchanged item(s) were not fetched (their ownership line says "
            "they match; an edit made in Jenkins would not show): --verify fetches them"
        )
    return lines


def _plan_data(plan: Plan) -> dict[str, Any]:
    return {
        "counts": plan.counts(),
        "actions": [
            {
                "action": a.kind,
                "name": a.full_name,
                "type": a.item_kind,
                "reason": a.reason,
                "diff": a.diff,
                "changed": list(a.changed),
                "hint": a.hint,
            }
            for a in plan.actions
        ],
        "notes": plan.notes,
        "blocked": plan.blocked,
        "change_kinds": plan.change_kinds(),
        "not_fetched": plan.unverified,
        "unpruned": plan.orphans,
    }


def _plan_problems(plan: Plan) -> list[Problem]:
    problems = [
        Problem(
            "conflict" if a.kind == "conflict" else "collision",
            f"{a.full_name}: {a.reason} ({a.hint})",
        )
        for a in plan.refusals
        if a.hint
    ]
    problems += [Problem("blocked", b) for b in plan.blocked]
    return problems


def _summary(plan: Plan) -> str:
    c = plan.counts()
    return (
        f"{c['create']} to create, {c['update']} to update, {c['disable']} to disable, "
        f"{c['delete']} to delete, {c['unchanged']} unchanged"
        + (f", {c['refused']} refused" if c["refused"] else "")
        + (f", {c['conflicts']} owned by another source" if c["conflicts"] else "")
    )


@click.command(
    cls=ProvisionCommand,
    help="Show what apply would create, update, disable or delete (exit 2 if any).",
)
@_connection_options
@provision_library_options
def plan(paths: tuple[str, ...], options: ProvisionOptions, library: LibrarySettings) -> Outcome:
    from jenkins_bridge.provision import commands

    counter = Counter("plan: fetching live configs", minimum=PROGRESS_MIN_ACTIONS)
    try:
        planned = commands.plan(paths, options=options, library=library, progress=counter)
    finally:
        counter.close()
    result = planned.plan
    lines = [*_plan_lines(result, show_diffs=True), *_review_lines(result)]
    header = f"plan for {planned.url}: {_summary(result)}"
    data = {**_plan_data(result), "requests": planned.requests}
    status = "ok" if result.exit_code == EXIT_OK else "changes"
    if result.exit_code == EXIT_ERROR:
        status = "refused"
    return Outcome(
        status,
        data,
        "\n".join([*lines, header]),
        exit_code=result.exit_code,
        problems=_plan_problems(result),
    )


PROGRESS_MIN_ACTIONS = 20  # fewer changes finish too fast for a progress line to help


class _ProgressLine:
    """Apply's progress on stderr: a counter rewritten in place on a terminal
    (``output.Counter``), a plain line per 10% in a log (CI)."""

    def __init__(self) -> None:
        self.counter = Counter("apply", minimum=PROGRESS_MIN_ACTIONS)
        self.last_step = -1
        self.started = time.monotonic()

    def __call__(self, done: int, total: int, failed: int) -> None:
        if total < PROGRESS_MIN_ACTIONS or not counting_wanted():
            return
        if self.counter.enabled:
            self.counter(done, total, failed)
            return
        step = done * 10 // total
        if step > self.last_step:
            self.last_step = step
            progress(
                f"apply: {done}/{total} done, {failed} failed "
                f"({time.monotonic() - self.started:.1f}s)"
            )


@click.command(
    cls=ProvisionCommand,
    help="Create, update and prune jobs so the controller matches the descriptors.",
)
@_connection_options
@click.option(
    "--yes",
    is_flag=True,
    help="Do not ask: neither above --confirm-above changes on a terminal, nor before "
    "deletes (which need it when not on a terminal).",
)
@_defaulted(
    "--confirm-above",
    click.IntRange(min=0),
    DEFAULT_CONFIRM_ABOVE,
    "On a terminal, ask before changing more items than this. Not on a terminal (CI) apply "
    "does not ask: it proceeds, except that deletes still need --yes.",
)
@provision_library_options
def apply(
    paths: tuple[str, ...],
    options: ProvisionOptions,
    yes: bool,
    confirm_above: int,
    library: LibrarySettings,
) -> Outcome:
    from jenkins_bridge.provision import commands

    counter = _ProgressLine()
    try:
        applied = commands.apply(
            paths,
            options=options,
            library=library,
            yes=yes,
            confirm_deletes=_confirm_deletes,
            progress=counter,
            confirm_changes=_confirm_changes,
            confirm_above=confirm_above,
        )
    finally:
        counter.counter.close()
    if applied.report is None:
        result = applied.plan
        return Outcome(
            "refused",
            _plan_data(result),
            "\n".join([*_plan_lines(result, show_diffs=False), "nothing was changed"]),
            exit_code=EXIT_ERROR,
            problems=_plan_problems(result),
        )
    return _apply_outcome(applied, applied.report)


def _confirm_changes(plan: Plan) -> None:
    """Ask on a terminal; without one there is nobody to ask, and CI runs apply after the
    plan was reviewed, so it proceeds (deletes keep their own rule: --yes)."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return
    sys.stderr.write("\n".join(_plan_lines(plan, show_diffs=False)) + "\n")
    if not click.confirm(f"Apply these {len(plan.changes)} changes?", default=False, err=True):
        raise UsageError(
            "apply was not confirmed", hint="nothing was changed; pass --yes to skip the question"
        )


def _confirm_deletes(what: str) -> None:
    if not sys.stdin.isatty():
        raise UsageError(
            f"apply would delete {what}", hint="pass --yes to confirm; nothing was changed"
        )
    click.confirm(f"Delete {what}?", abort=True, err=True)


def _apply_outcome(applied: ApplyResult, report: ApplyReport) -> Outcome:
    plan, seconds = applied.plan, applied.seconds
    created, updated = report.count("create"), report.count("update")
    pruned = report.count("disable") + report.count("delete")
    failed = report.failed
    summary = (
        f"apply to {applied.url}: created {created}, updated {updated}, "
        f"unchanged {len(plan.unchanged)}, pruned {pruned}, failed {len(failed)} "
        f"({applied.requests} requests, {seconds:.1f}s)"
    )
    lines = [f"{r.action.kind} {r.action.full_name}: ok" for r in report.results if r.ok]
    if len(lines) > 50:
        lines = [*lines[:20], f"... and {len(lines) - 20} more"]
    problems = [
        Problem(
            "apply-failed",
            f"{r.action.describe()}: {r.error}" + (f" ({r.hint})" if r.hint else ""),
        )
        for r in failed
        if not r.skipped
    ]
    if len(problems) > 10:
        extra = len(problems) - 10
        problems = [*problems[:10], Problem("apply-failed", f"... and {extra} more failures")]
    skipped = [r for r in failed if r.skipped]
    if skipped:
        problems.append(
            Problem(
                "not-attempted",
                f"{len(skipped)} action(s) {skipped[0].error}; fix the cause and run apply again",
            )
        )
    if report.stopped:
        problems.append(Problem("stopped", f"apply stopped early: {report.stopped}"))
    lines.extend(f"note: {n}" for n in plan.notes)
    lines.append(summary)
    data = {
        "created": created,
        "updated": updated,
        "unchanged": len(plan.unchanged),
        "pruned": pruned,
        "failed": [
            {"action": r.action.kind, "name": r.action.full_name, "error": r.error, "hint": r.hint}
            for r in failed
        ],
        "requests": applied.requests,
        "retries": applied.retries,
        "seconds": round(seconds, 3),
    }
    ok = report.ok
    return Outcome(
        "ok" if ok else "failed",
        data,
        "\n".join(lines),
        exit_code=EXIT_OK if ok else EXIT_ERROR,
        problems=problems,
    )


__all__ = ["BridgeError", "apply", "plan"]
