"""The platform's shared-library options (``render``, ``plan``, ``apply``): where the controller
finds the ``jenkins-bridge`` library the generated pipelines load."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from jenkins_bridge.descriptor.git_remote import repository_url_problem
from jenkins_bridge.descriptor.schema import CREDENTIALS_ID_PATTERN
from jenkins_bridge.errors import UsageError

if TYPE_CHECKING:  # render (and jinja2) load when a command runs, not when options are built
    from jenkins_bridge.render.job_config import SharedLibrary

SCOPE_ENV = "JENKINS_BRIDGE_LIBRARY_SCOPE"
REPO_ENV = "JENKINS_BRIDGE_LIBRARY_REPO"
CREDENTIALS_ENV = "JENKINS_BRIDGE_LIBRARY_CREDENTIALS_ID"


def shared_library(scope: str, repo: str | None, credentials_id: str | None) -> SharedLibrary:
    """The options as a SharedLibrary; a bad value is a usage error naming the option."""
    from jenkins_bridge.render.job_config import SharedLibrary

    if credentials_id and not re.match(CREDENTIALS_ID_PATTERN, credentials_id):
        raise UsageError(
            f"--library-credentials-id {credentials_id!r} is not a Jenkins credentials ID",
            hint="use letters, digits, '.', '_' or '-' (the ID, never the secret)",
        )
    if repo is not None:
        problem = repository_url_problem(repo)
        if problem is not None:  # the same rules as source.repo: git reads it on the controller
            raise UsageError(f"--library-repo {problem}")
    return SharedLibrary(
        scope="global" if scope == "global" else "folder",
        repo=repo or None,
        credentials_id=credentials_id or None,
    )


def library_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the three options and passes them on as one ``library: SharedLibrary``."""
    return _library_options(function, layered=False)


def provision_library_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The three options for plan and apply, passed on as ``library: LibrarySettings``: only
    what the command line or the environment said, to layer over the controller's
    controllers.yaml entry (``provision.controller``)."""
    return _library_options(function, layered=True)


_SAID = ("COMMANDLINE", "ENVIRONMENT")


def _library_options(function: Callable[..., Any], *, layered: bool) -> Callable[..., Any]:
    options = [
        click.option(
            "--library-scope",
            type=click.Choice(["folder", "global"]),
            default="folder",
            show_default=True,
            envvar=SCOPE_ENV,
            show_envvar=True,
            help="folder: provision the shared library on every team folder from "
            "--library-repo; global: the controller configures it (Manage Jenkins > System).",
        ),
        click.option(
            "--library-repo",
            metavar="URL",
            envvar=REPO_ENV,
            show_envvar=True,
            help="Git URL of the jenkins-bridge library repository (tags v<version>).",
        ),
        click.option(
            "--library-credentials-id",
            metavar="ID",
            envvar=CREDENTIALS_ENV,
            show_envvar=True,
            help="Jenkins credentials ID for reading --library-repo.",
        ),
    ]

    @functools.wraps(function)
    def packed(
        library_scope: str,
        library_repo: str | None,
        library_credentials_id: str | None,
        **kwargs: Any,
    ) -> Any:
        library = shared_library(library_scope, library_repo, library_credentials_id)
        if not layered:
            return function(library=library, **kwargs)
        from jenkins_bridge.provision.controller import LibrarySettings

        context = click.get_current_context()

        def said(name: str, value: str | None) -> str | None:
            source = context.get_parameter_source(name)
            return value if source is not None and source.name in _SAID and value else None

        settings = LibrarySettings(
            scope=said("library_scope", library_scope),
            repo=said("library_repo", library_repo),
            credentials_id=said("library_credentials_id", library_credentials_id),
        )
        return function(library=settings, **kwargs)

    command: Callable[..., Any] = packed
    for option in reversed(options):
        command = option(command)
    return command
