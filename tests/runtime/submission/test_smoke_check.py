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
