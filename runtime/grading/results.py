"""results.json: the `Results` model (every field described) that one evaluation leaves, built
from the scores, and read back by resume, replay, compare and the viewer. Rendering it (tables,
report.md, the chart) is report.py's."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator

from runtime.common.competition import PER_QUESTION_LIMIT_S, TRACK5, MetricName, TaskType
from runtime.common.records import Usage
from runtime.common.shopping_mmlu import Semantics
from runtime.grading.run_files import RESULTS_FILE
from runtime.grading.run_spec import RunSpec
from runtime.grading.schemes import scheme_of
from runtime.grading.scoring import Scores

SCHEMA_VERSION = 7  # 2: `usage` apart from `timing`; 3: answered, missing, partial, slow
# batches; 4: `usage` counts repairs (`repairs`, `repairs_by_kind`), not "fallbacks";
# 5: every score has its bootstrap `interval`; 6: `scoring` (whose semantics scored);
# 7: `spec` (the run specification), `rescorings`, `overall` (was `track5`, named for either
# scheme, with `name`), `interval_note` where an interval is withheld, questions per track


Interval = tuple[float, float] | None
INTERVAL_DOC = ("The score's bootstrap interval over questions (tasks fixed, questions "
                "resampled within their task), at the scoring configuration's confidence "
                "(95% unless set); null when unscored, turned off, or withheld "
                "(`interval_note` says why).")
NOTE_DOC = ("Why the interval is withheld: a task it rests on has too few questions "
            "(scoring.interval_min_questions) for resampling within it to vary.")


class TaskEntry(BaseModel):
    task_name: str
    task_type: TaskType
    metric: MetricName
    track: str
    num_samples: int = Field(description="Answered questions of the task that were scored.")
    score: float | None = Field(description="The task's score; null when unscored.")
    parse_failures: int = Field(description="Answers the official parser could not read.")
    unscored_reason: str | None = Field(description="Why the task has no score.")
    interval: Interval = Field(default=None, description=INTERVAL_DOC)
    interval_note: str | None = Field(default=None, description=NOTE_DOC)


class TrackEntry(BaseModel):
    name: str = Field(description="The track's display name.")
    score: float | None = Field(description="Mean of its scored tasks.")
    num_tasks: int
    unscored_tasks: list[str]
    interval: Interval = Field(default=None, description=INTERVAL_DOC)
    interval_note: str | None = Field(default=None, description=NOTE_DOC)
    num_questions: int = Field(default=0, description="Questions of its scored tasks.")


class OverallEntry(BaseModel):
    """The overall score: the mean of the tracks (skills) with scores. With all four it is
    the leaderboard's track 5 (Shopping MMLU's mean of skills); with fewer, `name` says so."""

    track: str = Field(description="The leaderboard's id of track 5.")
    name: str = Field(default="", description="Its name in tables: 'Track 5 (mean of "
                      "tracks)', 'Mean of skills', or 'Mean of 2 of 4 tracks' where tracks "
                      "are missing.")
    score: float | None
    definition: str
    tracks_included: list[str] = Field(description="The tracks (skills) it is the mean of.")
    interval: Interval = Field(default=None, description=INTERVAL_DOC)
    interval_note: str | None = Field(default=None, description=NOTE_DOC)
    num_questions: int = Field(default=0, description="Questions of the scored tasks.")


class TasksMeanEntry(BaseModel):
    score: float | None
    definition: str
    interval: Interval = Field(default=None, description=INTERVAL_DOC)
    interval_note: str | None = Field(default=None, description=NOTE_DOC)


class Timing(BaseModel):
    """Seconds, wall clock; null where the run had no such phase (re-scoring has no model)."""

    total_s: float = Field(description="The whole command: loading, the model, scoring, and "
                           "writing the reports.")
    loading_s: float | None = Field(default=None, description="Loading the data and reading "
                                    "the output folder's saved answers.")
    model_s: float = Field(description="Building the model and answering: model_load_s plus "
                           "generation_s.")
    model_load_s: float | None = Field(default=None, description="Building the model, the "
                                       "engine's start (engine_load_s) included.")
    generation_s: float | None = Field(default=None, description="The model's batch_predict "
                                       "calls.")
    scoring_s: float = Field(description="Parsing and scoring, embedding models included.")
    engine_load_s: float | None = Field(default=None, description="Of model_load_s, the "
                                        "engine's start, as the model reports it.")
    answering_from: str | None = Field(default=None, description="Set when the answering "
                                       "times are those of an earlier run (a resume that "
                                       "asked nothing).")

    def with_answering_of(self, earlier: Timing) -> Timing:
        """These times with the answering times of the run before (a resume that asked
        nothing keeps them)."""
        return self.model_copy(update={
            "model_s": earlier.model_s, "model_load_s": earlier.model_load_s,
            "generation_s": earlier.generation_s, "engine_load_s": earlier.engine_load_s,
            "answering_from": earlier.answering_from
            or "the earlier run (this one asked nothing)"})


class SlowBatch(BaseModel):
    """A batch that took longer than the grader allows (the grader would stop the run)."""

    batch: int = Field(description="The batch's index in the run.")
    task_type: str
    rows: list[int] = Field(description="The rows it asked.")
    seconds: float = Field(description="How long batch_predict took.")
    limit_s: float = Field(description="What the grader allows it: "
                           f"{PER_QUESTION_LIMIT_S:g} s per prompt.")


class ReplicaStats(BaseModel):
    """What one replica of a cluster run answered, and how fast."""

    replica: int = Field(description="The replica's index (0 to replicas - 1).")
    batches: int = Field(default=0, description="Batches it answered.")
    questions: int = Field(default=0, description="Questions it answered.")
    busy_s: float = Field(default=0.0, description="Seconds inside its batch_predict calls.")

    @property
    def questions_per_s(self) -> float:
        return self.questions / self.busy_s if self.busy_s else 0.0

    def add(self, questions: int, seconds: float) -> None:
        self.batches += 1
        self.questions += questions
        self.busy_s = round(self.busy_s + seconds, 3)


class RunInfo(BaseModel):
    model: str | None = Field(description="The model spec; null when saved answers were "
                              "re-scored.")
    weights: str | None = Field(default=None, description="Weights given on the command line.")
    model_dir: str | None = Field(default=None, description="The directory that answered, as "
                                  "the model reports it.")
    data: str
    predictions: str | None = Field(default=None, description="Re-scored predictions file.")
    num_questions: int
    resumed_rows: int = Field(description="Answers reused from an earlier run.")
    asked_rows: int = Field(description="Answers asked of the model in this run.")
    answered: int = Field(description="Questions with an answer: the scores cover these.")
    missing: int = Field(description="Questions without an answer, not scored.")
    partial: bool = Field(description="Whether some questions have no answer, so that the "
                          "scores are those of the answered questions only.")
    slow_batches: list[SlowBatch] = Field(
        default_factory=list, description="Batches over the grader's time limit.")
    skipped_invalid_rows: list[str]
    started_at: str
    finished_at: str
    guard_events: list[dict[str, Any]] | None = Field(
        default=None, description="The deadline guard's changes of level (on a cluster, "
        "each with its replica: the guard is per replica).")
    replicas: int | None = Field(default=None, description="Replicas that answered (a Ray "
                                 "cluster run); null for one process.")
    replica_stats: list[ReplicaStats] = Field(
        default_factory=list, description="Per replica of a cluster run: batches, questions "
        "and seconds busy (this run's asking only).")


class Rescoring(BaseModel):
    """One re-scoring of a run's saved answers (`runtime score`)."""

    at: str = Field(description="When (UTC).")
    scoring: str = Field(description="The scheme it scored with.")
    predictions: str = Field(description="The predictions file it read.")


class Results(BaseModel):
    """results.json: the scores of one evaluation, with its specification, timing, usage and
    run. Files of schema 6 read too (their `track5` as `overall`, with no `spec`)."""

    schema_version: int = SCHEMA_VERSION
    scoring: Semantics = Field(default="shopbench", description="Whose answer readings and "
                               "metrics scored: 'shopbench' (the KDD Cup grader's) or "
                               "'shopping-mmlu' (Shopping MMLU's own; tracks are then its "
                               "skills, named its way).")
    tasks: list[TaskEntry]
    tracks: dict[str, TrackEntry] = Field(description="Tracks 1-4 present (Shopping MMLU's "
                                          "skills 1-4), by id.")
    overall: OverallEntry
    tasks_mean: TasksMeanEntry
    notes: list[str]
    timing: Timing
    usage: Usage | None = Field(description="Tokens and repairs summed from the model's "
                                "per-answer records; null when it reports none.")
    run: RunInfo
    spec: RunSpec | None = Field(default=None, description="What the run was (run_spec.py): "
                                 "data, selection, model and the files that decide its "
                                 "answers, scoring, version; null in files of schema 6.")
    rescorings: list[Rescoring] = Field(default_factory=list, description="Each re-scoring "
                                        "of the saved answers since the run, oldest first.")

    @model_validator(mode="before")
    @classmethod
    def _schema_6(cls, data: Any) -> Any:
        """A file of schema 6 named the overall score `track5`."""
        if isinstance(data, dict) and "track5" in data and "overall" not in data:
            data = {**data, "overall": data["track5"]}
            data.pop("track5")
        return data

    @property
    def lacks(self) -> list[str]:
        """What a results file of an earlier schema does not record."""
        return ["its run specification (what made the answers)"] if self.spec is None else []


def read_results(out: Path) -> Results | None:
    """The results.json of a run folder, where it holds one that this version reads."""
    try:
        return Results.model_validate_json((out / RESULTS_FILE).read_bytes())
    except (OSError, ValueError):  # none, unreadable, or another shape (ValidationError)
        return None


def results_document(scores: Scores, timing: Timing, usage: Usage | None,
                     run: RunInfo, spec: RunSpec | None = None,
                     rescorings: list[Rescoring] | None = None) -> Results:
    scheme = scheme_of(scores.semantics)
    return Results(
        scoring=scores.semantics,
        tasks=[TaskEntry(**asdict(t)) for t in scores.tasks],
        tracks={track: TrackEntry(name=scheme.group_name(track), score=result.score,
                                  num_tasks=result.num_tasks,
                                  unscored_tasks=result.unscored_tasks,
                                  interval=result.interval,
                                  interval_note=result.interval_note,
                                  num_questions=result.num_questions)
                for track, result in scores.tracks.items()},
        overall=OverallEntry(track=TRACK5,
                             name=scheme.overall_name(len(scores.tracks_in_overall)),
                             score=scores.overall,
                             definition=scheme.overall_definition,
                             tracks_included=scores.tracks_in_overall,
                             interval=scores.overall_interval,
                             interval_note=scores.overall_interval_note,
                             num_questions=scores.num_questions),
        tasks_mean=TasksMeanEntry(
            score=scores.tasks_mean,
            definition="mean over tasks (what the organisers' local script printed)",
            interval=scores.tasks_mean_interval,
            interval_note=scores.tasks_mean_interval_note),
        notes=scores.notes,
        timing=timing,
        usage=usage,
        run=run,
        spec=spec,
        rescorings=rescorings or [],
    )
