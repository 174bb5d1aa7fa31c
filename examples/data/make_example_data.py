"""Write bertlab's small example data sets (all sentences composed here, for the project).

    python examples/data/make_example_data.py          # rewrites the three CSV files next to it

- sentiment_en.csv   text,label   English reviews, positive / negative, 400 rows
- sentiment_zh.csv   text,label   Chinese reviews, 正面 / 负面, 400 rows
- pairs_en.csv  sentence1,sentence2,label   English sentence pairs, yes / no, 200 rows

The output is the same on every run (a fixed seed, sorted vocabularies), so the files can be
committed and regenerated. The sets are built so that no single word decides the label: "good",
"recommend", "expected", "推荐", "虽然…但是" appear in both classes, negation flips adjectives ("not
bad" is positive), contrast sentences are decided by the clause after "but"/"但是", and paraphrase
pairs that differ in one detail (who did it, what, when, a negation, swapped roles) share most of
their words while true paraphrases often share few.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20240607

# ----------------------------------------------------------------------------- English sentiment

# domain: (things, {aspect: (adjectives that praise it, adjectives that fault it)})
EN_DOMAINS = {
    "film": (["movie", "film", "documentary", "series"], {
        "plot": (["gripping", "clever", "original"], ["predictable", "confusing", "thin"]),
        "acting": (["convincing", "moving", "natural"], ["wooden", "stiff", "over the top"]),
        "soundtrack": (["beautiful", "haunting", "catchy"], ["forgettable", "grating", "intrusive"]),
        "pacing": (["tight", "brisk", "well judged"], ["slow", "dragging", "uneven"]),
        "ending": (["satisfying", "surprising", "moving"], ["rushed", "flat", "abrupt"]),
        "dialogue": (["sharp", "witty", "natural"], ["clunky", "stilted", "cheesy"]),
        "cinematography": (["stunning", "gorgeous", "striking"], ["murky", "dull", "shaky"])}),
    "restaurant": (["restaurant", "café", "bistro", "noodle bar"], {
        "food": (["delicious", "fresh", "tasty"], ["bland", "greasy", "cold"]),
        "service": (["friendly", "quick", "attentive"], ["rude", "slow", "careless"]),
        "price": (["fair", "reasonable", "modest"], ["steep", "outrageous", "inflated"]),
        "atmosphere": (["cosy", "relaxed", "lively"], ["noisy", "gloomy", "stuffy"]),
        "dessert": (["heavenly", "rich", "delicate"], ["stale", "sickly", "dry"]),
        "coffee": (["strong", "smooth", "rich"], ["bitter", "weak", "lukewarm"])}),
    "hotel": (["hotel", "guesthouse", "hostel", "resort"], {
        "room": (["spotless", "spacious", "bright"], ["dirty", "cramped", "dark"]),
        "bed": (["comfortable", "soft", "huge"], ["lumpy", "hard", "squeaky"]),
        "breakfast": (["generous", "varied", "fresh"], ["meagre", "stale", "cold"]),
        "location": (["convenient", "central", "quiet"], ["remote", "noisy", "inconvenient"]),
        "front desk": (["helpful", "friendly", "efficient"], ["unhelpful", "rude", "disorganised"]),
        "view": (["stunning", "breathtaking", "lovely"], ["grim", "depressing", "ugly"]),
        "bathroom": (["clean", "modern", "spacious"], ["mouldy", "tiny", "dirty"])}),
    "gadget": (["phone", "laptop", "tablet", "smartwatch", "e-reader"], {
        "battery": (["long-lasting", "reliable", "excellent"], ["weak", "short-lived", "unreliable"]),
        "screen": (["crisp", "bright", "sharp"], ["dim", "blurry", "washed out"]),
        "sound": (["rich", "clear", "punchy"], ["tinny", "muddy", "distorted"]),
        "build quality": (["solid", "sturdy", "premium"], ["flimsy", "cheap", "fragile"]),
        "keyboard": (["comfortable", "responsive", "quiet"], ["mushy", "cramped", "noisy"]),
        "camera": (["sharp", "fast", "excellent"], ["grainy", "slow", "blurry"]),
        "software": (["smooth", "intuitive", "stable"], ["buggy", "laggy", "confusing"])}),
    "book": (["book", "novel", "memoir", "short story collection"], {
        "writing": (["vivid", "elegant", "beautiful"], ["clumsy", "dull", "overwritten"]),
        "characters": (["believable", "lovable", "complex"], ["flat", "wooden", "annoying"]),
        "story": (["gripping", "original", "moving"], ["predictable", "confusing", "thin"]),
        "ending": (["satisfying", "touching", "clever"], ["rushed", "abrupt", "silly"]),
        "translation": (["fluent", "faithful", "natural"], ["awkward", "stiff", "sloppy"]),
        "humour": (["witty", "warm", "clever"], ["forced", "cheap", "childish"]),
        "research": (["thorough", "careful", "impressive"], ["shallow", "sloppy", "thin"])}),
}
# Words that praise or fault anything, mixed in now and then.
EN_GENERIC = (["excellent", "wonderful", "great", "superb"], ["awful", "disappointing", "poor", "terrible"])
EN_OPENERS = ["", "", "", "Honestly, ", "Overall, ", "To be fair, ", "In short, ", "I have to say ",
              "Well, ", "After two visits, "]
EN_INTENSIFIERS = ["", "", "really ", "truly ", "quite ", "very ", "surprisingly "]

# Each template: (label, text). Slots: {thing} {aspect} {aspect2} {pos} {pos2} {neg} {neg2} {int}.
EN_TEMPLATES = [
    ("positive", "the {aspect} was {int}{pos}."),
    ("positive", "the {aspect} was {pos} and the {aspect2} was {pos2}."),
    ("positive", "I loved the {aspect} of this {thing}."),
    ("positive", "not bad at all: the {aspect} was actually {pos}."),
    ("positive", "the {aspect2} could have been better, but the {aspect} was {int}{pos}."),
    ("positive", "I expected to be let down, yet the {aspect} turned out {pos}."),
    ("positive", "I would happily recommend this {thing} to a friend; the {aspect} is {pos}."),
    ("positive", "one of the best {thing}s I have tried this year, the {aspect} especially."),
    ("positive", "there was nothing to dislike about the {aspect}, which felt {pos}."),
    ("positive", "the {aspect} wasn't {neg} like people said, it was {int}{pos}."),
    ("positive", 'good {thing}. The {aspect} was {pos}, and I left smiling.'),
    ("positive", 'a friend called it "{neg}", but I found the {aspect} {pos}.'),
    ("positive", "I'd come back for the {aspect} alone; it was {pos}."),
    ("positive", "worth every penny, with a {pos} {aspect} and a {pos2} {aspect2}."),
    ("negative", "the {aspect} was {int}{neg}."),
    ("negative", "the {aspect} was {neg} and the {aspect2} was {neg2}."),
    ("negative", "I wanted to love this {thing}, but the {aspect} was {neg}."),
    ("negative", "not good at all: the {aspect} was {int}{neg}."),
    ("negative", "the {aspect2} was {pos2}, but the {aspect} was so {neg} that it ruined everything."),
    ("negative", "I expected a lot, yet the {aspect} turned out {neg}."),
    ("negative", "I would not recommend this {thing} to anyone; the {aspect} is {neg}."),
    ("negative", "one of the worst {thing}s I have tried this year, the {aspect} especially."),
    ("negative", "hard to find anything good to say about the {aspect}, which felt {neg}."),
    ("negative", "the {aspect} wasn't {pos} like people said, it was {int}{neg}."),
    ("negative", "bad {thing}. The {aspect} was {neg}, and I left annoyed."),
    ("negative", 'the ads called it "{pos}", but I found the {aspect} {neg}.'),
    ("negative", "I won't be back; the {aspect} was {neg}."),
    ("negative", "a waste of money, with a {neg} {aspect} and a {neg2} {aspect2}."),
]


def _capitalise(s: str) -> str:
    return s[:1].upper() + s[1:]


def _adjectives(rng: random.Random, table: dict, aspect: str, generic: tuple[list[str], list[str]]):
    """(a praising adjective, a faulting adjective) that suit `aspect`; now and then a generic one."""
    pos, neg = table[aspect]
    p = rng.choice(generic[0]) if rng.random() < 0.2 else rng.choice(pos)
    n = rng.choice(generic[1]) if rng.random() < 0.2 else rng.choice(neg)
    return p, n


def english_sentiment(rng: random.Random, per_class: int = 200) -> list[tuple[str, str]]:
    rows: dict[str, set[str]] = {"positive": set(), "negative": set()}
    domains = sorted(EN_DOMAINS)
    while min(len(v) for v in rows.values()) < per_class:
        label, template = rng.choice(EN_TEMPLATES)
        if len(rows[label]) >= per_class:
            continue
        things, table = EN_DOMAINS[rng.choice(domains)]
        aspect, aspect2 = rng.sample(sorted(table), 2)
        p1, n1 = _adjectives(rng, table, aspect, EN_GENERIC)
        p2, n2 = _adjectives(rng, table, aspect2, EN_GENERIC)
        body = template.format(thing=rng.choice(things), aspect=aspect, aspect2=aspect2, pos=p1, pos2=p2,
                               neg=n1, neg2=n2, int=rng.choice(EN_INTENSIFIERS))
        opener = rng.choice(EN_OPENERS)
        text = opener + body if opener else _capitalise(body)
        rows[label].add(_capitalise(text))
    out = [(t, lab) for lab in ("positive", "negative") for t in sorted(rows[lab])]
    rng.shuffle(out)
    return out


# ----------------------------------------------------------------------------- Chinese sentiment

# domain: (measure word + noun, {aspect: (praise, fault)}, "will come back", "never again")
ZH_DOMAINS = {
    "电影": ("这部电影", {
        "剧情": (["精彩", "紧凑", "有新意"], ["拖沓", "老套", "混乱"]),
        "演员的表演": (["自然", "到位", "感人"], ["做作", "尴尬", "生硬"]),
        "配乐": (["动人", "好听", "悦耳"], ["吵闹", "难听", "多余"]),
        "节奏": (["紧凑", "流畅", "明快"], ["拖沓", "缓慢", "混乱"]),
        "结局": (["感人", "出人意料", "圆满"], ["仓促", "敷衍", "莫名其妙"]),
        "画面": (["精美", "震撼", "漂亮"], ["粗糙", "昏暗", "廉价"]),
        "台词": (["幽默", "精彩", "自然"], ["尴尬", "生硬", "啰嗦"])}, "值得二刷", "不会再看第二遍"),
    "餐厅": ("这家餐厅", {
        "菜": (["好吃", "新鲜", "地道"], ["难吃", "不新鲜", "油腻"]),
        "服务": (["周到", "热情", "贴心"], ["冷淡", "敷衍", "慢"]),
        "环境": (["舒服", "安静", "雅致"], ["嘈杂", "脏乱", "拥挤"]),
        "味道": (["正宗", "鲜美", "可口"], ["奇怪", "寡淡", "咸"]),
        "上菜速度": (["快", "及时", "麻利"], ["慢", "拖拉", "缓慢"]),
        "价格": (["实惠", "公道", "便宜"], ["贵", "离谱", "偏高"])}, "下次还会再来", "再也不会来了"),
    "酒店": ("这家酒店", {
        "房间": (["干净", "宽敞", "明亮"], ["脏", "狭小", "潮湿"]),
        "床": (["舒服", "柔软", "宽大"], ["硬", "窄", "旧"]),
        "早餐": (["丰盛", "可口", "丰富"], ["简陋", "难吃", "单调"]),
        "位置": (["方便", "好找", "优越"], ["偏僻", "难找", "不方便"]),
        "前台": (["热情", "贴心", "专业"], ["冷漠", "不耐烦", "敷衍"]),
        "卫生间": (["干净", "宽敞", "新"], ["脏", "难闻", "狭窄"]),
        "隔音": (["好", "不错", "出色"], ["差", "糟糕", "不行"])}, "下次出差还住这里", "以后不会再住了"),
    "手机": ("这款手机", {
        "电池": (["耐用", "持久", "给力"], ["不耐用", "不经用", "容易发烫"]),
        "屏幕": (["清晰", "细腻", "鲜艳"], ["模糊", "发黄", "偏暗"]),
        "拍照": (["清晰", "出色", "自然"], ["模糊", "发灰", "失真"]),
        "系统": (["流畅", "稳定", "好用"], ["卡顿", "不稳定", "难用"]),
        "做工": (["精致", "扎实", "精细"], ["粗糙", "廉价", "松垮"]),
        "信号": (["稳定", "强", "好"], ["弱", "差", "不稳定"]),
        "音质": (["清澈", "饱满", "出色"], ["刺耳", "发闷", "失真"])}, "会推荐给家人", "后悔买了"),
    "书": ("这本书", {
        "文笔": (["细腻", "优美", "流畅"], ["啰嗦", "生硬", "平庸"]),
        "人物": (["生动", "立体", "鲜活"], ["单薄", "扁平", "脸谱化"]),
        "故事": (["引人入胜", "动人", "精彩"], ["老套", "无聊", "混乱"]),
        "翻译": (["通顺", "准确", "地道"], ["生硬", "拗口", "错漏多"]),
        "结尾": (["感人", "巧妙", "圆满"], ["仓促", "潦草", "突兀"]),
        "观点": (["深刻", "新颖", "独到"], ["空洞", "陈旧", "偏颇"])}, "已经推荐给朋友了", "看到一半就放弃了"),
    "网店": ("这家店", {
        "物流": (["快", "及时", "迅速"], ["慢", "拖拉", "缓慢"]),
        "包装": (["结实", "精美", "严实"], ["破损", "简陋", "破烂"]),
        "客服": (["耐心", "热情", "专业"], ["不耐烦", "冷淡", "敷衍"]),
        "质量": (["好", "过硬", "扎实"], ["差", "劣质", "不行"]),
        "发货速度": (["快", "及时", "迅速"], ["慢", "拖拉", "缓慢"]),
        "售后": (["靠谱", "负责", "省心"], ["推脱", "不负责", "敷衍"])}, "还会回购", "不会再买了"),
}
ZH_GENERIC = (["好", "出色", "不错", "让人满意"], ["差", "糟糕", "让人失望", "一般"])
ZH_INTENSIFIERS = ["很", "非常", "特别", "真的", "挺", "十分", "超级"]
ZH_OPENERS = ["", "", "", "说实话，", "总的来说，", "第一次来，", "朋友推荐的，", "用了一个月，"]

ZH_TEMPLATES = [
    ("正面", "{thing}的{aspect}{int}{pos}。"),
    ("正面", "{aspect}{int}{pos}，{again}。"),
    ("正面", "虽然{aspect2}有点{neg2}，但是{aspect}{int}{pos}，总体还是满意的。"),
    ("正面", "本来没抱什么期望，没想到{aspect}这么{pos}。"),
    ("正面", "{aspect}一点也不{neg}，推荐。"),
    ("正面", "强烈推荐{thing}，{aspect}{int}{pos}，{aspect2}也很{pos2}。"),
    ("正面", "别人说{aspect}{neg}，我觉得还好，反而{aspect2}{int}{pos2}，{again}。"),
    ("正面", "不算完美，但{aspect}{pos}，值得。"),
    ("正面", "{aspect}{pos}，{aspect2}也{pos2}，好评！"),
    ("负面", "{thing}的{aspect}{int}{neg}。"),
    ("负面", "{aspect}{int}{neg}，{never}。"),
    ("负面", "虽然{aspect2}还算{pos2}，但是{aspect}{int}{neg}，太失望了。"),
    ("负面", "本来期望很高，没想到{aspect}这么{neg}。"),
    ("负面", "{aspect}一点也不{pos}，不推荐。"),
    ("负面", "不推荐{thing}，{aspect}{int}{neg}，{aspect2}也很{neg2}。"),
    ("负面", "别人说{aspect}{pos}，我觉得一般，而且{aspect2}{int}{neg2}，{never}。"),
    ("负面", "说不上多糟，但{aspect}{neg}，不值。"),
    ("负面", "{aspect}{neg}，{aspect2}也{neg2}，差评！"),
]


def chinese_sentiment(rng: random.Random, per_class: int = 200) -> list[tuple[str, str]]:
    rows: dict[str, set[str]] = {"正面": set(), "负面": set()}
    domains = sorted(ZH_DOMAINS)
    while min(len(v) for v in rows.values()) < per_class:
        label, template = rng.choice(ZH_TEMPLATES)
        if len(rows[label]) >= per_class:
            continue
        thing, table, again, never = ZH_DOMAINS[rng.choice(domains)]
        aspect, aspect2 = rng.sample(sorted(table), 2)
        p1, n1 = _adjectives(rng, table, aspect, ZH_GENERIC)
        p2, n2 = _adjectives(rng, table, aspect2, ZH_GENERIC)
        text = template.format(thing=thing, aspect=aspect, aspect2=aspect2, pos=p1, pos2=p2, neg=n1, neg2=n2,
                               int=rng.choice(ZH_INTENSIFIERS), again=again, never=never)
        rows[label].add(rng.choice(ZH_OPENERS) + text)
    out = [(t, lab) for lab in ("正面", "负面") for t in sorted(rows[lab])]
    rng.shuffle(out)
    return out


# --------------------------------------------------------------------------- English paraphrase

PEOPLE = ["Anna", "Ben", "my neighbour", "the manager", "our teacher", "Dr. Lee", "the new intern",
          "my sister", "the landlord", "Carlos"]
# (past tense, a synonym in the past tense, past participle for the passive)
ACTIONS = [("bought", "purchased", "bought"), ("fixed", "repaired", "fixed"), ("sold", "sold off", "sold"),
           ("painted", "put a fresh coat of paint on", "painted"), ("cleaned", "tidied up", "cleaned"),
           ("ordered", "placed an order for", "ordered"), ("finished", "completed", "finished"),
           ("lost", "misplaced", "lost"), ("moved", "relocated", "moved"),
           ("checked", "went over", "checked")]
OBJECTS = {"bought": ["a used car", "a new laptop", "two concert tickets", "a bicycle"],
           "fixed": ["the kitchen window", "the leaking tap", "the old printer", "the garden gate"],
           "sold": ["the old sofa", "a vintage camera", "the spare bicycle", "the family car"],
           "painted": ["the front door", "the fence", "the bedroom walls", "the garden shed"],
           "cleaned": ["the garage", "the office kitchen", "the attic", "the car"],
           "ordered": ["new office chairs", "a birthday cake", "a replacement screen", "forty pizzas"],
           "finished": ["the annual report", "the first draft", "the budget", "the tax return"],
           "lost": ["the house keys", "the contract", "a library book", "the receipt"],
           "moved": ["the piano", "the office furniture", "the server rack", "the bookshelves"],
           "checked": ["the monthly accounts", "the exam papers", "the safety list", "the invoices"]}
TIMES = [("on Monday", "on Monday"), ("last week", "the week before"), ("yesterday", "yesterday"),
         ("in March", "in March"), ("this morning", "earlier today"), ("on Friday evening", "on Friday night"),
         ("two days ago", "a couple of days ago"), ("at the weekend", "over the weekend")]
# People-to-people verbs where swapping who does what to whom changes the meaning.
MUTUAL = [("called", "phoned"), ("thanked", "expressed gratitude to"), ("helped", "gave a hand to"),
          ("warned", "cautioned"), ("interviewed", "questioned")]


def _sentence(person: str, verb: str, obj: str, time: str, style: int) -> str:
    if style == 0:
        return f"{_capitalise(person)} {verb} {obj} {time}."
    return f"{_capitalise(time)}, {person} {verb} {obj}."


def english_paraphrase(rng: random.Random, per_class: int = 100) -> list[tuple[str, str, str]]:
    yes: set[tuple[str, str]] = set()
    no: set[tuple[str, str]] = set()
    while len(yes) < per_class or len(no) < per_class:
        kind = rng.random()
        if kind < 0.25:
            # Two people: a paraphrase keeps the roles, a trap swaps them (same words, other meaning).
            a, b = rng.sample(PEOPLE, 2)
            verb, synonym = rng.choice(MUTUAL)
            time, time2 = rng.choice(TIMES)
            s1 = _sentence(a, verb, b, time, rng.randrange(2))
            if rng.random() < 0.5:
                s2 = _sentence(a, synonym, b, time2, rng.randrange(2))
                target, pair = yes, (s1, s2)
            else:
                s2 = _sentence(b, rng.choice([verb, synonym]), a, time, rng.randrange(2))
                target, pair = no, (s1, s2)
        else:
            verb, synonym, participle = rng.choice(ACTIONS)
            obj = rng.choice(OBJECTS[verb])
            person = rng.choice(PEOPLE)
            time, time2 = rng.choice(TIMES)
            s1 = _sentence(person, verb, obj, time, rng.randrange(2))
            if rng.random() < 0.5:
                style = rng.randrange(3)
                if style == 2 and verb == participle:  # passive voice: few words in common
                    s2 = f"{_capitalise(obj)} {'were' if obj.endswith('s') else 'was'} {participle} by {person} {time2}."
                else:
                    s2 = _sentence(person, synonym, obj, time2, rng.randrange(2))
                target, pair = yes, (s1, s2)
            else:
                change = rng.randrange(4)
                if change == 0:  # someone else did it
                    other = rng.choice([p for p in PEOPLE if p != person])
                    s2 = _sentence(other, rng.choice([verb, synonym]), obj, time, rng.randrange(2))
                elif change == 1:  # something else was done to
                    other = rng.choice([o for o in OBJECTS[verb] if o != obj])
                    s2 = _sentence(person, verb, other, time, rng.randrange(2))
                elif change == 2:  # another time
                    other = rng.choice([t for t, _ in TIMES if t != time])
                    s2 = _sentence(person, verb, obj, other, rng.randrange(2))
                else:  # the same words, negated
                    base = "did not " + {"bought": "buy", "fixed": "fix", "sold": "sell", "painted": "paint",
                                         "cleaned": "clean", "ordered": "order", "finished": "finish",
                                         "lost": "lose", "moved": "move", "checked": "check"}[verb]
                    s2 = _sentence(person, base, obj, time, rng.randrange(2))
                target, pair = no, (s1, s2)
        if len(target) < per_class:
            target.add(pair)
    out = [(a, b, "yes") for a, b in sorted(yes)] + [(a, b, "no") for a, b in sorted(no)]
    rng.shuffle(out)
    return out


# ------------------------------------------------------------------------------------- writing


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    # UTF-8 without a byte-order mark and "\n" line ends, so the files diff cleanly in git.
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main() -> None:
    write_csv(HERE / "sentiment_en.csv", ["text", "label"], english_sentiment(random.Random(SEED)))
    write_csv(HERE / "sentiment_zh.csv", ["text", "label"], chinese_sentiment(random.Random(SEED + 1)))
    write_csv(HERE / "pairs_en.csv", ["sentence1", "sentence2", "label"],
              english_paraphrase(random.Random(SEED + 2)))
    for name in ("sentiment_en.csv", "sentiment_zh.csv", "pairs_en.csv"):
        n = sum(1 for _ in open(HERE / name, encoding="utf-8")) - 1
        print(f"wrote {HERE / name} ({n} rows)")


if __name__ == "__main__":
    main()
