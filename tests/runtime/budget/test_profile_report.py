"""What a profile shows: profile.md's table and profile.png, its subtitle inside the figure."""

import matplotlib

from runtime.budget.profile_report import profile_figure, profile_markdown
from runtime.budget.profiler import Profile, ProfileRun, TrackProjection
from runtime.common.competition import TRACK5

matplotlib.use("Agg")


def document(note: str) -> Profile:
    track = TrackProjection(projected_s=100, limit_s=1200, margin_s=1100,
                            verdict="fits: 90% margin, the fit's error counted",
                            slowest_task_type="generation", by_task_type_s={"generation": 100})
    return Profile(tracks={TRACK5: track}, engine_load_s=3.0, worst_batch=None, fit=None,
                   cost_model={}, counts_note=note, records=[],
                   run=ProfileRun(model="vllm", data="d.jsonl", sampled_questions=10,
                                  warm_up_s=0.1, hardware="cpu", hardware_warning=None))


def test_the_charts_subtitle_fits_inside_the_figure_however_long_the_note():
    import matplotlib.pyplot as plt

    fig = profile_figure(plt, document("ESTIMATE: " + "a long note about the counts " * 12))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig._suptitle.get_window_extent(renderer)
    width, height = fig.canvas.get_width_height()
    assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height
    plt.close(fig)


def test_the_table_says_each_tracks_verdict():
    assert "fits: 90% margin, the fit's error counted" in profile_markdown(document("note"))
