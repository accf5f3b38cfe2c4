"""The terminal-only parts of output: the counter only counts up, and only on a terminal."""

from __future__ import annotations

import io
import re

import pytest

from jenkins_bridge.cli import output


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    # In the test itself, not a fixture: pytest's capture puts its own stderr back between
    # a fixture's setup and the test.
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    output.configure("text", no_color=False, environ={})
    return stream


def test_a_stale_count_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _terminal(monkeypatch)
    counter = output.Counter("render")
    for done in (3, 2, 5, 4, 7):
        counter(done, 7)
    shown = [int(part.split("/")[0]) for part in terminal.getvalue().split("render: ")[1:]]
    assert shown == [3, 5, 7]
    assert terminal.getvalue().endswith("render: 7/7\n")


def test_a_plain_line_clears_the_counter_first(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _terminal(monkeypatch)
    counter = output.Counter("apply")
    counter(1, 3)
    output.progress("a log line")
    counter(2, 3)
    counter.close()
    assert terminal.getvalue() == ("\r\x1b[Kapply: 1/3\r\x1b[Ka log line\n\r\x1b[Kapply: 2/3\n")


def test_no_counter_in_json_mode_or_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _terminal(monkeypatch)
    output.configure("json", no_color=False, environ={})
    output.Counter("apply")(1, 2)
    assert terminal.getvalue() == ""
    output.configure("text", no_color=False, environ={})
    monkeypatch.setattr("sys.stderr", io.StringIO())
    counter = output.Counter("apply")
    counter(1, 2)
    assert not counter.enabled


def test_colour_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", Terminal())
    monkeypatch.delenv("TERM", raising=False)
    output.configure("text", no_color=False, environ={})
    assert output.paint("x", "create") == "\x1b[32mx\x1b[0m"
    output.configure("text", no_color=False, environ={"NO_COLOR": "1"})
    assert output.paint("x", "create") == "x"
    output.configure("text", no_color=True, environ={})
    assert output.paint("x", "create") == "x"
    output.configure("text", no_color=False, environ={})
    monkeypatch.setenv("TERM", "dumb")
    assert output.paint("x", "create") == "x"
    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.delenv("TERM")
    assert output.paint("x", "create") == "x"


def test_deploy_phases_carry_a_growing_time_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = _terminal(monkeypatch)
    log = output.PhaseLog()
    log("pulling")
    log("starting proxy")
    lines = re.sub(r"\x1b\[[0-9;]*m", "", terminal.getvalue()).splitlines()
    times = [float(line.split("s]", 1)[0].split("[", 1)[1]) for line in lines]
    assert [line.split("s] ", 1)[1] for line in lines] == ["pulling", "starting proxy"]
    assert times == sorted(times)
    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    output.PhaseLog()("pulling")
    assert plain.getvalue() == "pulling\n"
