"""Whether the image a deploy is given comes from the service's own repository.

A deploy of another repository's image is allowed and said (a warning on stderr and in the
JSON envelope's ``data.warnings``), not refused: promoting a build through a second registry
(a production mirror), an emergency image and ``rollback --to`` an image pulled elsewhere are
everyday, and a refusal there would be overridden by habit. A typo'd or wrong repository is
what the warning is for: it names both.
"""

from __future__ import annotations

from jenkins_bridge.descriptor.model import Service

DEFAULT_REGISTRY = "docker.io"


def repository_of(reference: str) -> str:
    """``reg/ns/app:tag`` or ``reg/ns/app@sha256:…`` -> ``reg/ns/app``, with Docker Hub's
    implicit parts written out (``nginx`` -> ``docker.io/library/nginx``)."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = f"{DEFAULT_REGISTRY}/{name}"
    registry, _, path = name.partition("/")
    if registry == DEFAULT_REGISTRY and "/" not in path:
        name = f"{registry}/library/{path}"
    return name.lower()


def foreign_image_warning(service: Service, image: str) -> str | None:
    """A warning when ``image`` is not from ``image.repository``; None when it is, when the
    service declares no repository, or for an image id (an unpushed local build)."""
    if service.image is None or image.startswith("sha256:"):
        return None
    own = repository_of(service.image.repository)
    given = repository_of(image)
    if given == own:
        return None
    return (
        f"{image} is not from this service's repository {service.image.repository} "
        f"(image.repository in {service.path}); deploying it anyway"
    )
