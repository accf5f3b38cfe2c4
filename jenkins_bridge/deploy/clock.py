"""The wall clock as deploy records write it: one place, so every target stamps the same way."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``2026-12-07T06:30:00Z``: the form of every record's ``started``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
