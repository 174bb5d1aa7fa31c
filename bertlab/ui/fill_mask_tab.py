"""The masked-token prediction tab: the first thing a visitor tries.

Wiring only: every answer comes from `service.fill_mask` (bertlab/inference/fill_mask.py); this module never
imports torch. One event computes both sides (model A and, optionally, model B on the same
sentence), so the API endpoint `fill_mask` returns the whole view in one call. The sentence and the
models live in the page URL (`?text=...&model=...&compare=...&top_k=...`): the page reads them on
load and predicts straight away, so a shared link reproduces the result.
"""

from __future__ import annotations

import html
import logging
import threading
from urllib.parse import urlencode, urlsplit

import gradio as gr

from ..errors import BadInput
from ..service import AUTO
from . import attention_view
from .common import md_escape, warn

log = logging.getLogger(__name__)

ABOUT = """\
### Masked-token prediction
BERT is an **encoder only**: it does not write text left to right, it reads the **whole sentence at
once, in both directions**. Put `[MASK]` where a word is missing; for each masked position the model
scores **every entry of its vocabulary** (a softmax over ~30,000 tokens for English BERT) and the bars
below show the most probable ones. This is the task BERT was pre-trained on.
With several masks you see two readings: each mask on its own (one pass), and a *joint* fill that
places the word the model is surest about first and predicts the others again.
For a Chinese model **`[MASK]` stands for one character** (Chinese BERT reads one character per token).
"""

EXAMPLES = [
    "The capital of France is [MASK].",
    "The [MASK] [MASK] is the capital of China.",
    "I went to the [MASK] to buy some milk.",
    "She was so [MASK] that she could not stop smiling.",
    "北京是中国的[MASK]都。",
    "我爱[MASK][MASK]天安门。",
]

MAX_SLOTS = 4  # masks shown as bar charts per side; the rest are in the raw result
SIDE_KEYS = ["message", *[f"mask_{i + 1}" for i in range(MAX_SLOTS)], "fills", "tokens"]
# The order of the outputs of the `fill_mask` endpoint (and of the page-load event).
OUTPUT_KEYS = ["raw", "link"] + [f"a_{k}" for k in SIDE_KEYS] + [f"b_{k}" for k in SIDE_KEYS]

# Runs in the browser before the request: keep the page URL in step with what is shown.
_URL_JS = """
(text, a, b, k) => {
  try {
    const p = new URLSearchParams(window.location.search);
    p.set("text", text || "");
    if (a) { p.set("model", a); } else { p.delete("model"); }
    if (b) { p.set("compare", b); } else { p.delete("compare"); }
    p.set("top_k", String(k));
    history.replaceState(null, "", window.location.pathname + "?" + p.toString() + window.location.hash);
  } catch (e) {}
  return [text, a, b, k];
}
"""

_HEAT_CSS = ("display:inline-block;margin:2px;padding:2px 5px;border-radius:4px;"
             "font-family:monospace;font-size:0.9em;text-align:center;")


# -------------------------------------------------------------------------------- rendering


def _fills_markdown(result: dict) -> str:
    lines = [f"**Filled** (each mask on its own): {md_escape(result['filled'])}"]
    joint = result.get("joint")
    if joint and len(result["masks"]) > 1:
        order = ", ".join(f"#{i + 1}" for i in joint["order"])
        lines.append(f"**Joint fill** (surest mask first, then predict again; order {order}): "
                     f"{md_escape(joint['filled'])}")
    return "  \n".join(lines)


def _tokens_html(result: dict) -> str:
    """The tokenized input (position, token, id; masks outlined), then one heat strip per mask:
    each token's background is that mask's last-layer attention to it (averaged over heads)."""
    tokens = result["tokens"]
    chips = []
    for i, tok in enumerate(tokens):
        border = "2px solid #e8590c" if tok["is_mask"] else "1px solid #ccc"
        chips.append(f'<span style="{_HEAT_CSS}border:{border}"><small>{i}</small><br>'
                     f'{html.escape(tok["token"])}<br><small>{tok["id"]}</small></span>')
    parts = ['<div><b>Tokenized input</b> (position / token / id; masks outlined)</div>',
             f'<div style="line-height:1.1">{"".join(chips)}</div>']
    attention = result.get("attention")
    if attention:
        parts.append("<div style='margin-top:8px'><b>Attention of each mask</b> over the input "
                     "(last layer, mean over heads: softmax(QK<sup>T</sup>/&radic;d)); darker = "
                     "more attention</div>")
        for number, (mask, row) in enumerate(zip(result["masks"], attention), start=1):
            peak = max(row) or 1.0
            cells = []
            for tok, weight in zip(tokens, row):
                alpha = weight / peak  # scaled per strip so the pattern is visible
                colour = "#fff" if alpha > 0.6 else "inherit"
                cells.append(f'<span title="{weight:.3f}" style="{_HEAT_CSS}'
                             f'background:rgba(232,89,12,{alpha:.3f});color:{colour}">'
                             f'{html.escape(tok["token"])}</span>')
            parts.append(f'<div>mask #{number} (position {mask["position"]}): {"".join(cells)}</div>')
    return "\n".join(parts)


def _label_value(mask: dict) -> dict[str, float]:
    # gr.Label wants unique keys; WordPiece continuations keep their "##" so they stay distinct.
    return {cand["token"]: round(cand["score"], 6) for cand in mask["candidates"]}


def _side(service, text: str, model: str, top_k) -> tuple[dict, list]:
    """(raw result or {"error": ...}, output values for one side in SIDE_KEYS order)."""
    empty = [gr.update(value=None, visible=False) for _ in range(MAX_SLOTS)]
    try:
        result = service.fill_mask(text, model=model or None, top_k=int(top_k), joint=True,
                                   attention=True)
    except BadInput as exc:
        return {"error": str(exc)}, [f"**Cannot predict** with {md_escape(model or AUTO)}: "
                                     f"{md_escape(str(exc))}", *empty, "", ""]
    except Exception as exc:  # never take the page down: show it, log the traceback
        log.exception("fill-mask failed for model %r", model)
        message = f"internal error ({type(exc).__name__}: {exc}); details are in the server log"
        return {"error": message}, [f"**Cannot predict** with {md_escape(model or AUTO)}: "
                                    f"{md_escape(message)}", *empty, "", ""]
    header = f"**{md_escape(result.get('model') or model or 'default')}**"
    notes = [f"- {md_escape(n)}" for n in result.get("notices") or []]
    if len(result["masks"]) > MAX_SLOTS:
        notes.append(f"- showing the first {MAX_SLOTS} of {len(result['masks'])} masks; all are in "
                     "the raw result below")
    labels = []
    for slot in range(MAX_SLOTS):
        if slot < len(result["masks"]):
            mask = result["masks"][slot]
            labels.append(gr.update(value=_label_value(mask), visible=True,
                                    label=f"mask #{slot + 1} (token {mask['position']})"))
        else:
            labels.append(gr.update(value=None, visible=False))
    return result, ["\n".join([header, *notes]), *labels, _fills_markdown(result),
                    _tokens_html(result)]


def _share_link(request: gr.Request | None, text: str, model: str, compare: str, top_k) -> str:
    query = {"text": text or "", "top_k": int(top_k)}
    if model:
        query["model"] = model
    if compare:
        query["compare"] = compare
    base = ""
    referer = None
    try:
        referer = request.headers.get("referer") if request is not None else None
    except Exception:
        referer = None
    if referer:  # the page's own address (the API call itself goes to /gradio_api/...)
        parts = urlsplit(referer)
        base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    query_string = urlencode(query, errors="replace")  # a lone surrogate must not crash the answer
    url = f"{base}?{query_string}"
    # A short label: the URL of a long sentence is kilobytes of text (right-click copies the link).
    return f"[Link to this result]({url}) (the sentence, model and top-k travel in it)"


# -------------------------------------------------------------------------------- the tab


def create_tab(service) -> dict:
    try:
        choices = service.model_choices("fill-mask")
    except Exception:  # a broken runs folder must not stop the page from building
        log.exception("listing fill-mask models failed")
        choices = []
    # "auto" answers each sentence with the default for its language (English or Chinese).
    default_model = AUTO

    gr.Markdown(ABOUT)
    text = gr.Textbox(label="Sentence (use [MASK] for each missing token)", value=EXAMPLES[0], lines=2,
                      max_lines=8)
    gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[text], label="Examples")
    with gr.Row():
        model_a = gr.Dropdown(choices=[AUTO] + choices, value=default_model, allow_custom_value=True,
                              label="Model", info="auto = default-chinese for Chinese text, default for "
                              "English; or a default, a finished run, a folder or a hub id", scale=3)
        model_b = gr.Dropdown(choices=[""] + choices, value="", allow_custom_value=True,
                              label="Compare with (optional)",
                              info="a second model on the same sentence, side by side: the other default, a "
                              "finished pre-training run, or a hub id such as bert-base-uncased when online",
                              scale=3)
        top_k = gr.Slider(1, 20, value=5, step=1, label="Top-k", scale=2)
    predict = gr.Button("Predict", variant="primary")
    link = gr.Markdown()

    def side_components(prefix: str) -> dict:
        comps = {f"{prefix}_message": gr.Markdown()}
        with gr.Row():
            for i in range(MAX_SLOTS):
                comps[f"{prefix}_mask_{i + 1}"] = gr.Label(num_top_classes=20, visible=False,
                                                           min_width=200)
        comps[f"{prefix}_fills"] = gr.Markdown()
        comps[f"{prefix}_tokens"] = gr.HTML()
        return comps

    outs: dict = {}
    with gr.Row():
        with gr.Column():
            outs.update(side_components("a"))
        with gr.Column(visible=False) as b_column:
            outs.update(side_components("b"))
    outs["b_column"] = b_column
    attention_view.create(service, text, None, model_a, "fill-mask")
    with gr.Accordion("Raw result (JSON)", open=False):
        outs["raw"] = gr.JSON()
    outs["link"] = link
    outputs = [outs[k] for k in OUTPUT_KEYS]

    def answer(sentence, name_a, name_b, k, request: gr.Request):
        raw_a, view_a = _side(service, sentence, name_a, k)
        raw = {"a": raw_a}
        if name_b:
            raw_b, view_b = _side(service, sentence, name_b, k)
            raw["b"] = raw_b
        else:
            view_b = ["", *[gr.update(value=None, visible=False)] * MAX_SLOTS, "", ""]
        if "error" in raw_a:
            warn(raw_a["error"])
        return [raw, _share_link(request, sentence, name_a, name_b, k), *view_a, *view_b]

    gr.on([predict.click, text.submit], answer, inputs=[text, model_a, model_b, top_k], outputs=outputs,
          api_name="fill_mask", js=_URL_JS)

    # Layout blocks are not API outputs, so the second column follows the dropdown instead.
    model_b.change(lambda name: gr.Column(visible=bool(name)), inputs=[model_b], outputs=[b_column],
                   api_visibility="private")

    def on_load(request: gr.Request):
        """Fill the inputs from the page URL and answer at once; with no text in the URL, load the
        model in the background so the first Predict is quick."""
        params = dict(request.query_params) if request is not None else {}
        sentence, name_a, name_b, k = inputs_from_query(params, default_model)
        if not sentence.strip():
            threading.Thread(target=_warm, args=(service, name_a), daemon=True).start()
            return [gr.update()] * (4 + len(outputs))
        return [sentence, name_a, name_b, k, *answer(sentence, name_a, name_b, k, request)]

    return {"text": text, "model": model_a, "compare": model_b, "top_k": top_k, "predict": predict, **outs,
            # app.py runs this when a page opens
            "load": [(on_load, None, [text, model_a, model_b, top_k, *outputs])]}


def inputs_from_query(params: dict, default_model: str) -> tuple[str, str, str, int]:
    """(text, model, compare, top_k) from ?text=&model=&compare=&top_k= (missing -> defaults)."""
    try:
        k = min(20, max(1, int(params.get("top_k") or 5)))
    except ValueError:
        k = 5
    return (params.get("text") or "", params.get("model") or default_model,
            params.get("compare") or "", k)


def _warm(service, name: str) -> None:
    try:
        service.model(name or None, "masked-lm", "fill-mask", exported_ok=True)
    except Exception:  # a model without a head etc.: Predict will say so clearly
        pass
