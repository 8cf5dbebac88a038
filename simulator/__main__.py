"""python -m simulator: the twinsim command line."""

from simulator.cli import main

main()
