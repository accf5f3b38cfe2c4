"""Shell completion of values (click's completion, ``_JENKINS_BRIDGE_COMPLETE``): environment
names from the descriptor on the command line, controller names from controllers.yaml.

Completion runs on every Tab press, so each function reads only what it needs and answers
nothing rather than an error when it cannot read it.
"""

from __future__ import annotations

from pathlib import Path

import click
from click.shell_completion import CompletionItem


def environments(ctx: click.Context, _: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The ``deploy[].environment`` names of the DESCRIPTOR already on the line."""
    descriptor = ctx.params.get("descriptor")
    if descriptor is None:
        # While an option's value is being completed click leaves the other arguments
        # unparsed, in ctx.args.
        descriptor = next((a for a in ctx.args if a.endswith((".yaml", ".yml"))), None)
    if descriptor is None:
        return []
    import yaml  # plain YAML: a half-edited descriptor still completes

    try:
        data = yaml.safe_load(Path(descriptor).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    deploys = data.get("deploy") if isinstance(data, dict) else None
    names = sorted(
        {
            entry["environment"]
            for entry in deploys or []
            if isinstance(entry, dict) and isinstance(entry.get("environment"), str)
        }
        if isinstance(deploys, list)
        else set()
    )
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def controllers(_: click.Context, __: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The controller names in controllers.yaml (``$JENKINS_BRIDGE_CONFIG``)."""
    from jenkins_bridge.provision.controller import controller_names

    return [CompletionItem(n) for n in controller_names() if n.startswith(incomplete)]
