"""Assemble the Blocks page from the tab modules."""

from __future__ import annotations

import gradio as gr

from . import classify_tab, fill_mask_tab, finetune_tab, pretrain_tab, runs_tab, tokenize_tab

TABS = [
    ("Masked-token prediction", "fill-mask", fill_mask_tab),
    ("Sentence classification", "classify", classify_tab),
    ("Chinese tokenization", "tokenize", tokenize_tab),
    ("Fine-tuning", "finetune", finetune_tab),
    ("Pre-training", "pretrain", pretrain_tab),
    ("Runs", "runs", runs_tab),
]

INTRO = ("**bertlab** — a browser lab for BERT: predict masked tokens, classify sentences, see how "
         "Chinese text is tokenized, fine-tune on your labeled data and pre-train on your own corpus.")


def theme() -> gr.themes.Base:
    """Gradio's default look with one repair: its bundled Source Sans Pro SemiBold (weight 600,
    also used for bold) holds only a few glyphs in gradio 6.31 (A and B among 55), so bold text
    came out in a fallback font with A and B in another. Declaring 400 and 700 only makes bold
    text use the complete Bold file; no font is fetched from the network."""
    return gr.themes.Default(font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)),
                                   "ui-sans-serif", "system-ui", "sans-serif"])


def build_app(service) -> gr.Blocks:
    with gr.Blocks(title="bertlab") as demo:
        gr.Markdown(INTRO + ("  \n*Public demo: training is switched off.*" if service.demo else ""))
        components: dict[str, dict] = {}
        with gr.Tabs():
            for label, key, module in TABS:
                with gr.Tab(label, id=key):
                    components[key] = module.create_tab(service) or {}
        demo.bertlab_components = components  # handy for tests and for wiring across tabs
    return demo
