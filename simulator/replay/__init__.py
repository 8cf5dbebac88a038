"""Replay: one loop for recording and replaying trajectories from the store, under a router and a miss policy."""
