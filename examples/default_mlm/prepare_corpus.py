"""Write the English corpus used to give the default model its masked-LM head.

Samples paragraphs from ../shared/data (english_corpus: Gutenberg, Wikipedia, Wikinews; plus
WikiText-2 and SST-2 sentences) into one text file, blank line between documents. WikiText-2's
`<unk>` placeholders are dropped (lines holding one are skipped) and its ` @-@ ` / ` @,@ ` joins
undone, or `[UNK]` and `@` would become favourite answers.

    python examples/default_mlm/prepare_corpus.py --out /root/bertlab-data/default_mlm.txt --mb 10
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# Share of the output per source: everyday prose (fiction, news) weighs most, since the cloze
# benchmark and users' sentences are everyday English.
MIX = {"gutenberg": 0.35, "wikinews_en": 0.25, "wikipedia_en": 0.2, "wikitext2": 0.1, "sst2": 0.1}


def paragraphs(source: str):
    if source == "sst2":
        lines = (DATA / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]
        for line in lines:
            text = line.rsplit("\t", 1)[0].strip()
            if len(text.split()) >= 6:
                # SST-2 is tokenized ("it 's", "does n't"): rejoin the clitics.
                text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)
                text = re.sub(r" ([.,!?;:])", r"\1", text)
                yield text[0].upper() + text[1:]
        return
    if source == "wikitext2":
        for name in ("wiki.valid.tokens", "wiki.test.tokens"):
            for line in (DATA / "wikitext2" / name).read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith("=") or "<unk>" in line:
                    continue
                line = line.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
                line = re.sub(r" ([.,!?;:)'])", r"\1", line).replace("( ", "(")
                yield line
        return
    for path in sorted((DATA / "english_corpus" / source).glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if len(line) > 80 and not line.isupper():
                yield line


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--mb", type=float, default=10.0, help="size of the corpus to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} not found: this script needs the shared data sets beside the project")
    rng = random.Random(args.seed)
    documents = []
    for source, share in MIX.items():
        pool = list(paragraphs(source))
        rng.shuffle(pool)
        budget, taken = share * args.mb * 1e6, []
        for p in pool:
            if budget <= 0:
                break
            taken.append(p)
            budget -= len(p.encode("utf-8"))
        # Group a few paragraphs per document (blank-line separated).
        for i in range(0, len(taken), 4):
            documents.append("\n".join(taken[i:i + 4]))
        print(f"{source:13} {len(taken):7} paragraphs")
    rng.shuffle(documents)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(documents) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(documents)} documents)")


if __name__ == "__main__":
    main()
