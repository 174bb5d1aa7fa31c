"""Small synthetic corpora written for bertlab's examples and tests.

Each document keeps to one topic (its own people, places and words), so next-sentence prediction
is learnable: a true continuation shares the topic, a random one usually does not. Sentences come
from templates, so masked words are predictable from context. Deterministic for a given seed.
"""

from __future__ import annotations

import random

TOPICS = {
    "bakery": (["baker", "oven", "bread", "flour", "cake", "morning"], ["warm", "fresh", "sweet", "golden"],
               ["bakes", "sells", "slices", "wraps"]),
    "harbour": (["sailor", "boat", "harbour", "net", "fish", "tide"], ["salty", "calm", "grey", "busy"],
                ["rows", "ties", "mends", "catches"]),
    "school": (["teacher", "pupil", "lesson", "book", "desk", "class"], ["quiet", "bright", "long", "new"],
               ["reads", "writes", "teaches", "learns"]),
    "farm": (["farmer", "cow", "field", "barn", "wheat", "tractor"], ["green", "muddy", "wide", "early"],
             ["plants", "feeds", "harvests", "milks"]),
    "railway": (["driver", "train", "station", "ticket", "platform", "engine"], ["late", "fast", "crowded", "noisy"],
                ["waits", "boards", "stops", "departs"]),
    "garden": (["gardener", "rose", "soil", "seed", "hedge", "bench"], ["sunny", "wet", "tidy", "blooming"],
               ["waters", "prunes", "digs", "grows"]),
    "hospital": (["doctor", "nurse", "patient", "ward", "medicine", "bed"], ["clean", "careful", "tired", "kind"],
                 ["treats", "checks", "heals", "visits"]),
    "theatre": (["actor", "stage", "play", "audience", "curtain", "script"], ["dark", "loud", "famous", "nervous"],
                ["performs", "rehearses", "bows", "applauds"]),
    "mountain": (["climber", "peak", "rope", "snow", "path", "tent"], ["steep", "cold", "high", "rocky"],
                 ["climbs", "pitches", "crosses", "reaches"]),
    "kitchen": (["cook", "pan", "soup", "knife", "table", "spoon"], ["hot", "spicy", "full", "clean"],
                ["stirs", "chops", "serves", "tastes"]),
    "library": (["librarian", "shelf", "novel", "reader", "page", "catalogue"], ["silent", "old", "dusty", "tall"],
                ["lends", "sorts", "borrows", "returns"]),
    "market": (["trader", "stall", "apple", "coin", "basket", "crowd"], ["cheap", "ripe", "lively", "open"],
               ["sells", "weighs", "counts", "buys"]),
}

NAMES = ["Anna", "Tom", "Maria", "Li", "Omar", "Sara", "Jonas", "Mei", "Paul", "Nina", "Ravi", "Ellen"]
TIMES = ["in the morning", "at noon", "in the evening", "every day", "on sunday", "after lunch"]

TEMPLATES = [
    "{name} is a {n0} who works near the {n2}.",
    "Every day the {n0} {v0} the {adj} {n1}.",
    "The {n1} was {adj} {time}.",
    "{name} {v1} the {n3} {time}.",
    "Near the {n2} there is a {adj} {n4}.",
    "People say the {n5} is always {adj} here.",
    "{name} likes the {n1} because it is {adj}.",
    "The old {n0} {v2} the {n3} with great care.",
    "When the {n5} came, the {n0} {v3} the {n4}.",
    "Later {name} {v0} another {n1} for the {n0}.",
    "It was a {adj} day at the {n2}.",
    "The {n4} stood next to the {adj} {n3}.",
]


def english_corpus(n_docs: int = 200, seed: int = 0) -> str:
    """Blank-line separated documents, one sentence per line (google-research/bert layout)."""
    rng = random.Random(seed)
    docs = []
    topics = list(TOPICS)
    for _ in range(n_docs):
        nouns, adjs, verbs = TOPICS[rng.choice(topics)]
        name = rng.choice(NAMES)
        sentences = []
        for template in rng.sample(TEMPLATES, rng.randint(4, 8)):
            slots = {f"n{i}": nouns[i] for i in range(6)}
            slots.update({f"v{i}": verbs[i] for i in range(4)})
            text = template.format(name=name, adj=rng.choice(adjs), time=rng.choice(TIMES), **slots)
            sentences.append(text[0].upper() + text[1:])
        docs.append("\n".join(sentences))
    return "\n\n".join(docs) + "\n"


CHINESE_TOPICS = {
    "天气": ["今天天气很好", "明天可能会下雨", "北京的冬天很冷", "夏天的太阳很热"],
    "学习": ["学生们在教室里学习", "老师认真地讲课", "我们每天都要读书", "考试的成绩很好"],
    "饮食": ["妈妈做的饭很好吃", "我喜欢喝中国茶", "饺子是传统的食物", "餐厅里的人很多"],
    "交通": ["火车站离这里不远", "他每天坐地铁上班", "公共汽车来得很慢", "城市的交通很拥挤"],
    "运动": ["他喜欢打篮球", "我们周末去跑步", "足球比赛非常精彩", "游泳对身体很好"],
}


def chinese_corpus(n_docs: int = 100, seed: int = 0) -> str:
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        sentences = CHINESE_TOPICS[rng.choice(list(CHINESE_TOPICS))]
        picked = rng.sample(sentences, len(sentences))
        docs.append("\n".join(s + "。" for s in picked))
    return "\n\n".join(docs) + "\n"
