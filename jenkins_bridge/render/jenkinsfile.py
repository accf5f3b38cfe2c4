"""Render a service's declarative Jenkinsfile (pure: model in, text out)."""

from __future__ import annotations

from jenkins_bridge import __version__
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.render.quoting import groovy_long_string, groovy_string
from jenkins_bridge.render.templates import Code, environment


def deploy_branch_condition(service: Service) -> Code:
    """The ``when`` condition that limits pushing and deploying to the deploy branch.

    A multibranch job sets BRANCH_NAME, compared exactly. A plain pipeline job has none (so
    ``when { branch }`` would skip every deploy); it builds only the deploy branch, and the
    template's script method ``onDeployBranch()`` confirms it from GIT_BRANCH (set by the
    declarative checkout inside a stage's agent, e.g. ``origin/main``).
    """
    if service.pipeline.job_type == "multibranch":
        # Not `branch 'main'`: its default comparator is a case-insensitive Ant glob, so a
        # branch 'Main' would deploy too. `branch pattern: ..., comparator: 'EQUALS'` compares
        # exactly but repeats a constant map in every stage (CodeNarc's DuplicateMapLiteral).
        return Code(f"expression {{ env.BRANCH_NAME == {groovy_string(service.source.branch)} }}")
    return Code("expression { onDeployBranch() }")


def agent_directive(service: Service) -> Code:
    """The ``agent`` of each stage that works (the pipeline itself has ``agent none``)."""
    if service.pipeline.agent == "any":
        return Code("agent any")
    return Code(f"agent {{ label {groovy_string(service.pipeline.agent)} }}")


def render_jenkinsfile(service: Service) -> str:
    template = environment().get_template("Jenkinsfile.j2")
    return template.render(
        s=service,
        origin=service.origin,
        version=__version__,
        deploy_branch_condition=deploy_branch_condition(service),
        agent=agent_directive(service),
        resolved_descriptor=Code(groovy_long_string(service.resolved)),
    )
