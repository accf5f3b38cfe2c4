"""What ``image build`` and ``image push`` read of a descriptor: its image section, the
facts its OCI labels carry, and where it is. Built by ``loading.load_image_descriptor`` from
the same validated data as the full model (``model.Service``), whose two dozen classes these
commands, run on every pipeline build, need not create (about a fifth of a cached build's
own instructions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ImageSpec:
    repository: str
    credentials_id: str | None
    context: str
    dockerfile: str
    target: str | None
    build_args: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ImageDescriptor:
    """The fields of ``model.Service`` an image build or push reads, with the same values."""

    name: str  # metadata.name
    description: str  # metadata.description
    source_repo: str  # source.repo
    image: ImageSpec | None
    path: Path
    digest: str
