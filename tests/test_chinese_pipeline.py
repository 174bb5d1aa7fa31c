"""The Chinese pipeline example (examples/chinese_pipeline.py) on fixtures this file writes:
vocabulary -> from-scratch pre-training with whole-word masking -> fine-tuning -> evaluation.

The fixture data mimics the shared data's layout (People's Daily as one paragraph per line,
ChnSentiCorp TSVs including a review that starts with a literal quote), so the example's own
`main`/`run_pipeline` run unchanged. Nothing here reads ../shared/data except the last test,
which only parses the real files (skipped when they are absent).
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cp = _load("chinese_pipeline", ROOT / "examples" / "chinese_pipeline.py")

# Newspaper-like sentences from word lists: jieba finds multi-character words in them, so
# whole-word masking has real words to mask.
SUBJECTS = ["国务院", "人民代表大会", "北京市政府", "科学家们", "农民朋友", "青年学生", "解放军战士", "工人师傅"]
VERBS = ["认真学习", "积极推动", "大力发展", "努力建设", "深入研究", "广泛宣传"]
OBJECTS = ["经济改革", "科学技术", "文化教育", "农业生产", "社会主义现代化", "环境保护", "对外开放"]
ENDINGS = ["取得了显著成绩。", "受到群众欢迎。", "迈出了新的步伐。", "为新世纪打下基础。"]

POSITIVE = ["房间很干净，服务很好，非常满意", "质量不错，价格便宜，值得购买", "环境优美，早餐丰富，下次还来",
            "物流很快，包装完好，推荐给朋友", "屏幕清晰，速度很快，很喜欢"]
NEGATIVE = ["房间很脏，服务太差，非常失望", "质量很差，价格太贵，不值得买", "环境吵闹，早餐难吃，再也不来",
            "物流太慢，包装破损，不推荐", "屏幕模糊，速度很慢，很讨厌"]


def write_fixture_data(root: Path, seed: int = 0) -> Path:
    rng = random.Random(seed)
    pd = root / "peoples_daily_199801" / "pd199801_raw.txt"
    pd.parent.mkdir(parents=True)
    lines = []
    for _ in range(100):
        n = rng.randint(1, 3)
        lines.append("".join(f"{rng.choice(SUBJECTS)}{rng.choice(VERBS)}{rng.choice(OBJECTS)}{rng.choice(ENDINGS)}"
                             for _ in range(n)))
    # Like the real newspaper, the corpus also writes the everyday words reviews are made of
    # (People's Daily covers 99.7% of ChnSentiCorp's non-ASCII characters).
    for _ in range(40):
        lines.append(f"{rng.choice(SUBJECTS)}说：“{rng.choice(POSITIVE + NEGATIVE)}。”")
    pd.write_text("\n".join(lines) + "\n", encoding="utf-8")
    senti = root / "chnsenticorp"
    senti.mkdir()
    train = ["label\ttext_a"]
    for i in range(48):
        label = i % 2
        text = rng.choice(POSITIVE if label else NEGATIVE)
        train.append(f"{label}\t{text}{rng.choice(['。', '！', '!!', '~~'])}")
    # As in the real train.tsv: a review opening with a literal quote that never closes.
    train.append('0\t"四星"酒店，服务很差，非常失望')
    dev = ["qid\tlabel\ttext_a"] + [f"{i}\t{i % 2}\t{(POSITIVE if i % 2 else NEGATIVE)[i % 5]}。" for i in range(20)]
    # Reviews longer than the fine-tuning max length (32 tokens): evaluation must cut them as training did.
    tail = "，" + "，".join(rng.sample(OBJECTS, 4)) * 3
    dev += [f"{i}\t{i % 2}\t{(POSITIVE if i % 2 else NEGATIVE)[i % 5]}{tail}。" for i in range(20, 26)]
    (senti / "train.tsv").write_text("\n".join(train) + "\n", encoding="utf-8")
    (senti / "dev.tsv").write_text("\n".join(dev) + "\n", encoding="utf-8")
    return root


TINY = cp.Sizes(corpus_lines=0, vocab_size=2000, preset="tiny", pretrain_steps=30, pretrain_minutes=0.0,
                pretrain_batch=16, pretrain_lr=1e-3, seq_len=64, eval_every=15, train_rows=0, dev_rows=0,
                finetune_epochs=6.0, finetune_batch=8, finetune_lr=1e-3, max_length=32)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """The whole chain, run once for the tests below."""
    import torch

    root = tmp_path_factory.mktemp("chinese")
    data = write_fixture_data(root / "data")
    paths = cp.find_data(data)
    assert paths is not None
    work = root / "work"
    # One thread: on a shared 2-core machine, two threads that wait on busy cores make tiny steps
    # ten times slower, and a model this small gains nothing from a second thread.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        report = cp.run_pipeline(paths, work, TINY, quiet=True)
    finally:
        torch.set_num_threads(threads)
    return report, work


def test_vocabulary_is_per_character_and_covers_half_width_text(pipeline):
    from transformers import AutoTokenizer

    report, work = pipeline
    tok = AutoTokenizer.from_pretrained(work / "vocab")
    corpus_chars = {c for c in (work / "data" / "corpus.txt").read_text(encoding="utf-8") if cp_is_cjk(c)}
    vocab = tok.get_vocab()
    assert corpus_chars <= set(vocab), "every Chinese character of the corpus is its own token"
    # The corpus has no ASCII at all, yet review-style half-width digits and punctuation are known.
    text = "服务很好,价格便宜100!"  # half-width comma, digits and exclamation mark
    tokens = tok.tokenize(text)
    assert "[UNK]" not in tokens
    assert tokens[:4] == ["服", "务", "很", "好"]
    assert report["vocabulary"]["unk_rate"] == 0.0
    assert report["vocabulary"]["cjk_characters"] == len([t for t in vocab if len(t) == 1 and cp_is_cjk(t)])


def cp_is_cjk(ch: str) -> bool:
    from bertlab.data.tokenization import is_cjk_char

    return is_cjk_char(ch)


def test_pretraining_from_scratch_with_whole_word_masking_learns(pipeline):
    from transformers import AutoModelForMaskedLM

    report, work = pipeline
    run = work / "pretrain"
    config = json.loads((run / "run_config.json").read_text(encoding="utf-8"))
    assert config["pretrain"]["preset"] == "tiny" and config["pretrain"]["wwm"] is True
    assert config["pretrain"]["nsp"] is False
    model = AutoModelForMaskedLM.from_pretrained(run / "final")
    vocab_size = report["vocabulary"]["vocab_size"]
    assert model.config.vocab_size == vocab_size and model.config.num_hidden_layers == 2
    # After 30 steps on a repetitive corpus: clearly better than a uniform guess over the
    # vocabulary (loss ln V, accuracy 1/V), and still improving between the two evaluations.
    assert report["pretrain"]["eval_mlm_loss"] < math.log(vocab_size) - 0.5
    assert report["pretrain"]["eval_mlm_accuracy"] > 10 / vocab_size
    curve = report["mlm_curve"]
    assert [row["step"] for row in curve] == [15, 30]
    assert curve[-1]["eval_mlm_loss"] < curve[0]["eval_mlm_loss"]
    assert curve[-1]["minutes"] >= curve[0]["minutes"]
    assert all(0.0 <= row["eval_mlm_accuracy"] <= 1.0 for row in curve)
    # Fill-mask through bertlab's registry: one character per [MASK], five candidates each.
    assert len(report["fill_mask"]) == len(cp.FILL_MASK_SAMPLES)
    assert all(len(row["top"]) == 5 and all(len(t) == 1 for t, _ in row["top"]) for row in report["fill_mask"])


def test_fine_tuned_model_loads_and_classifies(pipeline):
    from bertlab.modeling.registry import load_model

    report, work = pipeline
    loaded = load_model(str(work / "finetune" / "final"), head="classification", task="classify")
    assert sorted(loaded.model.config.label2id) == ["negative", "positive"]
    # The fixture reviews are separable by their sentiment words: the classifier must have learned them.
    assert report["evaluation"]["accuracy"] >= 0.9
    # The reloaded model scores the dev file exactly as the training run's own evaluation did
    # (same truncation of the long reviews, same weights).
    assert report["evaluation"]["accuracy"] == pytest.approx(report["finetune"]["eval_accuracy"])
    assert report["evaluation"]["loss"] == pytest.approx(report["finetune"]["eval_loss"], rel=1e-4)
    labels = {row["text"]: row["label"] for row in report["classify"]}
    assert set(labels.values()) <= {"negative", "positive"}
    # The data folder holds the JSONL conversion, with the quoted review kept verbatim.
    rows = [json.loads(l) for l in (work / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 49 and rows[-1] == {"text": '"四星"酒店，服务很差，非常失望', "label": "negative"}


def test_random_init_copy_has_the_same_shape_but_new_weights(pipeline, tmp_path):
    import torch
    from transformers import AutoModelForMaskedLM

    _, work = pipeline
    trained = AutoModelForMaskedLM.from_pretrained(work / "pretrain" / "final")
    fresh = AutoModelForMaskedLM.from_pretrained(cp.random_init_copy(work / "pretrain" / "final", tmp_path / "r"))
    assert fresh.config.to_dict()["vocab_size"] == trained.config.vocab_size
    a, b = trained.state_dict(), fresh.state_dict()
    assert a.keys() == b.keys()
    assert not torch.equal(a["bert.embeddings.word_embeddings.weight"], b["bert.embeddings.word_embeddings.weight"])


def test_pretraining_resumes_and_the_curve_continues_in_time(pipeline, tmp_path):
    import shutil

    import torch

    _, work = pipeline
    run = tmp_path / "pretrain"
    shutil.copytree(work / "pretrain", run)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = cp.pretrain(None, [], run, max_steps=40, resume=True, show_progress=False)
    finally:
        torch.set_num_threads(threads)
    assert results["step"] == 40
    curve = cp.mlm_curve(run)
    assert [row["step"] for row in curve] == [15, 30, 40]
    minutes = [row["minutes"] for row in curve]
    assert minutes == sorted(minutes), "elapsed time carries over a resume"


def test_chnsenticorp_reader_layouts_and_errors(tmp_path):
    from bertlab.errors import DataError

    dev = tmp_path / "dev.tsv"
    dev.write_text('qid\tlabel\ttext_a\n0\t1\t"好"评\n1\t0\t差\n', encoding="utf-8")
    assert cp.read_chnsenticorp(dev) == [('"好"评', "1"), ("差", "0")]
    bad = tmp_path / "bad.tsv"
    bad.write_text("label\ttext_a\n1\t好\n2\t差\n", encoding="utf-8")
    with pytest.raises(DataError, match="row 3.*label '2'"):
        cp.read_chnsenticorp(bad)
    torn = tmp_path / "torn.tsv"
    torn.write_text("label\ttext_a\n1\t好\t多余\n", encoding="utf-8")
    with pytest.raises(DataError, match="row 2.*3 tab-separated cells"):
        cp.read_chnsenticorp(torn)
    rows = [("a", "0")] * 5 + [("b", "1")] * 5
    assert [label for _, label in cp.balanced_head(rows, 4)] == ["0", "1", "0", "1"]


def test_scripts_skip_cleanly_without_the_shared_data(tmp_path, capsys):
    bench = _load("chinese_pipeline_bench", ROOT / "benchmarks" / "chinese_pipeline.py")
    assert cp.main(["--data-dir", str(tmp_path / "nowhere"), "--work", str(tmp_path / "w")]) == 0
    assert bench.main(["--data-dir", str(tmp_path / "nowhere"), "--work", str(tmp_path / "w")]) == 0
    out = capsys.readouterr().out
    assert out.count("skipped:") == 2
    assert not (tmp_path / "w").exists()
    assert bench.main(["--data-dir", str(tmp_path / "nowhere"), "--json"]) == 0
    assert "People's Daily" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["skipped"]


def test_real_chnsenticorp_files_parse_completely():
    paths = cp.find_data()
    if paths is None:
        pytest.skip("../shared/data is not present")
    train, dev = cp.read_chnsenticorp(paths["train"]), cp.read_chnsenticorp(paths["dev"])
    assert len(train) == 9600 and len(dev) == 1200
    assert {label for _, label in train} == {"0", "1"}
    assert all(text for text, _ in train + dev)
