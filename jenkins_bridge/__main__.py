"""The ``jenkins-bridge`` console script and ``python -m jenkins_bridge``.

Pipelines call ``jenkins-bridge --version`` (and the rest) many times per build. Importing
click alone costs more than Python's own start-up, so a bare ``--version`` is answered here,
before ``jenkins_bridge.cli`` (and click) is imported; every other call goes to the CLI.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from jenkins_bridge import __version__

        # The exact line click's version option prints, so both paths read the same.
        sys.stdout.write(f"jenkins-bridge, version {__version__}\n")
        sys.exit(0)
    from jenkins_bridge.cli import run

    run()


if __name__ == "__main__":
    main()
