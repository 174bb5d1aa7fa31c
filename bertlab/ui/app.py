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


# A chart Gradio 6.31 draws before the page's fonts have loaded measures its tick labels in the
# fallback font and is not laid out again: with the real font the labels came out a pixel or two
# wider than the room left for them and lost their first character ("0.70" showed as ".70").
# Labels allowed to spill into the block's own padding keep them whole.
CSS = """
.vega-embed, .vega-embed svg { overflow: visible !important; }
"""


def theme() -> gr.themes.Base:
    """Gradio's default look with one repair: its bundled Source Sans Pro SemiBold (weight 600,
    also used for bold) holds only a few glyphs in gradio 6.31 (A and B among 55), so bold text
    came out in a fallback font with A and B in another. Declaring 400 and 700 only makes bold
    text use the complete Bold file; no font is fetched from the network."""
    return gr.themes.Default(font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)),
                                   "ui-sans-serif", "system-ui", "sans-serif"])


# How often an open page checks whether a model appeared in (or left) the runs folder. A check is
# a few stat calls on the server (see Service.model_lists); the lists are re-sent only on a change.
MODEL_LISTS_POLL_S = 5.0

# Every model list on the page: (tab, component key, task whose models it lists, entries shown first).
MODEL_LISTS = [("fill-mask", "model", "fill-mask", ("auto",)), ("fill-mask", "compare", "fill-mask", ("",)),
               ("classify", "model", "classify", ("auto",)), ("tokenize", "model", "tokenize", ("default-chinese",)),
               ("finetune", "model", "finetune", ()), ("pretrain", "model", "pretrain", ())]


def build_app(service) -> gr.Blocks:
    with gr.Blocks(title="bertlab") as demo:
        gr.Markdown(INTRO + ("  \n*Public demo: training is switched off.*" if service.demo else ""))
        components: dict[str, dict] = {}
        with gr.Tabs():
            for label, key, module in TABS:
                with gr.Tab(label, id=key):
                    components[key] = module.create_tab(service) or {}
        demo.bertlab_components = components  # handy for tests and for wiring across tabs
        for parts in components.values():
            on_page_load(demo, parts.get("load") or [])
        demo.bertlab_sync_model_lists = follow_model_lists(demo, service, components)
    return demo


def on_page_load(demo: gr.Blocks, steps: list) -> None:
    """What a tab shows as soon as a page opens: the tab's (fn, inputs, outputs) steps, one after
    the other (a training tab first re-attaches to its running run, then shows it)."""
    event = None
    for fn, inputs, outputs in steps:
        event = (demo.load if event is None else event.then)(fn, inputs, outputs, api_visibility="private")


def follow_model_lists(demo: gr.Blocks, service, components: dict[str, dict]):
    """Keep every model list on the page in step with the runs folder: a run that finishes (here,
    from the command line or in another browser) is offered everywhere within MODEL_LISTS_POLL_S,
    and a reloaded page lists what exists now, not what existed when the server started.
    Returns the handler (for tests): (last signature) -> [dropdown updates..., new signature]."""
    targets = [(components[tab][key], task, lead) for tab, key, task, lead in MODEL_LISTS
               if key in components.get(tab, {})]
    tasks = sorted({task for _, task, _ in targets})

    def sync(seen: str):
        try:
            signature, lists = service.model_lists(tasks)
        except Exception:  # a broken hub cache or runs folder must not break the page
            return [gr.skip()] * len(targets) + [seen]
        if signature == seen:
            return [gr.skip()] * len(targets) + [seen]
        updates = []
        for _, task, lead in targets:
            names = list(lead) + [n for n in lists[task] if n not in lead]
            updates.append(gr.Dropdown(choices=names))
        return updates + [signature]

    seen = gr.State("")
    timer = gr.Timer(MODEL_LISTS_POLL_S)
    outputs = [component for component, _, _ in targets] + [seen]
    demo.load(sync, [seen], outputs, api_visibility="private")
    timer.tick(sync, [seen], outputs, api_visibility="private", concurrency_limit=None, trigger_mode="once")
    return sync
