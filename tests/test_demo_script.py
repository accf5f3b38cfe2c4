"""`make demo` shows a newcomer the tool's own answers; installation and build noise (pip, apt,
npm, Docker's "legacy builder" banners, test-runner output) goes to the log it names."""

from __future__ import annotations

import re

from conftest import ROOT

DEMO = ROOT / "scripts" / "demo.sh"
# commands whose output is set-up or build detail, not what the demo shows
NOISY = re.compile(
    r"scripts/bootstrap\.sh|scripts/services\.sh|docker build|bin/pytest|image build"
)


def _commands(text: str) -> list[str]:
    """Lines of the script joined across trailing backslashes, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines() if not line.lstrip().startswith("#")]


def test_noisy_steps_go_to_the_log() -> None:
    loud = [
        line
        for line in _commands(DEMO.read_text(encoding="utf-8"))
        if NOISY.search(line)
        and not line.startswith(("say ", "printf "))
        and not line.startswith("logged ")
        and '2>>"$LOG"' not in line
        and '>>"$LOG" 2>&1' not in line
    ]
    assert not loud, f"these demo steps print set-up noise on the terminal: {loud}"


def test_the_log_is_named_and_shown_on_failure() -> None:
    text = DEMO.read_text(encoding="utf-8")
    assert "LOG=out/demo.log" in text
    assert re.search(r'say "set-up: .*\$LOG', text), "the first line names the log"
    assert "trap failed ERR" in text and 'tail -n 25 "$LOG"' in text


def test_make_demo_leaves_set_up_to_the_demo_script() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndemo:\n", 1)[1].split("\n\n", 1)[0]
    assert recipe.strip() == "@bash scripts/demo.sh", recipe
