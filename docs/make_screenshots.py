"""Screenshots of every tab for the README, taken in a real browser from a freshly started app.

    python docs/make_screenshots.py            # about 2-5 minutes on a laptop CPU
    python docs/make_screenshots.py --quick    # tiny random models: checks the script, not for the README
    python docs/make_screenshots.py --only fill-mask   # retake some shots

Writes docs/screenshots/<tab>.png, 1280 pixels wide, each showing the tab at work: a fill-mask
answer, a tokenized Chinese sentence, a classification, a finished fine-tuning run with its curves,
a pre-training sample batch, and the runs list. Runs go to a temporary runs folder (never your own
runs/), the app is started exactly as `python app.py` starts it, and Chromium is Debian's
(/usr/bin/chromium, or $BERTLAB_CHROMIUM) driven by Playwright; nothing is downloaded.

The fill-mask shot needs an English model with a masked-LM head: `default` once
bertlab/assets/default-mlm is there, else pass --mlm-model (a finished pre-training run, a folder).
Without either, a tiny random model stands in and the script says so: retake the shot later.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("BERTLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTH = 1280
MARGIN = 12  # pixels kept below the last element a shot is about


SHOTS = ["fill-mask", "classify", "explain", "attention", "tokenize", "pretrain", "finetune", "compare"]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Take one README screenshot per tab of the bertlab page.")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"), help="folder for the PNGs")
    parser.add_argument("--mlm-model", default="",
                        help="model for the fill-mask shot (default: `default` when it has a masked-LM head)")
    parser.add_argument("--finetune-model", default="default", help="model the fine-tuning shot trains")
    parser.add_argument("--epochs", type=float, default=3, help="epochs of the fine-tuning shot's run")
    parser.add_argument("--lr", type=float, default=1e-4, help="learning rate of that run")
    parser.add_argument("--train-samples", type=int, default=0,
                        help="training rows of the example data the run uses (0 = all 360)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny random models everywhere: a fast check of the script itself")
    parser.add_argument("--timeout", type=float, default=900, help="seconds the fine-tuning run may take")
    parser.add_argument("--runs-dir", default="",
                        help="use this runs folder instead of a fresh one (the compare shot, taken only when "
                             "asked for with --only compare, needs two finished fine-tuning runs in it)")
    parser.add_argument("--only", nargs="+", choices=SHOTS, default=[s for s in SHOTS if s != "compare"],
                        help="retake only these shots (runs is taken with finetune: it lists that run)")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------- page helpers


def open_tab(page, name: str):
    page.get_by_role("tab", name=name, exact=True).click()
    panel = page.locator("[role=tabpanel]:visible")
    panel.wait_for()
    return panel


def type_into(panel, label: str, value) -> None:
    """Fill a textbox, number or custom-value dropdown and commit it (Enter for dropdowns, blur
    for numbers: Gradio sends those values then)."""
    box = panel.get_by_label(label, exact=True)
    box.fill(str(value))
    if box.get_attribute("role") == "combobox":
        box.press("Enter")
    box.blur()


def pick(page, panel, label: str, option: str) -> None:
    """Choose an option of a dropdown the way a user does: open it, click the entry."""
    panel.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def shoot(page, path: Path, *bottoms, top=None) -> None:
    """A 1280-wide shot from `top` (default: the page's top) down to just below the lowest of
    `bottoms`."""
    page.wait_for_timeout(600)  # let charts finish their transitions
    y0 = 0.0
    if top is not None:
        y0 = max(0.0, _page_box(page, top)["y"] - MARGIN)
    end = max((_page_box(page, b) for b in bottoms), key=lambda box: box["y"] + box["height"])
    height = min(end["y"] + end["height"] + MARGIN, page.evaluate("document.documentElement.scrollHeight"))
    page.screenshot(path=str(path), full_page=True,
                    clip={"x": 0, "y": y0, "width": WIDTH, "height": max(1.0, height - y0)})
    print(f"wrote {path} ({WIDTH}×{int(height - y0)})", flush=True)


def _page_box(page, locator) -> dict:
    """The element's box in page coordinates (bounding_box() is relative to the viewport)."""
    return locator.evaluate("(el) => { const r = el.getBoundingClientRect();"
                            " return {y: r.top + window.scrollY, height: r.height}; }")


def progress_text(panel) -> str:
    block = panel.locator("[data-testid=markdown]").filter(has_text=re.compile(r"^\s*Run \S+ · "))
    return block.first.inner_text() if block.count() else ""


# ---------------------------------------------------------------------------------- the tabs


def fill_mask(page, out: Path, model: str) -> None:
    panel = open_tab(page, "Masked-token prediction")
    panel.get_by_label("Sentence (use [MASK] for each missing token)").fill("The capital of France is [MASK].")
    type_into(panel, "Model", model)
    panel.get_by_role("button", name="Predict", exact=True).click()
    panel.locator("[data-testid=label] meter.bar").first.wait_for()
    shoot(page, out / "fill-mask.png", panel.get_by_text("Tokenized input").locator("xpath=../.."))


def classify(page, out: Path) -> None:
    """The offline default classifier (default-sentiment), as a visitor first sees the tab."""
    panel = open_tab(page, "Sentence classification")
    panel.get_by_label("Text", exact=True).fill("A warm, funny and beautifully acted film.")
    panel.get_by_role("button", name="Classify", exact=True).click()
    prediction = panel.locator("[data-testid=label]").filter(has_text="Prediction")
    prediction.locator("meter.bar").first.wait_for()
    shoot(page, out / "classify.png", prediction)


def explain(page, out: Path) -> None:
    """The classification tab's "Why?": the words that made default-sentiment's answer."""
    panel = open_tab(page, "Sentence classification")
    panel.get_by_label("Text", exact=True).fill("The plot makes no sense and the jokes fall flat, but the music is lovely.")
    panel.get_by_text("Why? Which words made this answer").click()
    panel.get_by_role("button", name="Explain", exact=True).click()
    strip = panel.locator(".heat-strip")
    strip.wait_for()
    shoot(page, out / "explain.png", strip.locator("xpath=../.."), top=panel.get_by_text("Why? Which words made this answer"))


def attention(page, out: Path, model: str) -> None:
    """The fill-mask tab's attention explorer, with one head enlarged."""
    panel = open_tab(page, "Masked-token prediction")
    panel.get_by_label("Sentence (use [MASK] for each missing token)").fill("The capital of France is [MASK].")
    type_into(panel, "Model", model)
    panel.get_by_text("Attention explorer: every layer and head").click()
    panel.get_by_role("button", name="Show attention", exact=True).click()
    panel.get_by_text(re.compile(r"\d+ layers × \d+ heads over")).wait_for()
    thumbs = panel.locator(".grid-wrap img")
    thumbs.nth(0).wait_for()
    thumbs.nth(2 * 12 + 3).click()  # layer 3, head 4
    enlarged = panel.get_by_text(re.compile(r"Layer 3, head 4: each row is a token"))
    enlarged.wait_for()
    shoot(page, out / "attention.png", panel.locator("table").filter(has_text="[MASK]").last,
          top=panel.get_by_text("Attention explorer: every layer and head"))


def tokenize(page, out: Path) -> None:
    panel = open_tab(page, "Chinese tokenization")
    panel.get_by_label("Text", exact=True).fill("我爱北京天安门。2024年iPhone 15的售价是5999元，比去年便宜了10%。")
    panel.get_by_role("button", name="Tokenize", exact=True).click()
    panel.get_by_text("Character (token) masking").wait_for()
    shoot(page, out / "tokenize.png", panel.get_by_text("Character (token) masking").locator("xpath=.."))


def finetune(page, out: Path, args, model: str) -> str:
    """Fine-tune on the shipped English sentiment examples and shoot the finished run's view."""
    panel = open_tab(page, "Fine-tuning")
    pick(page, panel, "…or use example data", "English sentiment (CSV)")
    panel.get_by_text(re.compile(r"Detected: text text")).wait_for()
    type_into(panel, "Model", model)
    type_into(panel, "Epochs", args.epochs)
    type_into(panel, "Batch size", 16)
    type_into(panel, "Max length (tokens)", 64)
    panel.locator("button.label-wrap").filter(has_text="Advanced").click()  # the accordion
    type_into(panel, "Evaluate every (steps)", 5)
    type_into(panel, "Max train samples", args.train_samples)
    type_into(panel, "Learning rate", 5e-3 if args.quick else args.lr)
    panel.get_by_role("button", name="Start fine-tuning", exact=True).click()
    panel.get_by_text(re.compile(r"Started run \S+")).wait_for()
    run = panel.get_by_label("Run", exact=True).input_value()
    print(f"fine-tuning run {run} started; waiting for it to finish", flush=True)
    deadline = time.time() + args.timeout
    while "· finished" not in progress_text(panel):
        text = progress_text(panel)
        if "· failed" in text or "· interrupted" in text or time.time() > deadline:
            raise SystemExit(f"the fine-tuning run did not finish: {text}")
        time.sleep(1)
    panel.get_by_text("Confusion matrix").wait_for()
    # The shot starts at the run section: the form above it is the same for every run.
    per_class = panel.locator(".block").filter(has=page.locator("p", has_text=re.compile(r"^Per class$"))).last
    roc = panel.locator(".block").filter(has_text="ROC curve (validation; two classes)").last
    shoot(page, out / "finetune.png", per_class, roc, top=panel.get_by_text("3 · The run", exact=True))
    return run


def pretrain(page, out: Path) -> None:
    panel = open_tab(page, "Pre-training")
    panel.get_by_role("button", name="Show a sample batch", exact=True).click()
    example = panel.get_by_text("Example 2", exact=True)
    problem = panel.locator("blockquote").filter(has_text="⚠️")  # the tab's error box
    example.or_(problem).first.wait_for(timeout=300_000)
    if problem.count():
        raise SystemExit(f"the sample batch failed: {problem.first.inner_text()}")
    shoot(page, out / "pretrain.png", example.locator("xpath=.."))


def compare(page, out: Path, run_ids: list[str]) -> None:
    """The Runs tab comparing finished fine-tuning runs (the two newest)."""
    panel = open_tab(page, "Runs")
    panel.get_by_text("Compare runs side by side").click()
    box = panel.get_by_label("Runs to compare (2 to 5)")
    for run_id in run_ids:
        box.fill(run_id)
        box.press("Enter")
    panel.get_by_role("button", name="Compare", exact=True).click()
    panel.locator(".plot-legend").filter(has_text=f"run 2: {run_ids[1]}").first.wait_for()
    settings = panel.locator(".block").filter(has_text="Settings that differ").last
    shoot(page, out / "compare.png", settings, top=panel.get_by_text("Compare runs side by side"))


def runs(page, out: Path, run: str) -> None:
    panel = open_tab(page, "Runs")
    # On load the tab shows the newest run: the one just fine-tuned.
    deadline = time.time() + 60
    while not (run in progress_text(panel) and "· finished" in progress_text(panel)):
        if time.time() > deadline:
            raise SystemExit(f"the runs tab does not show {run}: {progress_text(panel)!r}")
        time.sleep(0.5)
    plots = panel.locator(".block").filter(has_text="Validation metrics").last
    shoot(page, out / "runs.png", plots)


# ---------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not Path(CHROMIUM).exists():
        print(f"error: no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk, or set "
              f"BERTLAB_CHROMIUM)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="bertlab-shots-"))
    os.environ["BERTLAB_RUNS"] = args.runs_dir or str(scratch / "runs")  # before bertlab reads it
    Path(os.environ["BERTLAB_RUNS"]).mkdir(parents=True, exist_ok=True)

    from bertlab.modeling import registry as models

    mlm_model, ft_model = args.mlm_model, args.finetune_model
    if args.quick or not (mlm_model or models.default_mlm_overlay()):
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import write_tiny_model

        if not mlm_model:
            mlm_model = str(write_tiny_model(scratch / "tiny-mlm", "masked-lm"))
            print("note: no English masked-LM model (bertlab/assets/default-mlm is missing); the fill-mask "
                  "shot shows a tiny random model. Retake it with --mlm-model or once the default has "
                  "its head.", file=sys.stderr)
        if args.quick:
            ft_model = str(write_tiny_model(scratch / "tiny-base", "base"))
    mlm_model = mlm_model or "default"

    import app
    from playwright.sync_api import sync_playwright

    port = _free_port()
    demo = app.serve(app.parse_args(["--host", "127.0.0.1", "--port", str(port)]), out=io.StringIO())
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(demo.local_url)
            page.get_by_role("tab", name="Masked-token prediction").wait_for()
            try:
                if "fill-mask" in args.only:
                    fill_mask(page, out, mlm_model)
                if "classify" in args.only:
                    classify(page, out)
                if "explain" in args.only:
                    explain(page, out)
                if "attention" in args.only:
                    attention(page, out, mlm_model)
                if "tokenize" in args.only:
                    tokenize(page, out)
                if "pretrain" in args.only:
                    pretrain(page, out)
                if "finetune" in args.only:
                    run = finetune(page, out, args, ft_model)
                    page.reload()  # the runs tab lists runs on load
                    runs(page, out, run)
                if "compare" in args.only:
                    from bertlab.training import runs as run_folders

                    finished = [r["run"] for r in sorted(run_folders.list_runs(), key=lambda r: r.get("created") or 0,
                                                         reverse=True)
                                if r.get("task") == "finetune" and r.get("state") == "finished"]
                    if len(finished) < 2:
                        raise SystemExit("the compare shot needs two finished fine-tuning runs (--runs-dir)")
                    page.reload()
                    compare(page, out, finished[:2][::-1])
            except BaseException:
                page.screenshot(path=str(scratch / "failed.png"), full_page=True)
                print(f"failed; the page as it was: {scratch / 'failed.png'}, the runs: {scratch / 'runs'}",
                      file=sys.stderr)
                raise
            finally:
                browser.close()
    finally:
        demo.close()
        from bertlab.training import runs as run_folders

        for row in run_folders.list_runs():
            if row.get("state") in ("queued", "running"):
                run_folders.request_stop(row["path"])
    shutil.rmtree(scratch, ignore_errors=True)  # kept only when something failed, to look into
    print(f"screenshots in {out}")
    return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
