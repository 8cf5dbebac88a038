"""CI for a router: replay it on the committed quickstart recording and assert on what it does.

    pytest examples/ci                                     # strict: a trajectory that leaves the recording fails
    pytest examples/ci --twinsim-record-mode=approximate   # continue from nearby recorded answers instead

Installing twinsim registers the plugin: the marker names the recording (relative to
this file), the `twinsim` fixture replays a router on it and returns a TwinsimReport.
"""

import pytest

QUICKSTART = "../../recordings/quickstart"


@pytest.mark.twinsim(recording=QUICKSTART)
def test_the_strong_tier_keeps_resolving_wordfreq(twinsim):
    report = twinsim("always:high")
    assert report.resolved_instances == ["twinsim__wordfreq-1"]
    assert report.live_calls == 0 and report.incomplete == 0
    assert report.router_cost_usd < 0.25


def strong(ctx):
    """A router is also a function of the router context: here, always the strongest tier."""
    return ctx.available_models[-1]


@pytest.mark.twinsim(recording=QUICKSTART, instances=["twinsim__wordfreq-1"])
def test_every_step_is_served_from_the_recording(twinsim):
    run = twinsim(strong).run("twinsim__wordfreq-1")
    assert run.status == "resolved" and run.exact
    assert all(step.source == "hit" and step.tier == "high" for step in run.steps)
