"""`python -m simulator` and the `twinsim` console script: the command line, Ctrl-C during start-up included."""

import sys


def run() -> None:
    try:
        from simulator.cli import main

        main()
    except KeyboardInterrupt:  # pressed while the command line is still being imported (commands handle their own)
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    run()
