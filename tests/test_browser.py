"""The page in a real browser: Playwright for Python drives Debian's Chromium against the running app.

What a user does, end to end: predict a masked token and see the bars; tokenize Chinese and see the
characters drawn (not empty boxes); upload a labeled CSV, fine-tune a tiny BERT, watch the curves
grow, classify with the new model; reload the page during a run and find it again.

One app (started exactly as `python app.py` starts it, through app.serve) and one browser serve the
whole module; every test gets a fresh page. Without /usr/bin/chromium (or $BERTLAB_CHROMIUM), or
when it cannot start, every test here is skipped with the reason, so the README's test command
still passes on a machine without a browser. Never `playwright install`: no downloads.

On failure, a full-page screenshot and the page's HTML go to tests/_artifacts/<test>.png / .html.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import time
from pathlib import Path

import pytest

from conftest import finished_sentiment_run, write_labeled_csv, write_tiny_model

CHROMIUM = os.environ.get("BERTLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
TIMEOUT_MS = 60_000  # one UI step (load a model, start a worker) on a loaded 2-core machine
STEP_RE = re.compile(r"step (\d+) / (\d+)")


# ---------------------------------------------------------------------------------- fixtures


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless; skips the module when it is not there or will not start."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk, "
                    f"or set BERTLAB_CHROMIUM): browser tests skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install playwright): browser tests skipped")
    manager = sync_playwright().start()
    try:
        chromium = manager.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:  # a broken install, missing libraries, no /dev/shm ...
        manager.stop()
        pytest.skip(f"Chromium at {CHROMIUM} did not start: {str(exc).splitlines()[0][:300]}")
    yield chromium
    chromium.close()
    manager.stop()


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """The app as `python app.py` serves it, on a free port, with its own empty runs folder, plus
    the tiny models the tests type into the model boxes. Any run still going at the end is stopped."""
    import app

    base = tmp_path_factory.mktemp("browser")
    models = {"masked-lm": write_tiny_model(base / "tiny-mlm", "masked-lm"),
              "base": write_tiny_model(base / "tiny-base", "base")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BERTLAB_RUNS", str(base / "runs"))
        (base / "runs").mkdir()
        demo = app.serve(app.parse_args(["--host", "127.0.0.1", "--port", str(_free_port())]),
                         out=io.StringIO())
        try:
            yield {"url": demo.local_url, "runs": base / "runs", "models": models, "tmp": base}
        finally:
            demo.close()
            _stop_all_runs()


def _stop_all_runs(timeout: float = 30.0) -> None:
    """Never leave a worker training after the tests: ask every run to stop and wait."""
    from bertlab.training import runs

    for row in runs.list_runs():
        if row.get("state") in ("queued", "running"):
            runs.request_stop(row["path"])
    deadline = time.time() + timeout
    while time.time() < deadline and any(r.get("state") in ("queued", "running") for r in runs.list_runs()):
        time.sleep(0.3)


@pytest.fixture
def page(browser, lab, request):
    """A fresh page on the app, 1280 wide. If the test failed, its screenshot and HTML are saved.
    (The call phase's failure is counted in session.testsfailed before fixtures are torn down,
    so no hook in conftest.py is needed.)"""
    failed_before = request.session.testsfailed
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(lab["url"])
    tab.get_by_role("tab", name="Masked-token prediction").wait_for()
    yield tab
    if request.session.testsfailed > failed_before:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(tab.content(), encoding="utf-8")
        except Exception as exc:  # a crashed page must not hide the test's own failure
            print(f"could not save the failure screenshot: {exc}")
    context.close()


# ---------------------------------------------------------------------------------- helpers


def open_tab(page, name: str):
    """Click a top-level tab; returns its panel (Gradio renders only the selected tab's panel)."""
    page.get_by_role("tab", name=name, exact=True).click()
    panel = page.locator("[role=tabpanel]:visible")
    panel.wait_for()
    return panel


def choose_model(panel, label: str, value: str) -> None:
    """Type a model (a folder path or a run id) into a dropdown that accepts custom values."""
    box = panel.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    box.blur()


def show_run(panel, run: str, tries: int = 3) -> None:
    """Pick `run` in a training tab's Run box and wait until its status block shows it. The tab's
    page-load handler sets that box too (to the newest running run, or none): a run typed while the
    page is still loading can be overwritten, so it is typed again until the view follows."""
    for _ in range(tries):
        choose_model(panel, "Run", run)
        deadline = time.time() + 10
        while time.time() < deadline:
            if f"Run {run} ·" in progress_text(panel):
                return
            time.sleep(0.25)
    raise AssertionError(f"the tab never showed run {run}: {progress_text(panel)!r}")


def set_number(panel, label: str, value) -> None:
    box = panel.get_by_label(label, exact=True)
    # Fields in an accordion that has just been opened can be (re)mounted a moment after they
    # appear, dropping what was typed: type until the value stays.
    deadline = time.time() + 10
    while True:
        box.fill(str(value))
        box.blur()  # Gradio's Number sends its value on blur
        time.sleep(0.2)
        if float(box.input_value() or "nan") == float(value) or time.time() > deadline:
            break
    assert float(box.input_value()) == float(value), (label, box.input_value())


def start_finetune(page, data: Path, model: Path, epochs: int, max_minutes: float = 0) -> tuple:
    """In the Fine-tuning tab: upload `data`, check the detected columns, type the model, set a
    short schedule and press Start. Returns (panel, run id)."""
    panel = open_tab(page, "Fine-tuning")
    panel.locator("input[type=file]").first.set_input_files(str(data))
    # The preview names the detected columns; the dropdowns follow it.
    panel.get_by_text(re.compile(r"Detected: text review")).wait_for()
    assert panel.get_by_label("Label column", exact=True).input_value() == "sentiment"
    choose_model(panel, "Model", str(model))
    set_number(panel, "Epochs", epochs)
    # 2e-3: the tiny model learns the fixture in ~40 steps and stays there for thousands; at 5e-3
    # it fell back to chance now and then after a few hundred steps, and a budgeted run on a
    # quiet machine (800+ steps) could end on such a step and classify wrong.
    set_number(panel, "Learning rate", 2e-3)
    set_number(panel, "Batch size", 8)
    set_number(panel, "Max length (tokens)", 32)
    if max_minutes:
        panel.get_by_role("button", name="Advanced").click()  # the accordion that holds these
        set_number(panel, "Max minutes", max_minutes)
        # The schedule is sized for all the epochs; its usual 10% warm-up would keep the learning
        # rate near zero for the whole budget.
        set_number(panel, "Warm-up", 0)
    panel.get_by_role("button", name="Start fine-tuning", exact=True).click()
    panel.get_by_text(re.compile(r"Started run \S+")).wait_for()
    run_box = panel.get_by_label("Run", exact=True)
    page.wait_for_function("(el) => el.value !== ''", arg=run_box.element_handle())
    return panel, run_box.input_value()


def progress_text(panel) -> str:
    """The run's status block ("Run `id` · state", the step bar, elapsed / ETA / loss)."""
    block = panel.locator("[data-testid=markdown]").filter(has_text=re.compile(r"^\s*Run \S+ · "))
    return block.first.inner_text() if block.count() else ""


def line_points(plot, series: str) -> int:
    """How many points the SVG line of `series` in a gr.LinePlot has (Vega draws one path per
    series; its `d` is "M x,y L x,y ..." so the vertices are the M and L commands)."""
    path = plot.locator(f"path[aria-roledescription='line mark'][aria-label$='series: {series}']")
    if not path.count():
        return 0
    return len(re.findall(r"[ML]", path.first.get_attribute("d") or ""))


def ink_mask(png: bytes, dark: int = 110):
    """Pixels clearly darker than any background the tabs use (their chips are pastel): the glyph."""
    from PIL import Image
    import numpy as np

    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return grey < dark


# ---------------------------------------------------------------------------------- tests


def test_fill_mask_shows_the_predictions_chart(page, lab):
    from bertlab.modeling import registry as models

    # The English default gets a masked-LM head from bertlab/assets/default-mlm when that is
    # shipped; until then a tiny random masked-LM folder stands in (typed in, like any folder).
    model = "default" if models.default_mlm_overlay() else str(lab["models"]["masked-lm"])
    panel = open_tab(page, "Masked-token prediction")
    panel.get_by_label("Sentence (use [MASK] for each missing token)").fill("The capital of France is [MASK].")
    choose_model(panel, "Model", model)
    panel.get_by_role("button", name="Predict", exact=True).click()

    chart = panel.locator("[data-testid=label]").filter(has_text="mask #1")
    bars = chart.locator("meter.bar")
    bars.first.wait_for()
    assert bars.count() == 5  # top-k 5 by default
    scores = [float(bars.nth(i).get_attribute("value")) for i in range(5)]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0 + 1e-6
    tokens = [bars.nth(i).get_attribute("aria-label") for i in range(5)]
    # The heading is the top candidate, and the sentence is shown filled with it.
    assert chart.locator("[data-testid=label-output-value]").inner_text().strip() == tokens[0]
    filled = panel.locator("p").filter(has_text=re.compile(r"^Filled \(each mask on its own\)")).inner_text()
    assert "The capital of France is" in filled and tokens[0].lstrip("#") in filled
    box = bars.first.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0  # drawn, not just in the DOM
    assert "model=" in page.url and "text=" in page.url  # the result is shareable by its URL


def _has_cjk_font() -> bool:
    import shutil
    import subprocess

    if not shutil.which("fc-list"):
        return True  # cannot tell: let the pixel check decide
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    return bool(fonts.strip())


def test_chinese_tokenization_renders_real_glyphs(page):
    if not _has_cjk_font():
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk): Chinese would render as boxes")
    panel = open_tab(page, "Chinese tokenization")
    # The tab opens with its example already tokenized: nothing to press to see what it does.
    boxes = panel.locator(".token-box")
    boxes.first.wait_for()
    assert panel.get_by_text(re.compile(r"characters → \d+ BERT tokens")).count()

    text = "我爱北京天安门，我们喜欢学习。"
    panel.get_by_label("Text", exact=True).fill(text)
    panel.get_by_role("button", name="Tokenize", exact=True).click()

    # BERT's view: one box per token (position, token, id, type, mask), one token per character.
    def tokens_shown() -> list[str]:
        return [t.strip() for t in panel.locator(".token-box > div:nth-child(2)").all_inner_texts()]

    deadline = time.time() + 30
    while tokens_shown()[1:-1] != list(text) and time.time() < deadline:
        time.sleep(0.2)
    tokens = tokens_shown()
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert tokens[1:-1] == list(text)
    summary = panel.get_by_text(re.compile(r"characters → \d+ BERT tokens")).inner_text()
    assert "jieba words" in summary and "no [UNK]" in summary

    # jieba's words, as chips: 北京 and 天安门 stay whole.
    words_row = panel.locator("tr").filter(has_text="precise (used for whole-word masking)")
    chips = [c.strip() for c in words_row.locator("td span").all_inner_texts()]
    assert {"北京", "天安门", "喜欢", "学习"} <= set(chips), chips

    # Are the characters drawn, or empty "tofu" boxes? Without a CJK font, Chromium draws the same
    # .notdef box for every character (or nothing at all). So, from real screenshots of what the
    # user sees: (1) every character's cell has dark "ink" pixels, and (2) different characters
    # have different ink (tofu boxes are pixel-identical). Comparing ink masks (dark pixels only)
    # ignores the cells' alternating pastel backgrounds. canvas measureText widths would not do:
    # CJK glyphs are all one em wide, real or tofu; document.fonts.check() is true for any font
    # that needs no download, installed or not.
    import numpy as np

    cells = {ch: panel.locator(".token-box > div:nth-child(2)").nth(1 + text.index(ch)) for ch in "北京学习"}
    masks = {ch: ink_mask(cell.screenshot()) for ch, cell in cells.items()}
    for ch, mask in masks.items():
        assert mask.sum() >= 20, f"{ch}: its cell has no visible glyph ({mask.sum()} dark pixels)"
    h = min(m.shape[0] for m in masks.values())
    w = min(m.shape[1] for m in masks.values())
    chars = list(masks)
    for i, a in enumerate(chars):
        for b in chars[i + 1:]:
            differing = np.logical_xor(masks[a][:h, :w], masks[b][:h, :w]).sum()
            assert differing >= 20, f"{a} and {b} are drawn alike ({differing} pixels differ): tofu boxes?"
    # The same for two two-character jieba chips.
    chip = {w: words_row.locator("td span").filter(has_text=re.compile(f"^{w}$")).first for w in ("北京", "学习")}
    a, b = (ink_mask(c.screenshot()) for c in chip.values())
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    assert a.sum() >= 40 and b.sum() >= 40 and np.logical_xor(a[:h, :w], b[:h, :w]).sum() >= 40


def test_finetune_upload_watch_finish_and_classify(page, lab):
    data = write_labeled_csv(lab["tmp"] / "reviews.csv")
    # 72 training rows / batch 8 = 9 steps an epoch. A fixed number of steps finished between two
    # page polls on a fast CI machine, so the run is sized by time instead: far more epochs than
    # can run, ended by a 12-second budget (Max minutes 0.2). That streams for the same wall time
    # on any machine (the page polls every 1.5 s; the engine logs every 2 steps or 2 s). A quiet
    # 2-core CPU does ~500 steps in that time; the tiny model needs a few dozen to learn that one
    # sentiment word decides the label (checked below by classifying with it).
    panel, run = start_finetune(page, data, lab["models"]["base"], epochs=500, max_minutes=0.2)
    assert (lab["runs"] / run).is_dir()
    saved = json.loads((lab["runs"] / run / "run_config.json").read_text())
    assert (saved["max_minutes"], saved["warmup"]) == (0.2, 0.0), "the form's values did not reach the run"
    # The innermost Gradio block labelled so: the plot itself.
    loss_plot = panel.locator(".block").filter(has_text="Loss (train and validation)").last

    seen_steps, seen_points, deadline = [], [], time.time() + 150
    while time.time() < deadline:
        text = progress_text(panel)
        match = STEP_RE.search(text)
        if match and (not seen_steps or int(match.group(1)) != seen_steps[-1]):
            seen_steps.append(int(match.group(1)))
        points = line_points(loss_plot, "train loss")
        if points and (not seen_points or points != seen_points[-1]):
            seen_points.append(points)
        # The budget ends the run cleanly: stopped part-way (resumable, and it says so), model saved.
        if "· stopped" in text and "Stopped at step" in text and "is saved" in text:
            break
        assert "· failed" not in text and "· interrupted" not in text, text
        time.sleep(0.3)
    else:
        raise AssertionError(f"run {run} did not end; last status: {progress_text(panel)!r}")

    # The step counter and the plot both moved at least twice while the run went on.
    assert len(seen_steps) >= 3 and seen_steps == sorted(seen_steps), seen_steps
    assert len(seen_points) >= 3 and seen_points == sorted(seen_points), seen_points
    assert "time budget of 0.2 min reached" in progress_text(panel)
    assert panel.get_by_text("Confusion matrix").is_visible()

    # The new model appears in the classification tab's list by itself (no refresh button, no
    # reload: the page follows the runs folder) and classifies.
    panel = open_tab(page, "Sentence classification")
    box = panel.get_by_label("Model", exact=True)
    deadline = time.time() + 20
    while True:
        box.click()
        option = page.get_by_role("option", name=run)
        if option.count():
            break
        assert time.time() < deadline, f"{run} never appeared in the classification model list"
        # Close the list and leave the box, so the next click opens it afresh with the new choices
        # (a click on the still-focused box after Escape did not reopen it).
        page.keyboard.press("Escape")
        box.blur()
        time.sleep(1)
    option.click()
    assert box.input_value().rstrip("/").endswith(run)  # listed by its folder
    text = "the story was really great"
    panel.get_by_label("Text", exact=True).fill(text)
    panel.get_by_role("button", name="Classify", exact=True).click()
    prediction = panel.locator("[data-testid=label]").filter(has_text="Prediction")
    heading = prediction.locator("[data-testid=label-output-value]")
    heading.wait_for()
    labels = prediction.locator("meter.bar")
    assert sorted(labels.nth(i).get_attribute("aria-label") for i in range(labels.count())) == \
        ["negative", "positive"]
    # The page answers what the saved model answers (how far 12 s of training gets the tiny model
    # depends on the machine's load, so the label itself is not fixed).
    from bertlab.inference.classify import classify
    from bertlab.modeling.registry import load_model

    expected = classify(text, load_model(str(lab["runs"] / run / "final"), head="classification", task="classify"))
    assert heading.inner_text().strip() == expected["label"]


def test_reloaded_page_reattaches_to_the_running_run(page, lab):
    data = write_labeled_csv(lab["tmp"] / "reviews-long.csv", seed=1)
    # 9 steps an epoch × 1000 (the page's maximum): far longer than the test on any machine (the
    # 2-core CPU does ~45 steps/s with the tiny model, CI machines several times that); stopped
    # at the end.
    panel, run = start_finetune(page, data, lab["models"]["base"], epochs=1000)
    deadline = time.time() + 120
    while not (STEP_RE.search(progress_text(panel)) and "· running" in progress_text(panel)):
        assert time.time() < deadline, f"run {run} never started training: {progress_text(panel)!r}"
        time.sleep(0.3)

    page.reload()
    panel = open_tab(page, "Fine-tuning")
    run_box = panel.get_by_label("Run", exact=True)
    page.wait_for_function("([el, run]) => el.value === run", arg=[run_box.element_handle(), run])
    # Re-attached: the status block shows this run, and its step counter keeps moving.
    steps, deadline = [], time.time() + 60
    while len(steps) < 2:
        assert time.time() < deadline, f"no progress after the reload; status: {progress_text(panel)!r}"
        text = progress_text(panel)
        match = STEP_RE.search(text)
        if run in text and match and (not steps or int(match.group(1)) != steps[-1]):
            steps.append(int(match.group(1)))
        time.sleep(0.3)
    assert steps[1] > steps[0] and "· running" in progress_text(panel)

    # Stop from the page: it says so, and the run ends stopped (resumable) short of its total.
    panel.get_by_role("button", name="Stop", exact=True).click()
    panel.get_by_text(re.compile(f"Stop requested for {run}")).wait_for()
    deadline = time.time() + 60
    while "· stopped" not in progress_text(panel):
        assert time.time() < deadline, f"run {run} did not stop: {progress_text(panel)!r}"
        time.sleep(0.3)
    assert panel.get_by_role("button", name="Resume", exact=True).is_enabled()


def test_token_boxes_wrap_to_the_last_token(page):
    """A long text's tokens wrap onto more rows instead of running off the page (it was cut off
    at position 22 of 39): every box, the last included, lies inside the panel."""
    panel = open_tab(page, "Chinese tokenization")
    text = "自然语言处理是人工智能的一个重要方向，它研究人与计算机之间用自然语言进行有效通信的各种理论和方法。"
    panel.get_by_label("Text", exact=True).fill(text)
    panel.get_by_role("button", name="Tokenize", exact=True).click()
    boxes = panel.locator(".token-box")
    deadline = time.time() + 30
    while boxes.count() != len(text) + 2 and time.time() < deadline:
        time.sleep(0.2)
    assert boxes.count() == len(text) + 2
    container = panel.locator(".token-boxes")
    assert container.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the token boxes overflow sideways"
    right = panel.bounding_box()["x"] + panel.bounding_box()["width"]
    last = boxes.last.bounding_box()
    assert last["x"] + last["width"] <= right + 1 and last["y"] > boxes.first.bounding_box()["y"]  # wrapped
    assert boxes.last.locator("div").first.inner_text().strip() == str(len(text) + 1)


def _write_run(root: Path, run_id: str, task: str, events: list[dict]) -> None:
    from bertlab.training import runs

    folder = root / run_id
    folder.mkdir(parents=True)
    (folder / "run_config.json").write_text(json.dumps({"task": task, "model": "default"}))
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    runs.write_status(folder, "stopped", "stopped by the user")


def test_charts_show_first_evaluations_whole_labels_and_only_real_series(page, lab):
    """The charts of a run with one evaluation so far: the evaluation's single point is drawn, the
    y tick labels are whole (not clipped at the chart's edge), and the legend lists only series
    with points (an MLM-only pre-training run has no NSP curves to name)."""
    train = [{"type": "train", "step": s, "total_steps": 60, "loss": 0.7 - s * 0.004,
              "train_accuracy": 0.5 + s * 0.004, "elapsed_s": s} for s in range(2, 40, 2)]
    evaluation = {"type": "eval", "step": 18, "eval_loss": 0.55, "eval_accuracy": 0.7, "eval_f1": 0.69,
                  "elapsed_s": 18}
    _write_run(lab["runs"], "20200101-000000-finetune-c0de", "finetune", train + [evaluation])
    pretrain = [{"type": "train", "step": s, "total_steps": 100, "mlm_loss": 9 - s * 0.03,
                 "mlm_accuracy": s * 0.002, "elapsed_s": s} for s in range(5, 100, 5)]
    pretrain.append({"type": "eval", "step": 50, "eval_mlm_loss": 7.6, "eval_mlm_accuracy": 0.1, "elapsed_s": 50})
    _write_run(lab["runs"], "20200101-000001-pretrain-c0de", "pretrain", pretrain)

    for tab, run, chart_label, single, absent in (
            ("Fine-tuning", "20200101-000000-finetune-c0de", "Loss (train and validation)", "validation loss",
             "accuracy"),
            ("Pre-training", "20200101-000001-pretrain-c0de", "MLM and NSP loss", "validation MLM loss", "NSP")):
        panel = open_tab(page, tab)
        show_run(panel, run)
        block = panel.locator(".block").filter(has=page.locator(".vega-embed")).filter(has_text=chart_label).last
        deadline = time.time() + 60  # generous: on 2 loaded cores the page's poll and Vega's redraw lag
        while line_points(block, single) < 2 and time.time() < deadline:
            time.sleep(0.3)
        assert line_points(block, single) >= 2, f"{tab}: the single {single} point is not drawn"
        # Tick labels are drawn whole: inside the chart's block, and not cut by the chart's own
        # SVG box (a label starting left of it lost its first digit: "0.70" showed as ".70").
        clipped = block.evaluate("""block => {
            const edge = block.getBoundingClientRect().left, out = [];
            block.querySelectorAll('.role-axis-label text').forEach(t => {
                const svg = t.ownerSVGElement, left = t.getBoundingClientRect().left;
                const cut = left < svg.getBoundingClientRect().left - 0.5 && getComputedStyle(svg).overflow !== 'visible';
                if (cut || left < edge) out.push(t.textContent);
            });
            return out; }""")
        assert clipped == [], (tab, clipped)
        labels = block.locator(".role-axis-label text")
        texts = [labels.nth(i).text_content() or "" for i in range(labels.count())]
        assert any(re.fullmatch(r"\d\.\d+", t.strip()) for t in texts), texts
        # The legend line under the chart: the axes, then only the series with points.
        legend = block.locator("xpath=following::*[contains(@class, 'plot-legend')][1]")
        shown = legend.inner_text()
        assert "loss by step" in shown and single in shown and absent not in shown, shown
        if tab == "Fine-tuning":  # metrics logged: accuracy and F1 only, so no precision or ROC-AUC
            metrics = panel.locator(".plot-legend").filter(has_text="value by step").last.inner_text()
            assert "accuracy" in metrics and "F1" in metrics, metrics
            assert "precision" not in metrics and "ROC-AUC" not in metrics, metrics


def test_attention_explorer_grid_enlarges_the_clicked_head(page, lab):
    """Fill-mask's attention explorer: one small map per layer x head, captions with the share of
    attention on special tokens; clicking a map picks its layer and head and enlarges it with the
    tokens on both axes."""
    panel = open_tab(page, "Masked-token prediction")
    panel.get_by_label("Sentence (use [MASK] for each missing token)").fill("The capital of France is [MASK].")
    choose_model(panel, "Model", str(lab["models"]["masked-lm"]))
    panel.get_by_text("Attention explorer: every layer and head").click()
    panel.get_by_role("button", name="Show attention", exact=True).click()
    summary = panel.get_by_text(re.compile(r"\d+ layers × \d+ heads over \d+ tokens"))
    summary.wait_for()
    layers, heads = map(int, re.search(r"(\d+) layers × (\d+) heads", summary.inner_text()).groups())
    thumbs = panel.locator("[data-testid=gallery] img, .gallery img, .grid-wrap img")
    deadline = time.time() + 30
    while thumbs.count() < layers * heads and time.time() < deadline:
        time.sleep(0.3)
    assert thumbs.count() == layers * heads
    assert re.search(r"\b1·1 \d+%", panel.locator(".grid-wrap").inner_text())  # layer·head, share on specials
    # Click the map of layer 2, head 1 (row-major: index = heads).
    thumbs.nth(heads).click()
    enlarged = panel.get_by_text(re.compile(r"Layer 2, head 1: each row is a token"))
    enlarged.wait_for()
    table = panel.locator("table").filter(has_text="[MASK]").last
    assert table.locator("tr").count() >= 8  # a header row and one row per token


def test_why_heat_strip_marks_the_words_for_and_against(page, lab):
    """Classification's "Why?": the text comes back as one shaded span per word, the sentiment
    words strongest; another label can be picked and explained."""
    panel = open_tab(page, "Sentence classification")
    panel.get_by_label("Text", exact=True).fill("The plot makes no sense and the jokes fall flat.")
    panel.get_by_text("Why? Which words made this answer").click()
    panel.get_by_role("button", name="Explain", exact=True).click()
    strip = panel.locator(".heat-strip")
    strip.wait_for()
    words = strip.locator(".attribution")
    assert [words.nth(i).inner_text() for i in range(words.count())][:3] == ["The", "plot", "makes"]
    scores = {words.nth(i).inner_text(): float(words.nth(i).get_attribute("data-score")) for i in range(words.count())}
    strongest = max(scores, key=lambda w: abs(scores[w]))
    assert strongest in ("no", "flat", "sense"), scores
    assert "Evidence for negative" in panel.inner_text()
    # Explain the other label: the same words now count against it.
    choose_model(panel, "Label to explain", "positive")
    panel.get_by_role("button", name="Explain", exact=True).click()
    panel.get_by_text("Evidence for positive").wait_for()
    flipped = {w.inner_text(): float(w.get_attribute("data-score")) for w in strip.locator(".attribution").all()}
    assert flipped[strongest] * scores[strongest] < 0


def test_runs_compared_side_by_side(page, lab):
    """Two runs picked in the Runs tab: one line per run on each chart, the legend naming them,
    and the one setting that differs."""
    root = lab["runs"]
    for run_id, lr, losses in (("20200102-000000-finetune-cmpa", 1e-4, (0.7, 0.5, 0.3)),
                               ("20200102-000001-finetune-cmpb", 3e-5, (0.7, 0.65, 0.6))):
        events = [{"type": "train", "step": 10 * (i + 1), "loss": loss, "elapsed_s": 10.0 * (i + 1)}
                  for i, loss in enumerate(losses)]
        events.append({"type": "eval", "step": 30, "eval_accuracy": 0.9 if lr > 1e-4 / 2 else 0.7, "elapsed_s": 31})
        _write_run(root, run_id, "finetune", events)
        config = json.loads((root / run_id / "run_config.json").read_text())
        (root / run_id / "run_config.json").write_text(json.dumps({**config, "lr": lr}))
    panel = open_tab(page, "Runs")
    panel.get_by_text("Compare runs side by side").click()
    box = panel.get_by_label("Runs to compare (2 to 5)")
    for run_id in ("20200102-000000-finetune-cmpa", "20200102-000001-finetune-cmpb"):
        box.fill(run_id)
        box.press("Enter")
    panel.get_by_role("button", name="Compare", exact=True).click()
    legend = panel.locator(".plot-legend").filter(has_text="run 1: 20200102-000000-finetune-cmpa").first
    legend.wait_for()
    assert "run 2: 20200102-000001-finetune-cmpb" in legend.inner_text()
    chart = panel.locator(".block").filter(has=page.locator(".vega-embed")).filter(
        has_text="Training loss (MLM loss for pre-training)").last
    deadline = time.time() + 20
    while (line_points(chart, "run 1") < 3 or line_points(chart, "run 2") < 3) and time.time() < deadline:
        time.sleep(0.3)
    assert line_points(chart, "run 1") == 3 and line_points(chart, "run 2") == 3
    settings = panel.locator(".block").filter(has_text="Settings that differ").last
    assert "lr" in settings.inner_text() and "3e-05" in settings.inner_text()


def test_compression_panel_exports_a_finished_run_and_shows_each_form(page, lab):
    """Runs tab → a finished fine-tuning run → "Compress: ONNX and int8" → Export: the table shows
    one row per form (PyTorch, ONNX, int8) with the figures export.json on disk holds."""
    run_id = "20200103-000000-finetune-compress"
    folder = finished_sentiment_run(lab["runs"] / run_id, write_labeled_csv(lab["tmp"] / "compress-reviews.csv", n=80))

    panel = open_tab(page, "Runs")
    show_run(panel, run_id)
    panel.get_by_text("Compress: ONNX and int8").click()
    panel.get_by_role("button", name="Export to ONNX and int8, and measure").click()
    table = panel.locator(".block").filter(has_text="Each form beside PyTorch").last
    deadline = time.time() + 240  # a child process imports torch, exports twice and measures
    while time.time() < deadline:
        text = table.inner_text()
        if "int8" in text and "ONNX" in text:
            break
        assert "Could not" not in panel.inner_text(), panel.inner_text()
        time.sleep(0.5)
    else:
        raise AssertionError(f"the table never filled: {table.inner_text()!r}")
    report = json.loads((folder / "export" / "export.json").read_text())
    assert [f["form"] for f in report["forms"]] == ["pytorch", "onnx", "int8"]
    # Each form's row, in order: its title, size on disk (MB) and p50 latency (ms) as export.json says.
    text = table.inner_text()
    at = 0
    for form in report["forms"]:
        row = re.search(re.escape(form.get("title", form["form"])) + r"\s+([\d.]+)\s+([\d.]+)", text[at:])
        assert row, (form, text)
        assert float(row.group(1)) == pytest.approx(form["size_mb"], rel=1e-3)
        assert float(row.group(2)) == pytest.approx(form["p50_ms"], rel=1e-3)
        at += row.end()
    assert "validation on 8 rows" in panel.inner_text()
