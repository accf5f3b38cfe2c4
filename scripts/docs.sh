#!/usr/bin/env bash
# Builds the documentation site (docs/ + mkdocs.yml) into out/site: offline (no web fonts, no
# plugin that downloads), in strict mode, so a broken link or anchor, a page missing from the
# nav or any other warning fails the build. `make docs` and scripts/test.sh run it.
set -euo pipefail
cd "$(dirname "$0")/.."
# Material prints a notice about future MkDocs versions on every build; it is not about this
# site (the build's own warnings are what --strict turns into failures).
export NO_MKDOCS_2_WARNING=1
.venv/bin/mkdocs build --strict --clean "$@"
echo "docs: built out/site/index.html (strict, offline)"
