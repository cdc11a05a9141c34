"""The time budget, local only: the profiler (a measured run projected to every track's limit)
and the paper estimate (a physical lower bound, running nothing)."""
