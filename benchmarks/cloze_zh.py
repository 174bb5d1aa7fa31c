"""Chinese cloze benchmark: everyday sentences with one masked character and the characters a
person accepts there.

The sentences and their answer sets were written for bertlab by hand, before any model's output
was seen, and are not taken from the pre-training corpus (`--check-corpus FILE` verifies that no
sentence occurs in it). Reports top-1 and top-5 accuracy over single-character predictions.

    python benchmarks/cloze_zh.py                              # default-chinese
    python benchmarks/cloze_zh.py --model runs/X/final --verbose
    python benchmarks/cloze_zh.py --model A --model B --json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CLOZE_ZH: list[tuple[str, set[str]]] = [
    ("北京是中国的首[MASK]。", {"都"}),
    ("一年有十二个[MASK]。", {"月"}),
    ("一个星期有七[MASK]。", {"天"}),
    ("太阳从东[MASK]升起。", {"方", "边"}),
    ("我每天早上喝一杯牛[MASK]。", {"奶"}),
    ("他口渴了，想喝[MASK]。", {"水", "茶"}),
    ("下雨了，别忘了带雨[MASK]。", {"伞", "衣"}),
    ("我的妈妈是一名医[MASK]。", {"生"}),
    ("学生们在教[MASK]里上课。", {"室"}),
    ("他每天坐公共汽[MASK]上班。", {"车"}),
    ("冬天很冷，夏天很[MASK]。", {"热"}),
    ("这个苹果很好[MASK]。", {"吃"}),
    ("我们一起去看电[MASK]吧。", {"影", "视"}),
    ("她在超[MASK]买了很多东西。", {"市"}),
    ("今天天气很好，我们去公[MASK]散步吧。", {"园"}),
    ("我的手机没[MASK]了，需要充电。", {"电"}),
    ("他用筷子吃[MASK]。", {"饭", "面", "菜"}),
    ("中国的首都是北[MASK]。", {"京"}),
    ("春节是中国最重要的节[MASK]。", {"日"}),
    ("我觉得这个故事很有意[MASK]。", {"思"}),
    ("请问洗手间在哪[MASK]？", {"里", "儿"}),
    ("谢谢你的帮[MASK]。", {"助"}),
    ("对不起，我来[MASK]了。", {"晚"}),
    ("他生病了，要去医[MASK]看病。", {"院"}),
    ("小猫喜欢吃[MASK]。", {"鱼", "肉"}),
    ("我每天晚上十一点睡[MASK]。", {"觉"}),
    ("小明，祝你生日快[MASK]！", {"乐"}),
    ("他是我最好的朋[MASK]。", {"友"}),
    ("我们坐飞[MASK]去上海。", {"机"}),
    ("火车站离这里不[MASK]。", {"远", "近"}),
    ("这件衣服太贵了，能便宜一[MASK]吗？", {"点", "些"}),
    ("我学习汉语已经三年[MASK]。", {"了", "多"}),
    ("她唱歌唱得很好[MASK]。", {"听"}),
    ("水在零度会结[MASK]。", {"冰"}),
    ("他的房间又干净又整[MASK]。", {"齐", "洁"}),
    ("老师让我们打开课[MASK]。", {"本"}),
    ("我每天早上七点起[MASK]。", {"床"}),
    ("周末我喜欢在家看[MASK]。", {"书", "报", "剧"}),
    ("这家酒店的服务态[MASK]很好。", {"度"}),
    ("他每天跑步锻炼身[MASK]。", {"体"}),
    ("我的生日是五月一[MASK]。", {"日", "号"}),
    ("他们正在开[MASK]讨论问题。", {"会"}),
    ("请把门关[MASK]。", {"上", "好"}),
    ("今天是星期[MASK]，我们不用上班。", {"六", "日", "天"}),
    ("这个问题太难了，我不知道怎么回[MASK]。", {"答"}),
    ("这台电脑的屏幕很[MASK]，看得很清楚。", {"大", "亮", "清"}),
    ("孩子们在操场上踢足[MASK]。", {"球"}),
    ("我们家有四口[MASK]。", {"人"}),
    ("他的中文说得非常流[MASK]。", {"利"}),
    ("晚饭后我们一起去散[MASK]。", {"步"}),
    ("天黑了，请把灯打[MASK]。", {"开"}),
    ("外面下大雪了，天气非常寒[MASK]。", {"冷"}),
    ("这部手机的质量很[MASK]，用了五年还没坏。", {"好"}),
    ("我们应该保护环[MASK]。", {"境"}),
    ("她每天都给花浇[MASK]。", {"水"}),
    ("快递员把包[MASK]送到了我家。", {"裹"}),
    ("他把钱存进了银[MASK]。", {"行"}),
    ("书包里有铅笔、橡皮和作业[MASK]。", {"本"}),
    ("我们明天早上八点在学校门[MASK]见面。", {"口"}),
    ("月亮绕着地[MASK]转。", {"球"}),
    ("他喜欢喝咖[MASK]。", {"啡"}),
    ("妈妈在厨[MASK]做饭。", {"房"}),
    ("这个价格太贵了，我买不[MASK]。", {"起"}),
    ("空调坏了，房间里热得要[MASK]。", {"命", "死"}),
]


def single_characters(result, k: int) -> list[str]:
    """The first k predictions that are one character (the blank holds exactly one)."""
    chars = []
    for cand in result["masks"][0]["candidates"]:
        token = cand["token"].strip()
        if len(token) == 1:
            chars.append(token)
        if len(chars) == k:
            break
    return chars


def score(model_name: str, verbose: bool = False, loaded=None) -> dict:
    from cloze import score as cloze_score

    return cloze_score(model_name, verbose, loaded=loaded, items=CLOZE_ZH, candidates=single_characters)


def check_corpus(path: str) -> list[str]:
    """Sentences (with the answer filled in) that occur verbatim in a corpus file."""
    text = Path(path).read_text(encoding="utf-8")
    found = []
    for sentence, answers in CLOZE_ZH:
        for answer in answers:
            filled = sentence.replace("[MASK]", answer).rstrip("。！？")
            if filled in text:
                found.append(filled)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description="Chinese cloze top-1 / top-5 of masked-LMs")
    parser.add_argument("--model", action="append", help="model name (repeatable; default: default-chinese)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="list the misses")
    parser.add_argument("--check-corpus", metavar="FILE", help="only check that no sentence occurs in FILE")
    args = parser.parse_args()
    if args.check_corpus:
        found = check_corpus(args.check_corpus)
        print(f"{len(found)} of {len(CLOZE_ZH)} sentences occur in {args.check_corpus}" +
              "".join(f"\n  {s}" for s in found))
        return 1 if found else 0
    from cloze import print_rows

    print_rows([score(m, args.verbose) for m in (args.model or ["default-chinese"])], args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
