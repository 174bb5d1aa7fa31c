"""Are the explanations faithful? A deletion test on SST-2 dev, and the latency of one explanation.

    python benchmarks/explain.py [--limit N] [--model default-sentiment] [--json]

For each dev sentence of at least 5 words (first N; default all 872 lines of dev.tsv): explain
the predicted label (bertlab.inference.explain, integrated gradients), then delete (a) the 3 words with the
largest attribution toward that label and (b) 3 words drawn at random (seeded per sentence), and
classify both shortened sentences. A faithful explanation moves the predicted label's probability
down more when its top words go than when random words go. Reported: the share of sentences where
it does (target >= 80% with the shipped default-sentiment), the mean drops, and the p50/p90
latency of explaining a 20-word sentence (target <= 1 s on 2 CPU cores). Dev data is read for
evaluation only. Needs ../shared/data/sst2 (skips with a message when absent).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # no shadowing of stdlib names
sys.path.insert(0, str(ROOT))
from benchmarks import shared_data  # noqa: E402

DATA = shared_data() / "sst2" / "dev.tsv"
TWENTY_WORDS = ("the film is long and a little slow in the middle but the acting is warm and the ending "
                "left me smiling")


def without(text: str, words: list[dict]) -> str:
    """`text` with the given words' character spans removed and the spaces tidied."""
    keep, cursor = [], 0
    for w in sorted(words, key=lambda w: w["start"]):
        keep.append(text[cursor:w["start"]])
        cursor = w["end"]
    keep.append(text[cursor:])
    return " ".join("".join(keep).split())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="first N dev sentences (0 = all)")
    parser.add_argument("--model", default="default-sentiment")
    parser.add_argument("--latency-runs", type=int, default=7)
    parser.add_argument("--latency-only", action="store_true", help="skip the deletion test")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(f"skipped: {DATA} not found (the SST-2 dev set is not part of the project)")
        return 0

    from bertlab.inference.explain import explain
    from bertlab.inference.classify import label_names, predict_probs
    from bertlab.modeling.registry import load_model

    loaded = load_model(args.model, head="classification", task="classify")
    names = label_names(loaded.model)
    lines = DATA.read_text(encoding="utf-8").splitlines()[1:]
    sentences = [line.split("\t")[0].strip() for line in lines if line.strip()]
    if args.limit:
        sentences = sentences[:args.limit]
    if args.latency_only:
        sentences = []

    wins = total = 0
    drops_top, drops_random = [], []
    started = time.time()
    for number, sentence in enumerate(sentences):
        found = explain(sentence, loaded)
        words = [w for w in found["words"] if any(ch.isalnum() for ch in w["text"])]
        if len(words) < 5:
            continue
        label = names.index(found["label"])
        before = found["probability"] if found["target"] == found["label"] else None
        top = sorted(words, key=lambda w: -w["score"])[:3]
        chosen = random.Random(number).sample(words, 3)
        shortened = [without(sentence, top), without(sentence, chosen)]
        after = predict_probs(shortened, None, loaded)[:, label]
        drop_top, drop_random = before - float(after[0]), before - float(after[1])
        drops_top.append(drop_top)
        drops_random.append(drop_random)
        wins += drop_top > drop_random
        total += 1
        if not args.json and total % 50 == 0:
            print(f"  {total} sentences: top-3 deletion moved the probability more in {wins / total:.1%}",
                  flush=True)

    explain(TWENTY_WORDS, loaded)  # warm
    latencies = []
    for _ in range(args.latency_runs):
        t0 = time.perf_counter()
        explain(TWENTY_WORDS, loaded)
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    result = {"model": args.model, "sentences": total, "top3_beats_random": round(wins / max(total, 1), 4),
              "mean_drop_top3": round(statistics.mean(drops_top), 4) if drops_top else None,
              "mean_drop_random3": round(statistics.mean(drops_random), 4) if drops_random else None,
              "latency_20_words_p50_s": round(latencies[len(latencies) // 2], 3),
              "latency_20_words_p90_s": round(latencies[int(0.9 * (len(latencies) - 1))], 3),
              "seconds": round(time.time() - started, 1)}
    print(json.dumps(result) if args.json else
          f"{args.model}: top-3 deletion moved the predicted label's probability more than random deletion in "
          f"{result['top3_beats_random']:.1%} of {total} SST-2 dev sentences (mean drop "
          f"{result['mean_drop_top3']} vs {result['mean_drop_random3']}); 20-word explanation p50 "
          f"{result['latency_20_words_p50_s']} s, p90 {result['latency_20_words_p90_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
