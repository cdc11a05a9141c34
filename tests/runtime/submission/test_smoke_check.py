"""The smoke run: one batch of every task type, every answer parsed."""

from tests.runtime.submission.repos import check, failed


def test_smoke_run_catches_unparseable_answers(repo, capsys):
    (repo / "models" / "user_config.py").write_text(
        "from models.dummy_model import DummyModel\n\n"
        "class Broken(DummyModel):\n"
        "    def batch_predict(self, batch, is_multiple_choice):\n"
        "        return ['no idea'] * len(batch['prompt'])\n\nUserModel = Broken\n")
    code, results = check(repo, capsys, "--target", "cpu")
    assert code == 1
    failed(results, "smoke run", "answers the grader cannot parse")


def test_the_smoke_run_says_what_it_does_and_shows_its_progress(repo, capsys):
    from runtime.cli import runtime_main

    (repo / "models" / "user_config.py").write_text(
        "from models.dummy_model import DummyModel\n\nUserModel = DummyModel\n")
    assert runtime_main(["check", "--repo", str(repo), "--target", "cpu"]) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert err[0].startswith("smoke run: the UserModel answers one batch of each task type")
    assert "at most 900 s" in err[0]
    assert any(line.startswith("smoke run: 1/5: a batch of") for line in err), err
    # Each check's line is printed as it is decided: the target first, the verdict last.
    out = captured.out.splitlines()
    assert out[0].startswith("target: cpu") and out[-1].startswith("no problem found")
    assert out[-2].startswith("[ok  ] smoke run:")


def test_each_check_is_handed_on_as_soon_as_it_is_decided(repo):
    from runtime.submission.checks import run_checks
    from runtime.submission.outcome import parse_target

    seen = []
    checks = run_checks(repo, parse_target("cpu"), smoke=False, on_check=seen.append)
    assert seen == checks and len(checks) > 5
