"""Render a service's declarative Jenkinsfile (pure: model in, text out)."""

from __future__ import annotations

from jenkins_bridge import __version__
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.errors import InvalidDescriptors, Problem
from jenkins_bridge.render.quoting import groovy_literals, groovy_string
from jenkins_bridge.render.templates import Code, environment

# Groovy compiles `'a' + 'b' + ...` as a left-deep tree, recursively: Groovy 2.4 overflows its
# stack on a chain of about 1,100 literals (~100 KB). A method returns at most this many; a
# larger resolved descriptor is returned by part methods (tests/library/test_large_descriptor.py).
LITERALS_PER_METHOD = 200
# Every literal takes two of a class file's 65,535 constant-pool entries: above this the
# Jenkinsfile would not compile, and render refuses the descriptor.
MAX_RESOLVED_BYTES = 1024 * 1024
_JOIN = " +\n        "


def deploy_branch_condition(service: Service) -> Code:
    """The ``when`` condition that limits pushing and deploying to the deploy branch, or
    empty when none is needed.

    A multibranch job sets BRANCH_NAME, compared exactly. A plain pipeline job needs none: it
    holds its script itself and checks out only ``source.branch`` (``checkout_step``), so every
    build it runs is a build of the deploy branch.
    """
    if service.pipeline.job_type == "multibranch":
        # Not `branch 'main'`: its default comparator is a case-insensitive Ant glob, so a
        # branch 'Main' would deploy too. `branch pattern: ..., comparator: 'EQUALS'` compares
        # exactly but repeats a constant map in every stage (CodeNarc's DuplicateMapLiteral).
        return Code(f"expression {{ env.BRANCH_NAME == {groovy_string(service.source.branch)} }}")
    return Code("")


def checkout_step(service: Service) -> Code:
    """The explicit checkout of a plain pipeline job, or empty for a multibranch job.

    A plain job's config.xml carries this script (``CpsFlowDefinition``), so declarative has
    no SCM to check out by itself (``skipDefaultCheckout()``): the git plugin's ``git`` step
    checks ``source.branch`` of ``source.repo`` out, every value a single-quoted literal. The
    step returns GIT_BRANCH/GIT_COMMIT but does not put them in ``env``; nothing here reads them.
    """
    if service.pipeline.job_type == "multibranch":
        return Code("")
    source = service.source
    args = [f"url: {groovy_string(source.repo)}", f"branch: {groovy_string(source.branch)}"]
    if source.credentials_id:
        args.append(f"credentialsId: {groovy_string(source.credentials_id)}")
    # one argument a line, under the step's own indentation in the template
    return Code("git(" + (",\n" + " " * 28).join(args) + ")")


def agent_directive(service: Service) -> Code:
    """The ``agent`` of each stage that works (the pipeline itself has ``agent none``)."""
    if service.pipeline.agent == "any":
        return Code("agent any")
    return Code(f"agent {{ label {groovy_string(service.pipeline.agent)} }}")


class DescriptorTooLarge(InvalidDescriptors):
    """The resolved descriptor is more than a generated Jenkinsfile can carry."""

    def __init__(self, service: Service) -> None:
        size = len(service.resolved.encode("utf-8"))
        super().__init__(
            [
                Problem(
                    "too-large",
                    f"the resolved descriptor is {size} bytes of JSON, more than the "
                    f"{MAX_RESOLVED_BYTES} a generated Jenkinsfile can carry (a JVM class "
                    "holds 65,535 constants); move bulk data (env values, long scripts) out "
                    "of the descriptor",
                    str(service.path),
                    1,
                    1,
                )
            ]
        )


def resolved_descriptor_methods(service: Service) -> tuple[Code, Code]:
    """What ``resolvedDescriptor()`` returns, and the part methods it calls (empty when the
    literals fit in the one method)."""
    if len(service.resolved.encode("utf-8")) > MAX_RESOLVED_BYTES:
        raise DescriptorTooLarge(service)
    literals = groovy_literals(service.resolved)
    if len(literals) <= LITERALS_PER_METHOD:
        return Code(_JOIN.join(literals)), Code("")
    calls, methods = [], []
    for start in range(0, len(literals), LITERALS_PER_METHOD):
        name = f"resolvedDescriptorPart{start // LITERALS_PER_METHOD + 1}"
        calls.append(f"{name}()")
        body = _JOIN.join(literals[start : start + LITERALS_PER_METHOD])
        methods.append(f"String {name}() {{\n    return {body}\n}}")
    return Code(_JOIN.join(calls)), Code("\n\n".join(methods))


def render_jenkinsfile(service: Service) -> str:
    template = environment().get_template("Jenkinsfile.j2")
    resolved, parts = resolved_descriptor_methods(service)
    return template.render(
        s=service,
        origin=service.origin,
        version=__version__,
        deploy_branch_condition=deploy_branch_condition(service),
        agent=agent_directive(service),
        checkout=checkout_step(service),
        resolved_descriptor=resolved,
        resolved_descriptor_parts=parts,
    )
