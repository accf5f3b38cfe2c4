"""One Engine API request over the engine's local unix socket, without docker-py or the docker
CLI: reading an image's labels that way takes ~1 ms where ``docker image inspect`` (a Go
binary starting, then its own ``/_ping`` and ``GET``) takes 15-20 ms of every build and push.

Only for ``unix://`` engines; tcp:// and ssh:// (TLS, an ssh tunnel) stay with the CLI.
"""

from __future__ import annotations

# The C module ``socket`` wraps: importing ``socket`` itself costs ~2 ms (its enums), more
# than the request.
import _socket

UNIX_SCHEME = "unix://"
TIMEOUT_SECONDS = 30.0


class EngineSocketError(OSError):
    """The socket answered with something that is not an HTTP response."""


def unix_socket_path(docker_host: str) -> str | None:
    """The socket's path when ``docker_host`` is a ``unix://`` address, else None."""
    if docker_host.startswith(UNIX_SCHEME):
        return docker_host.removeprefix(UNIX_SCHEME) or None
    return None


def engine_get(
    socket_path: str, path: str, *, timeout: float = TIMEOUT_SECONDS
) -> tuple[int, bytes]:
    """``GET path`` on the engine at ``socket_path``: the status code and the body.

    HTTP/1.0, so the engine closes the connection after one plain (unchunked) body.
    Raises OSError when nothing answers there.
    """
    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        connection.settimeout(timeout)
        connection.connect(socket_path)
        connection.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode("ascii"))
        chunks: list[bytes] = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    finally:
        connection.close()
    return parse_response(b"".join(chunks))


def parse_response(raw: bytes) -> tuple[int, bytes]:
    """The status code and body of one HTTP/1.x response without chunked encoding."""
    head, separator, body = raw.partition(b"\r\n\r\n")
    parts = head.split(b"\r\n", 1)[0].split(b" ", 2)
    if not separator or len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise EngineSocketError(f"not an HTTP response: {raw[:80]!r}")
    try:
        status = int(parts[1])
    except ValueError:
        raise EngineSocketError(f"not an HTTP status line: {head[:80]!r}") from None
    return status, body
