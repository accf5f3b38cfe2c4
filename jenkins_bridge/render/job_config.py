"""Render Jenkins item configs (config.xml) with ElementTree: pure, deterministic, escaped.

XML is built as a tree and serialised as ElementTree writes it (``xml_text``), never by string
templating, so no descriptor value can break out of its element. ``plugins`` maps plugin short
names to the versions installed on the target controller; they fill the
``plugin="name@version"`` attributes Jenkins itself writes (names alone when a version is
unknown).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.descriptor.schema import LIBRARY_NAME, LIBRARY_VERSION
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile
from jenkins_bridge.render.ownership import (
    MANAGED_MARKER,
    Ownership,
    config_digest,
    owned_description,
)
from jenkins_bridge.render.xml_text import indented_xml_text, xml_text

PluginVersions = Mapping[str, str]
XML_DECLARATION = "<?xml version='1.1' encoding='UTF-8'?>\n"
LibraryScope = Literal["folder", "global"]
# How often a multibranch project re-scans its repository for branches.
BRANCH_INDEXING_INTERVAL_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class SharedLibrary:
    """Where the controller finds the shared library the pipelines load.

    ``folder``: every team folder carries a ``FolderLibraries`` property naming ``repo`` (read
    at the release tag ``version``); ``global``: the platform configures the library under
    Manage Jenkins and folders carry nothing. Without ``repo`` a folder scope provisions nothing
    (``plan``/``apply`` refuse that; ``render`` just writes the folders without it).
    """

    scope: LibraryScope = "folder"
    repo: str | None = None
    credentials_id: str | None = None
    name: str = LIBRARY_NAME
    version: str = LIBRARY_VERSION

    @property
    def on_folders(self) -> bool:
        return self.scope == "folder" and bool(self.repo)


def _plugin(plugins: PluginVersions, name: str) -> str:
    version = plugins.get(name)
    return f"{name}@{version}" if version else name


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _text(root: ET.Element) -> str:
    return XML_DECLARATION + xml_text(root) + "\n"


def _serialise(root: ET.Element) -> str:
    """The config as render writes it; ``root`` is left indented (``ET.indent``)."""
    return XML_DECLARATION + indented_xml_text(root, space="  ") + "\n"


class OwnedConfig:
    """A config as provisioning posts it: ``config_xml`` ends its description with the
    ownership line, which carries ``sha256``, the digest of the config as ``render`` writes it.

    The posted text is serialised from the tree on first use: a plan that finds the item up to
    date (the common case) compares digests only and never needs it.
    """

    __slots__ = ("_root", "_xml", "sha256")

    def __init__(self, root: ET.Element, sha256: str) -> None:
        self._root = root  # owned: built for this config alone, not changed after
        self._xml: str | None = None
        self.sha256 = sha256

    @property
    def config_xml(self) -> str:
        if self._xml is None:
            self._xml = _text(self._root)
        return self._xml

    def __repr__(self) -> str:
        return f"OwnedConfig(sha256={self.sha256!r})"


def _owned(root: ET.Element, ownership: Ownership) -> OwnedConfig:
    """Serialise ``root`` as ``render`` writes it and digest that, then set its description to
    end with the ownership line carrying the digest: one tree, never edited as text."""
    digest = config_digest(_serialise(root))
    description = root.find("description")
    if description is None:
        raise ValueError(f"{root.tag} has no <description> to carry the ownership line")
    description.text = owned_description(description.text or "", ownership.line(digest))
    return OwnedConfig(root, digest)


def job_description(service: Service) -> str:
    """Human description plus the marker that says who owns the job."""
    lines = [service.metadata.description] if service.metadata.description else []
    if service.metadata.owners:
        lines.append("Owners: " + ", ".join(service.metadata.owners))
    lines.append(f"{MANAGED_MARKER} source: {service.origin}; edits made in Jenkins are reverted.")
    return "\n".join(lines)


def _named(element: ET.Element, name: str, description: str) -> None:
    _sub(element, "name", name)
    if description:
        _sub(element, "description", description)


def _properties(parent: ET.Element, service: Service, plugins: PluginVersions) -> None:
    """Job properties exactly as the declarative `options`/`parameters`/`triggers` set them,
    so the job is right before its first build and a build does not look like drift."""
    pipeline = service.pipeline
    props = _sub(parent, "properties")
    discarder = _sub(props, "jenkins.model.BuildDiscarderProperty")
    strategy = _sub(discarder, "strategy", **{"class": "hudson.tasks.LogRotator"})
    _sub(strategy, "daysToKeep", "-1")
    _sub(strategy, "numToKeep", str(pipeline.keep_builds))
    _sub(strategy, "artifactDaysToKeep", "-1")
    _sub(strategy, "artifactNumToKeep", "-1")
    concurrent = _sub(
        props, "org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty"
    )
    _sub(concurrent, "abortPrevious", "false")
    if pipeline.parameters:
        holder = _sub(props, "hudson.model.ParametersDefinitionProperty")
        definitions = _sub(holder, "parameterDefinitions")
        for param in pipeline.parameters:
            # Written as the declarative `parameters` block builds them (ParameterDefinition.
            # setDescription and StringParameterDefinition.setDefaultValue apply Util.fixEmpty,
            # ChoiceParameterDefinition.setChoices(List) makes an ArrayList): a first build then
            # finds them equal and does not rewrite the property (pipeline-model-definition
            # Utils.updateJobProperties / isParametersEquals).
            if param.type == "boolean":
                element = _sub(definitions, "hudson.model.BooleanParameterDefinition")
                _named(element, param.name, param.description)
                _sub(element, "defaultValue", "true" if param.default is True else "false")
            elif param.type == "choice":
                element = _sub(definitions, "hudson.model.ChoiceParameterDefinition")
                _named(element, param.name, param.description)
                # ArrayList is XStream's default List: no class attribute
                listed_choices = _sub(element, "choices")
                for choice in param.ordered_choices:
                    _sub(listed_choices, "string", choice)
            else:
                kind = (
                    "TextParameterDefinition"
                    if param.type == "text"
                    else "StringParameterDefinition"
                )
                element = _sub(definitions, f"hudson.model.{kind}")
                _named(element, param.name, param.description)
                default = "" if param.default is None else str(param.default)
                if default:
                    _sub(element, "defaultValue", default)
                _sub(element, "trim", "true" if param.type == "string" else "false")
    triggers = pipeline.triggers
    if triggers.poll or triggers.cron:
        holder = _sub(
            props, "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty"
        )
        listed = _sub(holder, "triggers")
        if triggers.poll:
            poll = _sub(listed, "hudson.triggers.SCMTrigger")
            _sub(poll, "spec", triggers.poll)
            _sub(poll, "ignorePostCommitHooks", "false")
        if triggers.cron:
            timer = _sub(listed, "hudson.triggers.TimerTrigger")
            _sub(timer, "spec", triggers.cron)


def _pipeline_job(service: Service, plugins: PluginVersions, script: str | None) -> ET.Element:
    root = ET.Element("flow-definition", plugin=_plugin(plugins, "workflow-job"))
    _sub(root, "actions")
    _sub(root, "description", job_description(service))
    _sub(root, "keepDependencies", "false")
    _properties(root, service, plugins)
    # The job holds its pipeline script (workflow-cps CpsFlowDefinition: fields `script`, then
    # `sandbox`, as XStream writes them), so onboarding commits nothing into the service's
    # repository; the script checks the source out itself. Sandboxed: no script approval.
    definition = _sub(
        root,
        "definition",
        **{
            "class": "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition",
            "plugin": _plugin(plugins, "workflow-cps"),
        },
    )
    _sub(definition, "script", render_jenkinsfile(service) if script is None else script)
    _sub(definition, "sandbox", "true")
    _sub(root, "triggers")
    _sub(root, "disabled", "false")
    return root


def _multibranch_job(service: Service, plugins: PluginVersions) -> ET.Element:
    project_class = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
    root = ET.Element(project_class, plugin=_plugin(plugins, "workflow-multibranch"))
    _sub(root, "actions")
    _sub(root, "description", job_description(service))
    _sub(root, "properties")
    # MultiBranchProjectViewHolder.owner is final and set only by its constructor: XStream
    # runs none, so the holder is written with its owner the way Jenkins saves it (views and
    # tab bar are transient). <healthMetrics> is left out: AbstractFolder.init fills it from
    # the controller's folder configuration; an empty element would switch that off.
    views = _sub(
        root,
        "folderViews",
        **{
            "class": "jenkins.branch.MultiBranchProjectViewHolder",
            "plugin": _plugin(plugins, "branch-api"),
        },
    )
    _sub(views, "owner", **{"class": project_class, "reference": "../.."})
    _sub(
        root,
        "icon",
        **{
            "class": "jenkins.branch.MetadataActionFolderIcon",
            "plugin": _plugin(plugins, "branch-api"),
        },
    )
    orphans = _sub(
        root,
        "orphanedItemStrategy",
        **{
            "class": "com.cloudbees.hudson.plugins.folder.computed.DefaultOrphanedItemStrategy",
            "plugin": _plugin(plugins, "cloudbees-folder"),
        },
    )
    _sub(orphans, "pruneDeadBranches", "true")
    _sub(orphans, "daysToKeep", "-1")
    _sub(orphans, "numToKeep", "-1")
    _sub(orphans, "abortBuilds", "false")
    triggers = _sub(root, "triggers")
    periodic = _sub(
        triggers,
        "com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger",
        plugin=_plugin(plugins, "cloudbees-folder"),
    )
    _sub(periodic, "spec", periodic_folder_trigger_spec(BRANCH_INDEXING_INTERVAL_MS))
    _sub(periodic, "interval", str(BRANCH_INDEXING_INTERVAL_MS))
    _sub(root, "disabled", "false")
    sources = _sub(
        root,
        "sources",
        **{
            "class": "jenkins.branch.MultiBranchProject$BranchSourceList",
            "plugin": _plugin(plugins, "branch-api"),
        },
    )
    data = _sub(sources, "data")
    branch_source = _sub(data, "jenkins.branch.BranchSource")
    source = _sub(
        branch_source,
        "source",
        **{"class": "jenkins.plugins.git.GitSCMSource", "plugin": _plugin(plugins, "git")},
    )
    _sub(source, "id", f"{service.metadata.team}-{service.metadata.name}")
    _sub(source, "remote", service.source.repo)
    if service.source.credentials_id:
        _sub(source, "credentialsId", service.source.credentials_id)
    traits = _sub(source, "traits")
    _sub(traits, "jenkins.plugins.git.traits.BranchDiscoveryTrait")
    strategy = _sub(
        branch_source, "strategy", **{"class": "jenkins.branch.DefaultBranchPropertyStrategy"}
    )
    _sub(strategy, "properties", **{"class": "empty-list"})
    _sub(sources, "owner", **{"class": project_class, "reference": "../.."})
    factory = _sub(
        root,
        "factory",
        **{"class": "org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory"},
    )
    _sub(factory, "owner", **{"class": project_class, "reference": "../.."})
    _sub(factory, "scriptPath", service.source.jenkinsfile)
    return root


def _job(service: Service, plugins: PluginVersions | None, script: str | None = None) -> ET.Element:
    profile = plugins or {}
    if service.pipeline.job_type == "multibranch":
        return _multibranch_job(service, profile)
    return _pipeline_job(service, profile, script)


def render_job_config(
    service: Service, plugins: PluginVersions | None = None, *, jenkinsfile: str | None = None
) -> str:
    """The job's config.xml as ``render`` writes it: the description ends with the human
    marker line (no repository identity is known there). ``jenkinsfile``: the service's
    already rendered script, which a plain pipeline job holds (rendered here when not given)."""
    return _serialise(_job(service, plugins, jenkinsfile))


def render_owned_job_config(
    service: Service, plugins: PluginVersions | None, ownership: Ownership
) -> OwnedConfig:
    """The job's config.xml as provisioning posts it: the description ends with the ownership
    line, whose digest is that of ``render_job_config``."""
    return _owned(_job(service, plugins), ownership)


def periodic_folder_trigger_spec(interval_ms: int) -> str:
    """The cron spec cloudbees-folder's PeriodicFolderTrigger derives from its interval
    (PeriodicFolderTrigger.toCrontab): the trigger wakes often enough to honour the interval."""
    minute, hour, day = 60_000, 3_600_000, 86_400_000
    for limit, spec in (
        (5 * minute, "* * * * *"),
        (30 * minute, "H/5 * * * *"),
        (hour, "H/15 * * * *"),
        (8 * hour, "H/30 * * * *"),
        (day, "H H/4 * * *"),
        (2 * day, "H H/12 * * *"),
    ):
        if interval_ms <= limit:
            return spec
    return "H H * * *"


def _folder_libraries(parent: ET.Element, library: SharedLibrary, plugins: PluginVersions) -> None:
    """pipeline-groovy-lib FolderLibraries -> LibraryConfiguration -> SCMSourceRetriever ->
    git GitSCMSource, field by field as XStream writes them (superclass fields first)."""
    holder = _sub(
        parent,
        "org.jenkinsci.plugins.workflow.libs.FolderLibraries",
        plugin=_plugin(plugins, "pipeline-groovy-lib"),
    )
    libraries = _sub(holder, "libraries")
    config = _sub(libraries, "org.jenkinsci.plugins.workflow.libs.LibraryConfiguration")
    _sub(config, "name", library.name)
    retriever = _sub(
        config, "retriever", **{"class": "org.jenkinsci.plugins.workflow.libs.SCMSourceRetriever"}
    )
    _sub(retriever, "clone", "false")
    scm = _sub(
        retriever,
        "scm",
        **{"class": "jenkins.plugins.git.GitSCMSource", "plugin": _plugin(plugins, "git")},
    )
    _sub(scm, "id", f"{library.name}-library")
    _sub(scm, "remote", library.repo or "")
    if library.credentials_id:
        _sub(scm, "credentialsId", library.credentials_id)
    traits = _sub(scm, "traits")
    _sub(traits, "jenkins.plugins.git.traits.BranchDiscoveryTrait")
    # @Library('name@v1.2.3') names a tag. AbstractGitSCMSource.retrieve resolves a tag name
    # with or without this trait; with it, the tags are also what the source discovers.
    _sub(traits, "jenkins.plugins.git.traits.TagDiscoveryTrait")
    _sub(config, "defaultVersion", library.version)
    _sub(config, "implicit", "false")
    _sub(config, "allowVersionOverride", "true")
    _sub(config, "includeInChangesets", "true")


def _folder(team: str, plugins: PluginVersions | None, library: SharedLibrary | None) -> ET.Element:
    """A team folder. <folderViews> and <healthMetrics> are left out on purpose: XStream runs
    no constructor, so an empty DefaultFolderViewHolder would keep null views (AbstractFolder.init
    only builds a holder when the field is null) and break the folder page and every delete
    inside it; without the elements, init builds them exactly as for a folder made in the UI."""
    profile = plugins or {}
    root = ET.Element(
        "com.cloudbees.hudson.plugins.folder.Folder", plugin=_plugin(profile, "cloudbees-folder")
    )
    _sub(root, "actions")
    _sub(root, "description", f"Jobs of team {team}.\n{MANAGED_MARKER}")
    properties = _sub(root, "properties")
    if library is not None and library.on_folders:
        _folder_libraries(properties, library, profile)
    _sub(root, "icon", **{"class": "com.cloudbees.hudson.plugins.folder.icons.StockFolderIcon"})
    return root


def render_folder_config(
    team: str, plugins: PluginVersions | None = None, library: SharedLibrary | None = None
) -> str:
    """The team folder's config.xml as ``render`` writes it."""
    return _serialise(_folder(team, plugins, library))


def render_owned_folder_config(
    team: str,
    plugins: PluginVersions | None,
    library: SharedLibrary | None,
    ownership: Ownership,
) -> OwnedConfig:
    """The team folder's config.xml as provisioning posts it (see ``render_owned_job_config``)."""
    return _owned(_folder(team, plugins, library), ownership)
