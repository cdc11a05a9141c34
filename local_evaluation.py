"""Local evaluation, offline, exactly as the leaderboard scores: `python local_evaluation.py -h`."""

import sys

from runtime.cli import evaluation_main

if __name__ == "__main__":
    sys.exit(evaluation_main())
