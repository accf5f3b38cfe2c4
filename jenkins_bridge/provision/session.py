"""The requests that tie planning to a controller: plugins, one tree listing, and (only when
asked or needed for a diff) live configs, fetched in parallel.

A no-change plan costs exactly two requests however many jobs exist.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.jenkins.client import JenkinsClient
from jenkins_bridge.jenkins.errors import NotFound
from jenkins_bridge.provision.plan import (
    DEFAULT_MAX_DELETE,
    Plan,
    PruneMode,
    PruneScope,
    plan_changes,
)
from jenkins_bridge.provision.preflight import check_library, check_plugins, installed_versions
from jenkins_bridge.provision.state import (
    UNNAMED_OWNER,
    Owner,
    build_desired,
    parse_live,
)
from jenkins_bridge.render.job_config import SharedLibrary


@dataclass(frozen=True)
class PlanOptions:
    prune: PruneMode | None = None
    max_delete: int = DEFAULT_MAX_DELETE
    force_adopt: bool = False
    verify: bool = False
    diffs: bool = True  # fetch live configs of jobs to update, to show what changes
    workers: int = 8
    prune_scope: PruneScope = "teams"
    owner: Owner = UNNAMED_OWNER  # whose items these are (provision.identity.run_owner)
    library: SharedLibrary = field(default_factory=SharedLibrary)
    # (done, total, failed) as live configs arrive: --verify fetches every job's
    progress: Callable[[int, int, int], None] | None = None


def fetch_configs(
    client: JenkinsClient,
    names: Iterable[str],
    workers: int,
    progress: Callable[[int, int, int], None] | None = None,
) -> dict[str, str]:
    """Live config.xml of each named item, in parallel; items gone meanwhile are left out."""
    wanted = sorted(names)
    lock = threading.Lock()
    done = [0]

    def one(name: str) -> tuple[str, str | None]:
        try:
            return name, client.get_config(name)
        except NotFound:
            return name, None
        finally:
            with lock:  # counted and reported together, so the reports only grow
                done[0] += 1
                if progress is not None:
                    progress(done[0], len(wanted), 0)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fetch") as pool:
        return {name: xml for name, xml in pool.map(one, wanted) if xml is not None}


def prepare(client: JenkinsClient, services: Sequence[Service], options: PlanOptions) -> Plan:
    """Preflight plugins, list the tree, plan; fail before any change if plugins are missing."""
    plugins = installed_versions(client.plugins())
    check_plugins(client.url.rstrip("/"), services, plugins)
    check_library(client.url.rstrip("/"), services, options.library, plugins)
    desired = build_desired(services, plugins, options.owner, options.library)
    live = parse_live(client.item_tree())

    def make_plan(configs: dict[str, str] | None = None) -> Plan:
        return plan_changes(
            desired,
            live,
            prune=options.prune,
            max_delete=options.max_delete,
            force_adopt=options.force_adopt,
            live_configs=configs,
            prune_scope=options.prune_scope,
            owner=options.owner,
        )

    plan = make_plan()
    wanted: set[str] = set()
    if options.diffs:
        wanted |= {a.full_name for a in plan.of_kind("update")}
    if options.verify:
        wanted |= {a.full_name for a in plan.of_kind("update")}
        wanted |= set(plan.unchanged)
    if wanted:
        plan = make_plan(fetch_configs(client, wanted, options.workers, options.progress))
    return plan
