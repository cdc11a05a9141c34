"""The two scoring schemes as data: the KDD Cup grader's (`shopbench`) and Shopping MMLU's own
(`shopping-mmlu`). One small record per scheme says how it reads an answer (the grader's
parsers, or Shopping MMLU's metric readings), what its groups of tasks are called (tracks or
skills), and what its overall score is and is called. Everything that differs between the two
schemes is read from here; the formulas (metrics.py) are shared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.common.competition import TRACKS
from runtime.common.shopping_mmlu import NO_SKILL, NO_SKILL_NAME, SKILLS, Semantics
from runtime.grading.parsers import parse_answer
from runtime.grading.shopping_mmlu_parsers import read_answer


@dataclass(frozen=True)
class Scheme:
    name: Semantics
    words: str  # whose readings and metrics, in a few words
    read: Callable[[str, str], Any]  # (answer, task type) -> what its metric reads
    group: str  # what a group of tasks is called: "track" or "skill"
    group_names: dict[str, str]  # a group's id -> its display name
    overall: str  # the overall score's name in tables
    overall_short: str  # ... in charts and one-line summaries
    overall_definition: str
    tasks_mean: str  # the mean over tasks' name in tables
    leaderboard_row: bool  # whether its leaderboard prints one row of group scores

    def group_name(self, group: str) -> str:
        """A group's display name (the id itself where it has none)."""
        return self.group_names.get(group, group)

    def overall_name(self, groups: int, short: bool = False) -> str:
        """The overall score's name when `groups` of the four tracks (skills) have scores: the
        scheme's own name for all four, else "Mean of 2 of 4 tracks" (it is not track 5)."""
        if groups == len(TRACKS):
            return self.overall_short if short else self.overall
        counted = f"{groups} of {len(TRACKS)} {self.group}s"
        return counted if short else f"Mean of {counted}"

    def short_group_name(self, group: str) -> str:
        """A group's name for a chart's axis: "Track 1", or the skill's name."""
        return self.group_name(group).split(":")[0]


SHOPBENCH = Scheme(
    name="shopbench",
    words="the KDD Cup grader's parsers and metrics",
    read=parse_answer,
    group="track",
    group_names=dict(TRACKS),
    overall="Track 5 (mean of tracks)",
    overall_short="Track 5",
    overall_definition="mean of the track scores (leaderboard track 5)",
    tasks_mean="Mean over tasks (organisers' script)",
    leaderboard_row=False,
)
SHOPPING_MMLU = Scheme(
    name="shopping-mmlu",
    words="Shopping MMLU's own metrics",
    read=read_answer,
    group="skill",
    group_names={**SKILLS, NO_SKILL: NO_SKILL_NAME},
    overall="Mean of skills",
    overall_short="Mean of skills",
    overall_definition="mean of the skill scores",
    tasks_mean="Mean over tasks",
    leaderboard_row=True,
)
SCHEMES: dict[str, Scheme] = {s.name: s for s in (SHOPBENCH, SHOPPING_MMLU)}


def scheme_of(name: str | None) -> Scheme:
    """The scheme a name gives (the grader's when none is given)."""
    return SCHEMES[name or SHOPBENCH.name]
