"""What Jenkins core exports through api/json, as beans for `tree.write_bean`.

Property names, visibilities and order follow the @Exported getters of the classes named in each
builder (Stapler writes superclass properties first, each class's properties sorted by name).
"""

from __future__ import annotations

from urllib.parse import quote

from .items import FREESTYLE, Item
from .stapler_export import Bean, Prop

HUDSON = "hudson.model.Hudson"
ALL_VIEW = "hudson.model.AllView"

DEFAULT_PLUGINS: dict[str, str] = {
    "workflow-job": "1540.v295eccc9778f",
    "workflow-cps": "4150.v5d5c8a_29f4c8",
    "workflow-multibranch": "806.vb_b_688f609ee9",
    "cloudbees-folder": "6.1012.v79a_86a_1ea_c1f",
    "git": "5.7.0",
    "pipeline-model-definition": "2.2255.v56a_15e805f12",
    "credentials-binding": "687.v619cb_15e923f",
    "timestamper": "1.29",
    "workflow-aggregator": "608.v67378e9d3db_1",
    "branch-api": "2.1217.v43d8b_b_d8b_2c7",
    "scm-api": "704.v3ce5c542825a_",
    "credentials": "1415.v831096eb_5534",
    "plain-credentials": "199.v9f8e1f741799",
    "ssh-credentials": "355.v9b_e5b_cde5003",
    "mailer": "508.vda_2d5e5a_5b_e4",
    "email-ext": "1876.v28d8d38315b_d",
    "pipeline-input-step": "517.vf8e782ee645c",
    "pipeline-stage-step": "322.vecffa_99f371c",
    "docker-workflow": "611.v16e84da_6d3ff",
    "pipeline-groovy-lib": "752.vdddedf804e72",
    "pipeline-utility-steps": "2.18.0",
    "workflow-basic-steps": "1058.vcb_fc1e3a_21a_9",
    "workflow-durable-task-step": "1371.vb_7cec8f3b_95e",
    "workflow-scm-step": "427.v4ca_6512e7df1",
}

_LONG_NAMES = {
    "workflow-job": "Pipeline: Job",
    "workflow-cps": "Pipeline: Groovy",
    "workflow-multibranch": "Pipeline: Multibranch",
    "cloudbees-folder": "Folders",
    "git": "Git plugin",
    "pipeline-model-definition": "Pipeline: Declarative",
    "credentials-binding": "Credentials Binding Plugin",
    "timestamper": "Timestamper",
    "workflow-aggregator": "Pipeline",
    "branch-api": "Branch API Plugin",
    "scm-api": "SCM API Plugin",
    "credentials": "Credentials Plugin",
    "plain-credentials": "Plain Credentials Plugin",
    "ssh-credentials": "SSH Credentials Plugin",
    "mailer": "Mailer Plugin",
    "email-ext": "Email Extension Plugin",
    "pipeline-input-step": "Pipeline: Input Step",
    "pipeline-stage-step": "Pipeline: Stage Step",
    "docker-workflow": "Docker Pipeline",
    "pipeline-groovy-lib": "Pipeline: Groovy Libraries",
    "pipeline-utility-steps": "Pipeline Utility Steps",
    "workflow-basic-steps": "Pipeline: Basic Steps",
    "workflow-durable-task-step": "Pipeline: Nodes and Processes",
    "workflow-scm-step": "Pipeline: SCM Step",
}


def item_url(base_url: str, item: Item) -> str:
    """mirrors AbstractItem.getAbsoluteUrl / getShortUrl: `job/<rawEncoded name>/` per level."""
    parts: list[str] = []
    node: Item | None = item
    while node is not None:
        parts.append(f"job/{quote(node.name, safe='')}/")
        node = node.parent
    return base_url + "".join(reversed(parts))


def _view(base_url: str, owner_url: str) -> Bean:
    # mirrors hudson.model.AllView; View exports name and url with visibility 999
    return Bean(
        ALL_VIEW,
        [Prop("name", "all", 999), Prop("url", owner_url or base_url, 999)],
    )


def item_bean(item: Item, base_url: str) -> Bean:
    """mirrors AbstractItem + Job/WorkflowJob/AbstractProject or AbstractFolder exports."""
    url = item_url(base_url, item)
    names: list[str] = []
    node: Item | None = item
    while node is not None:
        names.append(node.name)
        node = node.parent
    props = [
        # hudson.model.AbstractItem
        Prop("actions", [], declared="hudson.model.Action"),
        Prop("description", item.description),
        Prop("displayName", item.name),
        Prop("displayNameOrNull", None),
        Prop("fullDisplayName", " » ".join(reversed(names))),
        Prop("fullName", item.full_name),
        Prop("name", item.name, 999),
        Prop("url", url, 999),
    ]
    if item.type.is_group:

        def views() -> list[Bean]:
            # AbstractFolder.getViews -> ViewGroupMixIn: throws on a half-built holder
            item.require_views()
            return [_view(base_url, url)]

        def primary_view() -> Bean:
            item.require_views()
            return _view(base_url, url)

        # com.cloudbees.hudson.plugins.folder.AbstractFolder (getIconColor is not exported)
        props += [
            Prop("healthReport", [], declared="hudson.model.HealthReport"),
            Prop("jobs", lambda: [item_bean(c, base_url) for c in item.sorted_children()]),
            Prop("primaryView", primary_view, declared="hudson.model.View"),
            Prop("views", views, declared="hudson.model.View"),
        ]
        return Bean(item.type.class_name, props)
    disabled = item.disabled
    last = _run_bean(item, url, item.builds) if item.builds else None
    first = _run_bean(item, url, 1) if item.builds else None
    # hudson.model.Job; BallColor.toString: DISABLED -> "disabled", NOTBUILT -> "notbuilt"
    props += [
        Prop("buildable", not disabled),
        Prop(
            "builds",
            [_run_bean(item, url, n) for n in range(item.builds, 0, -1)],
            declared="hudson.model.Run",
        ),
        Prop("color", "disabled" if disabled else "blue" if item.builds else "notbuilt", 2),
        Prop("firstBuild", first, declared="hudson.model.Run"),
        Prop("healthReport", [], declared="hudson.model.HealthReport"),
        Prop("inQueue", False),
        Prop("keepDependencies", False),
        Prop("lastBuild", last, declared="hudson.model.Run"),
        Prop("lastCompletedBuild", last, declared="hudson.model.Run"),
        Prop("lastFailedBuild", None),
        Prop("lastStableBuild", last, declared="hudson.model.Run"),
        Prop("lastSuccessfulBuild", last, declared="hudson.model.Run"),
        Prop("lastUnstableBuild", None),
        Prop("lastUnsuccessfulBuild", None),
        Prop("nextBuildNumber", item.builds + 1),
        Prop("property", [], declared="hudson.model.JobProperty"),
        Prop("queueItem", None),
    ]
    if item.type is FREESTYLE:
        # hudson.model.AbstractProject
        props += [
            Prop("concurrentBuild", False),
            Prop("disabled", disabled),
            Prop("downstreamProjects", []),
            Prop("labelExpression", None),
            Prop("scm", Bean("hudson.scm.NullSCM", []), declared="hudson.scm.SCM"),
            Prop("upstreamProjects", []),
        ]
    else:
        # org.jenkinsci.plugins.workflow.job.WorkflowJob
        props += [Prop("concurrentBuild", True), Prop("resumeBlocked", False)]
    return Bean(item.type.class_name, props)


def _run_bean(item: Item, job_url: str, number: int) -> Bean:
    """mirrors hudson.model.Run exports for a finished build (WorkflowRun)."""
    return Bean(
        "org.jenkinsci.plugins.workflow.job.WorkflowRun",
        [
            Prop("building", False),
            Prop("number", number),
            Prop("result", "SUCCESS"),
            Prop("url", f"{job_url}{number}/"),
        ],
    )


def root_bean(children: list[Item], base_url: str) -> Bean:
    """mirrors jenkins.model.Jenkins (runtime class hudson.model.Hudson); `url` is the
    configured root URL, which the emulator never has."""
    return Bean(
        HUDSON,
        [
            Prop(
                "assignedLabels",
                [Bean("hudson.model.labels.LabelAtom", [Prop("name", "built-in", 2)])],
                declared="hudson.model.labels.LabelAtom",
            ),
            Prop("mode", "NORMAL"),
            Prop("nodeDescription", "the Jenkins controller's built-in node"),
            Prop("nodeName", ""),
            Prop("numExecutors", 2),
            Prop("description", None),
            Prop("jobs", lambda: [item_bean(c, base_url) for c in children]),
            Prop(
                "overallLoad",
                Bean("hudson.model.OverallLoadStatistics", []),
                declared="hudson.model.OverallLoadStatistics",
            ),
            Prop("primaryView", _view(base_url, base_url), declared="hudson.model.View"),
            Prop("quietDown", False),
            Prop("quietingDown", False),
            Prop("slaveAgentPort", -1),
            Prop(
                "unlabeledLoad",
                Bean("jenkins.model.UnlabeledLoadStatistics", []),
                declared="hudson.model.LoadStatistics",
            ),
            Prop("url", None),
            Prop("useCrumbs", True),
            Prop("useSecurity", True),
            Prop("views", [_view(base_url, base_url)], declared="hudson.model.View"),
        ],
    )


def plugin_manager_bean(plugins: dict[str, str]) -> Bean:
    """mirrors hudson.LocalPluginManager / PluginWrapper exports; entries carry no `_class`
    because the getter declares List<PluginWrapper>."""
    entries = [
        Bean(
            "hudson.PluginWrapper",
            [
                Prop("active", True),
                Prop("backupVersion", None),
                Prop("bundled", False),
                Prop("deleted", False),
                Prop("dependencies", []),
                Prop("detached", False),
                Prop("downgradable", False),
                Prop("enabled", True),
                Prop("hasUpdate", False),
                Prop("longName", _LONG_NAMES.get(short, short)),
                Prop("minimumJavaVersion", None),
                Prop("pinned", False),
                Prop("requiredCoreVersion", "2.479.3"),
                Prop("shortName", short),
                Prop("supportsDynamicLoad", "MAYBE"),
                Prop("url", f"https://plugins.jenkins.io/{short}"),
                Prop("version", version),
            ],
        )
        for short, version in sorted(plugins.items())
    ]
    return Bean(
        "hudson.LocalPluginManager", [Prop("plugins", entries, declared="hudson.PluginWrapper")]
    )


def user_bean(user: str, base_url: str) -> Bean:
    """mirrors hudson.model.User exports (`/me/api/json`)."""
    return Bean(
        "hudson.model.User",
        [
            Prop("absoluteUrl", f"{base_url}user/{quote(user, safe='')}"),
            Prop("description", None),
            Prop("fullName", user),
            Prop("id", user),
            Prop("property", [], declared="hudson.model.UserProperty"),
        ],
    )


def crumb_bean(crumb: str) -> Bean:
    """mirrors hudson.security.csrf.DefaultCrumbIssuer (CrumbIssuer @Exported)."""
    return Bean(
        "hudson.security.csrf.DefaultCrumbIssuer",
        [Prop("crumb", crumb), Prop("crumbRequestField", "Jenkins-Crumb")],
    )
