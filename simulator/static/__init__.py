"""The static track: downgrade-and-cascade labels, row costs, TwinRouterBench's scores, the static–dynamic gap."""
