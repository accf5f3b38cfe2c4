"""An ``ssh://`` engine's tunnel interrupted while it opens leaves no temporary folder and
no ssh process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import CLI

HANGING_SSH = """#!/bin/sh
# An ssh that connects to nothing and never opens the forwarded socket.
echo $$ > "{pids}/ssh.pid"
exec sleep 120
"""

DESCRIPTOR = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: app, team: t}
source: {repo: https://git.example.com/t/app.git}
image: {repository: 127.0.0.1:5000/t/app}
deploy:
  - {environment: test, target: docker, listen: "127.0.0.1:18000", subnet: 198.18.9.0/24,
     host: "ssh://nobody@127.0.0.1:1"}
"""


def test_an_interrupted_tunnel_removes_its_folder(tmp_path: Path) -> None:
    bin_dir, temp, pids = tmp_path / "bin", tmp_path / "tmp", tmp_path / "pids"
    for folder in (bin_dir, temp, pids):
        folder.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(HANGING_SSH.format(pids=pids))
    ssh.chmod(0o755)
    descriptor = tmp_path / "app.yaml"
    descriptor.write_text(DESCRIPTOR)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TMPDIR": str(temp)}
    process = subprocess.Popen(
        [str(CLI), "status", str(descriptor), "--env", "test"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (pids / "ssh.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (pids / "ssh.pid").exists(), "the CLI never started ssh"
        assert [p.name for p in temp.iterdir()]  # the tunnel's folder exists while it opens
        time.sleep(0.5)  # past ssh's start (Popen returns once ssh runs): waiting for the socket
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert list(temp.iterdir()) == []
    ssh_pid = int((pids / "ssh.pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(ssh_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(ssh_pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    if sys.platform.startswith("linux"):  # a zombie is gone for our purpose
        stat = Path(f"/proc/{pid}/stat")
        return stat.exists() and stat.read_text().split()[2] != "Z"
    return True
