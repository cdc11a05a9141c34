"""The router on every development question, every sample wording, and unseen wordings."""

import json
import random
import re

import pytest

from runtime.answering.router import find_language, quoted_spans, route


def load(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check_shape(row, decision):
    assert decision.task_type == row["task_type"], row["input_field"][:200]
    truth = row["output_field"]
    if row["task_type"] == "multiple-choice":
        assert truth in (decision.option_answers or decision.options)
        assert len(decision.options) >= 2
        assert len(decision.option_texts) in (0, len(decision.options))
    elif row["task_type"] == "retrieval":
        assert decision.pick == 3
        assert max(truth) <= decision.num_candidates
    elif row["task_type"] == "ranking":
        assert decision.num_candidates == len(truth)
    elif row["task_type"] == "named_entity_recognition":
        assert decision.entity_type
        assert all(entity.lower() in decision.source_text.lower() for entity in truth)
    elif row["metric"] in ("bleu", "jp-bleu"):
        assert decision.generation_kind == "translation"
        assert decision.language
    elif row["metric"] == "rougel":
        assert decision.generation_kind == "extraction"


def test_every_development_question(development_path):
    rows = load(development_path)
    for row in rows:
        check_shape(row, route(row["input_field"], row["is_multiple_choice"]))
    assert len(rows) == 96  # every row of the file was checked


def test_every_tuning_question(tuning_path):
    rows = load(tuning_path)
    for row in rows:
        check_shape(row, route(row["input_field"], row["is_multiple_choice"]))
    assert len(rows) == 440  # every row of the file was checked


def test_every_sample_wording(sample_path):
    rows = load(sample_path)
    for row in rows:
        check_shape(row, route(row["input_field"], row["is_multiple_choice"]))
    assert len(rows) == 42  # every row of the file was checked


UNSEEN = [
    # (prompt, is_multiple_choice, task_type, extra checks)
    ("Pick the 2 accessories below that best fit a DSLR camera. Reply with two indices "
     "separated by a comma.\n1) tripod\n2) cat food\n3) lens cap\n4) garden rake\nOutput:",
     False, "retrieval", {"pick": 2, "num_candidates": 4}),
    # A candidate's own words ("reorder", "sorted") are data, not a ranking instruction.
    ("Identify 3 snippets a happy customer would write. Respond with three indices.\n"
     "1. will reorder soon\n2. sorted my cables nicely\n3. broke at once\n4. great value\n"
     "5. arrived late\n6. fits well\nOutput:", False, "retrieval",
     {"pick": 3, "num_candidates": 6}),
    ("Order the following 3 search results by how well they match 'usb c hub', best first.\n"
     "1. USB-C Hub 7-in-1\n2. HDMI cable\n3. USB C dock with ethernet\n"
     "Return a permutation of 1 to 3, comma separated.", False, "ranking", {"num_candidates": 3}),
    ("Identify all entities of type \"material\" in the product title below; list them "
     "separated by commas.\nTitle: Oak wood and steel bookshelf\nOutput:",
     False, "named_entity_recognition", {"entity_type": "material"}),
    ("Please translate this product title to Spanish: 'Wireless Gaming Mouse, 16000 DPI'.",
     False, "generation", {"generation_kind": "translation", "language": "Spanish"}),
    ("Given the product review and the aspect, quote the words of the review about the aspect."
     "\nReview: The strap broke after a week but the sound is superb.\nAspect: sound quality\n"
     "Output:", False, "generation", {"generation_kind": "extraction"}),
    ("What is a carabiner used for? Answer in one sentence.", False, "generation",
     {"generation_kind": "description"}),
    ("Is a phone case a complement or a substitute of a phone?\n0. complement\n1. substitute\n"
     "Answer:", True, "multiple-choice", {"options": [0, 1]}),
    ("Rate how satisfied this customer is, on a scale of 1 to 5.\nReview: Great kettle.\n"
     "Answer:", True, "multiple-choice", {"options": [1, 2, 3, 4, 5], "option_texts": []}),
    ("Which keyword fits best?\n0. a\n1. b\n2. c\n3. d\n4. e\nAnswer:", True, "multiple-choice",
     {"options": [0, 1, 2, 3, 4]}),
    # Ratings on scales worded other ways.
    ("How would the reviewer rate this on a 1 to 5 scale?\nReview: fine.\nAnswer:", True,
     "multiple-choice", {"options": [1, 2, 3, 4, 5]}),
    ("Rate this review from 1 to 5.\nReview: Great.\nAnswer:", True, "multiple-choice",
     {"options": [1, 2, 3, 4, 5]}),
    ("On a 1-10 point scale, how happy is the buyer?\nAnswer:", True, "multiple-choice",
     {"options": [0, 1, 2, 3]}),  # a two-digit scale cannot be answered with one digit
    # Options printed with a number skipped are answered by position.
    ("Which relation holds?\n0. bought together\n1. viewed together\n3. similar\nAnswer: ",
     True, "multiple-choice", {"options": [0, 1, 3], "option_answers": [0, 1, 2]}),
    # Entity questions worded without "entity": a quoted attribute in a quoted text.
    ("Determine the 'brand' mentioned in the product title 'Nike Men's Air Zoom Pegasus 38'.",
     False, "named_entity_recognition",
     {"entity_type": "brand", "source_text": "Nike Men's Air Zoom Pegasus 38"}),
    ('Identify the "color" in the title "Hydro Flask 32 oz Wide Mouth, Pacific Blue".', False,
     "named_entity_recognition", {"entity_type": "color"}),
    ("Find the 'screen size' from the following product title: “Samsung 55-Inch Crystal UHD "
     "TV”. Output a Python list.", False, "named_entity_recognition",
     {"entity_type": "screen size", "source_text": "Samsung 55-Inch Crystal UHD TV"}),
    # ... but two quoted texts alone make no entity question.
    ("List three uses of 'duct tape' for a 'camping trip in the mountains'.", False,
     "generation", {"generation_kind": "description"}),
    ("Translate 'Blue Bottle' from the title 'Blue Bottle, 1 litre' into German.", False,
     "generation", {"generation_kind": "translation", "language": "German"}),
    # A title to make up, from a review or a description; a title asked about is not one.
    ("Suggest a short headline for this customer review.\nReview: The kettle boils fast but "
     "leaks.\nOutput:", False, "generation",
     {"generation_kind": "title", "source_text": "The kettle boils fast but leaks."}),
    ("Write a catchy, memorable title for the product described below.\nInput: A steel "
     "water bottle that keeps drinks cold for 24 hours.\nOutput:", False, "generation",
     {"generation_kind": "title"}),
    ("Give the title of the book this review talks about.\nReview: A gripping thriller.\n"
     "Output:", False, "generation", {"generation_kind": "description"}),
    ("Generate a product title in French for: 'Blue enamel kettle, 1.7 litres'.", False,
     "generation", {"generation_kind": "translation", "language": "French"}),
    # The categories an item belongs to, asked in the instruction or in the input field; an
    # explanation of one category is a description.
    ("Which categories best describe the item 'Ninja Professional Blender 1000W, Black'?\n"
     "Output:", False, "generation",
     {"generation_kind": "category", "source_text": "Ninja Professional Blender 1000W, Black"}),
    ("Input: Sort the product called \"Lodge 10.25 Inch Cast Iron Skillet\" into its "
     "classifications.\nAnswer: ", False, "generation",
     {"generation_kind": "category", "source_text": "Lodge 10.25 Inch Cast Iron Skillet"}),
    ("Instruction: Please categorise this product for our catalogue.\nInput: Bamboo cutting "
     "board set\nOutput:", False, "generation",
     {"generation_kind": "category", "source_text": "Bamboo cutting board set"}),
    ("Instructions: Explain the product category name\nInput: Watch Band\nOutput:", False,
     "generation", {"generation_kind": "description"}),
    ("Input: Generate the category path for the product 'Lodge Cast Iron Skillet'.\nOutput:",
     False, "generation",
     {"generation_kind": "category", "source_text": "Lodge Cast Iron Skillet"}),
    # An order of every item asked without "rank" or "sort" is a ranking; a pick stays one.
    ("Order the following four candidate products by how well they match the query 'hiking "
     "boots', best first.\n" + "\n".join(f"{i}. boot {i}" for i in range(1, 5)) + "\nAnswer:",
     False, "ranking", {"num_candidates": 4, "pick": 4}),
    ("List these items from the most to the least relevant for 'desk lamp'.\n"
     + "\n".join(f"{i}. lamp {i}" for i in range(1, 6)) + "\nOutput:",
     False, "ranking", {"num_candidates": 5}),
    # Attribute values asked for without the word "entity": the attribute named, the text a
    # query or a product title.
    ("Extract the colour values from the product title below. Separate several with commas."
     "\nProduct title: Red and navy cotton T-shirt, size M\nOutput:", False,
     "named_entity_recognition", {"entity_type": "colour",
                                  "source_text": "Red and navy cotton T-shirt, size M"}),
    ("Identify the phrases that describe the material in the following query.\n"
     "Query: oak wood bookshelf with steel frame\nAnswer:", False, "named_entity_recognition",
     {"entity_type": "material"}),
    ("What is the brand of the product in the query? Output only the brand.\n"
     "Query: nike air max 90 white\nAnswer:", False, "named_entity_recognition",
     {"entity_type": "brand", "source_text": "nike air max 90 white"}),
    ("Which style is mentioned in the product title? List every one.\n"
     "Product title: Vintage boho maxi dress floral", False, "named_entity_recognition",
     {"entity_type": "style"}),
    ("List the words of the query that name the product type.\n"
     "Query: cheap wireless earbuds for running", False, "named_entity_recognition",
     {"entity_type": "product type"}),
    ("Detect the product's colour values in the title.\nTitle: Blue denim jacket", False,
     "named_entity_recognition", {"entity_type": "colour"}),
    # ... and what asks about a product title without asking for an attribute's values.
    ("Which category does the product belong to?\nProduct title: Ninja Blender 1000W", False,
     "generation", {}),
    ("What is the product in the query used for?\nQuery: carabiner clip", False,
     "generation", {"generation_kind": "description"}),
    ("Arrange the candidates and select the top 3 for the query 'desk lamp'.\n"
     + "\n".join(f"{i}. lamp {i}" for i in range(1, 11)) + "\nOutput:",
     False, "retrieval", {"num_candidates": 10, "pick": 3}),
    # Generation or entities decided by what is given and asked: a number of phrases to make
    # up is generation's keyword list; the values of a named attribute in a given short text,
    # asked with any verb that asks for them, are entities.
    ("Given the product title and description below, extract four pivotal keywords that "
     "capture what the product is.\nTitle: Stanley Classic Vacuum Bottle 1.1 qt\nDescription: "
     "Keeps drinks hot or cold for 24 hours.\nKeywords:", False, "generation",
     {"generation_kind": "keywords", "pick": 4}),
    ("Generate 5 tags for this product.\nProduct: Lego Star Wars Millennium Falcon kit",
     False, "generation", {"generation_kind": "keywords", "pick": 5}),
    ("Please select the appropriate 'Brand' from the product title 'Sony WH-1000XM4 Wireless "
     "Noise Cancelling Headphones'.", False, "named_entity_recognition",
     {"entity_type": "Brand",
      "source_text": "Sony WH-1000XM4 Wireless Noise Cancelling Headphones"}),
    ("From the following product title, pick out the brand.\nTitle: Levi's 501 Original Fit "
     "Jeans", False, "named_entity_recognition", {"entity_type": "brand"}),
    ("Tell me which brand appears in this search query.\nQuery: adidas ultraboost 22 black",
     False, "named_entity_recognition",
     {"entity_type": "brand", "source_text": "adidas ultraboost 22 black"}),
    ("Name the material that appears in this product title: Cotton Crew Neck T-Shirt",
     False, "named_entity_recognition",
     {"entity_type": "material", "source_text": "Cotton Crew Neck T-Shirt"}),
    ("What brand is mentioned in the product title 'Bose QuietComfort 45'? Answer with the "
     "brand only.", False, "named_entity_recognition",
     {"entity_type": "brand", "source_text": "Bose QuietComfort 45"}),
    # ... but a question about a product asks for an answer, not a value in its name.
    ("Pertaining to the product \"Redmon Bongo Buckets\", offer a response to the "
     "accompanying inquiry.\nQuery: Would these work well as laundry baskets?\nResponse:",
     False, "generation", {"generation_kind": "description"}),
    ("Which category does this product belong to?\nProduct: Lego Star Wars kit", False,
     "generation", {}),
    ("Which language is the product title written in? Title: Chaussures de randonnée",
     False, "generation", {}),
]


@pytest.mark.parametrize(("prompt", "is_mc", "task_type", "checks"), UNSEEN)
def test_unseen_wordings(prompt, is_mc, task_type, checks):
    decision = route(prompt, is_mc)
    assert decision.task_type == task_type
    for name, value in checks.items():
        assert getattr(decision, name) == value


@pytest.mark.parametrize(
    ("text", "language"),
    [("Translate the title into German.", "German"), ("Traduce al inglés:", "English"),
     ("when it appears on a(n) Japanese online shopping website", "Japanese"),
     ("Erklären Sie auf Deutsch", "German"), ("Describe the product.", "")],
)
def test_language_names(text, language):
    assert find_language(text) == language


def test_route_command_prints_one_line_per_question_and_a_summary(development_path, capsys):
    from runtime.cli import runtime_main

    assert runtime_main(["route", "--data", str(development_path)]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines()]
    assert [line["row"] for line in lines] == list(range(96))
    assert "96/96 task types right" in captured.err


# The lazy patterns the scanner replaces, as an oracle on short texts (quadratic on long ones).
_LAZY_SPANS = re.compile(r"""'(.+?)'(?=\s|$|[.,:;?)])|"(.+?)"(?=\s|$|[.,:;?)])|“(.+?)”|"""
                         r"""‘(.+?)’(?=\s|$|[.,:;?)])|「(.+?)」""", re.S)


def test_quoted_spans_are_what_the_lazy_pattern_finds():
    rng = random.Random(7)
    alphabet = "ab '\"“”‘’「」.,:;?)\n"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        expected = [(m.start(), m.end() - 1) for m in _LAZY_SPANS.finditer(text)]
        assert quoted_spans(text) == expected, text


def test_an_apostrophe_inside_a_quoted_title_does_not_end_it():
    text = "Find the 'brand' in the title 'Men's Running Shoes, Size 10'."
    assert [text[a + 1:b] for a, b in quoted_spans(text)] == [
        "brand", "Men's Running Shoes, Size 10"]


def test_quote_heavy_prompts_route_like_short_ones():
    # 25,000 quoted words and an unclosed quote: routed in one pass, as a short prompt is.
    long = "Determine the 'x' in the product title '" + "'a' " * 25_000 + "'."
    short = "Determine the 'x' in the product title '" + "'a' " * 5 + "'."
    assert route(long, False).task_type == route(short, False).task_type
    unclosed = "Write a description of '" + "a'b" * 30_000
    assert route(unclosed, False).generation_kind == "description"
