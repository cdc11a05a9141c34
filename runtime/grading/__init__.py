"""The grading program, local only (never in the container): the data loader, the official
parsers, the metrics and scoring, saved answers, reports, comparison and the evaluation loop.
It reaches a model only through the UserModel interface (a class named by its spec)."""
