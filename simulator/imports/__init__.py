"""Importing runs made elsewhere (mini-swe-agent trajectories, SWE-bench harness reports) as recordings."""
