"""The `twinsim` command line: one module per command group, heavy libraries imported inside the commands."""

import click

from simulator import __version__
from simulator.cli.ci import check_command, diff_command
from simulator.cli.imports import import_command as import_trajectories_command
from simulator.cli.info import models_group, pools_command, routers_command, serve_local_command
from simulator.cli.label import label_command
from simulator.cli.record import export_command, import_command, merge_command, record_command
from simulator.cli.replay import (
    compare_command,
    coverage_command,
    explain_miss_command,
    export_trb_command,
    replay_command,
)
from simulator.cli.static import gap_command, static_group
from simulator.cli.sweep import sweep_command

INTERRUPTED_EXIT = 130  # what a shell reports for a command stopped by Ctrl-C


class Commands(click.Group):
    def invoke(self, ctx: click.Context):
        """Ctrl-C ends a command with a one-line notice and exit status 130, not a traceback or click's "Aborted!"."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(INTERRUPTED_EXIT)


@click.group(cls=Commands)
@click.version_option(__version__, prog_name="twinsim")
def main() -> None:
    """Record and replay routed agent trajectories from a content-addressed cache."""


for command in (
    replay_command,
    compare_command,
    check_command,
    diff_command,
    sweep_command,
    export_trb_command,
    explain_miss_command,
    coverage_command,
    record_command,
    export_command,
    import_command,
    merge_command,
    import_trajectories_command,
    label_command,
    static_group,
    gap_command,
    routers_command,
    pools_command,
    models_group,
    serve_local_command,
):
    main.add_command(command)
