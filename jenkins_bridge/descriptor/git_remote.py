"""Which ``source.repo`` values are safe to hand to git on a Jenkins machine.

git reads more than network addresses from a remote URL: ``<transport>::<address>`` runs the
remote helper ``git-remote-<transport>`` (``ext::`` runs any command), an unknown
``<scheme>://`` runs ``git-remote-<scheme>``, a leading ``-`` reads as an option
(``--upload-pack=...``), and ``file://``, ``/path`` or anything with a ``/`` before its first
``:`` is a repository on the machine's own disk. A password in the URL ends up in the job's
config.xml and in build logs. So only https, http, git and ssh URLs and the scp-like
``[user@]host:path`` form pass, with a plain host and no credentials.
"""

from __future__ import annotations

import re

ALLOWED_SCHEMES = ("https", "http", "ssh", "git")
_FORMS = "use https://host/path, ssh://[user@]host/path or [user@]host:path"

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# git's is_urlschemechar(): the transport name before '::' (transport.c).
_HELPER = re.compile(r"([A-Za-z0-9][A-Za-z0-9+.-]*)::")
_HOST = r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?)"
_HOST_PORT = re.compile(_HOST + r"(:[0-9]{1,5})?")
_SCP_HOST = re.compile(_HOST)
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._~-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENCODED_CONTROL = re.compile(r"%(0[0-9A-Fa-f]|1[0-9A-Fa-f]|7[Ff])")


def _shown(text: str, limit: int = 30) -> str:
    text = _CONTROL.sub("?", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def repository_url_problem(url: str) -> str | None:
    """Why git must not be given ``url``, or None when it is a plain remote URL.

    Messages never repeat what is before an ``@`` (it may hold a password or a token).
    """
    if _CONTROL.search(url) or url != url.strip():
        return "must be one line without tabs, control characters or surrounding spaces"
    if url.startswith("-"):
        return "must not start with '-' (git would read it as an option like --upload-pack)"
    if _ENCODED_CONTROL.search(url):
        return "must not hold percent-encoded control characters (like %0a)"
    helper = _HELPER.match(url)
    if helper is not None:
        return (
            f"'{_shown(helper.group(1))}::' is git's remote-helper syntax: git runs a helper "
            f"program for it (ext:: runs any command); {_FORMS}"
        )
    scheme = _SCHEME.match(url)
    if scheme is not None:
        return _url_problem(scheme.group(1).lower(), url[scheme.end() :])
    colon, slash = url.find(":"), url.find("/")
    if colon == -1 or -1 < slash < colon:
        return f"is a path on the Jenkins machine's own disk, not a remote repository; {_FORMS}"
    return _scp_problem(url[:colon], url[colon + 1 :])


def _url_problem(scheme: str, rest: str) -> str | None:
    if scheme == "file":
        return f"file:// is a repository on the Jenkins machine's own disk; {_FORMS}"
    if scheme not in ALLOWED_SCHEMES:
        return (
            f"scheme '{_shown(scheme)}://' is not allowed (git would run a helper program, "
            f"git-remote-{_shown(scheme)}); {_FORMS}"
        )
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    userinfo, at, host = authority.rpartition("@")
    if at:
        if ":" in userinfo:
            return _credentials()
        if scheme in ("https", "http"):
            return (
                f"must not name a user or token before '@' in an {scheme} URL; "
                "put the credentials in Jenkins and name them in source.credentialsId"
            )
        if not _USER.fullmatch(userinfo):
            return "the user before '@' must be a plain name (letters, digits, '.', '_', '-')"
    return _host_problem(host, _HOST_PORT)


def _scp_problem(authority: str, path: str) -> str | None:
    user, at, host = authority.rpartition("@")
    if not at and "@" in path.split("/", 1)[0]:
        return _credentials()  # user:password@host:path, which git would read as host 'user'
    if at and not _USER.fullmatch(user):
        return "the user before '@' must be a plain name (letters, digits, '.', '_', '-')"
    problem = _host_problem(host, _SCP_HOST)
    if problem is not None:
        return problem
    if not path or path.startswith("-"):
        return "needs a repository path after ':' that does not start with '-'"
    return None


def _host_problem(host: str, pattern: re.Pattern[str]) -> str | None:
    if not host:
        return f"names no host; {_FORMS}"
    if host.startswith("-"):
        return "the host must not start with '-' (ssh would read it as an option)"
    if not pattern.fullmatch(host):
        return f"'{_shown(host)}' is not a host name; {_FORMS}"
    return None


def _credentials() -> str:
    return (
        "must not hold credentials (user:password@); put them in Jenkins and name their "
        "credentials ID instead"
    )
