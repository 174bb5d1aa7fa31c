"""bertlab.data.table and bertlab.data.labeled: reading uploaded labeled files, refusing bad ones
with a message that says where, column detection on the shipped example data, the stratified
split, and safe CSV output."""

from __future__ import annotations

import csv
import importlib.util
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from bertlab.errors import DataError
from bertlab.data.labeled import (LabeledData, check_validation_labels, detect_columns, label_names,
                                  load_labeled, preview, read_texts, stratified_split, write_predictions_csv)
from bertlab.data.table import read_table

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "data"


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return str(path)


def refused(path: str, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        load_labeled(path, **kwargs)
    assert path in str(info.value)  # every message names the file
    return info.value


SMALL = "text,label\nI loved it,positive\nawful film,negative\ngreat fun,positive\nso boring,negative\n"

# ------------------------------------------------------------------------------ formats, encodings


def test_reads_csv_tsv_jsonl_json_alike(tmp_path):
    rows = [("I loved it", "positive"), ("awful, truly awful", "negative"), ("great fun", "positive"),
            ('so "boring"', "negative")]
    csv_path = tmp_path / "d.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("text", "label"), *rows])
    tsv = write(tmp_path, "d.tsv", "text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows))
    jsonl = write(tmp_path, "d.jsonl", "".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    js = write(tmp_path, "d.json", json.dumps([{"text": t, "label": lab} for t, lab in rows]))
    # a JSON-lines file saved with a .json name (what datasets' to_json writes) is read as JSONL
    js_lines = write(tmp_path, "lines.json", "".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    for path in (str(csv_path), tsv, jsonl, js, js_lines):
        data = load_labeled(path)
        assert list(zip(data.texts, data.labels)) == rows, path
        assert (data.text_column, data.label_column, data.pairs) == ("text", "label", None)


def test_gbk_file_decodes_to_the_right_chinese(tmp_path):
    content = "text,label\n这部电影真好看,正面\n剧情拖沓，演员尴尬,负面\n服务很周到,正面\n菜太咸了,负面\n"
    for enc in ("gbk", "gb18030"):
        data = load_labeled(write(tmp_path, f"zh_{enc}.csv", content, enc))
        assert data.texts == ["这部电影真好看", "剧情拖沓，演员尴尬", "服务很周到", "菜太咸了"]
        assert data.labels == ["正面", "负面", "正面", "负面"]
        assert any("GB18030" in n for n in data.notices)


def test_whole_chinese_example_survives_gbk_and_utf16(tmp_path):
    text = (EXAMPLES / "sentiment_zh.csv").read_text(encoding="utf-8")
    expected = load_labeled(EXAMPLES / "sentiment_zh.csv")
    for enc in ("gbk", "utf-16", "utf-8-sig"):
        data = load_labeled(write(tmp_path, f"zh_{enc}.csv", text, enc))
        assert (data.texts, data.labels) == (expected.texts, expected.labels), enc


def test_byte_order_marks(tmp_path):
    for name, enc in (("bom8.csv", "utf-8-sig"), ("bom16.csv", "utf-16"), ("bom16be.csv", "utf-16-be")):
        content = SMALL if enc != "utf-16-be" else "\ufeff" + SMALL
        columns, rows, header = read_table(write(tmp_path, name, content, enc))
        assert columns == ["text", "label"] and header  # the BOM is not part of the first name
        assert rows[0] == ["I loved it", "positive"]


def test_undecodable_bytes_are_refused_not_garbled(tmp_path):
    # German in Windows-1252: not UTF-8, and GB18030 would turn it into rare Chinese characters
    latin = write(tmp_path, "latin.csv", "text,label\nÜber die Brücke,pos\nschön,neg\n", "cp1252")
    err = refused(latin)
    assert "byte offset 11" in str(err) and "line 2" in str(err) and "UTF-8" in str(err)
    # UTF-8 lines and GBK lines in one file: refused naming both lines
    mixed = write(tmp_path, "mixed.csv", "text,label\n中文很好,正面\n".encode() + "还行吧,负面\n".encode("gbk"))
    err = refused(mixed)
    assert "line 2" in str(err) and "line 3" in str(err) and "mixes encodings" in str(err)


def test_binary_files_are_refused(tmp_path):
    err = refused(write(tmp_path, "sheet.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256))))
    assert "xlsx" in str(err) and "CSV" in str(err)
    err = refused(write(tmp_path, "blob.csv", b"text,label\nab\x00\x01\x02cd,1\n"))
    assert "NUL" in str(err) and "binary" in str(err) and "line 2" in str(err)
    err = refused(write(tmp_path, "ctrl.txt", bytes(random.Random(0).choice(range(1, 9)) for _ in range(3000))))
    assert "binary" in str(err) or "control" in str(err)


def test_size_limits(tmp_path):
    path = write(tmp_path, "big.csv", SMALL * 50)
    err = refused(path, max_bytes=1000)
    assert "limit is 1000 bytes" in str(err)
    long_cell = write(tmp_path, "cell.csv", "text,label\nshort,pos\n" + "x" * 500 + ",neg\n")
    err = refused(long_cell, max_cell_chars=100)
    assert err.row == 3 and err.column == "column 1" and "500 characters" in str(err)
    jsonl = write(tmp_path, "cell.jsonl", '{"text": "a", "label": 0}\n{"text": "' + "y" * 500 + '", "label": 1}\n')
    err = refused(jsonl, max_cell_chars=100)
    assert err.row == 2 and err.column == "text"


# ----------------------------------------------------------------------------- bad files, by where


def test_empty_and_header_only(tmp_path):
    assert "empty" in str(refused(write(tmp_path, "empty.csv", b"")))
    assert "empty" in str(refused(write(tmp_path, "blank.csv", "\n  \n")))
    err = refused(write(tmp_path, "header.csv", "text,label\n"))
    assert "header row" in str(err) and "no data rows" in str(err) and "'text', 'label'" in str(err)
    assert "empty list" in str(refused(write(tmp_path, "none.json", "[]")))


def test_malformed_quoting_names_the_line(tmp_path):
    err = refused(write(tmp_path, "open.csv", 'text,label\nfine,pos\n"never closed,neg\nmore,pos\n'))
    assert err.row == 3 and "never closed" in str(err) and "line 3" in str(err)
    err = refused(write(tmp_path, "after.csv", 'text,label\nfine,pos\nok,neg\n"quoted"tail,pos\n'))
    assert err.row == 4 and "quot" in str(err)


def test_inconsistent_row_lengths(tmp_path):
    err = refused(write(tmp_path, "rows.csv", "text,label\nfine,pos\nhello, world,neg\nok,neg\n"))
    assert err.row == 3 and "3 cells" in str(err) and "2" in str(err) and "double quotes" in str(err)
    err = refused(write(tmp_path, "short.csv", "text,label,source\nfine,pos,web\nlonely\nok,neg,web\n"))
    assert err.row == 3 and "has 1 cell but" in str(err)
    # trailing empty cells (stray delimiters a spreadsheet leaves) are not an error
    data = load_labeled(write(tmp_path, "trailing.csv", "text,label\nfine,pos,,\nbad,neg\n"))
    assert data.labels == ["pos", "neg"]


def test_missing_named_and_ambiguous_columns(tmp_path):
    path = write(tmp_path, "d.csv", SMALL)
    err = refused(path, text_column="review")
    assert err.column == "review" and "'text', 'label'" in str(err)  # says which columns exist
    err = refused(path, label_column="sentiment")
    assert err.column == "sentiment" and "'text', 'label'" in str(err)
    # two category columns and no usual names: which one is the label?
    amb = write(tmp_path, "amb.csv", "a,b,c\nthe first long sentence here,x,red\nanother long sentence,y,blue\n"
                "one more long sentence,x,red\nand the last sentence,y,blue\n")
    err = refused(amb)
    assert "cannot tell which column holds the labels" in str(err) and "'b'" in str(err) and "'c'" in str(err)
    assert load_labeled(amb, label_column="c").labels == ["red", "blue", "red", "blue"]
    # nothing that could be a label
    err = refused(write(tmp_path, "nolabel.csv", "a,b\nfirst sentence,x1\nsecond sentence,x2\nthird one,x3\n"))
    assert "no column looks like labels" in str(err) and "'a', 'b'" in str(err)
    # the same column twice
    err = refused(path, text_column="text", label_column="text")
    assert "both the text and the label" in str(err)


def test_empty_texts_skipped_and_counted_then_refused(tmp_path):
    rows = "".join(f"sentence number {i},{'pos' if i % 2 else 'neg'}\n" for i in range(20))
    path = write(tmp_path, "gaps.csv", "text,label\n" + rows + ",pos\n  ,neg\n")
    data = load_labeled(path, max_empty_fraction=0.1)  # 2 of 22 = 9%
    assert data.skipped_empty == 2 and len(data) == 20 and data.rows_read == 22
    assert any("skipped 2" in n and "22, 23" in n for n in data.notices)  # header = row 1, data 2..21
    err = refused(path, max_empty_fraction=0.05)
    assert err.row == 22 and err.column == "text" and "2 of 22" in str(err)


def test_one_class_only(tmp_path):
    err = refused(write(tmp_path, "one.csv", "text,label\ngood,pos\nnice,pos\nfine,pos\n"))
    assert err.column == "label" and "'pos'" in str(err) and "two classes" in str(err)


def test_label_column_that_is_really_text_is_refused(tmp_path):
    rows = "".join(f"sentence {i},also unique text {i}\n" for i in range(30))
    err = refused(write(tmp_path, "uniq.csv", "text,label\n" + rows))
    assert "30 different labels in 30 rows" in str(err) and err.column == "label"


def test_json_that_is_not_a_list_of_records(tmp_path):
    err = refused(write(tmp_path, "obj.json", '{"data": [{"text": "a", "label": 1}]}'))
    assert "not a list of records" in str(err) and "'data'" in str(err)
    err = refused(write(tmp_path, "scalars.json", '[{"text": "a", "label": 1}, "oops"]'))
    assert err.row == 2 and "a string" in str(err)
    err = refused(write(tmp_path, "broken.json", '[{"text": "a", "label": 1},\n {"text": }]'))
    assert "not valid JSON" in str(err) and "line 2" in str(err)
    err = refused(write(tmp_path, "bad.jsonl", '{"text": "a", "label": 1}\n\n[1, 2]\n'))
    assert err.row == 3 and "not a JSON object" in str(err)
    assert "nested too deeply" in str(refused(write(tmp_path, "deep.json", "[" * 50000 + "]" * 50000)))


def test_json_values_become_strings(tmp_path):
    path = write(tmp_path, "v.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": 0.0, "extra": [1]}\n'
                                      '{"text": "c", "label": true}\n')
    columns, rows, header = read_table(path)
    assert columns == ["text", "label", "extra"] and header
    assert rows == [["a", "1", ""], ["b", "0", "[1]"], ["c", "true", ""]]


def test_too_many_columns(tmp_path):
    wide = ",".join(f"c{i}" for i in range(3000))
    err = refused(write(tmp_path, "wide.csv", wide + "\n" + wide + "\n"))
    assert err.row == 1 and "3,000" in str(err) and "delimiter" in str(err)
    err = refused(write(tmp_path, "wide.jsonl", json.dumps({f"k{i}": i for i in range(1500)}) + "\n"))
    assert "more than 1000" in str(err)


def test_missing_file_and_folder(tmp_path):
    assert "not found" in str(refused(str(tmp_path / "nope.csv")))
    assert "folder" in str(refused(str(tmp_path)))


# ----------------------------------------------------------------------------- headers and columns


def test_header_less_files(tmp_path):
    path = write(tmp_path, "nohead.csv", "I loved this film.,positive\nTerrible acting.,negative\n"
                                         "Great fun for everyone.,positive\nThe plot was a mess.,negative\n")
    data = load_labeled(path)
    assert data.texts[0] == "I loved this film." and len(data) == 4  # the first row is data
    assert (data.text_column, data.label_column) == ("column 1", "column 2")
    assert any("no header row" in n for n in data.notices)
    assert data.row_numbers[0] == 1
    # naming the columns as the page shows them, or by number
    assert load_labeled(path, text_column="column 1", label_column="2").labels == data.labels
    # CoLA-style TSV: source, 0/1 label, an annotation column, sentence
    cola = write(tmp_path, "cola.tsv", "gj04\t1\t\tOur friends won't buy this analysis.\n"
                                       "gj04\t0\t*\tOne more pseudo generalization and I'm giving up.\n"
                                       "gj04\t1\t\tThe more we study verbs, the crazier they get.\n"
                                       "cj99\t1\t\tDay by day the facts are getting murkier.\n")
    data = load_labeled(cola)
    assert (data.text_column, data.label_column, data.labels) == ("column 4", "column 2", ["1", "0", "1", "1"])
    # a header of unusual names above sentences is still taken as a header
    _, rows, header = read_table(write(tmp_path, "h.csv", "Satz,Stimmung\nDas war ein schöner Abend.,gut\n"
                                                          "Der Film war viel zu lang.,schlecht\n"))
    assert header and len(rows) == 2


def test_detection_on_the_example_files():
    en = load_labeled(EXAMPLES / "sentiment_en.csv")
    assert (en.text_column, en.text_pair_column, en.label_column) == ("text", None, "label")
    assert len(en) == 400 and Counter(en.labels) == {"positive": 200, "negative": 200}
    zh = load_labeled(EXAMPLES / "sentiment_zh.csv")
    assert (zh.text_column, zh.label_column) == ("text", "label") and set(zh.labels) == {"正面", "负面"}
    pair = load_labeled(EXAMPLES / "pairs_en.csv")
    assert (pair.text_column, pair.text_pair_column, pair.label_column) == ("sentence1", "sentence2", "label")
    assert len(pair.pairs) == len(pair.texts) == 200
    assert load_labeled(EXAMPLES / "pairs_en.csv", text_pair_column="-").pairs is None
    # positive-looking names are class 1, so binary metrics are about them
    assert en.label_names == ["negative", "positive"] and zh.label_names == ["负面", "正面"]
    assert pair.label_names == ["no", "yes"]


def test_detection_by_content_when_names_do_not_help(tmp_path):
    # renamed columns: a label-like column, a column of sentences and a second one (pairs), an id
    rows = [(i, f"first sentence number {i} about cats", f"second sentence {i} about dogs", "ab"[i % 2])
            for i in range(12)]
    columns = ["n", "p", "q", "r"]
    assert detect_columns(columns, [[str(c) for c in r] for r in rows]) == \
        {"text": "p", "text_pair": "q", "label": "r"}
    # a URL column is not taken for a second sentence
    rows = [[f"a fine review of item {i}", f"https://example.com/{i}", "pn"[i % 2]] for i in range(10)]
    assert detect_columns(["body", "url", "stars"], rows)["text_pair"] is None


def test_preview(tmp_path):
    p = preview(EXAMPLES / "pairs_en.csv", n=3)
    assert p["columns"] == ["sentence1", "sentence2", "label"] and len(p["rows"]) == 3
    assert p["detected"] == {"text": "sentence1", "text_pair": "sentence2", "label": "label"}
    assert (p["format"], p["encoding"], p["has_header"], p["n_rows"], p["problem"]) == ("csv", "utf-8", True, 200, None)
    # an ambiguous file still previews; the problem is reported for the page to show
    amb = preview(write(tmp_path, "amb.csv", "a,b,c\nlong sentence one,x,r\nlong sentence two,y,s\n"
                                             "long sentence three,x,r\nlong sentence four,y,s\n"))
    assert amb["detected"]["label"] is None and "cannot tell" in amb["problem"]
    assert "no data rows" in preview(write(tmp_path, "h.csv", "text,label\n"))["problem"]


# ------------------------------------------------------------------------------- split and checks


def test_stratified_split_keeps_proportions_and_is_reproducible():
    data = load_labeled(EXAMPLES / "sentiment_en.csv")
    data = data.subset([i for i, lab in enumerate(data.labels) if lab == "positive"][:150]
                       + [i for i, lab in enumerate(data.labels) if lab == "negative"][:50])  # 3:1
    train, val = stratified_split(data, 0.2, seed=7)
    assert len(val) == 40 and len(train) == 160
    assert Counter(val.labels) == {"positive": 30, "negative": 10}  # the 3:1 ratio, exactly
    assert set(train.texts).isdisjoint(val.texts) and sorted(train.texts + val.texts) == sorted(data.texts)
    again_train, again_val = stratified_split(data, 0.2, seed=7)
    assert (again_train.texts, again_val.texts) == (train.texts, val.texts)
    assert stratified_split(data, 0.2, seed=8)[1].texts != val.texts
    assert val.row_numbers and all(val.texts[i] == data.texts[data.row_numbers.index(r)]
                                   for i, r in enumerate(val.row_numbers))


def test_split_of_tiny_and_odd_data(tmp_path):
    data = load_labeled(write(tmp_path, "t.csv", "text,label\na,x\nb,y\nc,x\nd,y\ne,z\n"))
    train, val = stratified_split(data, 0.1, seed=0)
    assert len(val) == 1 and set(train.labels) == {"x", "y", "z"}  # "z" has one example: stays in training
    with pytest.raises(Exception, match="between 0 and 1"):
        stratified_split(data, 1.5, seed=0)


def test_validation_labels_unseen_in_training(tmp_path):
    train = load_labeled(write(tmp_path, "train.csv", SMALL))
    val = load_labeled(write(tmp_path, "val.csv", "text,label\nfine,positive\nmeh,neutral\nugh,negative\n"))
    with pytest.raises(DataError) as info:
        check_validation_labels(train, val)
    err = info.value
    assert err.path == val.path and err.row == 3 and err.column == "label" and "'neutral'" in str(err)
    check_validation_labels(train, train)  # no error


# ----------------------------------------------------------------------------- output and texts


def test_formula_cells_are_neutralised(tmp_path):
    out = tmp_path / "out" / "pred.csv"
    write_predictions_csv(out, [{"text": "=HYPERLINK(\"http://x\")", "label": "positive", "p": -0.25},
                                {"text": "@SUM(A1:A2)", "label": "+1", "p": 0.5},
                                {"text": "-2+3", "label": "\tx", "p": 1.0},
                                {"text": "＝1+1 fullwidth", "label": "plain, with comma"}])
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["text", "label", "p"]
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1:A2)", "'-2+3", "'＝1+1 fullwidth"]
    assert [r[1] for r in rows[1:]] == ["positive", "'+1", "'\tx", "plain, with comma"]
    assert rows[1][2] == "-0.25"  # a number stays a number
    assert not list(out.parent.glob(".predictions-*"))  # no temporary file left behind


def test_read_texts_for_batch_classification(tmp_path):
    texts, pairs = read_texts(EXAMPLES / "sentiment_en.csv")
    assert len(texts) == 400 and pairs is None and texts[0] == load_labeled(EXAMPLES / "sentiment_en.csv").texts[0]
    texts, pairs = read_texts(EXAMPLES / "pairs_en.csv", text_pair_column="")
    assert len(pairs) == 200
    # a plain list of texts, one per line, no header; an empty line does not shift the rows
    texts, _ = read_texts(write(tmp_path, "plain.txt", "I loved it.\nNot for me, sadly.\n\nWhat a day!\n"))
    assert texts == ["I loved it.", "Not for me, sadly.", "What a day!"]
    one = write(tmp_path, "one.csv", "text\nfirst text\n\"second, with comma\"\n")
    assert read_texts(one)[0] == ["first text", "second, with comma"]
    with pytest.raises(DataError, match="no data rows"):
        read_texts(write(tmp_path, "h.csv", "text,label\n"))


def test_label_names_order():
    assert label_names(["2", "10", "1"]) == ["1", "2", "10"]
    assert label_names(["yes", "no"]) == ["no", "yes"]
    assert label_names(["positive", "negative"]) == ["negative", "positive"]
    assert label_names(["b", "c", "a"]) == ["a", "b", "c"]


def test_integer_labels_become_strings(tmp_path):
    data = load_labeled(write(tmp_path, "ints.csv", "sentence,label\nhello there,1\nbye now,0\nagain,1.0\nmore,0\n"))
    assert data.labels == ["1", "0", "1", "0"] and data.label_names == ["0", "1"]
    assert isinstance(data, LabeledData)


def test_example_files_match_their_generator():
    spec = importlib.util.spec_from_file_location("make_example_data", EXAMPLES / "make_example_data.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    expected = {"sentiment_en.csv": gen.english_sentiment(random.Random(gen.SEED)),
                "sentiment_zh.csv": gen.chinese_sentiment(random.Random(gen.SEED + 1)),
                "pairs_en.csv": gen.english_paraphrase(random.Random(gen.SEED + 2))}
    for name, rows in expected.items():
        with open(EXAMPLES / name, encoding="utf-8", newline="") as f:
            assert [tuple(r) for r in list(csv.reader(f))[1:]] == list(rows), f"{name}: rerun make_example_data.py"


# ----------------------------------------------------------------------------------------- fuzz


def _fuzz_cases(rng: random.Random) -> list[tuple[str, bytes]]:
    example = (EXAMPLES / "sentiment_en.csv").read_bytes()[:3000]
    zh = (EXAMPLES / "sentiment_zh.csv").read_text(encoding="utf-8")[:1500]
    cases = []
    for i in range(40):  # random bytes, short and long
        cases.append(("csv", bytes(rng.randrange(256) for _ in range(rng.choice([1, 7, 100, 4000])))))
    for i in range(30):  # a good file with bytes flipped, cut or duplicated
        b = bytearray(example)
        for _ in range(rng.randrange(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        if rng.random() < 0.3:
            b = b[:rng.randrange(len(b))]
        cases.append((rng.choice(["csv", "tsv", "txt", "json", "jsonl", ""]), bytes(b)))
    for i in range(10):  # printable junk with delimiters and quotes
        alphabet = 'ab ,;\t|"\'\n\r{}[]:=+-@中文'
        cases.append((rng.choice(["csv", "txt", ""]), "".join(rng.choice(alphabet) for _ in range(500)).encode()))
    long_line = ("x" * 300_000 + ",pos\n" + "y,neg\n").encode()
    cases += [("csv", long_line), ("txt", b"z" * 250_000)]
    cases.append(("csv", zh.encode("utf-8") + zh.encode("gbk")))  # mixed encodings
    cases.append(("csv", zh.encode("gbk")[:-1]))  # GBK cut inside a character
    cases.append(("csv", zh.encode("utf-16")[:-1]))  # odd-length UTF-16
    cases.append(("csv", ((",".join(["c"] * 5000) + "\n") * 3).encode()))  # thousands of columns
    cases.append(("tsv", ("\t".join(str(i) for i in range(2000)) + "\n").encode()))
    cases += [("csv", b"text,label\n"), ("csv", b"text,label\r\n"), ("tsv", b"sentence1\tsentence2\tlabel\n")]
    for doc in ('{"a": 1}', "42", '"text"', "null", "[1, 2, 3]", "[[1, 2]]", '[{"text": {"nested": [1]}}]',
                "[{}]", '[{"text": "a", "label": 1}, null]', '{"text": "a"} trailing', "[" * 5000, "{" * 3000,
                '[{"text": "a", "label": NaN}]', '[{"text": "a", "label": 1e400}]'):
        cases.append(("json", doc.encode()))
        cases.append(("jsonl", doc.encode()))
    formula = "text,label\n=1+2,pos\n+cmd|' /C calc'!A0,neg\n@SUM(1),pos\n-2,neg\n\"=HYPERLINK(\"\"x\"\")\",pos\n"
    cases.append(("csv", formula.encode()))
    cases.append(("csv", b"\xef\xbb\xbf"))  # a BOM and nothing else
    cases.append(("csv", b"\xff\xfe" + "text,label\n".encode("utf-16-le")))
    cases.append(("csv", b'"' * 1001))
    cases.append(("csv", b"\r\r\r\n\n"))
    return cases


def test_fuzz_every_input_loads_or_gives_a_data_error(tmp_path):
    rng = random.Random(1234)
    outcomes = Counter()
    for i, (ext, content) in enumerate(_fuzz_cases(rng)):
        path = write(tmp_path, f"case{i}.{ext}" if ext else f"case{i}", content)
        for call in (lambda: load_labeled(path, max_cell_chars=200_000),
                     lambda: preview(path),
                     lambda: read_texts(path, text_pair_column=""),
                     lambda: read_table(path)):
            try:
                call()
                outcomes["ok"] += 1
            except DataError as exc:
                assert str(exc).startswith(f"file {path}"), str(exc)
                outcomes["refused"] += 1
            # any other exception fails the test with its traceback
    assert outcomes["refused"] > 100 and outcomes["ok"] > 5


def test_unquoted_glue_style_tsv_with_a_literal_quote_loads(tmp_path):
    # GLUE/CLUE TSVs use no quoting: a text may start with a literal " and must be read as-is.
    path = tmp_path / "train.tsv"
    path.write_text('label\ttext_a\n1\t"好评"，下次还来\n0\t质量太差了\n1\t很满意\n0\t"差评"，不会再买\n', encoding="utf-8")
    data = load_labeled(str(path))
    assert data.texts[0] == '"好评"，下次还来' and data.labels == ["1", "0", "1", "0"]
    assert data.text_column == "text_a"
