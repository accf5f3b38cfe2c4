"""``source.repo``: what git would run, read from disk, or leak is refused; plain remote URLs
(https, ssh, scp-like) pass."""

from __future__ import annotations

import pytest

from jenkins_bridge.descriptor.git_remote import repository_url_problem

ACCEPTED = [
    "https://git.example.com/payments/api.git",
    "https://git.example.com:8443/a/b",
    "http://127.0.0.1:3000/a/b.git",
    "ssh://git@git.example.com/team/app.git",
    "ssh://git.example.com:2222/team/app.git",
    "ssh://git@[::1]:22/team/app.git",
    "git://git.example.com/team/app.git",
    "git@github.com:org/repo.git",
    "git.example.com:team/app.git",
    "deploy_user@git.example.com:/srv/git/app.git",
    "https://example.com/'; System.exit(1); '/r.git?a=1&b=<2>]]>",  # data, quoted downstream
]

REFUSED = [
    ("https://alice:s3cret@git.example.com/a.git", "must not hold credentials"),
    ("ssh://alice:s3cret@git.example.com/a.git", "must not hold credentials"),
    ("alice:s3cret@git.example.com:a.git", "must not hold credentials"),
    ("https://ghp_t0ken@github.com/org/repo.git", "must not name a user or token"),
    ("ext::sh -c touch% /tmp/pwned", "'ext::' is git's remote-helper syntax"),
    ("fd::7", "'fd::' is git's remote-helper syntax"),
    ("x+y::https://h/a", "'x+y::' is git's remote-helper syntax"),
    ("--upload-pack=touch /tmp/pwned", "must not start with '-'"),
    ("-oProxyCommand=touch /tmp/pwned", "must not start with '-'"),
    ("ssh://-oProxyCommand=touch%20x/a", "the host must not start with '-'"),
    ("git@-oProxyCommand=x:a.git", "the host must not start with '-'"),
    ("-u@host:a.git", "must not start with '-'"),
    ("ssh://-u@host/a.git", "the user before '@' must be a plain name"),
    ("git@host:-a.git", "does not start with '-'"),
    ("git@host:", "needs a repository path"),
    ("file:///srv/git/app.git", "file:// is a repository on the Jenkins machine's own disk"),
    ("FILE:///srv/git/app.git", "file:// is a repository"),
    ("/srv/git/app.git", "is a path on the Jenkins machine's own disk"),
    ("./app", "is a path on the Jenkins machine's own disk"),
    ("../other-team/app", "is a path on the Jenkins machine's own disk"),
    ("app.git", "is a path on the Jenkins machine's own disk"),
    ("dir/x:y", "is a path on the Jenkins machine's own disk"),
    ("foo://host/a.git", "scheme 'foo://' is not allowed (git would run a helper program"),
    ("https://host/a.git\n--upload-pack=x", "must be one line"),
    ("https://host/a.git\r", "must be one line"),
    ("https://host/a\tb", "must be one line"),
    (" https://host/a.git", "surrounding spaces"),
    ("https://host/a%0a.git", "percent-encoded control characters"),
    ("https:///a.git", "names no host"),
    ("https://ho st/a.git", "is not a host name"),
]


@pytest.mark.parametrize("url", ACCEPTED)
def test_remote_urls_are_accepted(url: str) -> None:
    assert repository_url_problem(url) is None


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_unsafe_urls_are_refused(url: str, message: str) -> None:
    problem = repository_url_problem(url)
    assert problem is not None and message in problem
    assert "\n" not in problem and "\r" not in problem


@pytest.mark.parametrize("url", [u for u, m in REFUSED if "credentials" in m or "token" in m])
def test_messages_never_repeat_a_password_or_token(url: str) -> None:
    problem = repository_url_problem(url)
    assert problem is not None
    assert "s3cret" not in problem and "t0ken" not in problem and "alice" not in problem
