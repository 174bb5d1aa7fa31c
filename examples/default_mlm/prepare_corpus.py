"""Write the English corpus used to give the default model its masked-LM head.

Samples paragraphs from ../shared/data into one text file, blank line between documents.

Two recipes:
- `stage2` (stages 1 and 2 of the shipped model): Gutenberg, Wikipedia, Wikinews, SST-2 train and
  WikiText-2. WikiText-2 here is its *valid and test* splits (the only ones at hand), which must not
  be trained on: kept only so the earlier stages' corpus can be rebuilt exactly (and excluded).
- `stage3` (default): no WikiText-2; more everyday English: dialogue paragraphs from the Gutenberg
  books (short quoted lines included), questions (TREC train), news leads (AG News train subset),
  plain sentences (MRPC and RTE train), movie reviews (SST-2 train).

- `stage4`: for a GPU stage: the same sources, larger, everyday text first; with `--avoid` the held-out text
  below is kept out (stage 4 may reuse the earlier stages' text, never the held-out).

`--heldout-out` also writes a held-out text for masked-LM accuracy on text no stage trained on:
paragraphs of the English corpus that are neither in this corpus nor in any `--exclude` file (pass
the earlier stages' corpus).

    python examples/default_mlm/prepare_corpus.py --recipe stage2 --mb 20 --out /root/bertlab-data/default_mlm_20.txt
    python examples/default_mlm/prepare_corpus.py --mb 24 --out /root/bertlab-data/default_mlm_3.txt \
        --exclude /root/bertlab-data/default_mlm_20.txt --heldout-out /root/bertlab-data/default_mlm_heldout.txt
"""

from __future__ import annotations

import argparse
import os
import random
import re
from pathlib import Path

# $BERTLAB_DATA (as the benchmarks read it), else ../shared/data beside the checkout
DATA = Path(os.environ.get("BERTLAB_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")

# Share of the output per source. Everyday prose weighs most, since the cloze benchmark and
# users' sentences are everyday English.
RECIPES = {
    "stage2": {"gutenberg": 0.35, "wikinews_en": 0.25, "wikipedia_en": 0.2, "wikitext2": 0.1, "sst2": 0.1},
    "stage3": {"gutenberg_dialogue": 0.22, "gutenberg": 0.18, "wikinews_en": 0.18, "wikipedia_en": 0.16,
               "sst2": 0.1, "agnews": 0.08, "trec": 0.02, "pairs": 0.06},
    # For a GPU stage (examples/gpu_session/prepare_english.sh): as much of the everyday text as there
    # is (the small sources are taken whole, their shares are upper bounds), the rest prose.
    "stage4": {"gutenberg_dialogue": 0.3, "gutenberg": 0.25, "wikinews_en": 0.17, "wikipedia_en": 0.12,
               "sst2": 0.06, "agnews": 0.05, "trec": 0.01, "pairs": 0.04},
}
QUOTES = ('"', "\u201c", "\u201d")


def _untokenize(text: str) -> str:
    """SST-2 / TREC text is tokenized ("it 's", "does n't", "word ,"): rejoin it."""
    text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)
    text = re.sub(r" ([.,!?;:])", r"\1", text)
    return text[0].upper() + text[1:] if text else text


def _english_corpus_lines(source: str, min_chars: int = 80):
    for path in sorted((DATA / "english_corpus" / source).glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if len(line) > min_chars and not line.isupper():
                yield line


def paragraphs(source: str):
    if source == "sst2":
        for line in (DATA / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]:
            text = line.rsplit("\t", 1)[0].strip()
            if len(text.split()) >= 6:
                yield _untokenize(text)
    elif source == "wikitext2":
        for name in ("wiki.valid.tokens", "wiki.test.tokens"):
            for line in (DATA / "wikitext2" / name).read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith("=") or "<unk>" in line:
                    continue
                line = line.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
                line = re.sub(r" ([.,!?;:)'])", r"\1", line).replace("( ", "(")
                yield line
    elif source == "trec":
        raw = (DATA / "trec" / "train_5500.label").read_bytes().decode("latin-1")
        for line in raw.splitlines():
            parts = line.split(" ", 1)
            if len(parts) == 2:
                yield _untokenize(parts[1].strip().replace("``", '"').replace("''", '"'))
    elif source == "agnews":
        for line in (DATA / "agnews_subset" / "train_subset10k.tsv").read_text(encoding="utf-8").splitlines():
            text = line.rsplit("\t", 1)[0].replace(" #39;", "'").replace("#39;", "'").replace(" quot;", '"')
            if len(text) > 60 and "&lt;" not in text:
                yield text.strip()
    elif source == "pairs":
        lines = (DATA / "mrpc" / "msr_paraphrase_train.txt").read_text(encoding="utf-8-sig").splitlines()[1:]
        for line in lines:
            cols = line.split("\t")
            if len(cols) == 5:
                yield f"{cols[3]} {cols[4]}" if cols[0] == "0" else cols[3]
        for line in (DATA / "rte" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]:
            cols = line.split("\t")
            if len(cols) == 4:
                yield cols[1].strip()
    elif source == "gutenberg_dialogue":
        # Conversation: paragraphs that quote someone, short ones included.
        for line in _english_corpus_lines("gutenberg", min_chars=25):
            if any(q in line for q in QUOTES):
                yield line
    else:
        yield from _english_corpus_lines(source)


def sample(recipe: str, mb: float, seed: int, avoid: frozenset[str] = frozenset()) -> list[str]:
    """Documents of a few paragraphs each, `mb` MB in all by the recipe's shares; no paragraph in
    `avoid` (a held-out text)."""
    rng = random.Random(seed)
    documents = []
    used: set[str] = set(avoid)
    for source, share in RECIPES[recipe].items():
        pool = list(paragraphs(source))
        if recipe != "stage2":  # stage 2 is rebuilt exactly as it was sampled: no de-duplication
            pool = [p for p in dict.fromkeys(pool) if p not in used]
        rng.shuffle(pool)
        budget, taken = share * mb * 1e6, []
        for p in pool:
            if budget <= 0:
                break
            taken.append(p)
            budget -= len(p.encode("utf-8"))
        used.update(taken)
        # Group a few paragraphs per document (blank-line separated).
        for i in range(0, len(taken), 4):
            documents.append("\n".join(taken[i:i + 4]))
        print(f"{source:18} {len(taken):7} paragraphs of {len(pool)}")
    rng.shuffle(documents)
    return documents


def write_heldout(out: Path, corpus_docs: list[str], exclude: list[Path], kb: float, seed: int) -> None:
    seen = {line for doc in corpus_docs for line in doc.split("\n")}
    for path in exclude:
        seen.update(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    pool = [p for src in ("gutenberg", "wikinews_en", "wikipedia_en") for p in _english_corpus_lines(src)
            if p not in seen]
    random.Random(seed + 1).shuffle(pool)
    taken, budget = [], kb * 1e3
    for p in pool:
        if budget <= 0:
            break
        taken.append(p)
        budget -= len(p.encode("utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(taken) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(taken)} paragraphs no stage trained on, of {len(pool)} unused)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="stage3")
    parser.add_argument("--mb", type=float, default=10.0, help="size of the corpus to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exclude", nargs="*", default=[], help="earlier corpora: kept out of the held-out text")
    parser.add_argument("--heldout-out", default="", help="also write a held-out text here")
    parser.add_argument("--heldout-kb", type=float, default=600.0)
    parser.add_argument("--avoid", nargs="*", default=[], help="held-out texts: none of their paragraphs is sampled")
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} not found: this script needs the shared data sets beside the project")
    avoid = frozenset(line.strip() for path in args.avoid for line in Path(path).read_text(encoding="utf-8").splitlines()
                      if line.strip())
    documents = sample(args.recipe, args.mb, args.seed, avoid)
    if avoid:
        clash = avoid & {line for doc in documents for line in doc.split("\n")}
        assert not clash, f"{len(clash)} held-out paragraphs sampled"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(documents) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(documents)} documents)")
    if args.heldout_out:
        write_heldout(Path(args.heldout_out), documents, [Path(p) for p in args.exclude], args.heldout_kb, args.seed)


if __name__ == "__main__":
    main()
