"""Command-line entry point: ``jenkins-bridge [--output text|json] [--no-color] COMMAND``.

The global options are accepted anywhere before a ``--`` (``status --output json`` too):
``main`` moves them in front of the command before click parses.

Pipelines call this many times per build, so start-up stays small: each command's module is
imported only when that command runs (see ``COMMANDS``), and nothing here imports docker,
jenkins, jsonschema or jinja2.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import sys
from collections.abc import Iterator, Sequence

import click

from jenkins_bridge import __version__
from jenkins_bridge.cli.output import Outcome, configure, emit, emit_problems
from jenkins_bridge.errors import EXIT_ERROR, BridgeError, Interrupted, Problem

# name -> "module:attribute" of a click command, imported on first use.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("jenkins_bridge.cli.descriptors", "validate"),
    "render": ("jenkins_bridge.cli.descriptors", "render"),
    "schema": ("jenkins_bridge.cli.descriptors", "schema"),
    "init": ("jenkins_bridge.cli.descriptors", "init"),
    "plan": ("jenkins_bridge.cli.provision", "plan"),
    "apply": ("jenkins_bridge.cli.provision", "apply"),
    "emulator": ("jenkins_bridge.cli.emulator", "emulator"),
    "image": ("jenkins_bridge.cli.image", "image"),
    "deploy": ("jenkins_bridge.cli.deploy", "deploy"),
    "rollback": ("jenkins_bridge.cli.deploy", "rollback"),
    "status": ("jenkins_bridge.cli.deploy", "status"),
    "history": ("jenkins_bridge.cli.deploy", "history"),
    "logs": ("jenkins_bridge.cli.deploy", "logs"),
    "exec": ("jenkins_bridge.cli.deploy", "exec_"),
    "restart": ("jenkins_bridge.cli.deploy", "restart"),
    "remove": ("jenkins_bridge.cli.deploy", "remove"),
    "lock": ("jenkins_bridge.cli.deploy", "lock"),
}

HELP = {
    "validate": "Check descriptors; report every problem as file:line:column.",
    "render": "Write Jenkinsfile, config.xml and folder.xml for each service.",
    "schema": "Print the descriptor JSON Schema.",
    "init": "Write a commented starter descriptor.",
    "plan": "Show what apply would change on a Jenkins controller.",
    "apply": "Create, update and prune jobs on a Jenkins controller.",
    "emulator": "Run the Jenkins API emulator in the foreground.",
    "image": "Build and push the service's container image.",
    "deploy": "Deploy an image to an environment (Docker host, Swarm, Kubernetes), health-gated.",
    "rollback": "Return an environment to its previous live version.",
    "status": "Show what runs in an environment.",
    "history": "Show every deploy of an environment.",
    "logs": "Print the live version's logs.",
    "exec": "Run a command in a one-off container of the live version.",
    "restart": "Restart a companion and wait until it is healthy.",
    "remove": "Remove an environment (volumes and history kept unless asked).",
    "lock": "See or release an environment's deploy lock.",
}


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


# Options of the group that may also follow the command; True: takes a value.
GLOBAL_OPTIONS = {"--output": True, "--no-color": False}


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """``status x --output json`` -> ``--output json status x``: click only knows a group's
    options before the command. Nothing after ``--`` moves (that is exec's command line)."""
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            rest.extend(argv[index:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            takes_value = GLOBAL_OPTIONS[name] and "=" not in arg
            if takes_value and index + 1 < len(argv):
                front.extend(argv[index : index + 2])
                index += 2
                continue
            front.append(arg)
        else:
            rest.append(arg)
        index += 1
    return front + rest


def _output_mode(argv: Sequence[str]) -> str:
    # Known before click parses, so even a usage error can be reported as JSON.
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--output" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--output="):
            return arg.split("=", 1)[1]
    return "text"


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals go elsewhere anyway
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _command_name(argv: Sequence[str]) -> str:
    return next((arg for arg in argv if arg in COMMANDS), "jenkins-bridge")


def _options_end(argv: Sequence[str]) -> int:
    return argv.index("--") if "--" in argv else len(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    mode = _output_mode(args)
    configure(mode, no_color="--no-color" in args[: _options_end(args)])
    try:
        try:
            result = cli.main(args=args, prog_name="jenkins-bridge", standalone_mode=False)
        except click.exceptions.Abort as exc:
            # click turns Ctrl-C into Abort. A command that knows what it had done raises
            # Interrupted with that instead; any other Ctrl-C lands here.
            if not isinstance(exc.__context__, KeyboardInterrupt):
                raise
            raise Interrupted(_command_name(args)) from None
        except KeyboardInterrupt:
            raise Interrupted(_command_name(args)) from None
    except Interrupted as exc:
        with _sigint_ignored():  # a second Ctrl-C must not cut the report (or JSON) in half
            emit_problems(mode, exc.code, exc.problems(), exc.data)
        return exc.exit_code
    except BridgeError as exc:
        emit_problems(mode, exc.code, exc.problems())
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        # click's own default for usage errors is 2, which here means "changes pending".
        emit_problems(mode, "usage", [Problem("usage", exc.format_message())])
        return EXIT_ERROR
    except Exception:
        import traceback  # only a bug gets here; keep it off the start-up path

        traceback.print_exc()
        click.echo(
            "jenkins-bridge hit an internal error (a bug, not your input). "
            "Please report it with the traceback above.",
            err=True,
        )
        return EXIT_ERROR
    if isinstance(result, Outcome):
        emit(mode, result)
        return result.exit_code
    if isinstance(result, int):
        return result
    return 0


def run() -> None:
    code = main()
    # Exiting may still wait for threads finishing a request; a second Ctrl-C there ends the
    # process at once, as the default action does, instead of printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(code)
