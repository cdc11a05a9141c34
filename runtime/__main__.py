"""`python -m runtime <command>`: see runtime/cli.py."""

import sys

from runtime.cli import runtime_main

if __name__ == "__main__":
    sys.exit(runtime_main())
