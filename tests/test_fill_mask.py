"""Masked-token prediction on tiny random models: properties checked by hand, plus models whose
MLM bias we set so the right answer is known. Also the CLI (in-process) and the tab (gradio_client).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch

from bertlab import cli
from bertlab.errors import BadInput
from bertlab.inference.fill_mask import MAX_MASKS, fill_mask
from bertlab.modeling.registry import load_model


def _usable(folder: Path) -> Path:
    """Make sure the fixture's tokenizer knows its vocabulary. transformers 5 renamed
    BertTokenizerFast's `vocab_file=` argument to `vocab=` and ignores the old name, which leaves
    a 5-token vocabulary; re-save the tokenizer from vocab.txt when that happened."""
    from transformers import AutoTokenizer, BertTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    if tok.convert_tokens_to_ids("the") == tok.unk_token_id:
        BertTokenizer(vocab=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    return folder


@pytest.fixture
def mlm_dir(make_tiny_model):
    return _usable(make_tiny_model("masked-lm"))


@pytest.fixture
def loaded(mlm_dir):
    return load_model(str(mlm_dir), head="masked-lm")


def _boost(loaded, **bias):
    """Add to the MLM output bias of the given tokens so they win at every position."""
    vocab = loaded.tokenizer.get_vocab()
    with torch.no_grad():
        for token, value in bias.items():
            loaded.model.cls.predictions.decoder.bias[vocab[token.replace("__", "##")]] += value
    return loaded


def _dense_probs(loaded, ids, positions, attr="logits"):
    """Reference: softmax of the full model's logits at the mask positions."""
    with torch.no_grad():
        out = loaded.model(input_ids=torch.tensor([ids]))
    return torch.softmax(getattr(out, attr)[0, positions], dim=-1)


def _ids_positions(result):
    ids = [t["id"] for t in result["tokens"]]
    return ids, [m["position"] for m in result["masks"]]


# --------------------------------------------------------------------------------- the API


def test_scores_are_full_vocabulary_probabilities_in_descending_order(loaded):
    result = fill_mask("The [MASK] sat on the mat.", loaded, top_k=100, attention=False)
    (mask,) = result["masks"]
    cands = mask["candidates"]
    ids, positions = _ids_positions(result)
    probs = _dense_probs(loaded, ids, positions)[0]
    special = set(loaded.tokenizer.all_special_ids)
    # Each score is the probability the full model gives that token (softmax over the whole vocab).
    for cand in cands:
        assert cand["score"] == pytest.approx(probs[cand["token_id"]].item(), abs=1e-6)
        assert cand["token_id"] not in special
    scores = [c["score"] for c in cands]
    assert scores == sorted(scores, reverse=True) and len(cands) == 100
    # ...and they are the top-100 of the non-special tokens: nothing left out scores higher.
    rest = [p for i, p in enumerate(probs.tolist()) if i not in special and i not in
            {c["token_id"] for c in cands}]
    assert max(rest) <= scores[-1] + 1e-9
    # Probabilities over the vocabulary add up to 1: shown + not shown + special tokens.
    assert sum(scores) + sum(rest) + sum(probs[i].item() for i in special) == pytest.approx(1, abs=1e-5)


def test_known_answer_from_hand_set_bias(loaded):
    _boost(loaded, paris=25.0)
    result = fill_mask("The capital of France is [MASK].", loaded, top_k=3)
    top = result["masks"][0]["candidates"][0]
    assert top["token"] == "paris" and top["score"] > 0.99
    assert result["filled"] == "The capital of France is paris."
    assert result["joint"]["filled"] == "The capital of France is paris."


def test_several_masks_one_result_each_in_order(loaded):
    text = "the [MASK] sat on the [MASK] and the [MASK] ."
    result = fill_mask(text, loaded, top_k=4, attention=False)
    tokens = result["tokens"]
    assert tokens[0]["token"] == "[CLS]" and tokens[0]["special"]
    assert tokens[-1]["token"] == "[SEP]" and tokens[-1]["special"]
    mask_positions = [i for i, t in enumerate(tokens) if t["is_mask"]]
    assert [m["position"] for m in result["masks"]] == mask_positions and len(mask_positions) == 3
    assert all(tokens[p]["token"] == "[MASK]" for p in mask_positions)
    assert all(len(m["candidates"]) == 4 for m in result["masks"])
    # Each mask is predicted separately: its own distribution from the one pass.
    ids, positions = _ids_positions(result)
    probs = _dense_probs(loaded, ids, positions)
    for row, mask in enumerate(result["masks"]):
        best = mask["candidates"][0]
        assert best["score"] == pytest.approx(probs[row, best["token_id"]].item(), abs=1e-6)
    # The filled sentence has each mask's top word, in order, where the mask was.
    filled, cursor = result["filled"], 0
    assert "[MASK]" not in filled and filled.startswith("the") and filled.endswith(" .")
    for mask in result["masks"]:
        cursor = filled.index(mask["candidates"][0]["text"], cursor) + 1


def test_joint_fill_fills_the_surest_mask_first_and_predicts_again(loaded):
    result = fill_mask("the [MASK] [MASK] is the capital of [MASK] .", loaded, top_k=1, attention=False)
    joint = result["joint"]
    firsts = [m["candidates"][0] for m in result["masks"]]
    assert sorted(joint["order"]) == [0, 1, 2]
    # First pick: the mask whose top candidate is the most probable in the independent pass.
    first = joint["order"][0]
    assert first == max(range(3), key=lambda i: firsts[i]["score"])
    assert joint["tokens"][first] == firsts[first]["token"]
    # Second pick comes from a new pass with the first word in place.
    ids, positions = _ids_positions(result)
    ids[positions[first]] = firsts[first]["token_id"]
    rest = [i for i in range(3) if i != first]
    probs = _dense_probs(loaded, ids, [positions[i] for i in rest])
    probs[:, loaded.tokenizer.all_special_ids] = -1
    best = probs.max(dim=-1)
    second = rest[int(best.values.argmax())]
    assert joint["order"][1] == second
    assert joint["tokens"][second] == loaded.tokenizer.convert_ids_to_tokens(
        [int(best.indices[rest.index(second)])])[0]
    assert len(joint["filled"].split()) == len(result["filled"].split())


def test_single_mask_joint_equals_independent(loaded):
    result = fill_mask("a [MASK] movie", loaded, top_k=2)
    assert result["joint"]["filled"] == result["filled"]
    assert result["joint"]["order"] == [0]


@pytest.mark.parametrize("spelling", ["[mask]", "[ MASK ]", "[Mask]", "<mask>", "< MASK >", "[ mask]"])
def test_mask_spellings_are_all_accepted(loaded, spelling):
    reference = fill_mask("the cat sat on the [MASK] .", loaded, top_k=3, attention=False)
    result = fill_mask(f"the cat sat on the {spelling} .", loaded, top_k=3, attention=False)
    assert result["masks"] == reference["masks"]
    assert result["filled"] == reference["filled"]


def test_targets_restrict_candidates(loaded):
    free = fill_mask("the [MASK] sat .", loaded, top_k=100, attention=False)
    free_scores = {c["token"]: c["score"] for c in free["masks"][0]["candidates"]}
    result = fill_mask("the [MASK] sat .", loaded, top_k=5, targets=["cat", " dog ", "walking"],
                       attention=False)
    cands = result["masks"][0]["candidates"]
    assert {c["token"] for c in cands} == {"cat", "dog", "w"}  # walking -> its first piece "w"
    assert [c["score"] for c in cands] == sorted((c["score"] for c in cands), reverse=True)
    for c in cands:  # same probabilities as without targets: the softmax is still over the vocab
        if c["token"] in free_scores:
            assert c["score"] == pytest.approx(free_scores[c["token"]], abs=1e-6)
    assert any("'walking'" in n and "first piece" in n for n in result["notices"])
    # A comma string works too, and top-k still applies.
    assert len(fill_mask("the [MASK] .", loaded, top_k=1, targets="cat,dog")["masks"][0]["candidates"]) == 1


def test_targets_steer_the_joint_fill(loaded):
    _boost(loaded, paris=25.0)
    result = fill_mask("[MASK] and [MASK]", loaded, top_k=2, targets="cat,dog")
    assert set(result["joint"]["tokens"]) <= {"cat", "dog"}
    assert "paris" not in result["filled"]


def test_unknown_targets_are_an_error(loaded):
    with pytest.raises(BadInput, match="none of the targets"):
        fill_mask("the [MASK] .", loaded, targets=["[UNK]", "  "])


def test_wordpiece_continuation_is_marked_and_glued(loaded):
    _boost(loaded, __ing=25.0)
    result = fill_mask("the dog [MASK] .", loaded, top_k=1)
    top = result["masks"][0]["candidates"][0]
    assert top["token"] == "##ing" and top["text"] == "ing" and top["continues_word"]
    assert result["filled"] == "the doging ."


def test_whole_word_typed_against_a_neighbour_gets_a_space_chinese_does_not(loaded):
    _boost(loaded, cat=25.0)
    assert fill_mask("walk[MASK] now", loaded, top_k=1)["filled"] == "walk cat now"
    assert fill_mask("the [MASK][MASK] sat", loaded, top_k=1)["filled"] == "the cat cat sat"
    _boost(loaded, cat=-50.0, 爱=25.0)
    assert fill_mask("我[MASK]北京", loaded, top_k=1)["filled"] == "我爱北京"


def test_sparse_head_matches_dense_logits_for_mlm_and_pretraining_models(make_tiny_model):
    folder = _usable(make_tiny_model("pretraining"))
    for head, attr in (("masked-lm", "logits"), ("pretraining", "prediction_logits")):
        loaded = load_model(str(folder), head=head)
        result = fill_mask("the [MASK] sat on the [MASK] , 我 [MASK] 北京", loaded, top_k=100,
                           attention=False)
        ids, positions = _ids_positions(result)
        probs = _dense_probs(loaded, ids, positions, attr)
        for row, mask in enumerate(result["masks"]):
            got = torch.tensor([c["score"] for c in mask["candidates"]])
            want = probs[row, [c["token_id"] for c in mask["candidates"]]]
            assert torch.allclose(got, want, atol=1e-6), head


def test_attention_is_last_layer_mean_over_heads_and_only_when_asked(loaded):
    text = "the [MASK] sat on the [MASK] ."
    assert fill_mask(text, loaded, attention=False)["attention"] is None
    result = fill_mask(text, loaded, attention=True)
    ids, positions = _ids_positions(result)
    model = loaded.model
    model.set_attn_implementation("eager")  # reference weights from transformers itself
    try:
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]), output_attentions=True)
    finally:
        model.set_attn_implementation("sdpa")
    want = out.attentions[-1][0].mean(0)[positions]  # (masks, tokens)
    got = torch.tensor(result["attention"])
    assert got.shape == (2, len(result["tokens"]))
    assert torch.allclose(got, want, atol=1e-5)
    assert torch.allclose(got.sum(-1), torch.ones(2), atol=1e-5)


def test_long_text_is_truncated_around_the_masks_with_a_notice(loaded):
    text = "the cat sat on the mat . " * 40 + "the [MASK] is red . " + "a dog . " * 60
    result = fill_mask(text, loaded, top_k=2, attention=False)
    assert len(result["tokens"]) <= loaded.model.config.max_position_embeddings
    assert result["tokens"][0]["token"] == "[CLS]" and result["tokens"][-1]["token"] == "[SEP]"
    assert sum(t["is_mask"] for t in result["tokens"]) == 1
    assert any("reads at most" in n and "dropped" in n for n in result["notices"])
    assert fill_mask("the [MASK] is red .", loaded)["notices"] == []
    # Masks too far apart for one window: say so instead of dropping one.
    with pytest.raises(BadInput, match="spread over"):
        fill_mask("[MASK] " + "the cat " * 100 + "[MASK]", loaded)


def test_chinese_text_says_mask_is_one_character(loaded):
    result = fill_mask("我爱[MASK]京", loaded, top_k=2, attention=False)
    assert any("one character" in n for n in result["notices"])
    assert [t["token"] for t in result["tokens"]] == ["[CLS]", "我", "爱", "[MASK]", "京", "[SEP]"]
    assert not any("one character" in n for n in fill_mask("the [MASK] .", loaded)["notices"])


def test_chinese_model_says_mask_is_one_character_even_for_latin_text(tmp_path):
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    from bertlab.modeling.registry import LoadedModel

    # A vocabulary made mostly of single CJK characters, like bert-base-chinese's.
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"] + list("我爱北京天安门中国的人很好是在有")
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(vocab)})
    model = BertForMaskedLM(BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                                       num_attention_heads=2, intermediate_size=32)).eval()
    result = fill_mask("a [MASK]", LoadedModel(tokenizer, model, None), top_k=3)
    assert any("one character" in n for n in result["notices"])


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   \n ", "empty"),
    ("no mask in here", "no mask"),
    ("[MASK] " * (MAX_MASKS + 1), f"at most {MAX_MASKS}"),
])
def test_bad_text_is_a_clear_error(loaded, text, message):
    with pytest.raises(BadInput, match=message):
        fill_mask(text, loaded)


def test_bad_top_k_is_a_clear_error(loaded):
    with pytest.raises(BadInput, match="top-k"):
        fill_mask("the [MASK]", loaded, top_k=0)


@pytest.mark.parametrize("head", ["base", "classification"])
def test_model_without_mlm_head_is_a_clear_error(make_tiny_model, head):
    from bertlab.service import Service

    folder = _usable(make_tiny_model(head))
    with pytest.raises(BadInput, match="masked-LM head"):
        Service().fill_mask("the [MASK] .", model=str(folder))


# --------------------------------------------------------------------------------- the CLI


def test_cli_json_shape(mlm_dir, capsys):
    code = cli.main(["fill-mask", "the [MASK] sat on the [MASK] .", "--model", str(mlm_dir),
                     "--top-k", "3", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out["filled"], str) and "[MASK]" not in out["filled"]
    assert len(out["masks"]) == 2
    for mask in out["masks"]:
        assert isinstance(mask["position"], int)
        assert len(mask["candidates"]) == 3
        assert all(isinstance(c["token"], str) and 0 <= c["score"] <= 1 for c in mask["candidates"])


def test_cli_plain_table(mlm_dir, capsys):
    assert cli.main(["fill-mask", "我爱[MASK]京", "--model", str(mlm_dir), "--top-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "mask 1 (token 3)" in out and "filled: 我爱" in out and "one character" in out


def test_cli_input_file_loads_once_and_keeps_order(mlm_dir, tmp_path, capsys, monkeypatch):
    import bertlab.modeling.registry as models

    calls = []
    real = models.load_model
    monkeypatch.setattr(models, "load_model", lambda *a, **k: calls.append(a) or real(*a, **k))
    path = tmp_path / "in.txt"
    path.write_text("the [MASK] sat\nno mask here\n\n我爱[MASK][MASK]\n", encoding="utf-8")
    code = cli.main(["fill-mask", "--input-file", str(path), "--model", str(mlm_dir), "--json",
                     "--targets", "cat,dog,我,爱"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 2  # some lines were bad; the good ones are still answered
    assert len(calls) == 1
    assert [obj["line"] for obj in lines] == [1, 2, 3, 4]
    assert "masks" in lines[0] and "no mask" in lines[1]["error"] and "empty" in lines[2]["error"]
    assert len(lines[3]["masks"]) == 2
    assert {c["token"] for c in lines[0]["masks"][0]["candidates"]} <= {"cat", "dog", "我", "爱"}


@pytest.mark.parametrize("argv, message", [
    (["no mask here"], "no mask"),
    ([], "either a TEXT or --input-file"),
    (["--input-file", "/nonexistent/in.txt"], "/nonexistent/in.txt"),
    (["the [MASK]", "--top-k", "0"], "top-k"),
])
def test_cli_bad_input_exits_2(mlm_dir, capsys, argv, message):
    assert cli.main(["fill-mask", *argv, "--model", str(mlm_dir)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error:") and message in last


def test_cli_model_without_head_exits_2(make_tiny_model, capsys):
    folder = _usable(make_tiny_model("base"))
    assert cli.main(["fill-mask", "the [MASK]", "--model", str(folder)]) == 2
    assert "masked-LM head" in capsys.readouterr().err


# --------------------------------------------------------------------------------- the tab


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _page_load(demo, params: dict) -> list:
    """Run the page-load event as a browser opening `/?<params>` would: the frontend passes the
    page's query string on to the queue call, which is where gr.Request.query_params comes from."""
    import httpx

    deps = demo.get_config_file()["dependencies"]
    (fn_index,) = [i for i, d in enumerate(deps) if any(t[1] == "load" for t in d["targets"])]
    base = demo.local_url.rstrip("/")
    join = httpx.post(f"{base}/gradio_api/queue/join?{httpx.QueryParams(params)}",
                      json={"data": [], "fn_index": fn_index, "session_hash": "url-test",
                            "event_data": None, "trigger_id": None}, timeout=30)
    join.raise_for_status()
    with httpx.stream("GET", f"{base}/gradio_api/queue/data?session_hash=url-test", timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    assert message["success"], message
                    return message["output"]["data"]
    raise AssertionError("the load event did not complete")


def test_tab_answers_through_gradio_client(mlm_dir, make_tiny_model):
    import gradio as gr
    from gradio_client import Client

    from bertlab.service import Service
    from bertlab.ui import fill_mask_tab

    other = _usable(make_tiny_model("pretraining"))
    headless = _usable(make_tiny_model("base"))
    from bertlab.ui.app import on_page_load

    with gr.Blocks() as demo:
        comps = fill_mask_tab.create_tab(Service())
        on_page_load(demo, comps["load"])  # as app.py wires it
    assert {"text", "model", "compare", "top_k", "predict"} <= set(comps)
    demo.launch(prevent_thread_lock=True, server_port=_free_port(), quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)

        def ask(text, model, compare=""):
            values = client.predict(text, model, compare, 3, api_name="/fill_mask")
            return dict(zip(fill_mask_tab.OUTPUT_KEYS, values))

        out = ask("the [MASK] sat on the [MASK] .", str(mlm_dir), str(other))
        assert len(out["raw"]["a"]["masks"]) == 2 and len(out["raw"]["b"]["masks"]) == 2
        label = out["a_mask_1"]["value"]
        assert len(label["confidences"]) == 3
        assert label["label"] == out["raw"]["a"]["masks"][0]["candidates"][0]["token"]
        assert "[CLS]" in out["a_tokens"] and "Attention of each mask" in out["a_tokens"]
        assert "Joint fill" in out["a_fills"] and "Filled" in out["b_fills"]
        assert "text=the+%5BMASK%5D" in out["link"] and "model=" in out["link"]

        # Bad input and a model without a head: a visible message, and the page keeps serving.
        bad = ask("no mask here", str(mlm_dir))
        assert "Cannot predict" in bad["a_message"] and "no mask" in bad["a_message"]
        headless_out = ask("the [MASK] .", str(headless))
        assert "masked-LM head" in headless_out["a_message"]
        again = ask("我爱[MASK]京", str(mlm_dir))
        assert "one character" in again["a_message"] and again["raw"]["a"]["masks"]

        # A shared link: the page fills its inputs from the URL and answers straight away.
        loaded = _page_load(demo, {"text": "the [MASK] sat", "model": str(mlm_dir), "top_k": "2"})
        assert loaded[:4] == ["the [MASK] sat", str(mlm_dir), "", 2]
        view = dict(zip(fill_mask_tab.OUTPUT_KEYS, loaded[4:]))
        assert len(view["raw"]["a"]["masks"][0]["candidates"]) == 2
    finally:
        demo.close()


def test_tab_reads_its_inputs_from_the_url():
    from bertlab.ui.fill_mask_tab import inputs_from_query

    assert inputs_from_query({"text": "a [MASK]", "model": "m", "compare": "n", "top_k": "7"},
                             "default") == ("a [MASK]", "m", "n", 7)
    assert inputs_from_query({}, "default") == ("", "default", "", 5)
    assert inputs_from_query({"top_k": "x"}, "d")[3] == 5
    assert inputs_from_query({"top_k": "500"}, "d")[3] == 20


def test_top_k_is_the_k_best_of_a_full_sort_without_the_excluded_ids():
    import numpy as np

    from bertlab.inference.probabilities import softmax, top_k

    rng = np.random.default_rng(3)
    for vocab, rows, k in ((50, 1, 5), (3000, 3, 20), (12, 2, 9)):
        logits = (rng.normal(size=(rows, vocab)) * 4).astype(np.float32)
        excluded = [0, 3, vocab - 1]
        probs = softmax(logits)
        ids, scores = top_k(probs, k, excluded=excluded)
        ranked = probs.copy()
        ranked[:, excluded] = -1
        expected = np.argsort(-ranked, axis=1, kind="stable")[:, :k]
        assert (ids == expected).all()
        assert np.array_equal(scores, np.take_along_axis(probs, expected, axis=1))
        assert not set(ids.ravel()) & set(excluded)
        # float32 softmax (the vocabulary path): within 1e-6 of float64, rows sum to 1
        narrow = softmax(logits, np.float32)
        assert narrow.dtype == np.float32 and np.abs(narrow - probs).max() < 1e-6
        assert np.abs(narrow.sum(axis=1) - 1).max() < 1e-5
    # k beyond what is left once the excluded ids are out: every allowed id, best first
    ids, _ = top_k(softmax(np.array([[1.0, 3.0, 2.0, 0.5]])), 10, excluded=[1])
    assert ids.tolist() == [[2, 0, 3]]
