"""Pre-training on fixture corpora the tests write: learning, masking statistics, whole-word
masking, sparse = dense MLM loss, and a clear error for each bad corpus."""

from __future__ import annotations

import json

import pytest

from bertlab.training import runs
from bertlab.config import PretrainConfig, TrainConfig
from bertlab.data.corpus import read_documents, split_sentences
from bertlab.training.engine import train
from bertlab.errors import DataError
from bertlab.training.tasks.pretraining import MaskingCollator, build_examples, pretraining_losses, tokenize_documents
from bertlab.data.toydata import chinese_corpus, english_corpus


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrain")
    corpus = folder / "corpus.txt"
    corpus.write_text(english_corpus(300, seed=1), encoding="utf-8")
    config = TrainConfig(task="pretrain", out=str(folder / "run"), max_steps=80, batch_size=32, lr=1e-3,
                         warmup=0.1, eval_every=40, log_every=10, seed=3,
                         pretrain=PretrainConfig(corpus=[str(corpus)], preset="tiny", train_tokenizer=True,
                                                 vocab_size=800, max_seq_length=64))
    results = train(config, show_progress=False)
    return folder / "run", results


def test_tiny_pretraining_learns_mlm_and_nsp(trained_run):
    folder, results = trained_run
    events = [e for e in runs.read_events(folder) if e["type"] == "train"]
    assert {"mlm_loss", "mlm_accuracy", "nsp_loss", "nsp_accuracy", "tokens_per_s"} <= set(events[-1])
    assert events[-1]["mlm_loss"] < events[0]["mlm_loss"] - 1.5
    assert results["eval_mlm_accuracy"] > 0.15
    assert results["eval_nsp_accuracy"] > 0.6  # chance is 0.5: topics make NSP learnable here
    evals = [e for e in runs.read_events(folder) if e["type"] == "eval"]
    assert evals and evals[-1]["sample_predictions"], "each evaluation shows sample predictions"


def test_final_loads_with_plain_transformers(trained_run):
    folder, _ = trained_run
    from transformers import AutoModelForMaskedLM, AutoModelForPreTraining, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder / "final")
    mlm = AutoModelForMaskedLM.from_pretrained(folder / "final")
    AutoModelForPreTraining.from_pretrained(folder / "final")
    ids = tok("the baker bakes the [MASK] bread.", return_tensors="pt")
    assert mlm(**ids).logits.shape[-1] == len(tok)
    card = (folder / "final" / "README.md").read_text()
    assert "from scratch, preset tiny" in card


def _tokenizer(make_tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(make_tiny_model("pretraining"))


def _examples(tokenizer, wwm=False, nsp=True, n_docs=60):
    docs = [d.split("\n") for d in english_corpus(n_docs, seed=5).strip().split("\n\n")]
    return build_examples(tokenize_documents(docs, tokenizer, wwm), tokenizer, 48, nsp, 0.1, seed=0)


def test_masking_proportions_hold_statistically(make_tiny_model):
    import torch

    tok = _tokenizer(make_tiny_model)
    examples = _examples(tok)
    collator = MaskingCollator(tok, 0.15, generator=torch.Generator().manual_seed(0))
    counts = {"content": 0, "selected": 0, "mask": 0, "random": 0, "kept": 0, "special_selected": 0}
    for _ in range(20):
        batch = collator(examples, explain=True)
        kind, orig = batch["_mask_kind"], batch["_original_ids"]
        special = torch.isin(orig, torch.tensor([tok.cls_token_id, tok.sep_token_id, tok.pad_token_id]))
        counts["content"] += int((~special).sum())
        counts["selected"] += int((kind > 0).sum())
        counts["special_selected"] += int(((kind > 0) & special).sum())
        for name, k in (("mask", 1), ("random", 2), ("kept", 3)):
            counts[name] += int((kind == k).sum())
        assert bool((batch["labels"][kind == 0] == -100).all())
    assert counts["special_selected"] == 0
    assert counts["selected"] / counts["content"] == pytest.approx(0.15, abs=0.01)
    assert counts["mask"] / counts["selected"] == pytest.approx(0.8, abs=0.02)
    assert counts["random"] / counts["selected"] == pytest.approx(0.1, abs=0.02)
    assert counts["kept"] / counts["selected"] == pytest.approx(0.1, abs=0.02)


def test_nsp_pairs_are_half_random_and_well_formed(tmp_path):
    from bertlab.data.tokenization import train_wordpiece

    # A vocabulary trained on the corpus, so sentences are ~10 tokens as in real text.
    tok = train_wordpiece(None, 600, True, str(tmp_path / "tok"), texts=english_corpus(150, seed=5).splitlines())
    examples = _examples(tok, n_docs=150)
    labels = [e["next_sentence_label"] for e in examples]
    assert 0.35 < sum(labels) / len(labels) < 0.65
    for e in examples:
        ids = e["input_ids"]
        assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id and ids.count(tok.sep_token_id) == 2
        first_sep = ids.index(tok.sep_token_id)
        assert e["token_type_ids"] == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1)
        assert len(ids) <= 48
    # Short sequences (short_seq_probability) make examples shorter than the maximum on average.
    docs = [d.split("\n") for d in english_corpus(150, seed=5).strip().split("\n\n")]
    tokenized = tokenize_documents(docs, tok, False)
    mean = lambda ex: sum(len(e["input_ids"]) for e in ex) / len(ex)
    assert mean(build_examples(tokenized, tok, 48, True, 1.0, 0)) < mean(build_examples(tokenized, tok, 48, True, 0.0, 0)) - 5


def test_whole_word_masking_masks_whole_english_words(make_tiny_model):
    import torch

    tok = _tokenizer(make_tiny_model)
    docs = [["playing running jumping walked quickly"] * 3, ["sailed slowly rowing boats"] * 3]
    examples = build_examples(tokenize_documents(docs, tok, True), tok, 64, False, 0.0, seed=0)
    collator = MaskingCollator(tok, 0.3, wwm=True, generator=torch.Generator().manual_seed(1))
    for _ in range(10):
        batch = collator(examples, explain=True)
        for i, e in enumerate(examples):
            selected = (batch["_mask_kind"][i] > 0).tolist()
            tokens = tok.convert_ids_to_tokens(e["input_ids"])
            for j, t in enumerate(tokens):
                if t.startswith("##"):  # a continuation piece is masked iff its word start is
                    start = j
                    while tokens[start].startswith("##"):
                        start -= 1
                    assert selected[j] == selected[start], (tokens, selected)


def test_whole_word_masking_masks_whole_chinese_words(make_tiny_model):
    import torch

    tok = _tokenizer(make_tiny_model)
    docs = [["我爱北京天安门", "中国的电影很好"], ["北京是中国的", "我爱中国"]]
    examples = build_examples(tokenize_documents(docs, tok, True), tok, 64, False, 0.0, seed=0)
    collator = MaskingCollator(tok, 0.3, wwm=True, generator=torch.Generator().manual_seed(2))
    seen_word_masked = False
    for _ in range(30):
        batch = collator(examples, explain=True)
        for i, e in enumerate(examples):
            tokens = tok.convert_ids_to_tokens(e["input_ids"])
            selected = (batch["_mask_kind"][i] > 0).tolist()
            text = "".join(t if len(t) == 1 else "\x00" for t in tokens)  # one char per token
            for word in ("北京", "中国", "电影", "天安门"):
                start = text.find(word)
                while start != -1:
                    span = [selected[k] for k in range(start, start + len(word))]
                    assert len(set(span)) == 1, (word, tokens, selected)  # all or none
                    seen_word_masked |= span[0]
                    start = text.find(word, start + 1)
    assert seen_word_masked


def test_sparse_and_dense_mlm_give_the_same_loss(make_tiny_model):
    import torch
    from transformers import BertForPreTraining

    folder = make_tiny_model("pretraining")
    tok = _tokenizer(make_tiny_model)
    model = BertForPreTraining.from_pretrained(folder).eval()
    batch = MaskingCollator(tok, 0.15, generator=torch.Generator().manual_seed(0))(_examples(tok)[:16])
    with torch.no_grad():
        sparse = pretraining_losses(model, batch, sparse=True)
        dense = pretraining_losses(model, batch, sparse=False)
        reference = model(**batch).loss  # transformers' own dense MLM + NSP loss
    assert sparse["mlm_loss"].item() == pytest.approx(dense["mlm_loss"].item(), rel=1e-5)
    assert sparse["loss"].item() == pytest.approx(reference.item(), rel=1e-5)
    assert sparse["mlm_correct"].item() == dense["mlm_correct"].item()


def test_corpus_layout_and_sentences(tmp_path):
    blocks = tmp_path / "blocks.txt"
    blocks.write_text("First doc line one. Still one!\nLine two?\n\nSecond doc.\n", encoding="utf-8")
    assert read_documents(blocks) == [["First doc line one.", "Still one!", "Line two?"], ["Second doc."]]
    lines = tmp_path / "lines.txt"
    lines.write_text("Doc one. Two sentences.\nDoc two\n", encoding="utf-8")
    assert read_documents(lines) == [["Doc one.", "Two sentences."], ["Doc two"]]
    assert split_sentences("今天天气很好。我们去公园吧！好吗？") == ["今天天气很好。", "我们去公园吧！", "好吗？"]


def test_gbk_and_bom_corpora_decode_without_garbling(tmp_path):
    text = "我爱北京天安门。\n中国很大。\n"
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes(text.encode("gbk"))
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_documents(gbk) == read_documents(bom) == [["我爱北京天安门。"], ["中国很大。"]]


@pytest.mark.parametrize("content, message", [
    (b"", "corpus is empty"),
    (b"\n\n  \n", "corpus is empty"),
    (b"\x00\x01\x02binary\x00", "binary"),
    (b"ok \x81\xff\xfe bad", "first invalid byte at byte offset 3 \\(line 1"),
    ("Only one document here. It is short.".encode(), "at least 2"),
    ("A short doc.\n\nAnother short doc.\n".encode(), "too small"),
])
def test_each_bad_corpus_gets_a_clear_error(tmp_path, make_tiny_model, content, message):
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes(content)
    config = TrainConfig(task="pretrain", out=str(tmp_path / "run"), max_steps=2,
                         model=str(make_tiny_model("pretraining")), pretrain=PretrainConfig(corpus=[str(corpus)]))
    with pytest.raises(DataError, match=message) as info:
        train(config, show_progress=False)
    assert "bad.txt" in str(info.value)
    assert runs.read_status(tmp_path / "run")["state"] == "failed"


def test_cli_pretrain_continues_a_model_and_missing_file_exits_2(tmp_path, make_tiny_model, capsys):
    from bertlab.cli import main

    corpus = tmp_path / "zh.txt"
    corpus.write_text(chinese_corpus(60), encoding="utf-8")
    out = tmp_path / "cont"
    code = main(["pretrain", "--corpus", str(corpus), "--model", str(make_tiny_model("masked-lm")),
                 "--wwm", "--max-steps", "6", "--batch-size", "8", "--out", str(out), "--json", "--quiet"])
    assert code == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert results["step"] == 6 and "continued from" in results["origin"]
    assert (out / "final" / "config.json").exists()
    assert main(["pretrain", "--corpus", str(tmp_path / "missing.txt"), "--preset", "tiny",
                 "--train-tokenizer", "--out", str(tmp_path / "x")]) == 2
    assert "missing.txt" in capsys.readouterr().err


def test_preset_with_a_reused_vocabulary_trains_from_scratch(tmp_path, capsys):
    from bertlab.cli import main

    corpus = tmp_path / "zh.txt"
    corpus.write_text(chinese_corpus(80), encoding="utf-8")
    out = tmp_path / "zh-tiny"
    assert main(["pretrain", "--corpus", str(corpus), "--preset", "tiny", "--tokenizer", "default-chinese", "--wwm",
                 "--no-nsp", "--max-steps", "3", "--batch-size", "8", "--out", str(out), "--quiet"]) == 0
    saved = json.loads((out / "run_config.json").read_text())
    assert saved["pretrain"]["vocab_size"] > 20000  # the offline Chinese vocabulary, not the 8000 default
    assert main(["pretrain", "--corpus", str(corpus), "--tokenizer", "default-chinese", "--train-tokenizer",
                 "--preset", "tiny", "--out", str(tmp_path / "x")]) == 2
    assert "--train-tokenizer" in capsys.readouterr().err


def test_vocabulary_transfer_keeps_the_body_and_learns_the_new_vocabulary(tmp_path, make_tiny_model):
    """--model M --tokenizer T: M's transformer layers with new word embeddings for T's vocabulary
    (rows of tokens both vocabularies hold are kept), and the MLM loss falls from the unigram prior."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from bertlab.cli import main
    from bertlab.data.tokenization import chinese_tokenizer

    start = make_tiny_model("masked-lm")
    corpus = tmp_path / "zh.txt"
    corpus.write_text(chinese_corpus(150), encoding="utf-8")
    out = tmp_path / "zh-transfer"
    assert main(["pretrain", "--corpus", str(corpus), "--model", str(start), "--tokenizer", "default-chinese",
                 "--wwm", "--no-nsp", "--max-steps", "60", "--batch-size", "16", "--lr", "3e-3", "--warmup", "5",
                 "--log-every", "5", "--eval-every", "60", "--max-seq-length", "32", "--out", str(out), "--quiet"]) == 0
    chinese = chinese_tokenizer()
    final = AutoModelForMaskedLM.from_pretrained(str(out / "final"))
    assert final.config.vocab_size == len(chinese)
    assert AutoTokenizer.from_pretrained(str(out / "final")).get_vocab() == chinese.get_vocab()
    # The body came from the start model (layer shapes kept), not from a preset.
    assert final.config.hidden_size == 32 and final.config.num_hidden_layers == 2
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    losses = [e["loss"] for e in events if e.get("type") == "train"]
    assert losses[-1] < losses[0] - 0.5, losses
    summary = json.loads((out / "data_summary.json").read_text())
    assert "vocabulary of default-chinese" in summary["origin"]


def test_transfer_vocabulary_keeps_shared_rows_and_sets_the_frequency_prior(make_tiny_model):
    from collections import Counter

    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from bertlab.data.tokenization import chinese_tokenizer
    from bertlab.modeling.vocab_transfer import transfer_vocabulary

    folder = make_tiny_model("masked-lm")
    model = AutoModelForMaskedLM.from_pretrained(str(folder))
    old_tok, new_tok = AutoTokenizer.from_pretrained(str(folder)), chinese_tokenizer()
    old_rows = model.get_input_embeddings().weight.detach().clone()
    frequent = new_tok.convert_tokens_to_ids("的")
    kept = transfer_vocabulary(model, old_tok, new_tok, Counter({frequent: 1000}))
    rows = model.get_input_embeddings().weight
    assert rows.shape[0] == len(new_tok) == kept["vocab_size"]
    for token in ("[MASK]", "[CLS]", "中", "the"):  # held by both vocabularies
        if token in old_tok.get_vocab():
            assert torch.equal(rows[new_tok.convert_tokens_to_ids(token)], old_rows[old_tok.convert_tokens_to_ids(token)])
    # New rows have the old rows' scale, so the first LayerNorm sees familiar inputs.
    new_norm = rows[new_tok.convert_tokens_to_ids("猫")].norm()
    assert 0.3 * old_rows.norm(dim=1).mean() < new_norm < 3 * old_rows.norm(dim=1).mean()
    bias = model.cls.predictions.bias
    assert bias is model.cls.predictions.decoder.bias and model.cls.predictions.decoder.weight is rows
    assert int(bias.argmax()) == frequent  # the corpus's most frequent token is the first guess


def test_checkpoints_from_before_the_training_wrapper_still_load(make_tiny_model):
    """Runs checkpointed by earlier bertlab saved the plain model's keys ("bert.…"); the wrapper
    that pre-training now trains through names them "model.bert.…". A resume must still load them,
    every weight (strict), not fail with a list of missing keys."""
    import torch
    from transformers import AutoModelForPreTraining

    from bertlab.training.tasks.pretraining import training_wrapper

    old = AutoModelForPreTraining.from_pretrained(str(make_tiny_model("pretraining")))
    saved = {k: v.clone() + 1.0 for k, v in old.state_dict().items()}  # the "checkpoint", changed
    fresh = training_wrapper(AutoModelForPreTraining.from_pretrained(str(make_tiny_model("pretraining"))), True)
    fresh.load_state_dict(saved, strict=True)
    for key, value in saved.items():
        assert torch.equal(fresh.model.state_dict()[key], value), key
    # The wrapper's own keys still load as they are.
    again = training_wrapper(AutoModelForPreTraining.from_pretrained(str(make_tiny_model("pretraining"))), True)
    again.load_state_dict(fresh.state_dict(), strict=True)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), fresh.state_dict().values()))


@pytest.mark.parametrize("trainable_layers", [1, -1])
def test_frozen_parts_stay_exactly_as_loaded(tmp_path, make_tiny_model, trainable_layers):
    """--trainable-layers K keeps the embeddings and all but the top K layers as they were;
    --word-embeddings mask-row lets only the [MASK] row of the word embeddings learn (a tied
    decoder shares it) — what the shipped default's small overlay relies on."""
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    start = make_tiny_model("masked-lm")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(english_corpus(60, seed=2), encoding="utf-8")
    config = TrainConfig(task="pretrain", model=str(start), out=str(tmp_path / "run"), max_steps=6,
                         batch_size=16, lr=1e-2, weight_decay=0.1, eval_every=0, seed=0,
                         trainable_layers=trainable_layers, word_embeddings="mask-row",
                         pretrain=PretrainConfig(corpus=[str(corpus)], nsp=False, max_seq_length=48))
    train(config, show_progress=False)
    before = AutoModelForMaskedLM.from_pretrained(start).state_dict()
    after = AutoModelForMaskedLM.from_pretrained(tmp_path / "run" / "final").state_dict()
    mask_id = AutoTokenizer.from_pretrained(start).mask_token_id

    def changed(name):
        return not torch.equal(before[name], after[name])

    words = "bert.embeddings.word_embeddings.weight"
    rows = (after[words] - before[words]).abs().amax(dim=1).nonzero().flatten().tolist()
    assert rows == [mask_id]
    assert changed("bert.encoder.layer.1.attention.self.query.weight")
    assert changed("cls.predictions.transform.dense.weight")
    lower_and_embeddings = ["bert.encoder.layer.0.attention.self.query.weight",
                            "bert.embeddings.position_embeddings.weight", "bert.embeddings.LayerNorm.weight"]
    assert [changed(n) for n in lower_and_embeddings] == [trainable_layers == -1] * 3


def test_unknown_word_embeddings_choice_is_refused_before_the_corpus_is_read(tmp_path):
    from bertlab.errors import BadInput

    config = TrainConfig(task="pretrain", out=str(tmp_path / "run"), word_embeddings="rows",
                         pretrain=PretrainConfig(corpus=[str(tmp_path / "not-there.txt")], preset="tiny"))
    with pytest.raises(BadInput, match="'train' or 'mask-row'"):
        train(config, show_progress=False)
