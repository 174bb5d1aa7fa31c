"""Short Chinese reviews: does a sentiment model read the one-line opinions a user types?

ChnSentiCorp's dev rows are long reviews (median ~100 characters) from three domains; the page's
users type one short sentence about anything. These 64 sentences were written for bertlab by hand,
with their labels, before any model's output on them was seen: 32 positive, 32 negative, eight
domains (hotel, book, electronics, restaurant, film, shopping, service, travel), 4 + 4 each.
They are plain opinions with no sarcasm or double negatives, so a miss is the model's, not the
sentence's. Reports accuracy overall and per domain.

    python benchmarks/reviews_zh.py                                 # default-sentiment-chinese
    python benchmarks/reviews_zh.py --model runs/X/final --verbose
    python benchmarks/reviews_zh.py --model A --model B --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (domain, text, label)
REVIEWS_ZH: list[tuple[str, str, str]] = [
    ("hotel", "房间宽敞明亮，床也很舒服。", "positive"),
    ("hotel", "前台服务热情，入住很顺利。", "positive"),
    ("hotel", "酒店离地铁站很近，出行方便。", "positive"),
    ("hotel", "早餐品种丰富，味道不错。", "positive"),
    ("hotel", "房间又小又潮，还有一股霉味。", "negative"),
    ("hotel", "隔音太差，一晚上都没睡好。", "negative"),
    ("hotel", "卫生间很脏，毛巾也是旧的。", "negative"),
    ("hotel", "空调坏了，前台半天没人来修。", "negative"),
    ("book", "这本书让我受益匪浅。", "positive"),
    ("book", "故事写得很感人，我一口气读完了。", "positive"),
    ("book", "作者的文笔很好，推荐阅读。", "positive"),
    ("book", "内容充实，讲解清楚，很适合初学者。", "positive"),
    ("book", "内容空洞，看了一半就不想看了。", "negative"),
    ("book", "印刷质量很差，错别字也很多。", "negative"),
    ("book", "这本书太枯燥了，完全读不下去。", "negative"),
    ("book", "书里的观点陈旧，没有什么新东西。", "negative"),
    ("electronics", "手机拍照很清晰，电池也耐用。", "positive"),
    ("electronics", "耳机音质很好，戴着也舒服。", "positive"),
    ("electronics", "笔记本电脑很轻，开机速度很快。", "positive"),
    ("electronics", "键盘手感不错，用起来很顺手。", "positive"),
    ("electronics", "电池不耐用，半天就没电了。", "negative"),
    ("electronics", "屏幕有坏点，客服还不给换。", "negative"),
    ("electronics", "用了一个星期就死机好几次。", "negative"),
    ("electronics", "充电器发热严重，让人不敢用。", "negative"),
    ("restaurant", "菜的味道很好，分量也足。", "positive"),
    ("restaurant", "环境优雅，服务员很有礼貌。", "positive"),
    ("restaurant", "这家的饺子特别好吃，还会再来。", "positive"),
    ("restaurant", "价格实惠，上菜也快。", "positive"),
    ("restaurant", "菜太咸了，而且上得特别慢。", "negative"),
    ("restaurant", "饭菜是凉的，服务员态度也不好。", "negative"),
    ("restaurant", "又贵又难吃，再也不来了。", "negative"),
    ("restaurant", "餐具不干净，吃完肚子还疼。", "negative"),
    ("film", "这部电影非常精彩，值得一看。", "positive"),
    ("film", "演员演得很好，故事也很感人。", "positive"),
    ("film", "画面很美，音乐也好听。", "positive"),
    ("film", "这是我今年看过最好的电影。", "positive"),
    ("film", "剧情无聊，我看到一半就睡着了。", "negative"),
    ("film", "演技太假了，浪费了两个小时。", "negative"),
    ("film", "故事混乱，根本看不懂在讲什么。", "negative"),
    ("film", "这部电影太让人失望了。", "negative"),
    ("shopping", "衣服质量很好，穿着很合身。", "positive"),
    ("shopping", "包装很仔细，东西和图片一样。", "positive"),
    ("shopping", "物美价廉，已经推荐给朋友了。", "positive"),
    ("shopping", "鞋子很舒服，颜色也好看。", "positive"),
    ("shopping", "衣服洗了一次就掉色了。", "negative"),
    ("shopping", "收到的东西和描述完全不一样。", "negative"),
    ("shopping", "做工粗糙，线头到处都是。", "negative"),
    ("shopping", "等了两个星期才到货，还少了一件。", "negative"),
    ("service", "客服回答得很耐心，问题很快就解决了。", "positive"),
    ("service", "快递员很准时，服务很周到。", "positive"),
    ("service", "工作人员很专业，让人放心。", "positive"),
    ("service", "售后服务很好，换货很方便。", "positive"),
    ("service", "打了三次电话都没人接。", "negative"),
    ("service", "客服态度冷淡，问什么都说不知道。", "negative"),
    ("service", "退款拖了一个月还没到账。", "negative"),
    ("service", "工作人员很不耐烦，让人生气。", "negative"),
    ("travel", "风景美极了，这次旅行很开心。", "positive"),
    ("travel", "导游讲解得很有趣，行程安排合理。", "positive"),
    ("travel", "景区干净整洁，空气也很新鲜。", "positive"),
    ("travel", "这个地方很值得去，下次还想再来。", "positive"),
    ("travel", "景点人太多，排了三个小时的队。", "negative"),
    ("travel", "门票太贵，里面却没什么可看的。", "negative"),
    ("travel", "导游一直带我们去购物，太坑了。", "negative"),
    ("travel", "航班延误了五个小时，没有任何解释。", "negative"),
]


def score(model: str, *, verbose: bool = False) -> dict:
    """Accuracy of `model` (a bertlab model name or a saved classifier folder) on REVIEWS_ZH."""
    from bertlab.service import Service

    service = Service()
    texts = [text for _, text, _ in REVIEWS_ZH]
    answers = [service.classify(text, model=model) for text in texts]
    right_by_domain: dict[str, list[int]] = {}
    misses = []
    for (domain, text, label), answer in zip(REVIEWS_ZH, answers):
        hit = answer["label"] == label
        right_by_domain.setdefault(domain, []).append(int(hit))
        if not hit:
            misses.append({"text": text, "expected": label, "answered": answer["label"],
                           "score": round(float(answer["score"]), 3)})
    if verbose:
        for miss in misses:
            print(f"  miss: {miss['text']}  expected {miss['expected']}, answered {miss['answered']} "
                  f"({miss['score']})", file=sys.stderr)
    hits = sum(sum(v) for v in right_by_domain.values())
    return {"model": model, "n": len(REVIEWS_ZH), "accuracy": round(hits / len(REVIEWS_ZH), 4),
            "by_domain": {d: f"{sum(v)}/{len(v)}" for d, v in right_by_domain.items()},
            "misses": misses}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="model name or folder (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="print each miss")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [score(m, verbose=args.verbose) for m in (args.model or ["default-sentiment-chinese"])]
    for row in rows:
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"{row['model']}: {row['accuracy']:.3f} ({row['n']} sentences)  "
                  + "  ".join(f"{d} {s}" for d, s in row["by_domain"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
