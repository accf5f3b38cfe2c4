"""The test app's request counter (tests/deploy/app/Dockerfile) is never seen half-written.

Its CGI script counts the requests it answered in a file. When the count was rewritten in
place, an answer that read the file just after another had emptied it (and before it wrote)
counted from 0 and wrote "1" over "100", leaving "1\\n0": every later answer failed with a
shell syntax error, which the proxy turned into 502s after a canary or rollback had passed
(the Prometheus canary test, about one run in three on a busy machine). Here a reader watches
the file while the script answers 3,000 times: the old script left it empty for a reader
~180,000 times; replaced by a rename, it never is.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from .canary_scenario import APP_DOCKERFILE

pytestmark = [pytest.mark.docker, pytest.mark.deploy]

WATCH = """\
echo 0 >/tmp/requests
(i=0; while [ $i -lt 3000 ]; do /www/cgi-bin/index.cgi >/dev/null 2>&1; i=$((i + 1)); done
 touch /tmp/done) &
empty=0
while [ ! -e /tmp/done ]; do [ -s /tmp/requests ] || empty=$((empty + 1)); done
echo "$empty $(cat /tmp/requests)"
"""


def test_a_reader_never_finds_the_count_half_written(docker_client: Any, tmp_path: Path) -> None:
    tag = f"jb-test-counter-{uuid.uuid4().hex[:8]}/app:v1"
    (tmp_path / "Dockerfile").write_text(APP_DOCKERFILE.read_text())
    docker_client.images.build(
        path=str(tmp_path), tag=tag, buildargs={"VERSION": "1", "METRICS": "yes"},
        network_mode="host", rm=True,
    )  # fmt: skip
    try:
        output = docker_client.containers.run(
            tag, ["sh", "-c", WATCH], network_mode="none", remove=True
        )
    finally:
        docker_client.images.remove(tag, force=True)
    empty, count = output.decode().split()
    assert count == "3000", output  # one answer at a time: every one counted
    assert empty == "0", f"a reader found the count file empty {empty} times"
