"""Cloze benchmark: everyday English sentences with one [MASK] and the answers a person accepts.

Reports top-1 and top-5 accuracy (an item counts when any accepted answer is among the model's
first k whole-word predictions). Written for bertlab; the sentences are the project's own.

    python benchmarks/cloze.py                       # the default model
    python benchmarks/cloze.py --model runs/X/final  # any masked-LM the registry resolves
    python benchmarks/cloze.py --model default --model runs/X/final --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLOZE: list[tuple[str, set[str]]] = [
    ("The capital of France is [MASK].", {"paris"}),
    ("The capital of Japan is [MASK].", {"tokyo"}),
    ("The capital of England is [MASK].", {"london"}),
    ("The sun rises in the [MASK].", {"east", "morning"}),
    ("There are seven days in a [MASK].", {"week"}),
    ("There are twelve months in a [MASK].", {"year"}),
    ("Water freezes at zero [MASK] Celsius.", {"degrees"}),
    ("She drank a glass of [MASK] with her breakfast.", {"milk", "water", "juice", "wine", "orange"}),
    ("He opened the [MASK] and walked into the room.", {"door"}),
    ("I brush my [MASK] every morning.", {"teeth", "hair"}),
    ("The cat chased the [MASK] across the garden.", {"mouse", "dog", "bird", "rat", "ball"}),
    ("It was raining, so she took her [MASK].", {"umbrella", "coat", "car", "time"}),
    ("Birds can [MASK] high in the sky.", {"fly", "soar"}),
    ("Fish live in the [MASK].", {"water", "sea", "ocean", "river", "lake"}),
    ("We eat soup with a [MASK].", {"spoon", "ladle", "bowl"}),
    ("He wrote the letter with a [MASK].", {"pen", "pencil"}),
    ("The doctor told him to take the [MASK] twice a day.", {"medicine", "pills", "pill", "drug", "tablets", "medication"}),
    ("My mother's brother is my [MASK].", {"uncle"}),
    ("My father's mother is my [MASK].", {"grandmother", "grandma"}),
    ("Please turn off the [MASK] when you leave the room.", {"light", "lights", "lamp", "tv", "television"}),
    ("The children played in the [MASK] after school.", {"park", "playground", "garden", "yard", "street", "snow", "school"}),
    ("She put the milk back in the [MASK].", {"fridge", "refrigerator", "kitchen", "jug", "bottle"}),
    ("He went to the [MASK] to buy some bread.", {"bakery", "store", "shop", "market", "supermarket", "baker"}),
    ("The train leaves from platform [MASK].", {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "1", "2", "3", "4", "5", "6", "7", "8", "9"}),
    ("I am going to bed because I am very [MASK].", {"tired", "sleepy", "ill", "sick"}),
    ("He was so hungry that he ate the whole [MASK].", {"pizza", "cake", "meal", "thing", "bread", "loaf", "pie", "plate", "sandwich", "dinner", "lot", "box", "bag", "chicken"}),
    ("Summer is the [MASK] season of the year.", {"hottest", "warmest", "best", "longest", "last", "second", "third", "dry", "first"}),
    ("In winter the ground is covered with [MASK].", {"snow", "ice", "frost"}),
    ("The teacher asked the students to open their [MASK].", {"books", "notebooks", "mouths", "eyes", "textbooks", "laptops", "hearts", "minds"}),
    ("A dog has four [MASK].", {"legs", "paws", "feet"}),
    ("She plays the [MASK] in the school orchestra.", {"violin", "piano", "flute", "cello", "trumpet", "clarinet", "drums", "guitar", "viola", "oboe", "harp", "saxophone", "horn", "trombone"}),
    ("They got married in a small [MASK] near the village.", {"church", "chapel", "ceremony", "house", "town", "cottage", "village"}),
    ("He kicked the [MASK] into the goal.", {"ball"}),
    ("The baby started to [MASK] when she dropped her toy.", {"cry", "scream", "laugh", "cough"}),
    ("We need to buy a new [MASK] because the old one is broken.", {"one", "car", "computer", "phone", "television", "tv", "fridge", "machine", "bed", "chair", "house", "door", "window", "lock"}),
    ("The moon shines at [MASK].", {"night", "midnight", "dawn", "dusk"}),
    ("He lost his keys and could not open the [MASK].", {"door", "car", "gate", "lock", "safe", "box", "house"}),
    ("Please sit down on the [MASK].", {"chair", "bench", "couch", "sofa", "floor", "bed", "seat", "ground", "grass"}),
    ("The price of the ticket was ten [MASK].", {"dollars", "pounds", "euros", "cents", "shillings", "francs", "bucks"}),
    ("Paris is a city in [MASK].", {"france"}),
    ("He speaks English and [MASK] fluently.", {"french", "german", "spanish", "italian", "russian", "chinese", "japanese", "arabic", "portuguese", "dutch", "greek", "latin", "hebrew", "polish"}),
    ("The president lives in the White [MASK].", {"house"}),
    ("She read the [MASK] before going to sleep.", {"book", "letter", "newspaper", "story", "paper", "novel", "bible", "note", "poem", "message", "article", "magazine"}),
    ("Thank you very [MASK] for your help.", {"much"}),
    ("I will see you [MASK].", {"tomorrow", "soon", "later", "tonight", "again", "there", "then"}),
    ("How are [MASK] today?", {"you"}),
    ("The restaurant serves breakfast, lunch and [MASK].", {"dinner", "supper"}),
    ("He put on his shoes and tied the [MASK].", {"laces", "shoelaces", "knot", "strings", "bow"}),
    ("The plane landed safely at the [MASK].", {"airport", "airfield", "base", "runway", "field", "station"}),
    ("Can you tell me the [MASK], please? I don't have a watch.", {"time"}),
    ("The river flows into the [MASK].", {"sea", "ocean", "lake", "bay", "gulf", "valley", "river"}),
    ("Apples and oranges are kinds of [MASK].", {"fruit", "fruits"}),
    ("A year has four [MASK].", {"seasons", "quarters", "months", "parts"}),
    ("The opposite of hot is [MASK].", {"cold", "cool"}),
    ("The opposite of day is [MASK].", {"night"}),
    ("He was born in London and grew up in [MASK].", {"london", "england", "paris", "scotland", "america", "australia", "canada", "ireland", "india", "wales", "manchester", "liverpool", "kent", "birmingham", "france", "africa", "yorkshire", "brighton", "surrey", "essex", "oxford"}),
    ("She washed her hands with soap and [MASK].", {"water"}),
    ("The shop is closed on [MASK].", {"sunday", "sundays", "monday", "mondays", "saturday", "saturdays", "weekends", "tuesday", "wednesday", "thursday", "friday", "holidays", "christmas"}),
    ("I called my friend on the [MASK].", {"phone", "telephone", "radio", "way", "line", "mobile", "cell"}),
    ("The book was written by a famous [MASK].", {"author", "writer", "novelist", "poet", "man", "journalist", "artist", "person", "historian", "scientist", "woman"}),
]


def whole_word_candidates(result, k: int) -> list[str]:
    """The first k predictions that are whole words (a '##' piece cannot complete a blank)."""
    words = []
    for cand in result["masks"][0]["candidates"]:
        if cand.get("continues_word") or cand["token"].startswith("##"):
            continue
        words.append(cand["token"].strip().lower())
        if len(words) == k:
            break
    return words


def score(model_name: str, verbose: bool = False, loaded=None, items=None, candidates=None) -> dict:
    """top-1 / top-5 of a masked-LM over cloze `items` ([(sentence, accepted answers)], default
    CLOZE); `candidates(result, k)` picks the predictions that can fill the blank (default: whole
    words). `loaded`: an already loaded model (else `model_name` is loaded)."""
    from bertlab.fill_mask import fill_mask
    from bertlab.models import load_model

    items = CLOZE if items is None else items
    candidates = candidates or whole_word_candidates
    loaded = loaded or load_model(model_name, head="masked-lm", task="fill-mask")
    top1 = top5 = 0
    misses = []
    start = time.perf_counter()
    for sentence, answers in items:
        result = fill_mask(sentence, loaded, top_k=15, joint=False, attention=False)
        words = candidates(result, 5)
        top1 += bool(words) and words[0] in answers
        top5 += any(w in answers for w in words)
        if not any(w in answers for w in words):
            misses.append((sentence, words))
    n = len(items)
    out = {"model": model_name, "n": n, "top1": top1 / n, "top5": top5 / n,
           "seconds": round(time.perf_counter() - start, 2)}
    if verbose:
        for sentence, words in misses:
            print(f"  miss: {sentence:60} -> {', '.join(words)}", file=sys.stderr)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="cloze top-1 / top-5 of masked-LMs")
    parser.add_argument("--model", action="append", help="model name (repeatable; default: default)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="list the misses")
    args = parser.parse_args()
    print_rows([score(m, args.verbose) for m in (args.model or ["default"])], args.json)
    return 0


def print_rows(rows: list[dict], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    print(f"{'model':50} {'n':>4} {'top-1':>7} {'top-5':>7}")
    for r in rows:
        print(f"{r['model'][:50]:50} {r['n']:>4} {r['top1']:>7.1%} {r['top5']:>7.1%}")


if __name__ == "__main__":
    sys.exit(main())
