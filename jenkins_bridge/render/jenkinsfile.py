"""Render a service's declarative Jenkinsfile (pure: model in, text out)."""

from __future__ import annotations

from dataclasses import dataclass

from jenkins_bridge import __version__
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.errors import InvalidDescriptors, Problem
from jenkins_bridge.render.quoting import groovy_literals, groovy_string
from jenkins_bridge.render.templates import Code, environment

# Groovy compiles `'a' + 'b' + ...` as a left-deep tree, recursively: Groovy 2.4 overflows its
# stack on a chain of about 1,100 literals (~100 KB). A method returns at most this many; a
# larger resolved descriptor is returned by part methods (tests/library/test_large_descriptor.py).
LITERALS_PER_METHOD = 200
# A bound on the JSON itself, whatever the pipeline: the class-file limit below is reached first
# by escape-heavy JSON (about 700 KB), by plain JSON (96 bytes a literal) only above this.
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


KeyPath = tuple[str | int, ...]  # where in the descriptor: keys and list indexes


class TooLargeForJenkins(InvalidDescriptors):
    """The descriptor asks for a Jenkinsfile Jenkins could not compile (or carry).

    Render is pure, so it knows the service's file but not where in it ``part`` is: the
    problem reads ``file:1:1`` until the caller, which can read the file again, places it
    (``at``; the render run does, through ``descriptor.loading.locate``)."""

    def __init__(self, service: Service, part: KeyPath, message: str) -> None:
        self.path = service.path
        self.part = part
        self.reason = message
        super().__init__([Problem("too-large", message, str(service.path), 1, 1)])

    def at(self, file: str, line: int, column: int) -> Problem:
        return Problem("too-large", self.reason, file, line, column)


# -- What Jenkins can compile -----------------------------------------------------------------
# Jenkins compiles a Jenkinsfile with groovy-cps's CpsTransformer (SandboxCpsTransformer for a
# sandboxed job): every closure of `pipeline { ... }` becomes code that builds its block tree,
# all inside ONE JVM method, and each string literal of a method costs constants of the script
# class. Plain Groovy compiles each closure to a class of its own, so only Jenkins sees the two
# class-file limits (65,535 bytes of code in a method, 65,535 constant-pool entries in a class):
# "Method too large" and "Class too large". Jenkins cannot split the script itself
# (declarative's script splitting is off by default), so render estimates both from the
# descriptor and refuses what would not compile.
#
# The figures are what groovy-cps + script-security (../shared/jenkins-sandbox, the plugins' own
# code) gives the generated Jenkinsfile, measured as the bytecode of the pipeline's method and
# the constant pool of the class, each rounded up by ~5% (the worst template variant: a plain
# job with credentials and a label agent, multibranch `when`s, notify and triggers):
#   bytes per test stage ~470, per deploy stage ~1,380 (+ ~1,360 with its Approve stage), per
#   parameter ~180 and per choice ~15, around ~5,000 for the rest; constants per literal of the
#   resolved descriptor ~4.1 (JSON of quotes and backslashes takes one literal per ~48 bytes).
# tests/render/test_sandbox_compile.py compiles pipelines just under both limits under the real
# transformer, and checks that the limits are real. Not measured (the sandbox runner has no
# Jenkins): declarative's RuntimeASTTransformer, which on a controller rewrites the pipeline
# block into constructor calls of its model around the same closures before CPS runs.
JVM_LIMIT = 65_535
MAX_PIPELINE_CODE = 64_000  # bytes of the pipeline's method, a margin under the JVM's
MAX_CONSTANTS = 64_000  # constant-pool entries of the script class, likewise
CODE_BASE = 5_500
CODE_PER_TEST = 500
CODE_PER_DEPLOY = 1_450
CODE_PER_APPROVAL = 1_450
CODE_PER_PARAMETER = 190
CODE_PER_CHOICE = 16
CONSTANTS_BASE = 1_000
CONSTANTS_PER_LITERAL = 4.2
CONSTANTS_PER_TEST = 40
CONSTANTS_PER_DEPLOY = 90
CONSTANTS_PER_APPROVAL = 90
CONSTANTS_PER_PARAMETER = 20
CONSTANTS_PER_CHOICE = 2


@dataclass(frozen=True, slots=True)
class CompiledSize:
    """Estimated size of a generated Jenkinsfile as Jenkins compiles it (see above)."""

    code: int  # bytes of bytecode in the method holding `pipeline { ... }`
    constants: int  # constant-pool entries of the script class
    by_part: dict[str, int]  # the code each descriptor part adds: the largest is to blame


def compiled_size(service: Service, literals: int) -> CompiledSize:
    """A pure, conservative estimate from the descriptor's counts and ``literals``, the number
    of string literals that carry the resolved descriptor. No JVM: render stays fast."""
    pipeline = service.pipeline
    tests = len(pipeline.test)
    deploys = len(service.deploy)
    approvals = sum(1 for d in service.deploy if d.approval)
    parameters = len(pipeline.parameters)
    choices = sum(len(p.choices) for p in pipeline.parameters)
    by_part = {
        "test": CODE_PER_TEST * tests,
        "deploy": CODE_PER_DEPLOY * deploys + CODE_PER_APPROVAL * approvals,
        "parameters": CODE_PER_PARAMETER * parameters + CODE_PER_CHOICE * choices,
    }
    constants = (
        CONSTANTS_BASE
        + CONSTANTS_PER_LITERAL * literals
        + CONSTANTS_PER_TEST * tests
        + CONSTANTS_PER_DEPLOY * deploys
        + CONSTANTS_PER_APPROVAL * approvals
        + CONSTANTS_PER_PARAMETER * parameters
        + CONSTANTS_PER_CHOICE * choices
    )
    return CompiledSize(CODE_BASE + sum(by_part.values()), int(constants), by_part)


_PARTS: dict[str, tuple[KeyPath, str]] = {
    "test": (("pipeline", "test"), "test stages"),
    "deploy": (("deploy",), "deploy environments (an approval adds a stage)"),
    "parameters": (("pipeline", "parameters"), "build parameters (and their choices)"),
}


def _check_compiles(service: Service, literals: int, resolved_bytes: int) -> None:
    """Refuse, with one message at the part to blame, a Jenkinsfile Jenkins could not compile."""
    size = compiled_size(service, literals)
    if size.code > MAX_PIPELINE_CODE:
        worst = max(size.by_part, key=lambda part: size.by_part[part])
        part, what = _PARTS[worst]
        raise TooLargeForJenkins(
            service,
            part,
            f"the pipeline is too large for Jenkins to compile: its {what} make about "
            f"{size.code:,} bytes of code in one method once Jenkins' CPS transform has run, "
            f"more than the {MAX_PIPELINE_CODE:,} render allows (the JVM's limit is "
            f"{JVM_LIMIT:,}; Jenkins would fail with 'Method too large'); a pipeline takes "
            f"about {(MAX_PIPELINE_CODE - CODE_BASE) // CODE_PER_TEST} test stages, or "
            f"{(MAX_PIPELINE_CODE - CODE_BASE) // (CODE_PER_DEPLOY + CODE_PER_APPROVAL)} "
            "approved deploy environments, in all; split the service's stages or merge tests "
            "into fewer stages",
        )
    if resolved_bytes > MAX_RESOLVED_BYTES:
        reason = f"more than the {MAX_RESOLVED_BYTES:,} render takes"
    elif size.constants > MAX_CONSTANTS:
        reason = (
            f"written as {literals:,} Groovy string literals: about {size.constants:,} "
            f"class-file constants with the pipeline, more than the {MAX_CONSTANTS:,} render "
            f"allows (the JVM's limit is {JVM_LIMIT:,}; Jenkins would fail with 'Class too "
            "large')"
        )
    else:
        return
    raise TooLargeForJenkins(
        service,
        _bulkiest_part(service.resolved),
        f"the resolved descriptor is {resolved_bytes:,} bytes of JSON, too large for a "
        f"Jenkinsfile: {reason}; move bulk data (env values, long scripts) out of the "
        "descriptor",
    )


def _bulkiest_part(resolved: str) -> KeyPath:
    """The key path holding most of the resolved JSON: from the top, into the largest child as
    long as it holds at least half of its parent (runs on a refusal only)."""
    import json  # only on a refusal

    node: object = json.loads(resolved)
    path: list[str | int] = []
    size = len(resolved)
    while isinstance(node, dict | list) and node:
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        sizes = [(len(json.dumps(v)), k, v) for k, v in items]
        biggest, key, child = max(sizes, key=lambda entry: entry[0])
        if biggest * 2 < size:
            break
        path.append(key)
        node, size = child, biggest
    return tuple(path)


def resolved_descriptor_methods(service: Service) -> tuple[Code, Code]:
    """What ``resolvedDescriptor()`` returns, and the part methods it calls (empty when the
    literals fit in the one method); refuses a pipeline Jenkins could not compile."""
    resolved_bytes = len(service.resolved)  # ASCII JSON: characters are bytes
    literals = groovy_literals(service.resolved) if resolved_bytes <= MAX_RESOLVED_BYTES else []
    _check_compiles(service, len(literals), resolved_bytes)
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
