"""The pre-submission checker, local only: will the repository build, load and finish on the
platform. One module per group of checks; `checks.py` runs them all."""
