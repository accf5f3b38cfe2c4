"""The history file in an environment's state volume: read truthfully, written atomically.

History is the audit trail, so nothing here overwrites what it cannot read and nothing is
half-written. A write puts the whole new file beside the old one (``history.json.tmp``), reads
it back, and only then makes ``history.json`` a hard link to it, in one archive-API call on the
state container (created, never started: it only holds the volume). Writing over the old file
instead would not do: the engine's archive API replaces a file by deleting it first, so a full
volume would lose the old file; a link needs no space. That call first links the previous
file as ``history.prev.json``: the archive API does not flush to disk (the rename this replaced,
run by starting the state container, ran ``sync``, ~0.3 s a deploy), so if the engine's host
crashes right after a write and leaves ``history.json`` empty or torn, the records are read
from the previous generation (all but that last write's); so are they when ``history.json``
is missing beside a previous generation. A file that cannot be read is copied
aside (``history.unreadable-<time>.json``) before a new one replaces it, and the command says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

from jenkins_bridge.containers.runtime import ContainerSpec, DockerRuntime, RuntimeFailure
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.read_ahead import ReadAhead
from jenkins_bridge.deploy.records import (
    HISTORY_FILE,
    SPEC_LABEL,
    STATE_DIR,
    DeployRecord,
    ParsedHistory,
    history_to_bytes,
    parse_history,
)

TEMP_FILE = f"{HISTORY_FILE}.tmp"
PREVIOUS_FILE = "history.prev.json"  # the file before the last write (a hard link)
# The state container's command: never run by this version (it replaced the file by starting
# the container), kept so containers of either version stay the same and are not re-created.
RENAME = ("sh", "-c", f"cd {STATE_DIR} && mv -f {TEMP_FILE} {HISTORY_FILE} && sync")
STATE_SPEC = "rename-v1"  # the state container's spec label; an older one is re-created
UNREAD = object()  # what ``held`` remembers before the first read


class HistoryUnreadable(DeployError):
    code = "history-unreadable"


class HistoryNotWritten(DeployError):
    code = "history-not-written"


class HistoryStore:
    """``history.json`` of one environment, kept in the volume of its state container."""

    def __init__(
        self,
        runtime: DockerRuntime,
        container: str,
        image: str,
        labels: Mapping[str, str],
        log: Callable[[str], None],
    ) -> None:
        self.runtime = runtime
        self.container = container  # also the volume's name
        self.image = image
        self.labels = dict(labels)
        self.log = log
        self.where = f"{container}:{STATE_DIR}/{HISTORY_FILE}"
        self._holding = False
        self._known: bytes | object | None = UNREAD
        self._ahead: ReadAhead[bytes | None] | None = None
        self._parsed: tuple[bytes | None, ParsedHistory] | None = None  # see ``_parse``

    @contextmanager
    def held(self) -> Iterator[None]:
        """While the caller holds the environment's lock only this store writes the file: it
        is read once, then known from what was read and written (a failed write forgets)."""
        self._holding, self._known, self._ahead, self._parsed = True, UNREAD, None, None
        try:
            yield
        finally:
            self._holding, self._known, self._ahead, self._parsed = False, UNREAD, None, None

    def read_ahead(self) -> None:
        """While held and not read yet: start the first read now, on a thread, so it
        overlaps the caller's next steps (``parsed`` then takes its result)."""
        if self._holding and self._known is UNREAD and self._ahead is None:
            self._ahead = ReadAhead(self._read)

    def _read(self) -> bytes | None:
        if self.runtime.inspect(self.container) is None:
            return None
        return self.runtime.get_file(self.container, f"{STATE_DIR}/{HISTORY_FILE}")

    def _raw(self) -> bytes | None:
        if self._holding and self._known is not UNREAD:
            return self._known  # type: ignore[return-value]
        ahead, self._ahead = self._ahead, None
        raw = ahead.result() if ahead is not None else self._read()
        if self._holding:
            self._known = raw
        return raw

    def parsed(self) -> ParsedHistory:
        """Every readable record, and what could not be read (never raises for the file)."""
        return self._parse(self._raw())

    def _parse(self, raw: bytes | None) -> ParsedHistory:
        found = parse_history(raw)
        if raw and found.intact:
            return found
        if self._holding and self._parsed is not None and self._parsed[0] is raw:
            return self._parsed[1]  # the previous generation was read for this file already
        # Missing, empty or damaged: a host crash soon after a write can leave it so (nothing
        # flushed it), or a link that the engine removed and could not make again; the
        # previous generation gives back what it holds (a new environment has neither).
        previous = parse_history(
            self.runtime.get_file(self.container, f"{STATE_DIR}/{PREVIOUS_FILE}")
        )
        known = {r.seq for r in found.records}
        extra = [r for r in previous.records if r.seq not in known]
        if extra:
            state = "missing" if raw is None else "empty"
            records = sorted([*found.records, *extra], key=lambda r: r.seq)
            problems = found.problems or [
                f"the file is {state} ({PREVIOUS_FILE} has {len(extra)} records)"
            ]
            found = ParsedHistory(records, problems)
        if self._holding:
            self._parsed = (raw, found)
        return found

    def records(self) -> list[DeployRecord]:
        """Every record, oldest first; ``HistoryUnreadable`` (located) when any part of the
        file cannot be read."""
        found = self.parsed()
        if not found.intact:
            raise HistoryUnreadable(
                f"{self.where}: {found.problems[0]}"
                + (f" (and {len(found.problems) - 1} more)" if len(found.problems) > 1 else ""),
                hint="the next deploy keeps the file aside (history.unreadable-<time>.json) "
                "and starts a new one from the records it can read; nothing was changed",
            )
        return found.records

    def append(self, record: DeployRecord) -> None:
        """Add ``record`` (replacing one of the same number); ``HistoryNotWritten`` says what
        happened when the volume refuses, and the old file is then untouched."""
        try:
            data = self._append(record)
        except BaseException:
            # whatever happened, the next read asks the volume
            self._known, self._ahead, self._parsed = UNREAD, None, None
            raise
        if self._holding:
            self._known = data

    def _append(self, record: DeployRecord) -> bytes:
        self.ensure_container()
        raw = self._raw()
        found = self._parse(raw)
        if raw and not found.intact:
            self._keep_aside(raw, found)
        records = [r for r in found.records if r.seq != record.seq] + [record]
        data = history_to_bytes(records)
        kept = f"{HISTORY_FILE} is untouched ({len(found.records)} earlier records kept)"
        try:
            self.runtime.put_file(self.container, STATE_DIR, TEMP_FILE, data)
            written = self.runtime.get_file(self.container, f"{STATE_DIR}/{TEMP_FILE}")
        except RuntimeFailure as exc:
            raise self._not_written(record, exc.cause, kept) from exc
        if written != data:
            raise self._not_written(record, "the file read back differs from what was sent", kept)
        # The previous generation is kept only from a readable file (never over a good one).
        keep = [(PREVIOUS_FILE, HISTORY_FILE)] if raw and found.intact else []
        try:
            self.runtime.link_files(self.container, STATE_DIR, [*keep, (HISTORY_FILE, TEMP_FILE)])
        except RuntimeFailure as exc:
            raise self._not_written(record, exc.cause, kept) from exc
        return data

    def _not_written(self, record: DeployRecord, cause: str, kept: str) -> HistoryNotWritten:
        return HistoryNotWritten(
            f"record #{record.seq} ({record.action}, {record.result}) could not be written to "
            f"{self.where}: {cause}; {kept}",
            hint=f"free space in volume {self.container} (docker system df -v); the record "
            "is also on its app container's labels",
            data={"record": record.as_json()},
        )

    def _keep_aside(self, raw: bytes, found: ParsedHistory) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = f"history.unreadable-{stamp}.json"
        try:
            self.runtime.put_file(self.container, STATE_DIR, aside, raw)
            copied = self.runtime.get_file(self.container, f"{STATE_DIR}/{aside}")
        except RuntimeFailure as exc:
            copied, cause = None, exc.cause
        else:
            cause = "the copy read back differs"
        if copied != raw:
            raise HistoryNotWritten(
                f"{self.where} cannot be read ({found.problems[0]}) and could not be kept "
                f"aside as {aside}: {cause}; it was left as it is",
                hint=f"free space in volume {self.container}, or copy the file out by hand",
            )
        self.log(
            f"{self.where} cannot be read ({'; '.join(found.problems[:3])}); kept it aside as "
            f"{STATE_DIR}/{aside}; the new history starts with the {len(found.records)} "
            "records that could be read"
        )

    def ensure_container(self) -> None:
        """The state container: created, never started; its volume holds the files."""
        existing = self.runtime.inspect(self.container)
        if existing is not None and existing.labels.get(SPEC_LABEL) == STATE_SPEC:
            return
        if existing is not None:  # an older tool's container: same volume, new command
            self.runtime.remove(self.container)
        self.runtime.ensure_volume(self.container, self.labels)
        self.runtime.create(
            ContainerSpec(
                name=self.container,
                image=self.image,
                labels={**self.labels, SPEC_LABEL: STATE_SPEC},
                command=RENAME,
                volumes={self.container: STATE_DIR},
                init=False,
                network=None,
            )
        )
