"""Settings files: one object per file, and every error one line naming the file."""

import pytest
from pydantic import BaseModel, ValidationError

from runtime.common.errors import one_line
from runtime.common.settings import ConfigError, json_kind, read_json_object


def test_a_settings_file_holds_one_object(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"batch_size": 4}')
    assert read_json_object(path, "the settings") == {"batch_size": 4}


@pytest.mark.parametrize(("content", "message"), [
    (b"[1, 2]", "the settings must be a JSON object, not a list"),
    (b"{nope", "cannot read the settings"),
    (b"\xff\xfe", "cannot read the settings"),
])
def test_what_is_not_one_object_is_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "s.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as err:
        read_json_object(path, "the settings")
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="No such file"):
        read_json_object(tmp_path / "none.json", "the settings")


class Two(BaseModel):
    a: int
    b: str


def test_validation_errors_become_one_line_of_field_and_message():
    with pytest.raises(ValidationError) as err:
        Two(a="x", b=1)  # type: ignore[arg-type]
    line = one_line(err.value)
    assert line.startswith("a: ") and "; b: " in line and "\n" not in line


@pytest.mark.parametrize(("value", "kind"), [(None, "null"), ([], "a list"), ({}, "an object"),
                                            ("x", "a string"), (True, "true or false"),
                                            (1.5, "a number")])
def test_json_kinds(value, kind):
    assert json_kind(value) == kind
