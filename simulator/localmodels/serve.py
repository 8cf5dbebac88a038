"""Serving the local tiers: one llama.cpp server (xllamacpp) per tier, each an OpenAI-compatible endpoint on 127.0.0.1.

The simulator reaches a tier through litellm as ``openai/<alias>`` with ``api_base``,
exactly as it would reach a hosted provider.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from simulator.localmodels.models import SPECS, ModelSpec, model_path

DEFAULT_PORTS = {"low": 8401, "mid": 8402, "high": 8403}


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
    """Body of ``python -m simulator.localmodels.serve '<json>'``: serve one model until told to stop."""
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
    """One tier's server, running ``python -m simulator.localmodels.serve '<json>'``."""

    def __init__(self, spec: ModelSpec, path: Path, host: str, port: int, n_ctx: int, threads: int):
        self.tier = spec.tier
        self.api_base = f"http://{host}:{port}/v1"
        with socket.socket() as probe:  # llama.cpp would fail on a busy port without saying why
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise RuntimeError(f"cannot serve tier {spec.tier!r} on {host}:{port}: {error.strerror}") from None
        config = {
            "model": str(path),
            "alias": spec.alias,
            "host": host,
            "port": port,
            "n_ctx": n_ctx,
            "threads": threads,
        }
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])  # the child must import simulator
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        # llama.cpp's OpenMP threads spin while waiting; with more busy threads than cores
        # (several servers, or an agent run beside them) generation fell from ~30 to <1 token/s.
        env.setdefault("OMP_WAIT_POLICY", "passive")
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator.localmodels.serve", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
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


if __name__ == "__main__":
    _child_main(sys.argv[1])
