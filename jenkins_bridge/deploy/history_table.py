"""History as people read it: one short line per deploy, in aligned columns.

Digests are shortened (``repo@sha256:`` and 12 hex digits, what ``docker images`` shows);
the record's build URL and commit come first, and where a record lacks them (a deploy run by
hand) the image's own OCI labels say which build and commit it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from jenkins_bridge.containers.tags import LABEL_BUILD_URL, LABEL_REVISION, LABEL_VERSION
from jenkins_bridge.deploy.records import DeployRecord

SHORT_HEX = 12


def short_digest(reference: str | None) -> str:
    """``repo@sha256:<64 hex>`` -> ``repo@sha256:<12 hex>``; an image id loses its prefix."""
    if not reference:
        return "-"
    name, at, digest = reference.rpartition("@")
    algorithm, colon, hexes = digest.partition(":")
    if not colon:
        return reference
    short = f"{algorithm}:{hexes[:SHORT_HEX]}"
    return f"{name}{at}{short}" if at else hexes[:SHORT_HEX]


def short_build(url: str) -> str:
    """``https://ci/job/team/job/app/job/main/42/`` -> ``main#42`` (the job and the number
    identify a build in its folder); anything else as it is."""
    parts = [p for p in url.rstrip("/").split("/") if p]
    if len(parts) >= 2 and parts[-1].isdigit() and parts[-2] != "job":
        return f"{parts[-2]}#{parts[-1]}"
    return url


def provenance(record: DeployRecord, labels: Mapping[str, str]) -> tuple[str, str]:
    """(build, commit) of a record: its own values, else the image's labels, else ``-``."""
    url = record.build_url or labels.get(LABEL_BUILD_URL)
    build = short_build(url) if url else labels.get(LABEL_VERSION) or "-"
    commit = record.git_commit or labels.get(LABEL_REVISION) or "-"
    return build, commit[:SHORT_HEX] if commit != "-" else commit


def history_rows(
    records: list[DeployRecord], labels: Mapping[str, Mapping[str, str]]
) -> list[list[str]]:
    rows = [["#", "STARTED", "ACTION", "RESULT", "IMAGE", "PREVIOUS", "TIME", "BUILD", "COMMIT"]]
    for r in records:
        build, commit = provenance(r, labels.get(r.digest, {}))
        rows.append(
            [
                f"#{r.seq}",
                r.started,
                r.action,
                r.result,
                short_digest(r.digest),
                short_digest(r.previous).rpartition("@")[2],
                f"{r.duration_seconds:.1f}s",
                build,
                commit,
            ]
        )
    return rows


def history_lines(
    records: list[DeployRecord], labels: Mapping[str, Mapping[str, str]]
) -> list[str]:
    """The aligned table (a header, then oldest first); empty without records."""
    if not records:
        return []
    rows = history_rows(records, labels)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([cell.ljust(width) for cell, width in zip(row, widths, strict=False)] + [row[-1]])
        for row in rows
    ]


def image_facts(labels: Mapping[str, str]) -> dict[str, str | None]:
    """The labels ``--output json`` adds per image: build URL, commit, version."""
    return {
        "build_url": labels.get(LABEL_BUILD_URL) or None,
        "revision": labels.get(LABEL_REVISION) or None,
        "version": labels.get(LABEL_VERSION) or None,
    }
