"""``plan`` and ``apply`` as functions: typed options in, typed results out.

The CLI parses options into these types, calls one function and prints the result; nothing
here writes to the screen or reads the terminal (asking before deletes is the caller's).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jenkins_bridge.provision.controller import (
    ConnectionLimits,
    LibrarySettings,
    connect,
    resolve_controller,
)

if TYPE_CHECKING:
    from jenkins_bridge.jenkins.client import JenkinsClient
    from jenkins_bridge.provision.executor import ApplyReport, Progress
    from jenkins_bridge.provision.plan import Plan, PruneMode, PruneScope
    from jenkins_bridge.render.job_config import SharedLibrary

# Called with what apply is about to delete ("N item(s): a, b"); raises to stop the run.
ConfirmDeletes = Callable[[str], None]
# Called with the plan when it changes more than ``confirm_above`` items; raises to stop.
ConfirmChanges = Callable[["Plan"], None]
# Above this many changes apply asks first (on a terminal; see cli/provision.py for the rule).
DEFAULT_CONFIRM_ABOVE = 20


@dataclass(frozen=True, slots=True)
class ProvisionOptions:
    """What plan and apply share: the controller, pruning, ownership and request limits."""

    jenkins: str | None  # controller URL (else $JENKINS_URL)
    controller: str | None  # a name in controllers.yaml instead
    prune: PruneMode | None
    prune_scope: PruneScope
    max_delete: int
    force_adopt: bool
    source_id: str | None
    verify: bool
    limits: ConnectionLimits


@dataclass(frozen=True, slots=True)
class PlanResult:
    url: str  # the controller, as the client addressed it
    plan: Plan
    requests: int


@dataclass(frozen=True, slots=True)
class ApplyResult:
    url: str
    plan: Plan
    report: ApplyReport | None  # None: the plan has refusals, so nothing was changed
    requests: int
    retries: int
    seconds: float


def plan(
    paths: Sequence[str],
    *,
    options: ProvisionOptions,
    library: LibrarySettings | SharedLibrary,
    progress: Progress | None = None,
) -> PlanResult:
    """What apply would change on the controller, with diffs of the updates; ``progress``
    sees each live config fetched (``--verify`` fetches every job's)."""
    client, result = _connect_and_plan(paths, options, library, diffs=True, progress=progress)
    return PlanResult(client.url, result, client.stats.requests)


def apply(
    paths: Sequence[str],
    *,
    options: ProvisionOptions,
    library: LibrarySettings | SharedLibrary,
    yes: bool,
    confirm_deletes: ConfirmDeletes,
    progress: Progress | None = None,
    confirm_changes: ConfirmChanges | None = None,
    confirm_above: int = DEFAULT_CONFIRM_ABOVE,
) -> ApplyResult:
    """Make the controller match the descriptors; nothing changes if the plan has refusals.

    Deletes need ``yes`` or ``confirm_deletes`` returning; more than ``confirm_above`` changes
    need ``yes`` or ``confirm_changes`` returning; ``progress`` sees each action end.
    """
    from jenkins_bridge.provision.executor import execute_plan

    started = time.monotonic()
    client, result = _connect_and_plan(paths, options, library, diffs=False)
    report = None
    if not (result.blocked or result.refusals):
        if not yes and confirm_changes is not None and len(result.changes) > confirm_above:
            confirm_changes(result)
        if result.of_kind("delete") and not yes:
            confirm_deletes(describe_deletes(result))
        report = execute_plan(result, client, workers=options.limits.workers, progress=progress)
    return ApplyResult(
        client.url,
        result,
        report,
        client.stats.requests,
        client.stats.retries,
        time.monotonic() - started,
    )


def describe_deletes(plan: Plan) -> str:
    """``N item(s): a, b (folder, with everything in it)``, for a confirmation."""
    return f"{plan.deleted_items} item(s): " + ", ".join(
        f"{a.full_name} (folder, with everything in it)" if a.is_folder else a.full_name
        for a in plan.of_kind("delete")
    )


def _connect_and_plan(
    paths: Sequence[str],
    options: ProvisionOptions,
    library: LibrarySettings | SharedLibrary,
    *,
    diffs: bool,
    progress: Progress | None = None,
) -> tuple[JenkinsClient, Plan]:
    from jenkins_bridge.descriptor import discover, load_services
    from jenkins_bridge.descriptor.loading import locate
    from jenkins_bridge.errors import InvalidDescriptors
    from jenkins_bridge.provision.identity import run_owner
    from jenkins_bridge.provision.session import PlanOptions, prepare
    from jenkins_bridge.render.jenkinsfile import TooLargeForJenkins

    controller = resolve_controller(options.jenkins, options.controller)
    if isinstance(library, LibrarySettings):
        library = library.over(controller.library).shared_library()
    client = connect(controller, options.limits)
    services = load_services(paths)
    plan_options = PlanOptions(
        options.prune,
        options.max_delete,
        options.force_adopt,
        options.verify,
        diffs,
        options.limits.workers,
        options.prune_scope,
        owner=run_owner(paths, options.source_id),
        library=library,
        progress=progress,
    )
    try:
        return client, prepare(client, services, plan_options)
    except TooLargeForJenkins as refused:  # render is pure: its refusal is placed here
        where = locate(discover([refused.path])[0], refused.part)
        raise InvalidDescriptors([refused.at(*where)]) from None
