"""Where log records go while a command runs: the log file always, stderr only for the
runtime's own warnings (or everything with verbose), stdout never."""

import logging
import warnings

from runtime.logs import logs_to


def test_records_go_to_the_log_file_and_only_own_warnings_to_stderr(tmp_path, capsys):
    path = tmp_path / "run.log"
    with logs_to(path):
        logging.getLogger("vllm.engine").warning("engine chatter")
        logging.getLogger("runtime.answering.engine").warning("note: a CPU notice")
        logging.getLogger("runtime.grading").info("an info record")
        warnings.warn("a python warning", UserWarning, stacklevel=1)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "note: a CPU notice" in captured.err and "engine chatter" not in captured.err
    log = path.read_text()
    for text in ("engine chatter", "note: a CPU notice", "an info record", "a python warning"):
        assert text in log
    logging.getLogger("vllm.engine").warning("after the block")
    assert "after the block" not in path.read_text()  # the root logger is restored


def test_verbose_shows_every_record_on_stderr_and_no_record_means_no_file(tmp_path, capsys):
    with logs_to(tmp_path / "quiet.log"):
        pass
    assert not (tmp_path / "quiet.log").exists()
    with logs_to(tmp_path / "run.log", verbose=True):
        logging.getLogger("vllm.engine").info("engine detail")
    assert "engine detail" in capsys.readouterr().err
