"""Targets and the report: what a check was run for, and a target that does not exist."""

from runtime.cli import runtime_main


def test_unknown_target_is_a_clear_error(repo, capsys):
    assert runtime_main(["check", "--repo", str(repo), "--target", "3xV100"]) == 2
    assert "unknown target" in capsys.readouterr().err


def test_the_report_names_the_target_it_checked(repo, capsys):
    for target, first in (("cpu", "target: cpu"), ("2xT4", "target: 2xT4 (2 x T4, 16 GB each)")):
        runtime_main(["check", "--repo", str(repo), "--no-smoke", "--target", target])
        assert capsys.readouterr().out.split("\n")[0].startswith(first)
