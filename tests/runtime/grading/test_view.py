"""The page of every answer (`runtime view`), opened in a real headless Chromium (Debian's
chromium and chromium-driver, driven by Selenium; nothing downloaded): the overview, filters
applied through the page itself, the URL fragment, runs side by side with compare's own paired
differences, hostile prompts shown as text, and a screenshot of each view."""

import json
import shutil
import time
from pathlib import Path

import pytest

from runtime.cli import evaluation_main, runtime_main
from runtime.grading.view import inline_json, write_page
from tests.conftest import SAMPLE

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
HOSTILE = ("Which is right? <script>window.hacked = 1</script></textarea></pre>"
           "<img src=x onerror=\"window.hacked = 2\">\n0. yes\n1. no\nAnswer: ")


def _driver():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("no Selenium: install the dev extra (scripts/setup.sh does)")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("no headless browser: as root, apt-get install chromium chromium-driver "
                    "(scripts/setup.sh does where it runs as root)")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture(scope="module")
def browser():
    driver = _driver()
    yield driver
    driver.quit()


def opened(browser, page: Path, fragment: str = ""):
    """The page loaded afresh (a new fragment alone would not reload it)."""
    browser.get("about:blank")
    browser.get(page.resolve().as_uri() + fragment)
    deadline = time.monotonic() + 30
    while not browser.execute_script("return window.viewReady === true"):
        assert time.monotonic() < deadline, "the page never finished drawing"
        time.sleep(0.05)
    return browser


def js(browser, script):
    return browser.execute_script(script)


def choose(browser, select_id, value):
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", select_id)).select_by_value(value)


def shown_rows(browser):
    return js(browser, "return [...document.querySelectorAll('#list article')].map("
                       "a => [Number(a.dataset.row), a.dataset.task])")


def screenshot_checked(browser, path: Path):
    from PIL import Image

    browser.save_screenshot(str(path))
    assert path.stat().st_size > 20_000
    image = Image.open(path).convert("L")
    low, high = image.getextrema()
    assert high - low > 100  # not a blank page


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    rows = [json.loads(x) for x in SAMPLE.read_text().splitlines()]
    choice = next(r for r in rows if r["is_multiple_choice"])
    rows.append({**choice, "input_field": HOSTILE, "output_field": 0,
                 "task_name": "hostile-task"})
    folder = tmp_path_factory.mktemp("hostile")
    data = folder / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = folder / "run"
    assert evaluation_main(["--model", "dummy", "--data", str(data), "--output-dir", str(out),
                            "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, development_path):
    folder = tmp_path_factory.mktemp("two")
    runs = []
    for model in ("dummy", "baseline"):
        out = folder / model
        assert evaluation_main(["--model", model, "--data", str(development_path),
                                "--output-dir", str(out), "--no-progress"]) == 0
        runs.append(out)
    return runs


def test_a_run_writes_its_own_page_which_fetches_nothing(hostile_run):
    page = (hostile_run / "view.html").read_text(encoding="utf-8")
    assert "default-src 'none'" in page  # nothing loads from outside the file
    assert "http://" not in page.split("<script id=\"data\"")[0]
    assert " src=" not in page.split("<script id=\"data\"")[0]
    # The data cannot close its own element: no "<" inside it at all.
    data = page.split('type="application/json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and "\\u003cscript>" in data
    assert inline_json({"a": "</script>\u2028"}) == '{"a":"\\u003c/script>\\u2028"}'
    assert "view.html" in (hostile_run / "report.md").read_text()


def test_every_answer_is_shown_filtered_through_the_page_and_the_link_keeps_it(
        browser, hostile_run, tmp_path):
    opened(browser, hostile_run / "view.html")
    results = json.loads((hostile_run / "results.json").read_text())
    tasks = js(browser, "return [...document.querySelectorAll('#overview table')[1]"
                        ".querySelectorAll('tr')].slice(1).map(r => r.cells[0].textContent)")
    assert tasks == [t["task_name"] for t in results["tasks"]]
    screenshot_checked(browser, tmp_path / "overview.png")
    browser.find_element("id", "tab-answers").click()
    assert js(browser, "return document.getElementById('count').textContent").startswith(
        "43 of 43 matching answers")
    js(browser, "document.getElementById('more').click()")
    assert len(shown_rows(browser)) == 43
    choose(browser, "f-task", "sample-t1-attribute")
    rows = shown_rows(browser)
    assert rows and {task for _, task in rows} == {"sample-t1-attribute"}
    assert len(rows) == sum(t["num_samples"] for t in results["tasks"]
                            if t["task_name"] == "sample-t1-attribute")
    browser.find_element("id", "f-wrong").click()
    wrong = shown_rows(browser)
    saved = {json.loads(x)["row"]: json.loads(x)["score"]
             for x in (hostile_run / "predictions.jsonl").read_text().splitlines()}
    assert [row for row, _ in wrong] == sorted(row for row, _ in rows if saved[row] < 1)
    link = browser.current_url
    assert "task=sample-t1-attribute" in link and "wrong=1" in link
    screenshot_checked(browser, tmp_path / "answers.png")
    opened(browser, hostile_run / "view.html", "#" + link.split("#", 1)[1])
    assert shown_rows(browser) == wrong  # the link opens the same filtered list


def test_a_hostile_prompt_is_shown_as_text_and_runs_nothing(browser, hostile_run):
    opened(browser, hostile_run / "view.html", "#task=hostile-task")
    assert js(browser, "return window.hacked") is None
    texts = js(browser, "return [...document.querySelectorAll('#list pre.prompt')]"
                        ".map(p => p.textContent)")
    assert texts == [HOSTILE]
    assert js(browser, "return document.querySelectorAll('#list img, #list script').length") == 0


def test_runs_side_by_side_show_compares_own_paired_differences(browser, two_runs, tmp_path,
                                                                 capsys):
    page = write_page(two_runs, tmp_path / "both.html")
    capsys.readouterr()
    assert runtime_main(["compare", str(two_runs[0]), str(two_runs[1]), "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    opened(browser, page)
    cells = js(browser, "return [...document.querySelectorAll('#paired-tasks-2 tr')].slice(1)"
                        ".map(r => [r.cells[0].textContent, r.cells[6].textContent,"
                        " r.cells[7].textContent])")
    expected = [[t["name"], "–" if t["delta"] is None else f"{t['delta']:+.4f}",
                 " to ".join(f"{x:+.4f}" for x in t["paired_interval"])
                 if t["paired_interval"] else ("n/a" if t["interval_note"] else "–")]
                for t in compared["tasks"]]
    assert cells == expected and len(cells) == 18
    screenshot_checked(browser, tmp_path / "side-by-side.png")
    browser.find_element("id", "tab-answers").click()
    browser.find_element("id", "f-differs").click()
    differ = js(browser, "return document.querySelectorAll('#list .runcol.differs').length")
    assert differ > 0 and differ % 2 == 0  # both runs' columns of each differing question


def test_a_page_is_never_written_into_another_runs_folder(two_runs, tmp_path):
    from runtime.common.settings import ConfigError

    with pytest.raises(ConfigError, match="inside run folder"):
        write_page(two_runs, two_runs[1] / "both.html")
    (tmp_path / "link.html").symlink_to(two_runs[0] / "predictions.jsonl")
    with pytest.raises(ConfigError, match="is a link"):
        write_page(two_runs, tmp_path / "link.html")
    with pytest.raises(ConfigError, match="given twice"):
        write_page([two_runs[0], two_runs[0]])
