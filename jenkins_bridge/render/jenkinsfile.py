"""Render a service's declarative Jenkinsfile (pure: model in, text out)."""

from __future__ import annotations

from jenkins_bridge import __version__
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.render.quoting import groovy_string
from jenkins_bridge.render.templates import Code, environment


def deploy_branch_condition(service: Service) -> Code:
    """The ``when`` condition that limits pushing and deploying to the deploy branch.

    ``when { branch ... }`` reads BRANCH_NAME, which only multibranch jobs set; in a plain
    pipeline job it would skip every deploy. There the job builds only the deploy branch, and
    the template's script method ``onDeployBranch()`` confirms it from GIT_BRANCH (set by the
    declarative checkout, e.g. ``origin/main``).
    """
    if service.pipeline.job_type == "multibranch":
        return Code(f"branch {groovy_string(service.source.branch)}")
    return Code("expression { onDeployBranch() }")


def render_jenkinsfile(service: Service) -> str:
    template = environment().get_template("Jenkinsfile.j2")
    return template.render(
        s=service,
        origin=service.origin,
        version=__version__,
        deploy_branch_condition=deploy_branch_condition(service),
    )
