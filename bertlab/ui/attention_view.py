"""The attention explorer, shared by the fill-mask and classification tabs: every layer x head as a
small heat map, one enlarged with its tokens (click a map, or pick layer and head), and each head's
share of attention on the special tokens. Wiring only, over `service.attention`."""

from __future__ import annotations

import gradio as gr

from .common import error_box, hide_server_paths

ABOUT = ("Each small map is one head of one layer: row *i* shows how token *i* spreads its attention over "
         "the tokens (darker = more). Many heads look mostly at `[CLS]` and `[SEP]` (the share is in each "
         "caption); others follow the previous or next token, or link related words. Click a map, or pick a "
         "layer and head, to see it large with its tokens.")


def create(service, text, pair, model, task: str) -> dict:
    c: dict = {}
    with gr.Accordion("Attention explorer: every layer and head", open=False):
        gr.Markdown(ABOUT)
        c["show"] = gr.Button("Show attention")
        c["summary"] = gr.Markdown()
        c["gallery"] = gr.Gallery(label="Layers (rows) × heads (columns); caption: layer·head and the share of "
                                        "attention on special tokens; click a map to enlarge it", columns=12,
                                  height="auto", allow_preview=False, object_fit="contain", show_label=True)
        with gr.Row():
            c["layer"] = gr.Slider(1, 12, value=1, step=1, label="Layer")
            c["head"] = gr.Slider(1, 12, value=1, step=1, label="Head")
        c["enlarged"] = gr.HTML()
        c["result"] = gr.State(None)

    def show(text_value, pair_value, model_name):
        from ..service import enlarged_html, thumbnail

        try:
            result = service.attention(text_value, pair_value or None, model_name or None, task)
        except Exception as exc:  # BadInput and any load failure: said on the page, which keeps serving
            message = error_box(hide_server_paths(exc))
            return [], message, gr.update(), gr.update(), "", None
        # Captions stay short enough for a 12-column grid: "layer·head share-on-specials".
        images = [(thumbnail(result["attentions"][l][h]), f"{l + 1}·{h + 1} {result['special_share'][l][h]:.0%}")
                  for l in range(result["layers"]) for h in range(result["heads"])]
        mean_share = sum(map(sum, result["special_share"])) / (result["layers"] * result["heads"])
        summary = (f"**{result['layers']} layers × {result['heads']} heads** over {len(result['tokens'])} tokens "
                   f"(model {result['model']}); on average **{mean_share:.0%}** of the attention goes to "
                   "special tokens." + (" The text was cut to its first tokens." if result["truncated"] else ""))
        return (images, summary, gr.Slider(maximum=result["layers"], value=1), gr.Slider(maximum=result["heads"], value=1),
                enlarged_html(result, 0, 0), result)

    def pick(result, evt: gr.SelectData):
        if not result:
            return gr.update(), gr.update()
        layer, head = divmod(int(evt.index), result["heads"])
        return layer + 1, head + 1

    def enlarge(result, layer, head):
        from ..service import enlarged_html

        if not result:
            return ""
        layer = min(max(int(layer), 1), result["layers"]) - 1
        head = min(max(int(head), 1), result["heads"]) - 1
        return enlarged_html(result, layer, head)

    inputs = [text, pair if pair is not None else gr.State(None), model]
    c["show"].click(show, inputs, [c["gallery"], c["summary"], c["layer"], c["head"], c["enlarged"], c["result"]],
                    api_visibility="private")
    c["gallery"].select(pick, [c["result"]], [c["layer"], c["head"]], api_visibility="private")
    gr.on([c["layer"].change, c["head"].change], enlarge, [c["result"], c["layer"], c["head"]], [c["enlarged"]],
          api_visibility="private")
    return c
