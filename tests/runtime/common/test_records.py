"""What a model reports: usage summed from the per-answer records, and a model asked once
whether it reports at all."""

from runtime.common.records import AnswerRecord, RunReport, Usage, batch_records, reporting


def record(repair=None, prompt=10, generated=3, cached=4, shortened=False):
    return AnswerRecord(route={"task_type": "ranking"}, constraint="choice(2)", max_tokens=9,
                        raw_output="1,2", prompt_tokens=prompt, generated_tokens=generated,
                        cached_prompt_tokens=cached, shortened=shortened, repair=repair,
                        guard_level=0)


def test_usage_sums_tokens_and_counts_repairs_by_kind():
    usage = Usage()
    for r in (record(), record("completed"), record("fallback", shortened=True),
              record("fallback")):
        usage.add(r)
    assert (usage.prompt_tokens, usage.generated_tokens, usage.cached_prompt_tokens) == \
        (40, 12, 16)
    assert usage.repairs == 3 and usage.repairs_by_kind == {"completed": 1, "fallback": 2}
    assert usage.shortened_prompts == 1


class Reporter:
    def __init__(self, records):
        self.last_batch_records = records
        self.last_batch_engine_s = 0.5

    def run_report(self):
        return RunReport(engine_load_s=1.0)


def test_records_are_taken_only_from_a_model_that_gives_one_per_answer():
    assert reporting(object()) is None
    reporter = reporting(Reporter([record(), record()]))
    assert reporter is not None
    assert batch_records(reporter, 2) == [record(), record()]
    assert batch_records(reporter, 3) == [None, None, None]  # not one per answer
    assert batch_records(None, 2) == [None, None]


def test_a_record_is_saved_as_json_in_field_order():
    saved = record("deadline").as_json()
    assert list(saved)[:3] == ["route", "constraint", "max_tokens"]
    assert saved["repair"] == "deadline" and saved["finish_reason"] is None
