"""The "Chinese tokenization" tab: BERT's view of a text beside jieba's words and whole-word masking.

Wiring and rendering only: the numbers come from `service.tokenize` (bertlab.data.tokenization.tokenize_view).
No torch here.
"""

from __future__ import annotations

import html

import gradio as gr

from ..errors import BadInput
from .common import warn

INTRO = """
**How BERT reads Chinese.** BERT's Chinese vocabulary has one entry per character, so every
Chinese character is one token; English words and numbers are split into WordPiece pieces
(`iphone` → `i ##phone`), and characters missing from the vocabulary become `[UNK]`.
Word segmentation (jieba) is **not** what BERT sees. It is what *whole-word masking* uses: when a
pre-training example is masked, all characters of a word such as 北京 are masked together, so the
model cannot guess one half of a word from the other (Chinese-BERT-wwm).

The default vocabulary is `default-chinese`'s: bertlab built it offline (every character jieba knows,
ASCII, punctuation, full-width forms, English pieces) and pre-trained the `default-chinese` masked-LM on
it, so what you see here is exactly what that model reads. `bert-base-chinese` works too when it is cached.
"""

EXAMPLES = [
    ["我爱北京天安门，天安门上太阳升。", "", 0, 0],
    ["2024年iPhone 15的售价是5999元，比去年便宜了10%。", "", 0, 0],
    ["臺灣的經濟發展與國際關係密不可分。", "", 0, 0],
    ["今天天气真好😀，我们去公园散步吧！", "", 0, 1],
    ["自然语言处理是人工智能的一个重要方向。", "我想学习深度学习和机器学习。", 24, 0],
    ["龘靐是很少见的汉字，𠀀更少见。", "", 0, 0],
]

# Colours with dark text, readable in light and dark themes alike.
_TOKEN_BG = ("#cfe8ff", "#ffe3b3")  # alternate so neighbouring tokens are told apart
_UNK_BG = "#ff9e9e"
_SPECIAL_BG = "#e0e0e0"
_MASK_BG = "#b9f6ca"
_CHIP = "display:inline-block;padding:1px 4px;margin:1px;border-radius:4px;color:#111;"


def create_tab(service) -> dict:
    gr.Markdown(INTRO)
    with gr.Row():
        text = gr.Textbox(label="Text", lines=3, value=EXAMPLES[1][0], scale=3,
                          placeholder="输入中文、English、数字 …")
        pair = gr.Textbox(label="Second sentence (optional, token type 1)", lines=3, scale=2)
    with gr.Row():
        model = gr.Dropdown(label="Tokenizer", choices=_choices(service), value="default-chinese",
                            allow_custom_value=True, scale=2,
                            info="a default, a local folder, a run, or a cached hub id")
        max_length = gr.Number(label="Max length (0 = no limit)", value=0, precision=0, minimum=0)
        pad = gr.Checkbox(label="Pad to max length", value=True)
        seed = gr.Number(label="Masking seed", value=0, precision=0)
    button = gr.Button("Tokenize", variant="primary")
    summary = gr.Markdown()
    gr.Markdown("### BERT's view")
    bert = gr.HTML()
    gr.Markdown("### jieba's words")
    words = gr.HTML()
    gr.Markdown("### Whole-word masking vs. character masking")
    wwm = gr.HTML()
    with gr.Accordion("Raw output (the same JSON as `python -m bertlab tokenize --json`)", open=False):
        raw = gr.JSON()

    def tokenize(text_v, pair_v, model_v, max_length_v, pad_v, seed_v):
        try:
            length = int(max_length_v) if max_length_v else None
            try:
                seed_number = int(seed_v or 0)
            except (TypeError, ValueError, OverflowError):
                raise BadInput(f"the masking seed must be a whole number, not {seed_v!r}"[:200]) from None
            view = service.tokenize(text_v or "", pair=pair_v or None, model=model_v or None,
                                    max_length=length, seed=seed_number,
                                    padding=bool(pad_v and length))
        except BadInput as exc:  # the user's to fix: say so, keep the page serving
            warn(exc)
            return f"**Cannot tokenize:** {html.escape(str(exc))}", "", "", "", None
        return (render_summary(view), render_bert(view, text_v, pair_v or None),
                render_jieba(view), render_wwm(view), view)

    inputs = [text, pair, model, max_length, pad, seed]
    outputs = [summary, bert, words, wwm, raw]
    gr.on([button.click, text.submit], tokenize, inputs, outputs, api_name="tokenize")
    examples = gr.Examples(EXAMPLES, inputs=[text, pair, max_length, seed], label="Examples (click one)")
    # Run right after an example fills the boxes, with whatever tokenizer is selected.
    examples.load_input_event.then(tokenize, inputs, outputs, api_visibility="private")
    return {"text": text, "pair": pair, "model": model, "max_length": max_length, "pad": pad,
            "seed": seed, "button": button, "summary": summary, "bert": bert, "words": words,
            "wwm": wwm, "raw": raw,
            # What the page shows on load: the example already in the boxes, tokenized.
            "load": [(tokenize, inputs, outputs)]}


def _choices(service) -> list[str]:
    try:
        names = service.model_choices("tokenize")
    except Exception:  # listing must not stop the page from building (e.g. a broken hub cache)
        names = []
    return ["default-chinese"] + [n for n in names if n != "default-chinese"]


# ------------------------------------------------------------------------------------ rendering


def render_summary(view: dict) -> str:
    counts = view["counts"]
    parts = [f"**{counts['characters']}** characters → **{counts['tokens']}** BERT tokens "
             f"({counts['special_tokens']} special, {counts['padding']} padding) · "
             f"**{counts['jieba_words']}** jieba words"]
    if view["unk"]:
        shown = "、".join(html.escape(u) for u in view["unk"][:20])
        parts.append(f"`[UNK]` rate **{view['unk_rate']:.1%}**: {shown}"
                     + (" …" if len(view["unk"]) > 20 else ""))
    else:
        parts.append("no `[UNK]`: every character is in the vocabulary")
    for notice in view["notices"]:
        parts.append(f"⚠️ {html.escape(notice)}")
    return "  \n".join(parts)


def _spans_html(source: str, positions: list[int], view: dict, unk_id) -> str:
    """`source` with each token's span highlighted; text past the last token (truncated) greyed."""
    out, cursor = [], 0
    for n, pos in enumerate(positions):
        start, end = view["offsets"][pos]
        if start < cursor:  # overlapping spans do not occur in WordPiece; skip defensively
            continue
        out.append(_plain(source[cursor:start]))
        unk = view["input_ids"][pos] == unk_id
        bg = _UNK_BG if unk else _TOKEN_BG[n % 2]
        title = f"#{pos} {view['tokens'][pos]} id {view['input_ids'][pos]}"
        out.append(f'<span title="{html.escape(title)}" style="background:{bg};color:#111;'
                   f'border-radius:3px;padding:0 1px">{_plain(source[start:end])}</span>')
        cursor = end
    if cursor < len(source):
        out.append(f'<span style="color:#999;text-decoration:line-through" title="not read (truncated)">'
                   f"{_plain(source[cursor:])}</span>")
    return "".join(out)


def _plain(s: str) -> str:
    return html.escape(s).replace("\n", "<br>")


def render_bert(view: dict, text: str, pair: str | None) -> str:
    seq = view["sequence_ids"]
    unk_id = None
    for token, tid in zip(view["tokens"], view["input_ids"]):
        if token == "[UNK]":
            unk_id = tid
    parts = ['<div style="line-height:2;font-size:1.1em">']
    parts.append("<b>Text:</b> " + _spans_html(text or "", [i for i, s in enumerate(seq) if s == 0], view, unk_id))
    if pair:
        parts.append("<br><b>Second sentence:</b> "
                     + _spans_html(pair, [i for i, s in enumerate(seq) if s == 1], view, unk_id))
    parts.append("</div>")
    # One small box per token (position, token, input id, token type id, attention mask), in rows
    # that wrap at the page's width: a long text stays readable to its last token, with no sideways
    # scrolling (a one-row table cut off at position 22 of 39 on a laptop screen).
    parts.append('<p style="margin:6px 0 2px;color:#555;font-size:0.9em">Each box: position · <b>token</b> · '
                 "input id · token type id · attention mask (faint = padding, not attended)</p>")
    parts.append('<div class="token-boxes" style="display:flex;flex-wrap:wrap;gap:3px;max-width:100%">')
    for i, token in enumerate(view["tokens"]):
        if seq[i] is None:
            bg = _SPECIAL_BG
        elif view["input_ids"][i] == unk_id:
            bg = _UNK_BG
        else:
            bg = _TOKEN_BG[1] if view["token_type_ids"][i] else _TOKEN_BG[0]
        faint = "opacity:0.45;" if not view["attention_mask"][i] else ""
        parts.append(
            f'<div class="token-box" style="background:{bg};color:#111;{faint}border-radius:4px;padding:2px 6px;'
            f'text-align:center;line-height:1.35;min-width:2.2em">'
            f'<div style="color:#777;font-size:0.75em">{i}</div>'
            f'<div style="font-weight:bold;overflow-wrap:anywhere">{html.escape(token)}</div>'
            f'<div style="font-size:0.85em">{view["input_ids"][i]}</div>'
            f'<div style="font-size:0.75em;color:#555">{view["token_type_ids"][i]} · '
            f'{view["attention_mask"][i]}</div></div>')
    parts.append("</div>")
    return "".join(parts)


def render_jieba(view: dict) -> str:
    def chips(words: list[str]) -> str:
        return "".join(f'<span style="{_CHIP}background:{_TOKEN_BG[i % 2]}">{html.escape(w)}</span>'
                       for i, w in enumerate(words))

    modes = [("precise (used for whole-word masking)", view["jieba"]),
             ("full (every dictionary word)", view["jieba_full"]),
             ("search engine (precise + sub-words)", view["jieba_search"])]
    parts = ['<table style="line-height:1.9">']
    for label, words in modes:
        parts.append(f'<tr><th style="text-align:right;padding-right:8px;white-space:nowrap">{label}</th>'
                     f"<td>{chips(words)}</td></tr>")
    if view.get("pair_jieba"):
        parts.append('<tr><th style="text-align:right;padding-right:8px">second sentence, precise</th>'
                     f"<td>{chips(view['pair_jieba']['precise'])}</td></tr>")
    parts.append("</table>")
    return "".join(parts)


def render_wwm(view: dict) -> str:
    example = view["wwm_example"]
    tokens = view["tokens"]

    def row(masked: list[int]) -> str:
        chosen = set(masked)
        out = []
        for group in view["wwm_groups"]:
            cells = []
            for pos in group:
                if pos in chosen:
                    cells.append(f'<span title="{html.escape(tokens[pos])}" '
                                 f'style="{_CHIP}background:{_MASK_BG}"><b>[MASK]</b>'
                                 f'<small style="color:#555"> {html.escape(tokens[pos])}</small></span>')
                else:
                    cells.append(f'<span style="{_CHIP}background:#f3f3f3">{html.escape(tokens[pos])}</span>')
            # A frame around each multi-token word shows what whole-word masking keeps together.
            frame = "border:1px solid #999;border-radius:5px;" if len(group) > 1 else ""
            out.append(f'<span style="display:inline-block;{frame}margin:2px 3px">{"".join(cells)}</span>')
        return "".join(out)

    words = "、".join(html.escape(w) for w in example["whole_word_words"]) or "—"
    return (f"<p>Seed {example['seed']}: BERT masks {example['rate']:.0%} of the tokens, here "
            f"<b>{example['budget']}</b>. Framed tokens form one jieba word (or one English word).</p>"
            f'<p><b>Whole-word masking</b> picks words: {words}<br>{row(example["whole_word"])}</p>'
            f'<p><b>Character (token) masking</b> picks single tokens, often half a word:<br>'
            f'{row(example["plain"])}</p>')
