"""The viewer at scale: a run of 20,000 answers written as one page, opened and filtered in
headless Chromium (Debian's chromium and chromedriver, through Selenium).

The run: the development and tuning sets repeated until there are --answers questions, each
copy's prompts marked so that no question repeats, answered by the dummy model and scored as
any run is. Printed: the page's size, the time from navigation to the page drawn (its
`window.readyAt`), and the time of each filter applied through the page (a task, wrong only, a
text search, a sort), each the median of --repeats openings, the spread beside it.

    .venv/bin/python -m benchmarks.view_speed [--answers 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from runtime.cli import evaluation_main
from runtime.common.paths import REPO_ROOT

SHARED = REPO_ROOT.parent / "shared" / "data"
FILTERS = {
    "one task": "choose('f-task', document.getElementById('f-task').options[3].value)",
    "wrong only": "document.getElementById('f-wrong').click()",
    "text search": "const t = document.getElementById('f-text'); t.value = 'product'; "
                   "t.dispatchEvent(new Event('input'))",
    "sort by score": "choose('f-sort', 'score-asc')",
}


def big_data(out: Path, answers: int) -> Path:
    rows = [json.loads(x) for path in (SHARED / "development.json", SHARED / "tuning.jsonl")
            for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    written: list[dict[str, Any]] = []
    for copy in range(answers // len(rows) + 1):
        for row in rows:
            if len(written) == answers:
                break
            written.append({**row, "input_field": f"{row['input_field']}\n(copy {copy})"})
    path = out / "data.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in written),
                    encoding="utf-8")
    return path


def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(shutil.which("chromium"))
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))),
                            options=options)


def measure(driver: Any, page: Path) -> dict[str, float]:
    driver.get("about:blank")
    driver.get(page.resolve().as_uri() + "#view=answers")
    while not driver.execute_script("return window.viewReady === true"):
        time.sleep(0.01)
    times = {"open (navigation to drawn)": driver.execute_script("return window.readyAt")}
    for name, action in FILTERS.items():
        times[name] = driver.execute_script(
            "function choose(id, v) { const s = document.getElementById(id); s.value = v; "
            "s.dispatchEvent(new Event('change')); }"
            f"const t0 = performance.now(); {action}; return performance.now() - t0;")
    return times


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ms ({min(values):.0f}–{max(values):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = big_data(Path(folder), args.answers)
        run = Path(folder) / "run"
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            assert evaluation_main(["--model", "dummy", "--data", str(data), "--output-dir",
                                    str(run), "--no-progress"]) == 0
        print(f"{args.answers} answers evaluated (the page written with them) in "
              f"{time.perf_counter() - started:.0f} s")
        page = run / "view.html"
        print(f"page: {page.stat().st_size / 2**20:.1f} MiB, one file")
        driver = browser()
        try:
            runs = [measure(driver, page) for _ in range(args.repeats)]
        finally:
            driver.quit()
    print(f"| measure ({args.repeats} openings) | time |\n|---|---:|")
    for name in runs[0]:
        print(f"| {name} | {_spread([r[name] for r in runs])} |")


if __name__ == "__main__":
    main()
