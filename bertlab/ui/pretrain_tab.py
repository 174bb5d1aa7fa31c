"""The pre-training tab: raw text in, a masked-language model out (MLM, optionally + NSP).

Wiring only: the sample batch comes from `service.preview_pretraining` (bertlab.training.tasks.pretraining
.preview_batch), the run trains in a worker process (`service.start_run`), and the live view polls
the run folder with a gr.Timer, like the fine-tuning tab. The "Run" dropdown holds the run this
browser session watches; on load it re-attaches to the newest running or queued pre-training run.

API names (for gradio_client): pretrain_preview, pretrain_start, pretrain_status, pretrain_stop,
pretrain_resume.
"""

from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from ..config import PRESETS, QUICK_START, TrainConfig, apply_overrides, apply_preset, quick_start
from ..errors import BadInput
from . import common
from .run_panel import RunPanel


ABOUT = """\
### Pre-training: how BERT learns language from raw text
**Masked-language modelling (MLM):** about 15% of the tokens are chosen; of those, 80% are replaced
by `[MASK]`, 10% by a random token and 10% stay as they are, and the model must predict the original
token at every chosen position from the words on **both** sides. The random and unchanged ones keep
it from learning that only `[MASK]` matters. **Next-sentence prediction (NSP):** each example is
`[CLS] A [SEP] B [SEP]`, where half the time B really follows A in the text (*IsNext*) and half the
time it is taken from another document (*NotNext*); the `[CLS]` vector learns to tell them apart.
Start **from scratch** (a size preset, usually with a new WordPiece vocabulary trained on your
text), or load a pretrained BERT and keep training it on your text: that is **continued
pre-training**, which adapts a general model to your domain's vocabulary and style.
"""

PRESET_INFO = {"tiny": "2 layers × 128", "mini": "4 × 256", "small": "4 × 512", "base": "12 × 768"}
SCRATCH, CONTINUE = "scratch", "continue"
LOG_EVERY = 2  # progress events every 2 steps, so the page (polling every 1.5 s) stays fresh

FORM_KEYS = ["corpus_examples", "corpus_files", "start_from", "preset", "model", "train_tokenizer",
             "vocab_size", "nsp", "wwm", "max_seq_length", "batch_size", "lr", "max_steps", "max_minutes",
             "warmup", "eval_every", "seed", "accelerate_config"]
STATUS_KEYS = ["progress", "loss_plot", "loss_plot_legend", "metrics_plot", "metrics_plot_legend", "predictions", "latest", "stop", "resume", "timer"]
# What gradio_client receives from the status endpoint: buttons are not API outputs.
STATUS_API_KEYS = [k for k in STATUS_KEYS if k not in ("stop", "resume")]

KIND_STYLE = {"mask": ("#f59e0b", "[MASK]"), "random": ("#a855f7", "random"), "kept": ("#22c55e", "kept")}


# ---------------------------------------------------------------------------------- config


def corpus_examples(service) -> dict[str, str]:
    files, _ = common.attempt("list the example files", service.example_files)
    return {name: path for name, path in (files or {}).items() if "corpus" in name.lower()}


# Form inputs -> the config settings they set (the rest keeps the task's defaults).
SETTINGS = {"model": "model", "train_tokenizer": "pretrain.train_tokenizer", "vocab_size": "pretrain.vocab_size",
            "nsp": "pretrain.nsp", "wwm": "pretrain.wwm", "max_seq_length": "pretrain.max_seq_length",
            "batch_size": "batch_size", "lr": "lr", "max_steps": "max_steps", "max_minutes": "max_minutes",
            "warmup": "warmup", "eval_every": "eval_every", "seed": "seed"}


def pretrain_config(corpus: list[str], *, start_from: str = SCRATCH, preset: str = QUICK_START["pretrain.preset"],
                    **form) -> TrainConfig:
    """The TrainConfig the CLI's `pretrain` builds from the same values: the task's defaults with the
    form's quick start (bertlab.config.QUICK_START, the preset's learning rate and batch size where
    the form gives none) and the form's values, checked by the config's rules with the field named."""
    scratch = start_from == SCRATCH
    if scratch and preset not in PRESETS:
        raise BadInput(f"choose a size preset for training from scratch: {', '.join(PRESETS)}")
    values = {SETTINGS[key]: value for key, value in form.items()}
    model = str(values.get("model") or "").strip()
    train_tokenizer = bool(values.get("pretrain.train_tokenizer", QUICK_START["pretrain.train_tokenizer"]))
    if not scratch and train_tokenizer:
        # A new vocabulary would renumber every token under the model's learned embeddings.
        raise BadInput("continued pre-training keeps the model's own vocabulary: untick 'Train a new "
                       "WordPiece tokenizer', or start from scratch")
    # From scratch the model only lends its vocabulary (when no tokenizer is trained).
    values["model"] = "" if scratch and train_tokenizer else model
    values.update({"pretrain.corpus": list(corpus or []), "pretrain.preset": preset if scratch else "",
                   "log_every": LOG_EVERY})
    config = apply_overrides(TrainConfig.for_task("pretrain"), **QUICK_START)
    config = apply_preset(apply_overrides(config, **{"pretrain.preset": values["pretrain.preset"]}), set(values))
    config = common.config_from_form(config, values)
    if config.max_steps < 1:  # the form trains by steps (the CLI's 0 means: by epochs)
        raise BadInput(f"Max steps: {config.max_steps} is below the minimum 1")
    return config


# ---------------------------------------------------------------------------------- rendering


def batch_html(preview: dict) -> str:
    """The sample batch: each token as the model sees it, coloured by what masking did to it, with
    the original token under every changed or chosen one; segment B underlined; the NSP label."""
    esc = lambda s: html.escape(str(s))
    badge = "color:white;padding:1px 6px;border-radius:4px"
    legend = " ".join(f"<span style='background:{color};{badge}'>{name}</span>"
                      for color, name in KIND_STYLE.values())
    parts = [f"<div style='margin-bottom:6px'>Chosen for prediction: {legend} "
             f"(small text: the original token the model must predict). "
             f"<span style='border-bottom:3px solid #3b82f6'>Sentence A</span> · "
             f"<span style='border-bottom:3px solid #9ca3af'>sentence B</span>. "
             f"Vocabulary: {preview.get('vocab_size', '?'):,} tokens.</div>"]
    for i, example in enumerate(preview.get("examples") or []):
        label = example.get("nsp_label", "-")
        badge_color = {"IsNext": "#16a34a", "NotNext": "#dc2626"}.get(label, "#6b7280")
        cells = []
        for tok in example.get("tokens") or []:
            kind = tok.get("kind") or ""
            underline = "#3b82f6" if int(tok.get("segment") or 0) == 0 else "#9ca3af"
            style = (f"display:inline-block;margin:2px 1px;padding:1px 4px;border-radius:4px;"
                     f"font-family:monospace;text-align:center;border-bottom:3px solid {underline};")
            if kind in KIND_STYLE:
                color = KIND_STYLE[kind][0]
                cells.append(f"<span class='tok tok-{kind}' style='{style}background:{color};color:white' "
                             f"title='{kind}: original {esc(tok.get('original'))}'>{esc(tok.get('token'))}"
                             f"<br><small>{esc(tok.get('original'))}</small></span>")
            else:
                cells.append(f"<span class='tok' style='{style}'>{esc(tok.get('token'))}</span>")
        nsp = (f"<span class='nsp' style='background:{badge_color};{badge}'>NSP: {esc(label)}</span>"
               if label != "-" else "<em>MLM only (no NSP)</em>")
        parts.append(f"<div style='margin:8px 0;line-height:2.2'><strong>Example {i + 1}</strong> {nsp}<br>"
                     f"{''.join(cells)}</div>")
    return "".join(parts)


def predictions_frame(events: list[dict]) -> pd.DataFrame:
    """The latest evaluation's sample sentences: the masked word, the answer, the top guesses."""
    latest = common.last_event(events, "eval", "sample_predictions")
    rows = []
    for item in latest.get("sample_predictions") or []:
        preds = item.get("predictions") or []
        top = preds[0][0] if preds else ""
        rows.append([item.get("text", ""), item.get("answer", ""),
                     ", ".join(f"{tok} ({p:.2f})" for tok, p in preds),
                     "yes" if top == item.get("answer") else "no"])
    return pd.DataFrame(rows, columns=["sentence (one word masked)", "answer",
                                       "top predictions (probability)", "top-1 right?"])


def view(state: dict | None) -> dict:
    """The tab's own part of the live view (the run panel adds the status line and buttons)."""
    events = (state or {}).get("events") or []
    latest = common.status_json(state)
    latest["sample_predictions"] = common.last_event(events, "eval", "sample_predictions").get(
        "sample_predictions", [])
    return {**common.chart("loss_plot", common.loss_frame(events, "pretrain"), common.PRETRAIN_LOSSES, "loss"),
            **common.chart("metrics_plot", common.metrics_frame(events, "pretrain"), common.PRETRAIN_METRICS,
                           "accuracy"),
            "predictions": predictions_frame(events),
            "latest": latest}


def run_panel(service) -> RunPanel:
    return RunPanel(service, "pretrain", keys=STATUS_KEYS, view=view,
                    api={"status": "pretrain_status", "stop": "pretrain_stop", "resume": "pretrain_resume"},
                    model_note="in the fill-mask model list (Masked-token prediction tab) and as a base model "
                               "for fine-tuning",
                    stop_note="keeps a checkpoint and saves the model so far.")


def status_values(service, run: str) -> dict:
    return run_panel(service).values(run)


# ---------------------------------------------------------------------------------- the tab


def create_tab(service) -> dict:
    d = TrainConfig.for_task("pretrain")  # the CLI's defaults too (bertlab.config)
    q = quick_start()  # what the form starts with: a tiny model from scratch
    number = lambda key, **kwargs: common.setting_number(q, key, **kwargs)
    corpora = corpus_examples(service)
    models, _ = common.attempt("list the models", service.model_choices, "pretrain")
    models = models or ["default"]
    c: dict = {}

    gr.Markdown(ABOUT)
    if service.demo:
        gr.Markdown(common.DEMO_NOTE)

    with gr.Column(visible=not service.demo) as setup:
        gr.Markdown("#### 1 · Corpus")
        with gr.Row():
            c["corpus_examples"] = gr.CheckboxGroup(
                choices=list(corpora), value=list(corpora)[:1], label="Example corpora",
                info="written for bertlab" if corpora else "none in this checkout: upload your own text")
            c["corpus_files"] = gr.File(label="…and/or your own text files (UTF-8 or GBK; blank lines "
                                              "separate documents, otherwise one document per line)",
                                        file_count="multiple", file_types=[".txt", ".text", ".md"],
                                        type="filepath")
        gr.Markdown("#### 2 · Model")
        with gr.Row():
            c["start_from"] = gr.Radio(choices=[("From scratch (size preset)", SCRATCH),
                                                ("Continue pre-training a model", CONTINUE)],
                                       value=SCRATCH, label="Start from")
            c["preset"] = gr.Dropdown(choices=[(f"{p} ({PRESET_INFO[p]})", p) for p in PRESETS], value=q.pretrain.preset,
                                      label="Size preset (layers × hidden)")
            c["model"] = gr.Dropdown(choices=models, value="default" if "default" in models else models[0],
                                     allow_custom_value=True, interactive=False,
                                     label="Model to continue from",
                                     info="default, a finished run, a folder or a hub id")
        with gr.Row():
            c["train_tokenizer"] = gr.Checkbox(value=q.pretrain.train_tokenizer,
                                               label="Train a new WordPiece tokenizer on the corpus")
            c["vocab_size"] = number("pretrain.vocab_size")
            c["nsp"] = gr.Checkbox(value=q.pretrain.nsp,
                                   label="Next-sentence prediction (off = MLM only, RoBERTa-style)")
            c["wwm"] = gr.Checkbox(value=q.pretrain.wwm,
                                   label="Whole-word masking (English ## pieces, Chinese jieba words)")
        gr.Markdown("#### 3 · Training")
        with gr.Row():
            c["max_seq_length"] = number("pretrain.max_seq_length")
            c["batch_size"] = number("batch_size")
            c["lr"] = number("lr", info="set from the preset; change freely")
            c["max_steps"] = number("max_steps")
            c["max_minutes"] = number("max_minutes", info="time budget; 0 = none")
        with gr.Accordion("Advanced", open=False):
            with gr.Row():
                c["warmup"] = number("warmup", info="< 1: share of the steps; ≥ 1: steps")
                c["eval_every"] = number("eval_every", info="each evaluation also shows the sample predictions")
                c["seed"] = number("seed")
            gr.Markdown(common.ACCELERATE_HELP)
            c["accelerate_config"] = common.accelerate_file(gr)
        with gr.Row():
            c["preview_button"] = gr.Button("Show a sample batch")
            c["start"] = gr.Button("Start pre-training", variant="primary", interactive=not service.demo)
        c["preview"] = gr.HTML()
    c["setup"] = setup

    gr.Markdown("#### 4 · The run")
    panel = run_panel(service)
    panel.message()
    panel.chooser(info="the run shown below; pick any pre-training run to watch it", refresh=True)
    panel.progress()
    with gr.Row():
        c["loss_plot"], c["loss_plot_legend"] = common.line_plot("MLM and NSP loss", "loss", common.PRETRAIN_LOSSES)
        c["metrics_plot"], c["metrics_plot_legend"] = common.line_plot("MLM and NSP accuracy", "accuracy", common.PRETRAIN_METRICS,
                                             y_lim=[0, 1])
    c["predictions"] = gr.Dataframe(value=predictions_frame([]), interactive=False, wrap=True,
                                    label="Sample sentences at the latest evaluation: watch the model learn")
    with gr.Accordion("Status as JSON", open=False):
        c["latest"] = gr.JSON()
    panel.timer()
    c.update(panel.c)

    status_outputs = panel.outputs(c)
    form_inputs = [c[k] for k in FORM_KEYS]

    # ------------------------------------------------------------------ handlers

    def chosen_examples(names) -> list[str]:
        """Example names -> paths; only names are accepted, never paths from the request."""
        unknown = [n for n in names or [] if n not in corpora]
        if unknown:
            raise BadInput(f"unknown example corpus {unknown[0]!r}; choose one of: "
                           f"{', '.join(corpora) or 'none'}")
        return [corpora[n] for n in names or []]

    def uploads(files) -> list[str]:
        return [common.check_upload_size(service, common.upload_path(f)) for f in (files or [])
                if common.upload_path(f)]

    def build(values: dict) -> TrainConfig:
        corpus = chosen_examples(values["corpus_examples"]) + uploads(values["corpus_files"])
        return pretrain_config(corpus, **{k: values[k] for k in FORM_KEYS
                                          if k not in ("corpus_examples", "corpus_files", "accelerate_config")})

    def preview(*values):
        config, error = common.attempt("check the settings", build, dict(zip(FORM_KEYS, values)))
        if error:
            return common.error_box(error)
        result, error = common.attempt("build a sample batch", service.preview_pretraining, config)
        if error:
            common.warn(error)
            return common.error_box(error)
        return batch_html(result)

    def start(*values):
        values = dict(zip(FORM_KEYS, values))
        no_change = [gr.update(), gr.update()]
        if service.demo:
            return [common.error_box("Training is switched off in this public demo.")] + no_change
        # Check everything before making a folder or copying a byte: the settings, then every corpus
        # file (an empty, binary or undecodable one is refused here, not by a run that fails at once).
        checked, error = common.attempt("check the settings", build, values)
        if not error:  # the built config names the chosen examples and the uploads
            _, error = common.attempt("read the corpus", service.check_corpus, list(checked.pretrain.corpus))
            error = error and f"Not started: {error}"
        if error:
            common.warn(error)
            return [common.error_box(error)] + no_change
        # The service copies the uploads into the new run folder, so the run owns its data.
        config = checked
        config.accelerate_config = common.upload_path(values["accelerate_config"])
        try:
            run_path = service.start_run(config, uploads=uploads(values["corpus_files"]) + [config.accelerate_config])
        except Exception as exc:  # BadInput: the user's to fix; anything else: logged
            return common.start_failed(exc, "pre-training") + no_change
        return panel.started(run_path)

    def on_mode(start_from, preset):
        """From scratch: the preset's learning rate and batch; continued: the CLI's defaults."""
        scratch = start_from == SCRATCH
        lr, batch = _preset_defaults(preset) if scratch else (d.lr, d.batch_size)
        return gr.Dropdown(interactive=scratch), gr.Dropdown(interactive=not scratch), lr, batch, \
            gr.Checkbox(value=scratch)

    def on_preset(start_from, preset):
        if start_from != SCRATCH:
            return gr.update(), gr.update()
        return _preset_defaults(preset)

    # ------------------------------------------------------------------ wiring

    c["start_from"].input(on_mode, [c["start_from"], c["preset"]],
                          [c["preset"], c["model"], c["lr"], c["batch_size"], c["train_tokenizer"]],
                          api_visibility="private")
    c["preset"].input(on_preset, [c["start_from"], c["preset"]], [c["lr"], c["batch_size"]],
                      api_visibility="private")
    # The preview trains a small tokenizer when asked: keep it to a couple at a time.
    c["preview_button"].click(preview, form_inputs, [c["preview"]], api_name="pretrain_preview",
                              concurrency_limit=2)
    c["start"].click(start, form_inputs, [c["message"], c["run"], c["timer"]], api_name="pretrain_start",
                     concurrency_limit=1).then(panel.status, [c["run"]], status_outputs, api_visibility="private")
    c["load"] = panel.wire(c)  # app.py runs these when a page opens
    return c


def _preset_defaults(preset: str) -> tuple[float, int]:
    """(learning rate, batch size) that make short runs of this preset learn (bertlab.config.PRESETS)."""
    spec = PRESETS.get(preset) or PRESETS[QUICK_START["pretrain.preset"]]
    return spec["lr"], spec["batch_size"]
