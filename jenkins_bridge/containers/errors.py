"""Typed failures of building and pushing images, each with its evidence and the next step.

``engine`` raises these after translating docker/requests exceptions and push-stream error
entries; nothing above the container layer sees a docker exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jenkins_bridge.errors import BridgeError


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every secret in ``text`` by ``***``: applied to anything we print or raise."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class ImageError(BridgeError):
    """Base of the container layer's errors."""

    code = "image-error"


class InvalidTag(ImageError):
    """A tag given on the command line is not a valid docker tag."""

    code = "invalid-tag"

    def __init__(self, tag: str) -> None:
        super().__init__(
            f"'{tag}' is not a valid image tag",
            hint="tags are 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
        )
        self.tag = tag


class InvalidImageName(ImageError):
    """``image.repository`` is not a name the engine or registry accepts."""

    code = "invalid-image-name"

    def __init__(self, repository: str, reason: str) -> None:
        super().__init__(
            f"image repository '{repository}' is invalid: {reason}",
            hint="fix image.repository in the descriptor, e.g. 'registry.example.com/team/app' "
            "(lowercase, no tag or digest)",
        )
        self.repository = repository
        self.reason = reason


class NoImmutableTag(ImageError):
    """Neither a commit nor a branch/build number is known, and no tag was given."""

    code = "no-immutable-tag"

    def __init__(self) -> None:
        super().__init__(
            "cannot compute an immutable image tag: no git commit and no branch/build number",
            hint="run inside a git checkout, set GIT_COMMIT (or BRANCH_NAME and BUILD_NUMBER), "
            "or pass --tag",
        )


class NoImageSection(ImageError):
    code = "no-image"

    def __init__(self, descriptor: str) -> None:
        super().__init__(
            f"{descriptor}: the descriptor has no 'image' section",
            hint="add image.repository (and context/dockerfile if not '.'/'Dockerfile')",
        )
        self.descriptor = descriptor


class ContextMissing(ImageError):
    """The build context directory does not exist."""

    code = "context-missing"

    def __init__(self, context: str) -> None:
        super().__init__(
            f"build context '{context}' does not exist or is not a directory",
            hint="fix image.context (it is relative to the descriptor file's directory)",
        )
        self.context = context


class DockerfileMissing(ImageError):
    """The Dockerfile does not exist."""

    code = "dockerfile-missing"

    def __init__(self, dockerfile: str) -> None:
        super().__init__(
            f"Dockerfile '{dockerfile}' does not exist",
            hint="fix image.dockerfile (it is relative to the descriptor file's directory)",
        )
        self.dockerfile = dockerfile


class SecretInBuildInput(ImageError):
    """A registry password would end up in the image (build arg or label)."""

    code = "secret-in-build"

    def __init__(self, where: str) -> None:
        super().__init__(
            f"{where} contains the registry password; refusing to bake it into the image",
            hint="pass secrets at run time (runtime.secrets), never as build args",
        )
        self.where = where


class DaemonUnreachable(ImageError):
    """The Docker engine does not answer at ``DOCKER_HOST`` (or the default socket)."""

    code = "daemon-unreachable"

    def __init__(self, docker_host: str, cause: str) -> None:
        super().__init__(
            f"cannot reach the Docker engine at {docker_host}: {cause}",
            hint="start it (scripts/services.sh up) or point DOCKER_HOST at a running engine",
        )
        self.docker_host = docker_host


class BuildFailed(ImageError):
    """A Dockerfile step failed; carries the step and the last lines of its output."""

    code = "build-failed"

    def __init__(self, step: str | None, reason: str, last_lines: Sequence[str]) -> None:
        where = f"step '{step}'" if step else "the build"
        super().__init__(
            f"{where} failed: {reason}",
            hint="see the build log above; last output: " + " | ".join(last_lines)
            if last_lines
            else "see the build log above",
        )
        self.step = step
        self.reason = reason
        self.last_lines = tuple(last_lines)


class ImageNotFound(ImageError):
    code = "image-not-found"

    def __init__(self, reference: str) -> None:
        super().__init__(
            f"no local image {reference}",
            hint="build it first: jenkins-bridge image build DESCRIPTOR (or pass --push there)",
        )
        self.reference = reference


class ImageUnresolved(ImageError):
    code = "image-unresolved"

    def __init__(self, reference: str, cause: str) -> None:
        super().__init__(
            f"image {reference} cannot be resolved on the engine: {cause}",
            hint="push it first (jenkins-bridge image build --push) or fix --image",
        )
        self.reference = reference


class RegistryUnreachable(ImageError):
    code = "registry-unreachable"

    def __init__(self, registry: str, cause: str) -> None:
        super().__init__(
            f"registry {registry} is unreachable: {cause}",
            hint="check that the registry is up and image.repository names the right host:port",
        )
        self.registry = registry


class RegistryAuthFailed(ImageError):
    code = "registry-auth-failed"

    def __init__(self, registry: str, cause: str, *, had_credentials: bool) -> None:
        hint = (
            "check REGISTRY_USER/REGISTRY_PASSWORD (the Jenkins credentials for this registry)"
            if had_credentials
            else "set REGISTRY_USER and REGISTRY_PASSWORD, or run 'docker login' for this registry"
        )
        what = "refused the credentials" if had_credentials else "requires credentials"
        super().__init__(f"registry {registry} {what}: {cause}", hint=hint)
        self.registry = registry
        self.had_credentials = had_credentials


class PushRejected(ImageError):
    """The registry (or engine) refused the push for a reason other than auth/reachability."""

    code = "push-rejected"

    def __init__(self, reference: str, cause: str) -> None:
        super().__init__(
            f"push of {reference} was rejected: {cause}",
            hint="nothing was published under this tag; fix the cause and push again",
        )
        self.reference = reference


class OutsideRepository(ImageError):
    """``image.context`` or ``image.dockerfile`` resolves outside the descriptor's repository."""

    code = "outside-repository"

    def __init__(self, what: str, given: str, real: str, root: str) -> None:
        super().__init__(
            f"{what} '{given}' resolves to {real}, outside the repository {root}",
            hint=f"keep {what} inside the repository that holds the descriptor; "
            "nothing was sent to the engine",
        )
        self.what = what
        self.real = real
        self.root = root


class ContextLinkOutside(ImageError):
    """The build context holds a symbolic link that leads outside the repository."""

    code = "context-link-outside"

    def __init__(self, context: str, link: str, target: str, root: str) -> None:
        super().__init__(
            f"build context {context} holds {link}, a symbolic link to {target} "
            f"outside the repository {root}",
            hint="remove the link, or point image.context at a folder without it; "
            "nothing was sent to the engine",
        )
        self.link = link
        self.target = target


class InvalidBuildEnvironment(ImageError):
    """A CI variable that feeds tags, labels or timestamps has a value we will not use."""

    code = "invalid-environment"

    def __init__(self, name: str, value: str, expected: str) -> None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        super().__init__(
            f"${name}={shown!r} is not {expected}",
            hint=f"fix or unset {name} in the job's environment",
        )
        self.name = name
        self.value = value
