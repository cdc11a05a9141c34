"""What both programs share: the competition's facts, the records a model reports, settings
files, the repository's paths, the embedding models' loader, and the numbered lines of a
prompt. Ships in the grader's container; imports nothing else of the runtime."""
