"""The Jinja2 environment for code templates, with escaping that cannot be forgotten.

Templates live inside the package, ``jenkins_bridge/templates/`` (the repository's top-level
``templates`` is a link to it), and are found through the package itself, so the checkout and
an installed wheel use the same lookup. The environment's ``finalize`` refuses any bare string: a
template can only print values that went through a quoting filter (``groovy``, ``comment``)
or text it marks ``raw`` itself.

Compiled templates are kept in Jinja's own bytecode cache, in the per-user folder it makes
safe itself (``$TMPDIR/_jinja2-cache-<uid>``, mode 0700, owned by the user, else no cache):
compiling ``Jenkinsfile.j2`` was 20-60 ms of every run that renders a service, a tenth of
``render`` after one descriptor changed at N = 5,000. Jinja reuses an entry only for the same
template name and file, source checksum, Jinja bytecode format and Python version. Never in
the output directory: a bytecode file there could come from anyone who can write a tree.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jinja2

from jenkins_bridge.descriptor.model import Parameter
from jenkins_bridge.render.quoting import groovy_comment, groovy_string, shell_word


class Code(str):
    """Text that is already safe to print into generated code."""


def _finalize(value: Any) -> Any:
    if isinstance(value, Code):
        return value
    if isinstance(value, bool):
        raise jinja2.TemplateError("template printed a bare boolean; use | boolean")
    if isinstance(value, int):
        return value
    raise jinja2.TemplateError(
        f"template printed an unquoted value {value!r}; pass it through | groovy (or | raw)"
    )


def _groovy(value: Any) -> Code:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise jinja2.TemplateError(f"| groovy takes text, got {type(value).__name__}")
    return Code(groovy_string(str(value)))


def _boolean(value: Any) -> Code:
    if not isinstance(value, bool):
        raise jinja2.TemplateError(f"| boolean takes true/false, got {value!r}")
    return Code("true" if value else "false")


def _comment(value: Any) -> Code:
    return Code(groovy_comment(str(value)))


def _choice_list(parameter: Parameter) -> Code:
    return Code("[" + ", ".join(groovy_string(c) for c in parameter.ordered_choices) + "]")


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        return jinja2.FileSystemBytecodeCache()
    except (RuntimeError, OSError):  # no safe per-user folder: compile every run
        return None


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        bytecode_cache=_bytecode_cache(),
        loader=jinja2.PackageLoader("jenkins_bridge", "templates"),
        # A template is loaded once per run: the installed package's templates do not change
        # under it, and checking (two stats per service) was ~2 % of rendering a Jenkinsfile.
        auto_reload=False,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
    )
    env.filters.update(
        groovy=_groovy,
        boolean=_boolean,
        comment=_comment,
        raw=Code,
        shell=lambda v: Code(shell_word(str(v))),
        choice_list=_choice_list,
        yaml=lambda v: Code(json.dumps(str(v))),
    )
    return env
