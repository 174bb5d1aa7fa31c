"""Cloze benchmark: everyday English sentences with one [MASK] and the answers a person accepts.

Reports top-1 and top-5 accuracy (an item counts when any accepted answer is among the model's
first k whole-word predictions). Written for bertlab; the sentences are the project's own.

    python benchmarks/cloze.py                       # the default model, dev set
    python benchmarks/cloze.py --model runs/X/final  # any masked-LM the registry resolves
    python benchmarks/cloze.py --model default --model runs/X/final --set both --json
    python benchmarks/cloze.py --heldout /root/bertlab-data/default_mlm_heldout.txt  # + masked-token accuracy
    python benchmarks/cloze.py --snapshots DIR      # + every step-N.safetensors checkpoint copy in DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Two sets. Each answer set was written from the sentence alone (what a person accepts), before
# and without looking at any model's answers; no sentence comes from a training corpus.
# CLOZE ("dev") steers: checkpoints and data are chosen on it. Its sentences were seen with model
# answers in earlier sessions, and its answer sets were rewritten on 2026-11-29 from the sentences
# alone (the earlier sets had grown answers models gave, e.g. "A year has four [MASK]" accepted
# "months"; ambiguous sentences were replaced).
CLOZE: list[tuple[str, set[str]]] = [
    ("The capital of France is [MASK].", {"paris"}),
    ("The capital of Japan is [MASK].", {"tokyo"}),
    ("The capital of England is [MASK].", {"london"}),
    ("The sun rises in the [MASK].", {"east", "morning"}),
    ("There are seven days in a [MASK].", {"week"}),
    ("There are twelve months in a [MASK].", {"year"}),
    ("Water freezes at zero [MASK] Celsius.", {"degrees"}),
    ("She drank a glass of [MASK] with her breakfast.", {"milk", "water", "juice", "tea", "coffee", "wine", "lemonade"}),
    ("He opened the [MASK] and walked into the room.", {"door"}),
    ("I brush my [MASK] every morning.", {"teeth", "hair"}),
    ("The cat chased the [MASK] across the garden.", {"mouse", "mice", "bird", "birds", "rat", "dog", "ball", "squirrel", "rabbit", "butterfly", "chicken", "chickens"}),
    ("It was raining, so she took her [MASK].", {"umbrella", "coat", "raincoat", "car"}),
    ("Birds can [MASK] high in the sky.", {"fly", "soar"}),
    ("Fish live in the [MASK].", {"water", "sea", "ocean", "river", "rivers", "lake", "lakes"}),
    ("We eat soup with a [MASK].", {"spoon"}),
    ("He wrote the letter with a [MASK].", {"pen", "pencil", "quill"}),
    ("The doctor told him to take the [MASK] twice a day.", {"medicine", "pills", "pill", "tablets", "tablet", "medication", "drug", "drugs", "capsules"}),
    ("My mother's brother is my [MASK].", {"uncle"}),
    ("My father's mother is my [MASK].", {"grandmother", "grandma", "granny"}),
    ("Please turn off the [MASK] when you leave the room.", {"light", "lights", "lamp", "tv", "television", "radio", "heater", "heating", "computer", "fan"}),
    ("The children played in the [MASK] after school.", {"park", "playground", "garden", "yard", "backyard", "street", "streets", "snow", "field", "fields", "woods", "gym", "sand"}),
    ("She put the milk back in the [MASK].", {"fridge", "refrigerator"}),
    ("He went to the [MASK] to buy some bread.", {"bakery", "store", "shop", "shops", "market", "supermarket", "baker", "grocery", "village", "town"}),
    ("The train leaves from platform [MASK].", {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "1", "2", "3", "4", "5", "6", "7", "8", "9"}),
    ("I am going to bed because I am very [MASK].", {"tired", "sleepy", "sick", "ill", "exhausted"}),
    ("He was so hungry that he ate the whole [MASK].", {"pizza", "cake", "meal", "bread", "loaf", "pie", "sandwich", "chicken", "turkey", "thing", "lot", "plate", "box", "bag", "packet", "dinner", "burger", "apple"}),
    ("Summer is the [MASK] season of the year.", {"hottest", "warmest", "best", "longest", "sunniest", "driest", "busiest"}),
    ("In winter the ground is covered with [MASK].", {"snow", "ice", "frost"}),
    ("The teacher asked the students to open their [MASK].", {"books", "notebooks", "textbooks", "eyes", "mouths", "laptops", "bags"}),
    ("A dog has four [MASK].", {"legs", "paws", "feet"}),
    ("She plays the [MASK] in the school orchestra.", {"violin", "piano", "flute", "cello", "trumpet", "clarinet", "drums", "guitar", "viola", "oboe", "harp", "saxophone", "horn", "trombone", "bass", "tuba", "bassoon"}),
    ("They got married in a small [MASK] near the village.", {"church", "chapel", "ceremony", "cottage", "garden", "house", "hall", "temple"}),
    ("He kicked the [MASK] into the goal.", {"ball"}),
    ("The baby started to [MASK] when she dropped her toy.", {"cry", "scream", "wail", "sob", "whine"}),
    ("I need a new [MASK] because my old one has a flat tire.", {"bike", "bicycle", "car", "tire", "tyre", "wheel"}),
    ("The moon shines at [MASK].", {"night"}),
    ("He lost his keys and could not open the [MASK].", {"door", "car", "gate", "lock", "house", "safe", "drawer", "trunk"}),
    ("Please sit down on the [MASK].", {"chair", "bench", "couch", "sofa", "floor", "bed", "seat", "ground", "grass", "stool"}),
    ("The price of the ticket was ten [MASK].", {"dollars", "pounds", "euros", "cents", "shillings", "francs", "bucks", "pence"}),
    ("Paris is a city in [MASK].", {"france", "europe"}),
    ("He speaks English and [MASK] fluently.", {"french", "german", "spanish", "italian", "russian", "chinese", "japanese", "arabic", "portuguese", "dutch", "greek", "latin", "hebrew", "polish", "hindi", "korean", "swedish", "turkish"}),
    ("The president lives in the White [MASK].", {"house"}),
    ("She read the [MASK] before going to sleep.", {"book", "story", "newspaper", "letter", "novel", "paper", "magazine", "bible", "poem", "article", "chapter", "message", "note"}),
    ("Thank you very [MASK] for your help.", {"much"}),
    ("I will see you [MASK].", {"tomorrow", "soon", "later", "tonight", "again", "there", "then"}),
    ("How are [MASK] today?", {"you", "things", "we", "they"}),
    ("The restaurant serves breakfast, lunch and [MASK].", {"dinner", "supper"}),
    ("He put on his shoes and tied the [MASK].", {"laces", "shoelaces", "knot", "bow", "strings"}),
    ("The plane landed safely at the [MASK].", {"airport", "airfield", "runway", "base", "terminal"}),
    ("Can you tell me the [MASK], please? I don't have a watch.", {"time"}),
    ("The river flows into the [MASK].", {"sea", "ocean", "lake", "bay", "gulf"}),
    ("Apples and oranges are kinds of [MASK].", {"fruit", "fruits"}),
    ("A year has four [MASK].", {"seasons", "quarters"}),
    ("The opposite of hot is [MASK].", {"cold"}),
    ("The opposite of day is [MASK].", {"night"}),
    ("He was born in Paris, so his first language is [MASK].", {"french"}),
    ("She washed her hands with soap and [MASK].", {"water"}),
    ("The shop is closed on [MASK].", {"sunday", "sundays", "monday", "mondays", "saturday", "saturdays", "weekends", "tuesday", "wednesday", "thursday", "friday", "holidays", "christmas"}),
    ("I called my friend on the [MASK].", {"phone", "telephone", "mobile", "cell", "cellphone"}),
    ("The book was written by a famous [MASK].", {"author", "writer", "novelist", "poet", "journalist", "historian", "scientist", "professor", "philosopher"}),
    ("The [MASK] barked at the mailman.", {"dog", "dogs", "puppy", "hound"}),
]

# CLOZE_UNSEEN ("unseen"): written 2026-11-29 with its answer sets before any model answered it,
# and never looked at while choosing checkpoints or data: only its totals are reported (for the
# shipped model and the previous one), never its misses.
CLOZE_UNSEEN: list[tuple[str, set[str]]] = [
    ("The capital of Italy is [MASK].", {"rome"}),
    ("The capital of Germany is [MASK].", {"berlin"}),
    ("Ice is frozen [MASK].", {"water"}),
    ("There are sixty minutes in an [MASK].", {"hour"}),
    ("There are sixty seconds in a [MASK].", {"minute"}),
    ("A week has seven [MASK].", {"days"}),
    ("Cows give us [MASK].", {"milk"}),
    ("Bees make [MASK].", {"honey"}),
    ("She looked at herself in the [MASK].", {"mirror", "glass", "water", "window"}),
    ("He cut the bread with a [MASK].", {"knife"}),
    ("I need to wash my [MASK] before dinner.", {"hands", "face", "hair"}),
    ("The sky is [MASK] on a clear day.", {"blue", "bright", "clear"}),
    ("Grass is [MASK].", {"green"}),
    ("Snow is [MASK] and cold.", {"white", "wet", "soft"}),
    ("We sleep in a [MASK].", {"bed", "tent", "room", "bedroom"}),
    ("She wore a warm [MASK] because it was cold outside.", {"coat", "jacket", "sweater", "scarf", "hat", "jumper", "dress", "cloak", "shawl", "sweatshirt"}),
    ("The baby is sleeping, so please be [MASK].", {"quiet", "careful", "silent", "still"}),
    ("He is a [MASK], so he works in a hospital.", {"doctor", "nurse", "surgeon", "physician", "paramedic", "pharmacist"}),
    ("My sister's daughter is my [MASK].", {"niece"}),
    ("My father's brother is my [MASK].", {"uncle"}),
    ("The football match ended in a [MASK].", {"draw", "tie", "win", "victory", "defeat", "loss", "stalemate"}),
    ("Please close the [MASK], it is cold in here.", {"window", "door", "windows", "doors"}),
    ("The farmer milked the [MASK].", {"cow", "cows", "goat", "goats"}),
    ("You can borrow books from the [MASK].", {"library"}),
    ("He drove his [MASK] to work.", {"car", "truck", "van", "bus", "bike", "motorcycle"}),
    ("It is dark, so turn on the [MASK].", {"light", "lights", "lamp", "torch", "flashlight"}),
    ("Christmas is celebrated in [MASK].", {"december", "winter"}),
    ("The first month of the year is [MASK].", {"january"}),
    ("Two plus two equals [MASK].", {"four", "4"}),
    ("She boiled water to make a cup of [MASK].", {"tea", "coffee", "cocoa", "soup", "chocolate"}),
    ("A bicycle has two [MASK].", {"wheels"}),
    ("We saw lions and elephants at the [MASK].", {"zoo", "circus", "park", "safari"}),
    ("The students sat quietly in the [MASK].", {"classroom", "class", "room", "hall", "library", "lecture", "auditorium", "school", "gym"}),
    ("He paid for the groceries with his credit [MASK].", {"card"}),
    ("She brushed her [MASK] and tied it back.", {"hair"}),
    ("The dentist checked my [MASK].", {"teeth", "mouth", "tooth", "gums"}),
    ("The kettle is in the [MASK].", {"kitchen"}),
    ("After the long walk, she was very [MASK].", {"tired", "hungry", "thirsty", "exhausted", "sleepy", "weary"}),
    ("The shop opens at nine o'clock in the [MASK].", {"morning"}),
    ("The opposite of up is [MASK].", {"down"}),
    ("The opposite of young is [MASK].", {"old"}),
    ("He speaks French because he grew up in [MASK].", {"france", "paris", "quebec", "belgium", "switzerland", "canada", "montreal", "haiti", "luxembourg", "monaco", "lyon"}),
    ("A baby cat is called a [MASK].", {"kitten", "kitty"}),
    ("The sun sets in the [MASK].", {"west", "evening"}),
    ("We use an umbrella when it [MASK].", {"rains", "pours", "snows", "drizzles"}),
    ("The cake was baked in the [MASK].", {"oven", "kitchen"}),
    ("Please write your name at the top of the [MASK].", {"page", "paper", "form", "sheet", "list", "letter", "document", "test", "card"}),
    ("She sent me a letter by [MASK].", {"post", "mail", "email", "courier", "hand"}),
    ("I like to read the [MASK] with my morning coffee.", {"newspaper", "paper", "news", "papers", "book", "magazine"}),
    ("He scored a [MASK] in the last minute of the game.", {"goal", "point", "basket", "touchdown", "run", "try"}),
    ("Thank you for [MASK] me.", {"helping", "inviting", "calling", "telling", "having", "saving", "trusting", "choosing", "visiting", "forgiving", "understanding", "reminding", "believing", "asking", "joining", "supporting", "letting", "teaching", "meeting", "loving", "warning"}),
    ("The train was late, so I missed my [MASK].", {"connection", "flight", "appointment", "meeting", "bus", "plane", "interview", "train", "class", "lecture"}),
    ("Let's go to the beach and swim in the [MASK].", {"sea", "ocean", "water", "waves", "surf", "lake"}),
    ("She put the flowers in a [MASK] of water.", {"vase", "glass", "jar", "bucket", "jug", "bowl", "pot", "bottle"}),
    ("My phone's battery is [MASK], so I cannot call you.", {"dead", "low", "flat", "empty", "dying", "gone", "out"}),
    ("The library is a quiet [MASK].", {"place", "room", "building", "space", "area", "spot"}),
    ("A triangle has three [MASK].", {"sides", "corners", "angles", "points", "edges", "vertices"}),
    ("He was thirsty, so he drank some [MASK].", {"water", "juice", "milk", "beer", "tea", "coffee", "wine", "soda", "lemonade"}),
    ("The [MASK] was barking all night, and the neighbours complained.", {"dog", "dogs", "puppy"}),
    ("She wears glasses because she cannot [MASK] well.", {"see", "read"}),
    ("The meeting is on the second [MASK] of the building.", {"floor", "storey", "story", "level"}),
    ("Good [MASK]! How did you sleep?", {"morning"}),
    ("He took a [MASK] because he was feeling dirty.", {"shower", "bath", "wash"}),
    ("The waiter brought us the [MASK] so we could order.", {"menu", "menus"}),
]

SETS = {"dev": CLOZE, "unseen": CLOZE_UNSEEN}


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
    from bertlab.inference.fill_mask import fill_mask
    from bertlab.modeling.registry import load_model

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


def snapshot_model(weights: Path, tokenizer_name: str = "default"):
    """A masked-LM of the wheel's shape (vocabulary: `tokenizer_name`'s) from a run checkpoint's
    weights (the training wrapper's "model." keys), to score checkpoints along a run."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, BertForMaskedLM

    from bertlab.modeling.registry import LoadedModel, ModelSource, load_tokenizer, wheel_model_dir

    tokenizer = load_tokenizer(tokenizer_name, "tokenize")
    config = AutoConfig.from_pretrained(str(wheel_model_dir()), vocab_size=len(tokenizer))
    model = BertForMaskedLM(config)
    state = {k.removeprefix("model."): v for k, v in load_file(str(weights)).items()}
    missing, _ = model.load_state_dict(state, strict=False)
    # The decoder's weight and bias are tied to the word embeddings and cls.predictions.bias.
    missing = [k for k in missing if not k.endswith(("position_ids", "decoder.weight", "decoder.bias"))]
    if missing:
        raise SystemExit(f"{weights}: checkpoint lacks {len(missing)} weights, e.g. {missing[:3]}")
    model.tie_weights()
    return LoadedModel(tokenizer, model.eval(), ModelSource(weights.stem, "local", str(weights)))


def heldout_accuracy(model_name: str, path: str, loaded=None, max_sequences: int = 400,
                     seq_len: int = 64, seed: int = 0) -> dict:
    """Masked-token accuracy and loss on a text file (e.g. text no training stage saw): the file
    is cut into `seq_len`-token pieces, 15% of each piece's tokens are replaced by [MASK] (the same
    positions for every model, fixed by `seed`), and the top-1 prediction is compared."""
    import torch

    from bertlab.modeling.registry import load_model

    loaded = loaded or load_model(model_name, head="masked-lm", task="fill-mask")
    tok, model = loaded.tokenizer, loaded.model
    ids = tok(open(path, encoding="utf-8").read(), add_special_tokens=False)["input_ids"]
    body = seq_len - 2
    pieces = [ids[i:i + body] for i in range(0, len(ids) - body + 1, body)][:max_sequences]
    rng = torch.Generator().manual_seed(seed)
    correct = total = 0
    loss_sum = 0.0
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(pieces), 32):
            batch = torch.tensor([[tok.cls_token_id, *p, tok.sep_token_id] for p in pieces[i:i + 32]])
            chosen = torch.rand(batch.shape, generator=rng) < 0.15   # (B, T)
            chosen[:, 0] = chosen[:, -1] = False
            inputs = batch.masked_fill(chosen, tok.mask_token_id)
            logits = model(input_ids=inputs).logits[chosen]           # (masked, vocab)
            targets = batch[chosen]
            loss_sum += torch.nn.functional.cross_entropy(logits, targets, reduction="sum").item()
            correct += (logits.argmax(-1) == targets).sum().item()
            total += targets.numel()
    return {"model": model_name, "heldout": Path(path).name, "masked_tokens": total,
            "accuracy": round(correct / max(total, 1), 4), "loss": round(loss_sum / max(total, 1), 4),
            "seconds": round(time.perf_counter() - start, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description="cloze top-1 / top-5 of masked-LMs")
    parser.add_argument("--model", action="append", help="model name (repeatable; default: default)")
    parser.add_argument("--set", choices=["dev", "unseen", "both"], default="dev",
                        help="dev: the set checkpoints are chosen on; unseen: the set never looked at "
                             "while choosing (report only its totals)")
    parser.add_argument("--snapshots", default="",
                        help="folder of step-N.safetensors run checkpoints: score each, along training")
    parser.add_argument("--heldout", default="", help="also: masked-token accuracy on this text file")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="list the misses (dev set only)")
    args = parser.parse_args()
    from bertlab.modeling.registry import load_model

    rows = []
    models = [(name, None) for name in args.model or ["default"]]
    if args.snapshots:
        steps = sorted(Path(args.snapshots).glob("step-*.safetensors"), key=lambda p: int(p.stem.split("-")[1]))
        models = [(w.stem, w) for w in steps] + models
    for name, weights in models:
        loaded = snapshot_model(weights) if weights else load_model(name, head="masked-lm", task="fill-mask")
        for set_name in (["dev", "unseen"] if args.set == "both" else [args.set]):
            row = score(name, args.verbose and set_name == "dev", loaded=loaded, items=SETS[set_name])
            rows.append({**row, "set": set_name})
        if args.heldout:
            rows.append(heldout_accuracy(name, args.heldout, loaded=loaded))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print_rows([r for r in rows if "top1" in r], False)
    for r in rows:
        if "accuracy" in r:
            print(f"{r['model'][:50]:50} held-out {r['heldout']}: accuracy {r['accuracy']:.3f}, "
                  f"loss {r['loss']:.3f} ({r['masked_tokens']} masked tokens)")
    return 0


def print_rows(rows: list[dict], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    print(f"{'model':50} {'set':>7} {'n':>4} {'top-1':>7} {'top-5':>7}")
    for r in rows:
        print(f"{r['model'][:50]:50} {r.get('set', ''):>7} {r['n']:>4} {r['top1']:>7.1%} {r['top5']:>7.1%}")


if __name__ == "__main__":
    sys.exit(main())
