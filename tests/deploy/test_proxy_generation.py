"""The switch waits for the configuration it wrote, not one whose number merely contains it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from jenkins_bridge.deploy.docker_host.session import NOT_YET, Session


class ProbedRuntime:
    """The proxy container: it still serves generation 710 for two probes, then 71."""

    def __init__(self) -> None:
        self.answers = [
            "HTTP/1.1 200 OK\r\n\r\ngeneration 710\n",
            "HTTP/1.1 200 OK\r\n\r\ngeneration 710\n",
            "HTTP/1.1 200 OK\r\n\r\ngeneration 71\n",
        ]
        self.probes = 0
        self.written: list[bytes] = []

    def exec_awaiting_input(self, name: str, argv: list[str]) -> Any:
        return SimpleNamespace(send=lambda stdin: self.exec(name, argv, stdin))

    def exec(self, name: str, argv: list[str], stdin: bytes | None = None) -> tuple[int, str]:
        if "nginx -t" in argv[2]:
            assert stdin is not None  # the configuration, written by the same exec
            self.written.append(stdin)
            return NOT_YET, ""  # its own wait did not see generation 71 yet
        self.probes += 1
        return 0, self.answers[min(self.probes, len(self.answers)) - 1]


def test_the_switch_waits_until_the_proxy_serves_exactly_its_generation() -> None:
    runtime = ProbedRuntime()
    session: Any = object.__new__(Session)
    session.runtime = runtime
    session.names = SimpleNamespace(proxy="jb-proxy")
    session.write_proxy_config("location = /x {\n    return 204;\n}\n", 71)
    assert b'return 200 "generation 71\\n";' in runtime.written[0]
    # Generation 710's answer (an older proxy whose history was lost) is not generation 71's.
    assert runtime.probes == 3
