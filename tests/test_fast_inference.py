"""The ONNX Runtime fast path (bertlab.inference.fast_inference): PyTorch answers until the export is ready,
then ONNX Runtime gives the same answers (same top-k, probabilities within 1e-4); a failed export
leaves PyTorch answering, logged once; BERTLAB_FAST_INFERENCE=0 turns it off.

Tiny models (hidden 32) keep the exports short; one test checks the shipped defaults."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from bertlab.inference import fast_inference
from bertlab.inference.fill_mask import fill_mask
from bertlab.inference.classify import predict_probs
from bertlab.inference.probabilities import softmax
from bertlab.modeling.registry import load_model

SENTENCES = ["the cat [MASK] on the [MASK] .", "paris is the [MASK] of france .", "我爱北[MASK]"]
BUILT_IN = ["The capital of France is [MASK].", "I went to the [MASK] to buy some milk.",
            "She was so [MASK] that she could not stop smiling.", "He plays the [MASK] in a jazz band.",
            "The [MASK] [MASK] is the capital of China.", "After the long hike we were very [MASK]."]
REVIEWS = ["a good fun movie", "bad awful boring plot , really bad", "the film", "I love it !"]


@pytest.fixture
def fast_on(monkeypatch, tmp_path):
    monkeypatch.setenv(fast_inference.ENV, "1")
    monkeypatch.setenv("BERTLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _answers(result):
    return [[(c["token_id"], c["score"]) for c in m["candidates"]] for m in result["masks"]]


def assert_same_fill(a, b):
    for ma, mb in zip(_answers(a), _answers(b)):
        assert [t for t, _ in ma] == [t for t, _ in mb]
        assert np.allclose([s for _, s in ma], [s for _, s in mb], atol=1e-4)
    assert np.allclose(a["attention"], b["attention"], atol=1e-4)
    assert a["joint"]["tokens"] == b["joint"]["tokens"] and a["filled"] == b["filled"]


def fused_operators(folder) -> set[str]:
    """ONNX Runtime's fused operators in the cached graph(s) under `folder`."""
    import onnx

    found = set()
    for path in folder.glob("onnx/*/model.onnx"):
        found |= {n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node}
    return found & {"Attention", "MultiHeadAttention", "SkipLayerNormalization", "BiasGelu"}


def normalization_operators(folder) -> set[str]:
    import onnx

    found = set()
    for path in folder.glob("onnx/*/model.onnx"):
        found |= {n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node}
    return found & {"LayerNormalization", "SkipLayerNormalization"}


def test_fill_mask_moves_to_onnx_runtime_with_the_same_answers(fast_on, make_tiny_model, monkeypatch):
    folder = make_tiny_model("masked-lm")
    loaded = load_model(str(folder), head="masked-lm")
    before = [fill_mask(s, loaded, top_k=5) for s in SENTENCES]  # answered by PyTorch at once
    assert fast_inference.status(loaded.model)["state"] in ("building", "ready")
    assert fast_inference.wait(loaded, "masked-lm", timeout=300) is not None
    assert fast_inference.status(loaded.model)["state"] == "ready"
    assert list(fast_on.glob("onnx/masked-lm-*/model.onnx"))
    # The cached graph is fused for ONNX Runtime (attention, bias + GELU), its normalizations split
    assert fused_operators(fast_on) >= {"Attention", "BiasGelu"}
    assert not normalization_operators(fast_on)
    for sentence, ref in zip(SENTENCES, before):
        assert_same_fill(fill_mask(sentence, loaded, top_k=5), ref)
    # A second load of the same model finds the export on disk: no new export.
    monkeypatch.setattr(fast_inference, "_export_in_subprocess",
                        lambda *a: (_ for _ in ()).throw(AssertionError("exported twice")))
    again = load_model(str(folder), head="masked-lm")
    assert fast_inference.wait(again, "masked-lm", timeout=60) is not None


def test_classification_gives_the_same_probabilities(fast_on, make_tiny_model):
    loaded = load_model(str(make_tiny_model("classification")), head="classification", task="classify")
    reference = predict_probs(REVIEWS, None, loaded)
    pairs = predict_probs(REVIEWS, REVIEWS[::-1], loaded)
    assert fast_inference.wait(loaded, "classification", timeout=300) is not None
    # fused, the [CLS]-only last layer included (one query row: MultiHeadAttention)
    assert fused_operators(fast_on) >= {"Attention", "MultiHeadAttention", "BiasGelu"}
    assert not normalization_operators(fast_on)
    assert np.abs(predict_probs(REVIEWS, None, loaded) - reference).max() < 1e-4
    assert np.abs(predict_probs(REVIEWS, REVIEWS[::-1], loaded) - pairs).max() < 1e-4
    assert np.abs(predict_probs(REVIEWS, None, loaded, runner=None) - reference).max() == 0  # PyTorch on request


def test_a_file_classified_in_lanes_keeps_every_row_in_its_place(fast_on, make_tiny_model, monkeypatch):
    """Batches run side by side on a runner with lanes; each row's probabilities must still be its own."""
    from bertlab.inference import classify as classify_module

    loaded = load_model(str(make_tiny_model("classification")), head="classification", task="classify")
    words = "good bad film plot boring fun awful great dull fine".split()
    # 150 rows of 1-30 words in shuffled lengths: many batches, finished out of order.
    texts = [" ".join(words[(i * 7 + j) % len(words)] for j in range(1 + (i * 13) % 30)) for i in range(150)]
    reference = predict_probs(texts, None, loaded, runner=None)
    ready = fast_inference.wait(loaded, "classification", timeout=300)
    assert ready is not None
    lanes = fast_inference.OrtRunner(ready.path, threads=2, lanes=2)
    assert lanes.lanes == 2
    opened = []
    real_open = lanes._open
    lanes._open = lambda threads: opened.append(threads) or real_open(threads)
    for size in (None, 7):  # batches by token budget, and 7 rows each (a short last batch)
        probs = predict_probs(texts, None, loaded, batch_size=size, runner=lanes)
        assert np.abs(probs - reference).max() < 1e-4
        assert lanes._lane_session is None  # closed when the file is done: no second copy kept
    assert opened == [1, 1]  # each file ran in lanes, on a one-thread session
    # Tokenized and sorted a window at a time: rows still land in their places across windows,
    # on ONNX Runtime and on PyTorch.
    monkeypatch.setattr(classify_module, "WINDOW_ROWS", 64)
    assert np.abs(predict_probs(texts, None, loaded, runner=lanes) - reference).max() < 1e-4
    assert np.abs(predict_probs(texts, None, loaded, runner=None) - reference).max() < 1e-5
    opened.clear()
    predict_probs(texts[:40], None, loaded, runner=lanes)  # 40 rows: not worth a second session
    assert opened == []
    assert fast_inference.OrtRunner(ready.path, threads=1, lanes=4).lanes == 1  # never more lanes than threads
    assert fast_inference.OrtRunner(ready.path, threads=16, lanes=4).lanes == 1  # lanes are one core each


def test_a_failed_export_leaves_pytorch_answering_and_is_logged_once(fast_on, make_tiny_model, monkeypatch, caplog):
    def broken(*args):
        raise RuntimeError("the exporter fell over")

    monkeypatch.setattr(fast_inference, "_export_in_subprocess", broken)
    loaded = load_model(str(make_tiny_model("masked-lm")), head="masked-lm")
    with caplog.at_level(logging.WARNING, logger="bertlab.inference.fast_inference"):
        first = fill_mask(SENTENCES[0], loaded)
        assert fast_inference.wait(loaded, "masked-lm", timeout=60) is None
        assert fill_mask(SENTENCES[0], loaded)["masks"] == first["masks"]
    state = fast_inference.status(loaded.model)
    assert state["state"] == "failed" and "fell over" in state["error"]
    assert sum("fast path is off" in r.getMessage() for r in caplog.records) == 1


def test_the_switch_turns_it_off(fast_on, make_tiny_model, monkeypatch):
    monkeypatch.setenv(fast_inference.ENV, "0")
    loaded = load_model(str(make_tiny_model("masked-lm")), head="masked-lm")
    fill_mask(SENTENCES[0], loaded)
    assert fast_inference.prepare(loaded, "masked-lm") is None
    assert fast_inference.status(loaded.model)["state"] == "off"


CHINESE_BUILT_IN = ["北京是中国的[MASK]都。", "我爱[MASK][MASK]天安门。", "今天天气很[MASK]，我们去公园吧。",
                    "他每天早上喝一杯[MASK]。"]
CHINESE_REVIEWS = ["房间很干净，服务也很好，下次还来。", "太差了，再也不会买了。", "这本书一般。"]
SHIPPED = {  # language: (masked-LM default, its sentences, sentiment default, its texts)
    "english": ("default", BUILT_IN, "default-sentiment",
                ["A warm and funny film.", "Dull, overlong and badly acted.", "It is a film."]),
    "chinese": ("default-chinese", CHINESE_BUILT_IN, "default-sentiment-chinese", CHINESE_REVIEWS),
}


@pytest.mark.parametrize("language", sorted(SHIPPED))
def test_shipped_defaults_answer_the_same_on_onnx_runtime(monkeypatch, language):
    """The real models, exported into the user's cache (~/.cache/bertlab/onnx: later runs reuse it)."""
    monkeypatch.setenv(fast_inference.ENV, "1")
    mlm_name, sentences, clf_name, texts = SHIPPED[language]
    mlm = load_model(mlm_name, head="masked-lm")
    ref = [fill_mask(s, mlm, top_k=10) for s in sentences]
    assert fast_inference.wait(mlm, "masked-lm", timeout=600) is not None, fast_inference.status(mlm.model)
    for sentence, expected in zip(sentences, ref):
        assert_same_fill(fill_mask(sentence, mlm, top_k=10), expected)
    clf = load_model(clf_name, head="classification", task="classify")
    texts = texts + sentences
    probs = predict_probs(texts, None, clf, runner=None)
    assert fast_inference.wait(clf, "classification", timeout=600) is not None, fast_inference.status(clf.model)
    fast = predict_probs(texts, None, clf)
    assert np.abs(fast - probs).max() < 1e-4 and (fast.argmax(-1) == probs.argmax(-1)).all()


def test_warm_up_loads_the_model_and_answers_once(make_tiny_model, monkeypatch):
    """What app.py runs in a thread from process start, so the first Predict finds the model loaded."""
    from bertlab.service import Service

    folder = str(make_tiny_model("masked-lm"))
    service = Service()
    calls = []
    monkeypatch.setattr(fast_inference, "prepare", lambda loaded, head, start=True: calls.append(head))
    service.warm_up(folder)
    assert calls == ["masked-lm"]  # the warm-up answer also asked for the fast path
    loaded = service.model(folder, "masked-lm", "fill-mask")
    assert service.model(folder, "masked-lm", "fill-mask") is loaded  # loaded once, kept in the LRU


CHECKED_EXPORT_SCRIPT = """
import json, sys
from bertlab.service import Service
service = Service()
mlm, clf, texts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
fills = [service.fill_mask(t, model=mlm, top_k=5) for t in texts]
probs = [service.classify(t, model=clf)["scores"] for t in texts]
tokens = service.tokenize(texts[0], model=mlm)
torch_before_attention = "torch" in sys.modules
maps = service.attention(texts[0], model=mlm)  # needs the PyTorch model: loads it now
print(json.dumps({"fills": fills, "probs": probs, "torch_imported": torch_before_attention,
                  "attention_layers": len(maps["attentions"]), "tokens": len(tokens["tokens"])}))
"""


def test_a_checked_export_answers_a_new_process_without_torch(fast_on, make_tiny_model):
    """What the page does on every start after the first: the default models' exports, checked
    against PyTorch on an earlier run, answer at once; torch is imported only for what needs it."""
    import json
    import subprocess
    import sys

    from bertlab.service import Service
    from bertlab.training.launch import project_env

    mlm, clf = str(make_tiny_model("masked-lm")), str(make_tiny_model("classification", seed=1))
    service = Service()
    texts = SENTENCES[:2]
    reference = [service.fill_mask(t, model=mlm, top_k=5) for t in texts]  # PyTorch, starts the export
    ref_probs = [service.classify(t, model=clf)["scores"] for t in texts]
    for name, head in ((mlm, "masked-lm"), (clf, "classification")):
        assert fast_inference.wait(service.model(name, head, "fill-mask" if head == "masked-lm" else "classify"),
                                   head, timeout=300) is not None
    assert len(list(fast_on.glob("onnx/*/parity.json"))) == 2  # written once the answers matched

    proc = subprocess.run([sys.executable, "-c", CHECKED_EXPORT_SCRIPT, mlm, clf, json.dumps(texts)],
                          env=project_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["torch_imported"] is False  # answered (and tokenized) from the export alone
    for new, old in zip(got["fills"], reference):
        assert_same_fill(new, old)
    for new, old in zip(got["probs"], ref_probs):
        assert [s["label"] for s in new] == [s["label"] for s in old]
        assert np.allclose([s["score"] for s in new], [s["score"] for s in old], atol=1e-4)
    assert got["attention_layers"] == 2 and got["tokens"] > 0  # the tiny model's layers, by PyTorch

    # The CLI's one-shot answer takes the same route.
    cli = ("import sys, json; from bertlab.cli import main; rc = main(sys.argv[1:]); "
           "print(json.dumps({'rc': rc, 'torch_imported': 'torch' in sys.modules}))")
    proc = subprocess.run([sys.executable, "-c", cli, "fill-mask", texts[0], "--model", mlm, "--json"],
                          env=project_env(), capture_output=True, text=True, timeout=600)
    answer, status = (json.loads(line) for line in proc.stdout.strip().splitlines()[-2:])
    assert status == {"rc": 0, "torch_imported": False}, proc.stderr[-2000:]
    assert [c["token"] for c in answer["masks"][0]["candidates"]] == \
        [c["token"] for c in reference[0]["masks"][0]["candidates"]]


def test_an_unchecked_or_changed_model_is_not_answered_from_its_export(fast_on, make_tiny_model):
    from bertlab.modeling.registry import resolve

    folder = make_tiny_model("masked-lm")
    loaded = load_model(str(folder), head="masked-lm")
    assert fast_inference.wait(loaded, "masked-lm", timeout=300) is not None
    source = resolve(str(folder))
    assert fast_inference.load_checked(source, "masked-lm") is not None
    assert fast_inference.load_checked(source, "classification") is None  # other head
    onnx_file = fast_inference.cache_path(source, "masked-lm")
    record = onnx_file.with_name(fast_inference.PARITY_FILE)
    onnx_file.write_bytes(onnx_file.read_bytes())  # the export rewritten after its check
    assert fast_inference.load_checked(source, "masked-lm") is None
    record.write_text("{not json", encoding="utf-8")  # a torn record: PyTorch answers (and checks again)
    assert fast_inference.load_checked(source, "masked-lm") is None
    (folder / "config.json").write_text((folder / "config.json").read_text() + "\n")  # retrained, say
    assert fast_inference.load_checked(resolve(str(folder)), "masked-lm") is None


def _fake_entry(root, name: str, megabytes: float, used_at: float, exporting: bool = False):
    import os

    folder = root / name
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"\0" * int(megabytes * 1024 * 1024))
    if exporting:
        (folder / "model.onnx.building").write_text("4242")
    os.utime(folder, (used_at, used_at))
    return folder


def test_the_export_cache_keeps_to_its_budget_least_recently_used_first(fast_on, monkeypatch):
    """Every fine-tuned run a user opens adds a 50-100 MB export: the cache drops the exports used
    longest ago, never the one just built, one being exported or anything not a cache entry."""
    import os
    import time

    root = fast_on / "onnx"
    building = _fake_entry(root, "masked-lm-" + "b" * 20, 1, used_at=500, exporting=True)  # oldest of all
    oldest = _fake_entry(root, "classification-" + "a" * 20, 1, used_at=1_000)
    recent = _fake_entry(root, "masked-lm-" + "c" * 20, 1, used_at=3_000)
    middle = _fake_entry(root, "classification-" + "d" * 20, 1, used_at=2_000)
    just_built = _fake_entry(root, "classification-" + "e" * 20, 1, used_at=600)  # clock skew: still kept
    foreign = _fake_entry(root, "my-notes", 5, used_at=100)

    monkeypatch.setenv(fast_inference.CACHE_BUDGET_ENV, "3.5")  # MB: five 1 MB entries do not fit
    removed = fast_inference.prune_cache(keep=just_built)
    assert removed == [oldest.name, middle.name]
    assert building.exists() and recent.exists() and just_built.exists() and foreign.exists()

    for typo in ("lots", "-1", "inf"):  # not a budget: the default (2 GB) holds, nothing goes
        monkeypatch.setenv(fast_inference.CACHE_BUDGET_ENV, typo)
        assert fast_inference.prune_cache() == []
    # An exporter that died long ago left its marker: that folder is no longer protected.
    old = time.time() - fast_inference.EXPORT_TIMEOUT_S - 60
    os.utime(building / "model.onnx.building", (old, old))
    monkeypatch.setenv(fast_inference.CACHE_BUDGET_ENV, "2.5")
    assert fast_inference.prune_cache(keep=just_built) == [building.name]


def test_a_new_export_prunes_older_ones_and_a_model_already_answering_keeps_answering(
        fast_on, make_tiny_model, monkeypatch):
    from bertlab.modeling.registry import resolve

    first, second = make_tiny_model("masked-lm"), make_tiny_model("masked-lm")
    first_loaded = load_model(str(first), head="masked-lm")
    assert fast_inference.wait(first_loaded, "masked-lm", timeout=300) is not None
    first_entry = fast_inference.cache_path(resolve(str(first)), "masked-lm").parent
    before = fill_mask("the cat [MASK] on the mat .", first_loaded, top_k=3)

    monkeypatch.setenv(fast_inference.CACHE_BUDGET_ENV, "0")  # keep only the newest export
    loaded = load_model(str(second), head="masked-lm")
    assert fast_inference.wait(loaded, "masked-lm", timeout=300) is not None
    assert not first_entry.exists()
    assert [p.parent.name for p in fast_on.glob("onnx/*/model.onnx")] == [
        fast_inference.cache_path(resolve(str(second)), "masked-lm").parent.name]
    assert fill_mask("the cat [MASK] on the mat .", loaded, top_k=3)["masks"]
    # The first model's open session still answers, the same as before its file went...
    assert fast_inference.ready(first_loaded.model) is not None
    assert_same_fill(fill_mask("the cat [MASK] on the mat .", first_loaded, top_k=3), before)
    # ...and a new process (a CLI call) loads the PyTorch model for it instead of a missing export.
    again = fast_inference.load_for_answers(str(first), "masked-lm", "fill-mask")
    assert not isinstance(again.model, fast_inference.ExportedModel)
    monkeypatch.setenv(fast_inference.ENV, "0")  # answer from PyTorch without exporting it again here
    assert_same_fill(fill_mask("the cat [MASK] on the mat .", again, top_k=3), before)


@pytest.mark.parametrize("failure", ["rewriter raises", "fused outputs differ"])
def test_a_graph_that_cannot_be_fused_is_kept_as_exported(make_tiny_model, tmp_path, monkeypatch, capsys, failure):
    """Fusion is an optimisation: if onnxscript's rewriter fails, or the fused graph does not give
    the plain graph's outputs, the plain graph is what the cache gets (it is reused on every start)."""
    import onnxscript.rewriter.ort_fusions as ort_fusions

    from bertlab.inference import onnx_export

    if failure == "rewriter raises":
        def broken(model):
            raise RuntimeError("pattern mismatch")

        monkeypatch.setattr(ort_fusions, "optimize_for_ort", broken)
        said = "graph not fused for ONNX Runtime (RuntimeError: pattern mismatch)"
    else:
        monkeypatch.setattr(onnx_export, "FUSED_TOLERANCE", -1.0)  # any difference, even 0, is too much
        said = "graph not fused for ONNX Runtime (ValueError: its outputs differ from the plain graph's by"
    loaded = load_model(str(make_tiny_model("classification")), head="classification", task="classify")
    path = onnx_export.export(loaded.model, "classification", tmp_path / "onnx" / "x" / "model.onnx", fuse=True)
    assert said in capsys.readouterr().err
    assert path.exists() and not fused_operators(tmp_path)
    assert [p.name for p in path.parent.iterdir()] == ["model.onnx"]  # no temporary file left
    runner = fast_inference.OrtRunner(path, threads=1)
    enc = loaded.tokenizer(REVIEWS, padding=True, return_tensors="np")
    torch_probs = predict_probs(REVIEWS, None, loaded, runner=None)
    assert np.abs(softmax(runner.classify(enc)) - torch_probs).max() < 1e-4


def _normalization_graph(sum_used: bool, mean_used: bool):
    """x, skip (2, 3, 8) -> SkipLayerNormalization (with bias) -> LayerNormalization -> y; with
    `sum_used` the skip's sum output is also a graph output, with `mean_used` the LayerNorm's mean."""
    from onnx import TensorProto as T, helper

    h = 8
    rng = np.random.default_rng(1)
    weights = {name: rng.normal(size=h).astype(np.float32) for name in ("g1", "bias", "g2", "b2")}
    inits = [helper.make_tensor(n, T.FLOAT, [h], v) for n, v in weights.items()]
    outputs = [helper.make_tensor_value_info("y", T.FLOAT, [2, 3, h])]
    if sum_used:
        outputs.append(helper.make_tensor_value_info("sum", T.FLOAT, [2, 3, h]))
    if mean_used:
        outputs.append(helper.make_tensor_value_info("mean", T.FLOAT, None))
    # The sum output named only when used: an unnamed one ("") must not become a value's name.
    # No beta on the skip ("" as its input: the empty name is then among the graph's inputs).
    nodes = [helper.make_node("SkipLayerNormalization", ["x", "skip", "g1", "", "bias"],
                              ["n1", "", "", "sum" if sum_used else ""], domain="com.microsoft", epsilon=1e-12),
             helper.make_node("LayerNormalization", ["n1", "g2", "b2"], ["y", "mean"], axis=-1, epsilon=1e-5)]
    graph = helper.make_graph(nodes, "norms", [helper.make_tensor_value_info(n, T.FLOAT, [2, 3, h]) for n in ("x", "skip")],
                              outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)])


@pytest.mark.parametrize("sum_used,mean_used", [(False, False), (True, False), (False, True)])
def test_split_layer_norms_gives_the_fused_kernels_outputs(sum_used, mean_used):
    import onnxruntime as ort

    from bertlab.inference.onnx_export import split_layer_norms

    rng = np.random.default_rng(2)
    feed = {"x": rng.normal(size=(2, 3, 8)).astype(np.float32) * 3, "skip": rng.normal(size=(2, 3, 8)).astype(np.float32)}

    def run(model):
        return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)

    model = _normalization_graph(sum_used, mean_used)
    fused = run(model)
    # Hand-checked reference: (x + bias + skip) normalized with g1, then normalized with g2/b2.
    weights = {t.name: np.frombuffer(t.raw_data, np.float32) if t.raw_data else np.asarray(t.float_data, np.float32)
               for t in model.graph.initializer}

    def norm(v, g, b, eps):
        return (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + eps) * g + b

    total = feed["x"] + weights["bias"] + feed["skip"]
    expected = norm(norm(total, weights["g1"], 0.0, 1e-12), weights["g2"], weights["b2"], 1e-5)
    assert np.abs(fused[0] - expected).max() < 1e-4
    rewritten = split_layer_norms(model)
    # The LayerNorm whose mean is a graph output stays a LayerNormalization; everything else is split.
    assert rewritten == (1 if mean_used else 2)
    kinds = [n.op_type for n in model.graph.node]
    assert "SkipLayerNormalization" not in kinds
    assert ("LayerNormalization" in kinds) == mean_used
    split = run(model)
    assert len(split) == len(fused)
    for a, b in zip(split, fused):
        assert np.abs(a - b).max() < 1e-5
    if sum_used:
        assert np.abs(split[1] - total).max() < 1e-5
    # A second pass over a graph with a new normalization at its end: fresh names, same answers.
    from onnx import helper

    model.graph.node.append(helper.make_node("LayerNormalization", ["y", "g2", "b2"], ["y_again"], axis=-1))
    model.graph.output[0].name = "y_again"
    assert split_layer_norms(model) == 1
    again = run(model)[0]
    assert np.abs(again - norm(expected, weights["g2"], weights["b2"], 1e-5)).max() < 1e-4


def test_rows_are_batched_by_their_length_in_tokens():
    from bertlab.inference.classify import MAX_BATCH_ROWS, length_batches

    lengths = [9, 3, 30, 3, 8, 700, 4, 2]
    batches = length_batches(lengths, batch_tokens=24)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches == [[7, 1, 3, 6], [4, 0], [2], [5]]  # 4 x 4 = 16 tokens; 5 rows would be 5 x 8 = 40 > 24
    assert all(len(b) * max(lengths[i] for i in b) <= 24 for b in batches if len(b) > 1)
    assert length_batches(lengths, batch_rows=3) == [[7, 1, 3], [6, 4, 0], [2, 5]]
    assert max(map(len, length_batches([2] * 1000, batch_tokens=10**6))) == MAX_BATCH_ROWS
