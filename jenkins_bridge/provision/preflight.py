"""Plugin preflight: which plugins the job types in use need, checked before anything changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.descriptor.schema import LIBRARY_NAME
from jenkins_bridge.errors import BridgeError
from jenkins_bridge.jenkins.client import Plugin
from jenkins_bridge.render.job_config import SharedLibrary

# FolderLibraries / LibraryConfiguration, the @Library annotation and libraryResource
LIBRARY_PLUGIN = "pipeline-groovy-lib"
CORE = "core"  # steps and symbols of Jenkins core itself: nothing to install
DECLARATIVE = "pipeline-model-definition"

# declarative's own directives and conditions
_DECLARATIVE_NAMES = (
    "pipeline",
    "agent",
    "any",
    "none",
    "label",
    "options",
    "triggers",
    "parameters",
    "environment",
    "stages",
    "steps",
    "post",
    "always",
    "success",
    "failure",
    "fixed",
    "regression",
    "aborted",
    "cleanup",
    "changed",
    "unsuccessful",
    "when",
    "branch",
    "expression",
    "not",
    "allOf",
    "anyOf",
    "beforeAgent",
    "beforeInput",
    "beforeOptions",
    "message",
    "ok",
    "submitter",
    "skipDefaultCheckout",
)

# The plugin of every step, directive and symbol the library (vars/, src/) and the generated
# Jenkinsfiles call: one missing fails every build ("No such DSL method 'readJSON'"), after
# apply said all was well. tests/provision/test_preflight.py finds every call in the library
# and the golden Jenkinsfiles and checks that it is listed here.
STEP_PLUGINS: Mapping[str, str] = {
    # pipeline-utility-steps: pipeline-model-definition does not depend on it
    "readJSON": "pipeline-utility-steps",
    "readYaml": "pipeline-utility-steps",
    "writeJSON": "pipeline-utility-steps",
    "withCredentials": "credentials-binding",
    "string": "credentials-binding",  # also a `parameters` type of core
    "usernamePassword": "credentials-binding",
    "node": "workflow-durable-task-step",
    "sh": "workflow-durable-task-step",
    "echo": "workflow-basic-steps",
    "error": "workflow-basic-steps",
    "unstable": "workflow-basic-steps",
    "readFile": "workflow-basic-steps",
    "writeFile": "workflow-basic-steps",
    "fileExists": "workflow-basic-steps",
    "deleteDir": "workflow-basic-steps",
    "withEnv": "workflow-basic-steps",
    "timeout": "workflow-basic-steps",
    "mail": "workflow-basic-steps",
    "archiveArtifacts": "workflow-basic-steps",  # core's ArtifactArchiver through CoreStep
    "stage": "pipeline-stage-step",
    "input": "pipeline-input-step",
    "checkout": "workflow-scm-step",
    "git": "git",
    "timestamps": "timestamper",
    "libraryResource": LIBRARY_PLUGIN,
    "library": LIBRARY_PLUGIN,  # this repository's own Jenkinsfile loads the library so
    "legacySCM": LIBRARY_PLUGIN,
    "buildDiscarder": CORE,
    "logRotator": CORE,
    "pollSCM": CORE,
    "cron": CORE,
    "booleanParam": CORE,
    "choice": CORE,
    "text": CORE,
    "password": CORE,
    "disableConcurrentBuilds": "workflow-job",
    **dict.fromkeys(_DECLARATIVE_NAMES, DECLARATIVE),
}
# The job types' own plugins, then every plugin a step needs (pipeline-groovy-lib is checked
# with the library: a descriptor may load another library).
JOB_PLUGINS = ("cloudbees-folder", "workflow-job", "workflow-cps", "git", DECLARATIVE)
MULTIBRANCH_PLUGINS = ("workflow-multibranch", "branch-api")
BASE_PLUGINS = tuple(sorted({*JOB_PLUGINS, *STEP_PLUGINS.values()} - {CORE, LIBRARY_PLUGIN}))


class MissingPlugins(BridgeError):
    code = "missing-plugins"

    def __init__(self, url: str, missing: Sequence[str]) -> None:
        super().__init__(
            f"{url} lacks plugins the jobs need: {', '.join(missing)}",
            hint="install (and enable) them in Manage Jenkins > Plugins, then re-run; "
            "nothing was changed",
        )
        self.missing = list(missing)


def required_plugins(services: Iterable[Service]) -> list[str]:
    needed = set(BASE_PLUGINS)
    if any(s.pipeline.job_type == "multibranch" for s in services):
        needed.update(MULTIBRANCH_PLUGINS)
    return sorted(needed)


def installed_versions(plugins: Iterable[Plugin]) -> dict[str, str]:
    """Active, enabled plugins -> version: the ``plugins`` profile for the renderers."""
    return {p.short_name: p.version for p in plugins if p.active and p.enabled}


def check_plugins(url: str, services: Sequence[Service], installed: dict[str, str]) -> None:
    missing = [name for name in required_plugins(services) if name not in installed]
    if missing:
        raise MissingPlugins(url, missing)


class LibraryNotProvided(BridgeError):
    """The pipelines load a shared library that neither a folder nor the controller provides:
    every build would fail to compile, so nothing is changed."""

    code = "library-not-provided"


def uses_bridge_library(service: Service) -> bool:
    """Whether the pipeline loads the jenkins-bridge library (a descriptor may name another)."""
    return service.pipeline.library.split("@", 1)[0] == LIBRARY_NAME


def check_library(
    url: str, services: Sequence[Service], library: SharedLibrary, installed: dict[str, str]
) -> None:
    """What the REST API can tell before any change: that the library plugin is installed and
    that the library is provisioned on the folders or declared global by the platform. Whether
    a global library of that name exists is global configuration Jenkins does not export
    (see docs/jenkins/controller.md)."""
    users = [s for s in services if uses_bridge_library(s)]
    if not users:
        return
    if LIBRARY_PLUGIN not in installed:
        raise LibraryNotProvided(
            f"{url} lacks the plugin {LIBRARY_PLUGIN}, which loads the shared library "
            f"{users[0].pipeline.library!r} the pipelines ask for",
            hint="install (and enable) it in Manage Jenkins > Plugins, then re-run; "
            "nothing was changed",
        )
    if library.scope == "folder" and not library.on_folders:
        raise LibraryNotProvided(
            f"the pipelines load @Library({users[0].pipeline.library!r}), "
            "but no library repository is configured to provision on the team folders",
            hint="pass --library-repo URL (or set $JENKINS_BRIDGE_LIBRARY_REPO), or "
            "--library-scope global if the controller configures the library globally; "
            "nothing was changed",
        )
