"""Planning: desired state + live snapshot -> the list of actions apply would take (pure).

No HTTP here: the caller lists the live tree, optionally fetches some live configs (for diffs
and ``--verify``), and calls ``plan_changes`` again with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from jenkins_bridge.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from jenkins_bridge.provision.review import KINDS, review_diff
from jenkins_bridge.provision.state import (
    FOLDER_CLASS,
    PIPELINE_CLASS,
    UNNAMED_OWNER,
    DesiredItem,
    DesiredState,
    LiveItem,
    LiveState,
    Owner,
    claim,
    normalise_config,
)

# ``conflict``: the item is owned by another source (another descriptor repository, another
# folder of descriptors, or an earlier version's line naming another file); like ``refuse``
# it stops apply, unless --force-adopt turns it into an update.
ActionKind = Literal["create", "update", "disable", "delete", "refuse", "conflict"]
ADOPT_HINT = "pass --force-adopt to take it over"
PruneMode = Literal["disable", "delete"]
PruneScope = Literal["teams", "all"]

DEFAULT_MAX_DELETE = 5


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    full_name: str
    item_kind: str  # folder | pipeline | multibranch | job
    reason: str = ""  # why: new, changed, disabled, drift, adopt, removed, collision, ...
    config_xml: str | None = None  # what to post for create/update
    diff: str = ""
    hint: str | None = None
    changed: tuple[str, ...] = ()  # kinds of change the diff shows (review.KINDS)

    @property
    def parent(self) -> str | None:
        parent, _, _ = self.full_name.rpartition("/")
        return parent or None

    @property
    def is_folder(self) -> bool:
        return self.item_kind == "folder"

    def describe(self) -> str:
        what = "folder" if self.is_folder else "job"
        text = f"{self.kind} {what} {self.full_name}"
        return f"{text} ({self.reason})" if self.reason else text


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # no action, but worth saying
    blocked: list[str] = field(default_factory=list)  # reasons the whole apply must not start
    deleted_items: int = 0  # what the deletes remove, everything inside them included
    # Unchanged by their ownership line's hash alone: their live config was not fetched, so an
    # edit made in Jenkins' UI is unseen (--verify fetches them).
    unverified: int = 0
    # Items of ours no descriptor wants, when not pruning: what --prune would act on.
    orphans: list[str] = field(default_factory=list)

    def of_kind(self, kind: ActionKind) -> list[Action]:
        return [a for a in self.actions if a.kind == kind]

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.kind not in ("refuse", "conflict")]

    @property
    def refusals(self) -> list[Action]:
        """Everything that stops apply before it starts: refusals and ownership conflicts."""
        return [a for a in self.actions if a.kind in ("refuse", "conflict")]

    @property
    def exit_code(self) -> int:
        if self.refusals or self.blocked:
            return EXIT_ERROR
        return EXIT_CHANGES if self.changes else EXIT_OK

    def counts(self) -> dict[str, int]:
        out = {k: len(self.of_kind(k)) for k in ("create", "update", "disable", "delete")}
        out["refused"] = len(self.of_kind("refuse"))
        out["conflicts"] = len(self.of_kind("conflict"))
        out["unchanged"] = len(self.unchanged)
        return out

    def change_kinds(self) -> dict[str, int]:
        """How many updates change each kind of thing (``review.KINDS``) they showed a diff
        for; an update without a fetched live config counts under none."""
        return {
            kind: n
            for kind in KINDS
            if (n := sum(1 for a in self.of_kind("update") if kind in a.changed))
        }


def config_diff(full_name: str, live_xml: str, desired_xml: str) -> tuple[str, tuple[str, ...]]:
    """A reviewer's diff of two configs (``review.review_diff``: settings, script, resolved
    descriptor) ignoring ``plugin`` attributes, whitespace and the XML declaration, and the
    kinds of change in it; empty when they are equivalent."""
    try:
        before = normalise_config(live_xml)
    except Exception:  # a config that does not parse is different by definition
        before = live_xml
    after = normalise_config(desired_xml)
    if before == after:
        return "", ()
    change = review_diff(full_name, before, after)
    return change.text, change.kinds


def plan_changes(
    desired: DesiredState,
    live: LiveState,
    *,
    prune: PruneMode | None = None,
    max_delete: int = DEFAULT_MAX_DELETE,
    force_adopt: bool = False,
    live_configs: Mapping[str, str] | None = None,
    prune_scope: PruneScope = "teams",
    owner: Owner = UNNAMED_OWNER,
) -> Plan:
    """Folders first, then jobs, then prune actions, each group sorted by name.

    Only items ``owner`` owns (``state.claim``) are updated or pruned without --force-adopt.
    """
    configs = live_configs or {}
    plan = Plan()
    unusable_folders: set[str] = set()
    ordered = sorted(desired.items.values(), key=lambda i: (i.kind != "folder", i.full_name))
    for item in ordered:
        if item.parent is not None and item.parent in unusable_folders:
            plan.actions.append(
                Action(
                    "refuse",
                    item.full_name,
                    item.kind,
                    f"{item.parent} is not a folder",
                    hint=f"rename or remove the Jenkins item {item.parent}",
                )
            )
            continue
        action = _plan_item(item, live, force_adopt, configs, plan, owner)
        if action is None:
            continue
        if action.kind == "refuse" and item.kind == "folder":
            unusable_folders.add(item.full_name)
        plan.actions.append(action)
    if prune is not None:
        _plan_prune(desired, live, prune, max_delete, plan, prune_scope, owner)
    else:
        plan.orphans = [i.full_name for i in _prune_candidates(desired, live, prune_scope, owner)]
    return plan


def _plan_item(
    item: DesiredItem,
    live: LiveState,
    force_adopt: bool,
    configs: Mapping[str, str],
    plan: Plan,
    owner: Owner,
) -> Action | None:
    current = live.get(item.full_name)
    if current is None:
        return Action("create", item.full_name, item.kind, "new", item.config_xml)
    status = claim(current, owner, item.source)
    marker = current.marker
    upgrade = status == "legacy" and marker is not None and marker.source == item.source
    if item.kind == "folder" and current.class_name != FOLDER_CLASS:
        return Action(
            "refuse",
            item.full_name,
            item.kind,
            f"{current.full_name} exists and is a {_short(current.class_name)}, not a folder",
            hint="rename the team or remove that item in Jenkins",
        )
    if item.kind == "folder" and status != "ours" and not upgrade:
        # Team folders are shared: another repository's jobs of the same team live there too.
        whose = "is not managed by jenkins-bridge"
        if status != "unmanaged" and marker is not None:
            whose = f"is managed by {marker.describe()}"
        plan.notes.append(
            f"folder {current.full_name} exists and {whose}; "
            "its jobs are created inside it and the folder itself is left alone"
        )
        return None
    adopt_reason = ""
    if status == "unmanaged":
        if not force_adopt:
            return Action(
                "refuse",
                item.full_name,
                item.kind,
                "exists and is not managed by jenkins-bridge (made by hand, or copied or "
                "renamed from a managed item)",
                hint=f"{ADOPT_HINT}, or rename the service",
            )
        adopt_reason = "adopt"
    elif status in ("foreign", "legacy") and not upgrade:
        assert marker is not None
        if not force_adopt:
            return Action(
                "conflict",
                item.full_name,
                item.kind,
                f"owned by {marker.describe()}",
                hint=f"{ADOPT_HINT} from that source, or rename the service; "
                f"this run is {owner.repository}",
            )
        adopt_reason = f"adopt from {marker.describe()}"
    if current.class_name and current.class_name != item.class_name:
        return Action(
            "refuse",
            item.full_name,
            item.kind,
            f"exists as a {_short(current.class_name)}; the descriptor wants a "
            f"{_short(item.class_name)}",
            hint="Jenkins cannot change an item's type: delete the job in Jenkins, then re-run",
        )
    live_xml = configs.get(item.full_name)
    diff, changed = "", ()  # type: tuple[str, tuple[str, ...]]
    if live_xml is not None:
        diff, changed = config_diff(item.full_name, live_xml, item.config_xml)

    def update(reason: str) -> Action:
        return Action(
            "update", item.full_name, item.kind, reason, item.config_xml, diff, changed=changed
        )

    if adopt_reason:
        return update(adopt_reason)
    if upgrade:
        # An earlier version's line for this very file: rewrite it with its owner.
        return update("owner")
    if current.sha256 != item.sha256:
        return update("changed")
    if current.disabled and item.class_name == PIPELINE_CLASS:
        return update("disabled")
    if diff:
        return update("drift")
    plan.unchanged.append(item.full_name)
    if live_xml is None:
        plan.unverified += 1
    return None


def _plan_prune(
    desired: DesiredState,
    live: LiveState,
    mode: PruneMode,
    max_delete: int,
    plan: Plan,
    scope: PruneScope,
    owner: Owner,
) -> None:
    """Which items of ours no descriptor wants any more, and what to do with them.

    Only items ``owner`` owns are candidates: a copy of a managed job, a job of another
    repository or of another folder of descriptors, and anything made by hand are never
    touched. Scope ``teams`` (the default) only looks inside the teams the descriptors name.
    Scope ``all`` looks anywhere, including a whole removed team's folder, which is deleted
    only if everything in it, at every depth, is ours.
    """
    in_scope = _unwanted(desired, live, scope)
    candidates = _prune_candidates(desired, live, scope, owner)
    wanted = {name.casefold() for name in desired.items}
    legacy = sorted(i.full_name for i in in_scope if claim(i, owner) == "legacy")
    if legacy:
        plan.notes.append(
            f"{len(legacy)} item(s) carry an ownership line of an earlier jenkins-bridge "
            f"version that does not name its owner ({', '.join(legacy[:3])}); they are not "
            "pruned: delete them by hand if they are no longer wanted"
        )
    removed_folders = _removed_folders(live, wanted, plan, owner) if scope == "all" else set()
    kind_of = {PIPELINE_CLASS: "pipeline"}
    for item in candidates:
        item_kind = kind_of.get(item.class_name, "multibranch")
        if mode == "delete":
            if any(_is_inside(item.full_name, folder) for folder in removed_folders):
                continue  # deleting the folder deletes it
            plan.actions.append(Action("delete", item.full_name, item_kind, "removed"))
        elif item.class_name != PIPELINE_CLASS:
            plan.notes.append(
                f"{item.full_name} is no longer in the descriptors; a "
                f"{_short(item.class_name)} cannot be disabled: use --prune=delete"
            )
        elif not item.disabled:
            plan.actions.append(Action("disable", item.full_name, item_kind, "removed"))
    for folder in sorted(removed_folders):
        name = live.items[folder].full_name
        if mode == "delete":
            plan.actions.append(Action("delete", name, "folder", "removed team"))
        else:
            plan.notes.append(
                f"folder {name} is no longer in the descriptors: --prune=delete removes it"
            )
    # A delete removes the item and everything in it, at every depth (a multibranch
    # project's branch jobs too): all of it counts.
    inside = _descendant_counts(live)
    deletes = sum(1 + inside.get(a.full_name.casefold(), 0) for a in plan.of_kind("delete"))
    plan.deleted_items = deletes
    if deletes > max_delete:
        plan.blocked.append(
            f"refusing to delete {deletes} items (--max-delete is {max_delete}); "
            f"raise --max-delete to {deletes} if that is intended, or use --prune to disable"
        )


def _unwanted(desired: DesiredState, live: LiveState, scope: PruneScope) -> list[LiveItem]:
    """Live jobs (not folders) in ``scope`` that no descriptor wants, whoever owns them."""
    teams = {t.casefold() for t in desired.teams}
    wanted = {name.casefold() for name in desired.items}
    return [
        item
        for key, item in live.items.items()
        if key not in wanted
        and item.class_name != FOLDER_CLASS
        and (scope == "all" or item.full_name.rpartition("/")[0].casefold() in teams)
    ]


def _prune_candidates(
    desired: DesiredState, live: LiveState, scope: PruneScope, owner: Owner
) -> list[LiveItem]:
    """The jobs of ours no descriptor wants: what a prune acts on, sorted by name."""
    return sorted(
        (item for item in _unwanted(desired, live, scope) if claim(item, owner) == "ours"),
        key=lambda i: i.full_name,
    )


def _is_inside(full_name: str, folder_key: str) -> bool:
    return full_name.casefold().startswith(folder_key + "/")


def _ancestors(key: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b"]``."""
    parts = key.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


def _descendant_counts(live: LiveState) -> dict[str, int]:
    """How many listed items each item holds, at every depth (keys case-folded)."""
    counts: dict[str, int] = {}
    for key in live.items:
        for ancestor in _ancestors(key):
            counts[ancestor] = counts.get(ancestor, 0) + 1
    return counts


def _strangers(live: LiveState, folder_key: str, owner: Owner) -> list[str]:
    """Items in the folder, at any depth, that are not ours. The children of a job of ours
    that holds items (a multibranch project's branches) are its own, not strangers."""
    inside = {k: i for k, i in live.items.items() if k.startswith(folder_key + "/")}
    ours = {k for k, i in inside.items() if claim(i, owner) == "ours"}
    ours_jobs = {k for k in ours if inside[k].class_name != FOLDER_CLASS}
    return sorted(
        item.full_name
        for key, item in inside.items()
        if key not in ours and not any(a in ours_jobs for a in _ancestors(key))
    )


def _removed_folders(live: LiveState, wanted: set[str], plan: Plan, owner: Owner) -> set[str]:
    """Top-level folders of ours no descriptor names, holding only items of ours."""
    removed = set()
    for key, item in live.items.items():
        if key in wanted or item.class_name != FOLDER_CLASS or "/" in key:
            continue
        if claim(item, owner) != "ours":
            continue
        strangers = _strangers(live, key, owner)
        if strangers:
            plan.notes.append(
                f"folder {item.full_name} is no longer in the descriptors but holds items "
                f"jenkins-bridge does not own for this repository ({', '.join(strangers[:3])}"
                + (f" and {len(strangers) - 3} more" if len(strangers) > 3 else "")
                + "); left alone"
            )
        else:
            removed.add(key)
    return removed


def _short(class_name: str) -> str:
    names = {
        FOLDER_CLASS: "folder",
        PIPELINE_CLASS: "pipeline job",
        "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject": (
            "multibranch project"
        ),
        "hudson.model.FreeStyleProject": "freestyle job",
    }
    return names.get(class_name, class_name.rpartition(".")[2] or "item")
