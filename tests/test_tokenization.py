"""Chinese tokenization: the offline vocabulary, the view, whole-word masking, WordPiece training,
the CLI and the tab. Expected tokens and words below were checked by hand."""

from __future__ import annotations

import json
import re
import socket
import threading
from pathlib import Path

import pytest

from bertlab.data import tokenization as T
from bertlab.errors import BadInput, DataError


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory):
    """Build the vocabulary into a temporary cache (once for this module), not into ~/.cache."""
    folder = tmp_path_factory.mktemp("bertlab-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("BERTLAB_CACHE", str(folder))
    yield folder
    patch.undo()


@pytest.fixture(scope="module")
def tok(cache_dir):
    return T.chinese_tokenizer()


def content(view):
    """Tokens between [CLS] and [SEP]."""
    return [t for t, s in zip(view["tokens"], view["sequence_ids"]) if s is not None]


# ------------------------------------------------------------------ the vocabulary


def test_vocabulary_layout_and_files(tok, cache_dir):
    folder = Path(T.chinese_tokenizer_dir())
    assert folder.parent == cache_dir.resolve()
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        assert (folder / name).exists(), name
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    # bert-base-chinese's ids for the special tokens
    assert [vocab[i] for i in (0, 100, 101, 102, 103)] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocab) == len(set(vocab)) == len(tok)
    for ch in "的北京臺灣經濟aZ09，。！？“”（）《》、１Ａ％":
        want = ch.lower()  # the tokenizer lowercases (uncased, like bert-base-chinese)
        assert want in vocab, ch
    # loadable by plain transformers
    from transformers import AutoTokenizer

    again = AutoTokenizer.from_pretrained(str(folder))
    assert again.is_fast and again("我爱北京")["input_ids"] == tok("我爱北京")["input_ids"]


def test_every_jieba_dictionary_character_is_one_token(tok):
    chars = sorted(T._jieba_characters())
    assert len(chars) > 12000  # jieba's dictionary alone has 12,010
    ids = tok("".join(chars), add_special_tokens=False)["input_ids"]
    assert len(ids) == len(chars)
    assert tok.unk_token_id not in ids


def test_build_is_deterministic_and_concurrent_builds_agree(tmp_path, monkeypatch):
    assert T.build_chinese_vocab() == T.build_chinese_vocab()
    root = tmp_path / "race"
    results, errors = [], []

    def build():
        try:
            results.append(T._tokenizer_dir_for.__wrapped__(str(root)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    # no temporary folder is left behind, only the finished one
    assert [p.name for p in root.iterdir()] == [Path(results[0]).name]


# ------------------------------------------------------------------ the view


def test_one_token_per_chinese_character_and_ids_round_trip(tok):
    text = "我爱北京天安门"
    view = T.tokenize_view(text, tokenizer=tok)
    assert view["tokens"] == ["[CLS]", "我", "爱", "北", "京", "天", "安", "门", "[SEP]"]
    assert view["input_ids"][0] == 101 and view["input_ids"][-1] == 102
    assert tok.convert_ids_to_tokens(view["input_ids"]) == view["tokens"]
    assert tok.decode(view["input_ids"], skip_special_tokens=True).replace(" ", "") == text
    assert view["token_type_ids"] == [0] * 9 and view["attention_mask"] == [1] * 9
    assert view["counts"]["characters"] == 7 and view["counts"]["tokens"] == 9
    assert view["unk"] == [] and view["unk_rate"] == 0


def test_offsets_map_back_to_the_exact_characters(tok):
    text = "１２月３１日，Hello World！你好 2024年"
    view = T.tokenize_view(text, tokenizer=tok)
    for token, (start, end), seq in zip(view["tokens"], view["offsets"], view["sequence_ids"]):
        if seq is None:
            assert (start, end) == (0, 0)
            continue
        piece = text[start:end]
        assert piece.lower() == token.removeprefix("##"), (token, piece)


def test_mixed_sentence_keeps_english_wordpieces(tok):
    view = T.tokenize_view("我用iPhone拍照playing", tokenizer=tok)
    assert content(view) == ["我", "用", "i", "##phone", "拍", "照", "playing"]
    groups = [[view["tokens"][p] for p in g] for g in view["wwm_groups"]]
    assert ["i", "##phone"] in groups  # a ## piece continues its English word


def test_jieba_words_drive_whole_word_masking(tok):
    view = T.tokenize_view("我爱北京天安门", tokenizer=tok, seed=0)
    assert view["jieba"] == ["我", "爱", "北京", "天安门"]
    assert "天安" in view["jieba_full"] and "天安门" in view["jieba_full"]
    assert view["wwm_groups"] == [[1], [2], [3, 4], [5, 6, 7]]
    assert view["counts"]["jieba_words"] == 4
    # a different segmentation of the same characters gives different groups
    other = T.tokenize_view("研究生命的起源", tokenizer=tok)
    assert other["jieba"] == ["研究", "生命", "的", "起源"]
    assert other["wwm_groups"] == [[1, 2], [3, 4], [5], [6, 7]]


def test_masking_example_masks_whole_words(tok):
    view = T.tokenize_view("自然语言处理是人工智能的一个重要方向，我想学习深度学习。", tokenizer=tok)
    groups = view["wwm_groups"]
    for seed in range(8):
        example = T.tokenize_view("自然语言处理是人工智能的一个重要方向，我想学习深度学习。",
                                  tokenizer=tok, seed=seed)["wwm_example"]
        masked = set(example["whole_word"])
        assert masked
        for group in groups:  # a word is masked entirely or not at all
            assert set(group) <= masked or not set(group) & masked
        assert len(example["plain"]) == example["budget"] == round(27 * 0.15)
    # the seed matters, and the same seed gives the same answer
    one = T.tokenize_view("自然语言处理是人工智能的一个重要方向", tokenizer=tok, seed=1)["wwm_example"]
    assert one == T.tokenize_view("自然语言处理是人工智能的一个重要方向", tokenizer=tok, seed=1)["wwm_example"]


def test_rare_characters_and_emoji_become_unk_and_are_reported(tok):
    text = "今天真好😀，龘也是字𠀀"
    view = T.tokenize_view(text, tokenizer=tok)
    assert content(view) == ["今", "天", "真", "好", "[UNK]", "，", "[UNK]", "也", "是", "字", "[UNK]"]
    assert view["unk"] == ["😀", "龘", "𠀀"]
    assert view["unk_rate"] == pytest.approx(3 / 11, abs=1e-3)
    # WordPiece's all-or-nothing rule: an emoji glued to a Latin word makes the whole word [UNK]
    glued = T.tokenize_view("买iPhone😀", tokenizer=tok)
    assert content(glued) == ["买", "[UNK]"] and glued["unk"] == ["iPhone😀"]


def test_pair_truncation_and_padding(tok):
    view = T.tokenize_view("我爱北京天安门", pair="你好", tokenizer=tok, max_length=8, padding=False)
    assert view["truncated"] and view["notices"]
    assert len(view["tokens"]) == 8
    assert view["token_type_ids"] == [0, 0, 0, 0, 0, 1, 1, 1]
    assert view["tokens"][5:] == ["你", "好", "[SEP]"]
    assert view["sequence_ids"][5:7] == [1, 1] and view["offsets"][5:7] == [[0, 1], [1, 2]]
    padded = T.tokenize_view("你好", tokenizer=tok, max_length=6, padding=True)
    assert padded["tokens"] == ["[CLS]", "你", "好", "[SEP]", "[PAD]", "[PAD]"]
    assert padded["attention_mask"] == [1, 1, 1, 1, 0, 0] and not padded["truncated"]
    assert padded["counts"]["padding"] == 2


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("   \n", "empty"), ("好\x07好", re.escape("control character U+0007 at position 1")),
])
def test_bad_input_says_what_is_wrong(tok, text, words):
    with pytest.raises(BadInput, match=words):
        T.tokenize_view(text, tokenizer=tok)


def test_long_text_is_capped_with_a_notice(tok):
    view = T.tokenize_view("好" * (T.MAX_VIEW_CHARS + 5), tokenizer=tok)
    assert view["counts"]["characters"] == T.MAX_VIEW_CHARS
    assert any("cut" in n for n in view["notices"])
    with pytest.raises(BadInput, match="too small"):
        T.tokenize_view("你好", tokenizer=tok, max_length=2)


# ------------------------------------------------------------------ wwm_word_ids directly


def test_wwm_word_ids_with_and_without_text():
    tokens = ["[CLS]", "我", "爱", "北", "京", "play", "##ing", "[SEP]", "天", "安", "门", "[SEP]", "[PAD]"]
    expect = [-1, 0, 1, 2, 2, 3, 3, -1, 4, 4, 4, -1, -1]
    assert T.wwm_word_ids(tokens) == expect
    assert T.wwm_word_ids(tokens, "我爱北京playing\n天安门") == expect
    # jieba reads the context: 研究生 alone is one word, in 研究生命 it is 研究 / 生命
    assert T.wwm_word_ids(["研", "究", "生", "命"], "研究生命") == [0, 0, 1, 1]
    assert T.wwm_word_ids(["[UNK]", "##x"]) == [0, 0]


def test_wwm_without_jieba_masks_each_chinese_character_alone(monkeypatch, capsys):
    """On a machine without jieba (the GPU session's), whole-word masking still runs: each Chinese
    character is its own word, English pieces still group, and stderr says why."""
    def no_jieba():
        raise ImportError("No module named 'jieba'")

    monkeypatch.setattr(T, "_jieba", no_jieba)
    T._say_no_jieba.cache_clear()
    tokens = ["[CLS]", "我", "爱", "北", "京", "play", "##ing", "[SEP]"]
    assert T.wwm_word_ids(tokens) == [-1, 0, 1, 2, 3, 4, 4, -1]
    assert T.wwm_word_ids(tokens, "我爱北京playing") == [-1, 0, 1, 2, 3, 4, 4, -1]
    assert "jieba is not installed" in capsys.readouterr().err


# ------------------------------------------------------------------ WordPiece training


def test_train_wordpiece_round_trips_a_fixture(tmp_path):
    corpus = tmp_path / "corpus.txt"
    lines = ["the tokenizer learns pieces from this tiny corpus", "tokenization tokenizers token tokens",
             "我爱自然语言处理，自然语言处理很有趣。", "Learning learned learns learner"] * 20
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "vocab"
    trained = T.train_wordpiece([str(corpus)], vocab_size=120, lowercase=True, out_dir=str(out))
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        assert (out / name).exists()
    vocab = (out / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert 60 < len(vocab) <= 120

    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(str(out))
    for text in ["Tokenization learns pieces", "我爱自然语言处理"]:
        enc = loaded(text)
        tokens = loaded.convert_ids_to_tokens(enc["input_ids"])
        assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and "[UNK]" not in tokens
        assert enc["input_ids"] == trained(text)["input_ids"]
        assert loaded.decode(enc["input_ids"], skip_special_tokens=True).replace(" ", "") == \
            text.lower().replace(" ", "")
    # Chinese characters are split one by one; English words become ## pieces
    assert loaded.tokenize("自然") == ["自", "然"]
    assert loaded.tokenize("Tokenization") == ["tokenization"]  # a frequent word is learned whole
    pieces = loaded.tokenize("tokenpieces")  # an unseen word is spelled with ## pieces
    assert pieces[0] == "token" and len(pieces) > 1 and all(p.startswith("##") for p in pieces[1:])
    pair = loaded("the token", "我爱")
    assert pair["token_type_ids"][-3:] == [1, 1, 1]

    # texts instead of files
    again = T.train_wordpiece(None, vocab_size=120, lowercase=True, out_dir=str(tmp_path / "v2"),
                              texts=iter(lines))
    assert again("我爱自然语言处理")["input_ids"] == loaded("我爱自然语言处理")["input_ids"]


def test_train_wordpiece_bad_input(tmp_path):
    with pytest.raises(DataError, match="missing.txt"):
        T.train_wordpiece([str(tmp_path / "missing.txt")], 100, True, str(tmp_path / "o"))
    with pytest.raises(BadInput, match="too small"):
        T.train_wordpiece(None, 3, True, str(tmp_path / "o"), texts=["a"])


# ------------------------------------------------------------------ CLI


def test_cli_json_keys(capsys):
    from bertlab.cli import main

    code = main(["tokenize", "我爱iPhone 😀", "--pair", "北京", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("tokens", "input_ids", "token_type_ids", "attention_mask", "offsets", "unk", "jieba",
                "jieba_full", "jieba_search", "wwm_groups", "sequence_ids", "unk_rate", "counts",
                "wwm_example"):
        assert key in out, key
    assert out["tokens"] == ["[CLS]", "我", "爱", "i", "##phone", "[UNK]", "[SEP]", "北", "京", "[SEP]"]
    assert out["unk"] == ["😀"] and out["offsets"][0] == [0, 0]


def test_cli_table_and_errors(capsys):
    from bertlab.cli import main

    assert main(["tokenize", "我爱北京", "--max-length", "4"]) == 0
    out = capsys.readouterr().out
    assert "北" in out and "truncated" in out and "jieba precise: 我 / 爱 / 北京" in out
    assert main(["tokenize", ""]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["tokenize", "好", "--model", "no/such-model-anywhere"]) == 2


# ------------------------------------------------------------------ the tab


def test_the_page_side_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys, bertlab.ui.tokenize_tab as tab, bertlab.data.tokenization as T; "
            "v = T.tokenize_view('我爱北京'); tab.render_bert(v, '我爱北京', None); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tab_answers_through_gradio_client():
    import gradio as gr
    from gradio_client import Client

    from bertlab.service import Service
    from bertlab.ui import tokenize_tab

    with gr.Blocks() as demo:
        parts = tokenize_tab.create_tab(Service())
    assert {"text", "pair", "model", "bert", "wwm", "raw"} <= set(parts)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        summary, bert, words, wwm, raw = client.predict(
            "我爱北京😀", "", "default-chinese", 0, True, 0, api_name="/tokenize")
        assert raw["tokens"] == ["[CLS]", "我", "爱", "北", "京", "[UNK]", "[SEP]"]
        assert "[UNK]" in summary and "😀" in summary
        assert "北京" in words and "[MASK]" in wwm and "input id" in bert
        # bad input: a message, not a crash; the page keeps answering
        summary, *_ = client.predict("", "", "default-chinese", 0, True, 0, api_name="/tokenize")
        assert "Cannot tokenize" in summary and "empty" in summary
        summary, _, _, _, raw = client.predict("你好", "", "default-chinese", 6, True, 0, api_name="/tokenize")
        assert raw["tokens"][-2:] == ["[PAD]", "[PAD]"]
    finally:
        demo.close()


def test_a_seed_out_of_range_is_a_clear_error(tok):
    import pytest

    from bertlab.errors import BadInput

    with pytest.raises(BadInput, match="masking seed must be a whole number from 0 to 4,294,967,295"):
        T.tokenize_view("我爱北京", tokenizer=tok, seed=2**70)
    assert T.tokenize_view("我爱北京", tokenizer=tok, seed=2**32 - 1)["wwm_example"]["seed"] == 2**32 - 1
