"""The history write keeps the file before it as ``history.prev.json`` (a hard link), and a
missing, empty or damaged ``history.json`` (a host crash soon after an unflushed write, a link
the engine removed and could not make again) is read together with that previous generation; a
damaged file never replaces a readable previous one."""

from __future__ import annotations

import pytest

from jenkins_bridge.deploy.history_store import PREVIOUS_FILE, TEMP_FILE, HistoryStore
from jenkins_bridge.deploy.records import HISTORY_FILE, STATE_DIR, history_to_bytes

from .test_held_reads import HISTORY, Volume, record, store

PREVIOUS = f"{STATE_DIR}/{PREVIOUS_FILE}"


def seqs(history: HistoryStore) -> list[int]:
    return [r.seq for r in history.parsed().records]


def test_a_write_links_the_new_file_and_keeps_the_one_before() -> None:
    volume = Volume()
    before = volume.files[HISTORY]
    store(volume).append(record(2))
    assert volume.files[PREVIOUS] == before
    assert volume.files[HISTORY] == volume.files[f"{STATE_DIR}/{TEMP_FILE}"]
    assert seqs(store(volume)) == [1, 2]


def test_the_first_write_has_no_previous_file() -> None:
    volume = Volume()
    del volume.files[HISTORY]
    store(volume).append(record(1))
    assert PREVIOUS not in volume.files and seqs(store(volume)) == [1]


@pytest.mark.parametrize("left", [b"", b'[{"seq": 1, "act'])
def test_an_empty_or_torn_file_is_read_with_the_previous_generation(left: bytes) -> None:
    volume = Volume()
    volume.files[PREVIOUS] = history_to_bytes([record(1), record(2)])
    volume.files[HISTORY] = left
    history = store(volume)
    found = history.parsed()
    assert [r.seq for r in found.records] == [1, 2] and not found.intact
    history.append(record(3))
    assert seqs(store(volume)) == [1, 2, 3] and store(volume).parsed().intact
    # the readable previous generation was not replaced by what could not be read
    assert volume.files[PREVIOUS] == history_to_bytes([record(1), record(2)])


def test_a_readable_file_never_reads_the_previous_one() -> None:
    volume = Volume()
    volume.files[PREVIOUS] = history_to_bytes([record(7)])
    assert seqs(store(volume)) == [1] and volume.reads == 1
    assert HISTORY_FILE in HISTORY


def test_a_missing_file_beside_a_previous_generation_is_said_and_recovered() -> None:
    volume = Volume()
    volume.files[PREVIOUS] = history_to_bytes([record(1), record(2)])
    del volume.files[HISTORY]
    found = store(volume).parsed()
    assert [r.seq for r in found.records] == [1, 2]
    assert found.problems == [f"the file is missing ({PREVIOUS_FILE} has 2 records)"]
    store(volume).append(record(3))
    assert seqs(store(volume)) == [1, 2, 3]


def test_held_the_previous_generation_is_read_once() -> None:
    volume = Volume()
    del volume.files[HISTORY]  # a new environment: neither file
    history = store(volume)
    with history.held():
        for _ in range(3):
            assert history.parsed().records == []
        assert volume.reads == 2  # history.json once, history.prev.json once
        history.append(record(1))
    assert seqs(store(volume)) == [1]
