"""The proxy's reload-and-wait script, run by a real sh with stand-ins for nginx and nc: it
waits for exactly its generation's answer line, and says a refused configuration."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from jenkins_bridge.deploy.docker_host.session import (
    CANNOT_WRITE,
    END_LINE,
    NOT_YET,
    NOTHING_SENT,
    RELOAD_AND_WAIT,
    WRITE_RELOAD_AND_WAIT,
)

WHOLE = f"server {{ generation 71 }}\n{END_LINE}\n".encode()


def run(
    tmp_path: Path,
    answers: list[str],
    generation: int,
    nginx_exit: int = 0,
    config: tuple[Path, bytes] | None = None,
) -> int:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nginx").write_text(f"#!/bin/sh\necho 'nginx says' >&2\nexit {nginx_exit}\n")
    # nc answers the next line of answers.txt each time (the last one forever).
    (tmp_path / "answers.txt").write_text("".join(a + "\n" for a in answers))
    (bin_dir / "nc").write_text(
        "#!/bin/sh\ncat >/dev/null\n"
        f'd="{tmp_path}"; n=$(cat "$d/count" 2>/dev/null || echo 0); n=$((n + 1))\n'
        'echo "$n" >"$d/count"\n'
        'line=$(sed -n "${n}p" "$d/answers.txt")\n'
        '[ -n "$line" ] || line=$(tail -n 1 "$d/answers.txt")\n'
        'printf "HTTP/1.1 200 OK\\r\\nServer: x\\r\\n\\r\\ngeneration %s\\n" "$line"\n'
    )
    for tool in ("nginx", "nc"):
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    argv = ["sh", "-c", RELOAD_AND_WAIT, "reload", str(generation), "80"]
    if config is not None:  # the configuration on stdin, written to $3 first
        argv = ["sh", "-c", WRITE_RELOAD_AND_WAIT, "reload", str(generation), "80", str(config[0])]
    done = subprocess.run(
        argv, env=env, input=config[1] if config else b"", capture_output=True, timeout=60
    )
    return done.returncode


def test_it_waits_past_a_generation_that_merely_starts_like_its_own(tmp_path: Path) -> None:
    assert run(tmp_path, ["710", "710", "71"], 71) == 0
    assert (tmp_path / "count").read_text().strip() == "3"


def test_it_gives_up_after_a_while_when_its_generation_never_answers(tmp_path: Path) -> None:
    assert run(tmp_path, ["710"], 71) == NOT_YET


def test_a_refused_configuration_is_not_waited_for(tmp_path: Path) -> None:
    assert run(tmp_path, ["71"], 71, nginx_exit=1) == 2
    assert not (tmp_path / "count").exists()


def test_the_configuration_on_stdin_replaces_the_file_before_the_reload(tmp_path: Path) -> None:
    conf = tmp_path / "default.conf"
    conf.write_bytes(b"old")
    assert run(tmp_path, ["71"], 71, config=(conf, WHOLE)) == 0
    assert conf.read_bytes() == WHOLE
    assert sorted(p.name for p in tmp_path.glob("default.conf*")) == ["default.conf"]


def test_a_configuration_that_cannot_be_written_is_said_and_not_reloaded(tmp_path: Path) -> None:
    conf = tmp_path / "missing-dir" / "default.conf"
    assert run(tmp_path, ["71"], 71, config=(conf, b"x")) == CANNOT_WRITE
    assert not (tmp_path / "count").exists()


@pytest.mark.parametrize(
    "sent",
    [b"", WHOLE[:10], WHOLE[: -len(END_LINE) // 2 - 1], f"x\n{END_LINE} and more\n".encode()],
    ids=["nothing", "cut in the config", "cut in the last line", "last line not the end"],
)
def test_input_that_ends_before_the_last_line_changes_nothing(tmp_path: Path, sent: bytes) -> None:
    # The command is started before its configuration is known (prepare_switch): a sender
    # killed or cancelled before or while sending leaves the file and nginx as they were.
    conf = tmp_path / "default.conf"
    conf.write_bytes(b"old")
    assert run(tmp_path, ["71"], 71, config=(conf, sent)) == NOTHING_SENT
    assert conf.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.glob("default.conf*")) == ["default.conf"]
    assert not (tmp_path / "count").exists()  # no reload, nothing asked
