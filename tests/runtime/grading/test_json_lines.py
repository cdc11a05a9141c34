"""JSON lines as data files and saved answers are read and written: a line ends at "\n" only,
a bad line is reported in place, what is written reads back the same."""

import json

from runtime.grading.predictions import dumps_line, write_durably
from runtime.grading.questions import json_lines


def test_lines_end_at_newline_only_and_blank_lines_are_skipped():
    text = json.dumps({"a": "x\u2028y\x85z"}, ensure_ascii=False) + "\n\n" + '{"b": 1}\n'
    assert list(json_lines(text)) == [(1, {"a": "x\u2028y\x85z"}), (3, {"b": 1})]


def test_a_bad_line_is_yielded_as_its_error():
    lines = list(json_lines('{"a": 1}\n{"a": \n' + "[" * 100_000 + "\n" + "9" * 5000 + "\n"))
    assert lines[0] == (1, {"a": 1})
    assert [number for number, _ in lines[1:]] == [2, 3, 4]
    assert all(isinstance(value, ValueError) for _, value in lines[1:])


def test_a_lone_surrogate_is_written_escaped_and_reads_back(tmp_path):
    line = dumps_line({"answer": "caf\udce9"})
    assert line.isascii() and json.loads(line) == {"answer": "caf\udce9"}
    assert dumps_line({"answer": "café"}) == '{"answer": "café"}'
    path = tmp_path / "x.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        write_durably(handle, [line, dumps_line({"n": 2})])
    assert [value for _, value in json_lines(path.read_text(encoding="utf-8"))] == [
        {"answer": "caf\udce9"}, {"n": 2}]
