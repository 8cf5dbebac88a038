"""The pytest plugin (entry point `pytest11`): a `twinsim` marker and fixture that replay routers on a recording.

    @pytest.mark.twinsim(recording="recordings/quickstart", instances=["twinsim__wordfreq-1"])
    def test_my_router(twinsim):
        report = twinsim("always:high")          # or a class, a router object, a function
        assert report.resolved == 1 and report.live_calls == 0

The recording path is taken relative to the test file, else to pytest's rootdir.
`--twinsim-record-mode` (or the `twinsim_record_mode` ini option) says what a miss
does: `none` (default: the test fails, naming instance, step and first differing
message), `approximate`, `new_episodes` (live, written into the recording) or
`all` (everything live, written into the recording); see `simulator/testing.py`.
"""

from pathlib import Path

import pytest

from simulator.testing import RECORD_MODES, LeftRecording, replay_router

MARKER = "twinsim(recording, instances=None): replay routers on a twinsim recording with the `twinsim` fixture"


def pytest_addoption(parser) -> None:
    group = parser.getgroup("twinsim")
    help_text = "What a miss does in `twinsim` replays: none (strict, default), approximate, new_episodes or all."
    group.addoption("--twinsim-record-mode", choices=list(RECORD_MODES), default=None, help=help_text)
    parser.addini("twinsim_record_mode", help_text, default="none")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", MARKER)
    mode = record_mode(config)
    if mode not in RECORD_MODES:
        raise pytest.UsageError(f"twinsim_record_mode = {mode!r}; use one of {', '.join(RECORD_MODES)}")


def record_mode(config) -> str:
    return config.getoption("--twinsim-record-mode") or config.getini("twinsim_record_mode")


def recording_path(request, recording: str) -> Path:
    """RECORDING relative to the test file, else to the rootdir (an absolute path as it is)."""
    candidates = [Path(recording)] if Path(recording).is_absolute() else []
    candidates += [request.path.parent / recording, request.config.rootpath / recording]
    for path in candidates:
        if (path / "manifest.json").is_file():
            return path
    tried = ", ".join(str(p) for p in dict.fromkeys(candidates))
    raise pytest.UsageError(f"@pytest.mark.twinsim: no recording {recording!r} (tried {tried})")


@pytest.fixture
def twinsim(request):
    """A function `twinsim(router, instances=None, label=None, ...)` that replays `router` on the marker's
    recording under the session's record mode and returns a `simulator.testing.TwinsimReport`."""
    marker = request.node.get_closest_marker("twinsim")
    if marker is None or "recording" not in marker.kwargs:
        raise pytest.UsageError(
            f'{request.node.nodeid}: the twinsim fixture needs @pytest.mark.twinsim(recording="...")'
        )
    recording = recording_path(request, marker.kwargs["recording"])
    mode = record_mode(request.config)

    def replay(router, *, instances=None, **settings):
        instances = instances or marker.kwargs.get("instances")
        try:
            return replay_router(recording, router, instances=instances, record_mode=mode, **settings)
        except LeftRecording as e:
            left = str(e)
        pytest.fail(left, pytrace=False)  # outside the except: the failure is the message, not a chained traceback

    return replay
