"""The click side of the CLI: the command group (each command's module imported on first use)
and the one call into it, with click's own outcomes (usage errors, ``--help``, Ctrl-C at a
prompt) turned into ours. ``jenkins_bridge.cli.main`` imports this only for calls its
click-free fast path does not answer (``jenkins_bridge.cli.fast``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import click

from jenkins_bridge import __version__
from jenkins_bridge.cli import COMMANDS, HELP
from jenkins_bridge.cli.output import Outcome
from jenkins_bridge.errors import EXIT_ERROR, BridgeError, UsageError


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked (or when help lists them)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return _unavailable(cmd_name)
        command = getattr(module, attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help lists commands from the static table so `--help` stays as fast as `--version`.
        with formatter.section("Commands"):
            formatter.write_dl([(name, HELP.get(name, "")) for name in self.list_commands(ctx)])


def _unavailable(name: str) -> click.Command:
    def callback(**_: object) -> Outcome:
        raise BridgeError(f"command '{name}' is not available in this version of jenkins-bridge")

    return click.Command(name, callback=callback, help=HELP.get(name))


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Human text, or one JSON object {status, data, errors} on stdout.",
)
@click.option(
    "--no-color",
    is_flag=True,
    help="No colour (also $NO_COLOR; colour is only ever used on a terminal).",
)
@click.version_option(__version__, "--version", prog_name="jenkins-bridge")
@click.pass_context
def cli(ctx: click.Context, output: str, no_color: bool) -> None:
    """jenkins-bridge: one YAML descriptor per service → Jenkins jobs, pipelines, deployments.

    Global options (--output, --no-color) go before or after the command.

    Exit codes: 0 success or nothing to change, 1 error or invalid input,
    2 changes pending (render --check, plan), 3 deploy rolled back.

    Shell completion (commands, options, --env names from the descriptor, --controller
    names from controllers.yaml): eval "$(_JENKINS_BRIDGE_COMPLETE=bash_source
    jenkins-bridge)" in ~/.bashrc (zsh_source for zsh, fish_source for fish).
    """
    ctx.obj = output
    if ctx.invoked_subcommand is None:
        # A bare call is a request for help, not a usage error.
        click.echo(ctx.get_help())
        ctx.exit(0)


def invoke(args: Sequence[str]) -> object:
    """Run ``args`` through click; what the command returned, or an exit code.

    A usage error becomes ``UsageError`` (click's own exit code for it, 2, here means
    "changes pending"), a Ctrl-C that click turned into ``Abort`` a ``KeyboardInterrupt``
    again; ``BridgeError`` and everything else go to the caller as raised.
    """
    try:
        return cli.main(args=list(args), prog_name="jenkins-bridge", standalone_mode=False)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort. A command that knows what it had done raises
        # Interrupted with that instead; any other Ctrl-C lands here.
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        click.echo("Aborted.", err=True)
        return EXIT_ERROR
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        raise UsageError(exc.format_message()) from None
