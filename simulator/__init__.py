"""twinsim: record and replay routed agent trajectories from a content-addressed cache."""

import os

# Set before litellm / mini-swe-agent are imported anywhere: litellm would fetch its
# price map over the network, mini-swe-agent would print a banner. A user's choice wins.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")

__version__ = "0.1.0"
