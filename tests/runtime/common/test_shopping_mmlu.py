from runtime.common.shopping_mmlu import generation_metric, task_wise_choice_prompt


def test_generation_metric_follows_the_task_name_in_shopping_mmlus_order():
    assert generation_metric("attribute_value_extraction") == "rougel"
    assert generation_metric("multilingual_title_extraction") == "rougel"  # extraction first
    assert generation_metric("product_title_translation") == "bleu"
    assert generation_metric("product_title_JP_translation") == "jp-bleu"
    assert generation_metric("multilingual_description") == "multilingual-sent-transformer"
    assert generation_metric("category_explanation") == "sent-transformer"


def test_task_wise_choice_prompt():
    assert task_wise_choice_prompt("Q?", ["a", "b"]) == "Q?\n0. a\n1. b\nAnswer: "
