"""A deterministic placeholder writer used when no LLM is configured.

Its drafts are labelled as placeholders (provider "offline-placeholder"): they let the whole
pipeline run, and be demonstrated, on a machine with no API key and no network.

A draft is written in the request's language (templates in English and Simplified Chinese; any
other language gets the English ones), has a level-1 heading with the title and five or six
``##`` sections, reaches the request's target length (or the default profile's when none is
given), and is seeded from the title, category, language and feedback: two titles give two
different texts, not near-duplicates, and a regeneration with feedback gives a new one.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.llm.base import ArticleRequest, Checkpoint, Generated
from app.llm.language import AUTO, normalize_language, primary, resolve_language, split_tokens

PROVIDER_NAME = "offline-placeholder"

# Target lengths when the request gives none: inside the default profile's bounds
# (500-1,500 words, 800-2,500 characters).
DEFAULT_TARGET = {"en": 650, "zh": 1100}


# --- templates --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Templates:
    n: tuple[str, ...]  # nouns (plural in English)
    a: tuple[str, ...]  # adjectives
    v: tuple[str, ...]  # verbs
    sentences: tuple[str, ...]
    steps: tuple[str, ...]
    mistakes: tuple[str, ...]
    heads: tuple[str, ...]  # overview, key points, steps, mistakes, pros and cons, conclusion
    note: str
    table: tuple[str, str]  # header and separator, one row
    close: str
    join: str  # between sentences


# {t} title, {c} category, {n}/{m} nouns, {a} adjective, {v}/{w} verbs: slots every few words
# keep two drafts' 3-word shingles apart even where they use the same sentence.

_EN = _Templates(
    n=("costs", "risks", "fees", "sources", "records", "goals", "limits",
          "options", "trade-offs", "habits", "rules", "deadlines", "providers", "reviews",
          "terms", "dates", "safeguards", "benchmarks", "budgets", "alternatives", "details",
          "signals", "priorities", "assumptions", "documents", "contracts", "updates", "warnings"),
    a=("clear", "realistic", "careful", "simple", "practical", "measured", "steady",
          "transparent", "reliable", "flexible", "modest", "consistent", "deliberate",
          "independent", "current", "specific"),
    v=("compare", "check", "review", "track", "question", "list", "measure", "revisit",
          "document", "test", "rank", "confirm", "discuss", "verify", "summarise"),
    sentences=(
        "Most readers come to {t} with one question: which {n} matter, and which can wait.",
        "A {a} look at the {n} usually tells you more than any headline about {t}.",
        "Before anything else, {v} the {n} and the {m}; they shape every later decision.",
        "People who do well with {t} {v} their {n} early and {w} them again later.",
        "The {n} are rarely the problem on their own; trouble starts when the {m} are ignored.",
        "It helps to keep a {a} record of the {n}, so that you can {v} them when things change.",
        "In the {c} category the most useful advice is often the most {a}: {v} the {n} first.",
        "Nobody gets every detail right, but a {a} approach to the {n} avoids most surprises.",
        "Ask what the {n} will look like in a year, not only this week, and {v} the {m} too.",
        "A second opinion on the {n} costs little and often saves a great deal of {m}.",
        "Good sources explain their {n}; weak ones only repeat their {m}.",
        "Small, {a} steps beat one large bet on the {n}.",
        "If the {n} are unclear, {v} them before you commit to anything.",
        "Set a {a} limit for the {n}, and write it down where you will see it.",
        "When two options look alike, the {n} usually decide between them.",
        "Keep the {n} and the {m} apart in your notes; mixing them hides problems.",
        "Experienced readers {v} the {n} every few months rather than once.",
        "There is no single right answer for {t}, but there are clearly wrong ones.",
        "The {a} choice is not always the cheapest one; weigh the {n} as well as the price.",
        "A plan for {t} should say what you will do when the {n} move against you.",
        "Write down why you chose your {n}; next year you will want to {v} that reasoning.",
        "Whoever explains {t} to you should also explain their own {n}.",
    ),
    steps=(
        "{V} the {n} and note anything that is not {a}.",
        "{V} at least two {n} side by side before you decide.",
        "Decide which {n} you will not accept, and {v} them against that list.",
        "Start small, {v} the {n} after a month, then adjust.",
        "{V} the {m} again once the {n} are settled.",
    ),
    mistakes=(
        "Ignoring the {n} because the {m} look fine.",
        "Trusting one source for the {n} instead of taking time to {v} it.",
        "Letting a {a} rule slide once, then every time after.",
        "Judging the {n} on a single week of results.",
        "Forgetting to {v} the {m} when the {n} change.",
    ),
    heads=("Overview", "Key points", "Step by step", "Common mistakes", "Pros and cons",
              "Conclusion"),
    note="> Placeholder draft written by the offline provider, not by a language model.",
    table=("| Pros | Cons |\n| --- | --- |", "| {A} {n} | {M} that are hard to {v} |"),
    close=(
        "{t} rewards a careful, well-informed approach: {v} the {n}, keep the {m} in view and "
        "return to both as things change. Replace this placeholder by configuring an LLM "
        "provider (OPENAI_API_KEY or OPENAI_BASE_URL)."
    ),
    join=" ",
)

_ZH = _Templates(
    n=("费用", "风险", "期限", "信息来源", "交易记录", "目标", "规则", "选项", "条款", "预算",
          "安全措施", "用户评价", "细节", "市场信号", "优先级", "假设", "文件", "合同", "更新",
          "提醒", "结果", "服务商", "限额", "流程", "手续费", "资质", "客服", "账户设置"),
    a=("清晰", "务实", "谨慎", "简单", "稳妥", "透明", "可靠", "灵活", "适度", "独立",
          "具体", "细致", "长期", "冷静"),
    v=("比较", "核对", "复查", "记录", "追踪", "确认", "评估", "整理", "测试", "讨论",
          "验证", "梳理"),
    sentences=(
        "很多读者在了解「{t}」时，最关心的是哪些{n}真正重要，哪些可以暂缓。",
        "先用{a}的眼光看一看{n}，往往比任何标题都更能说明「{t}」的实际情况。",
        "在做决定之前，先{v}{n}和{m}，它们会影响后面的每一步。",
        "在「{t}」这件事上做得好的人，通常会尽早{v}{n}，之后再{w}一次。",
        "{n}本身很少是问题，真正的麻烦在于忽视了{m}。",
        "为{n}保留一份{a}的记录，情况变化时就能及时{v}。",
        "在{c}类内容里，最有用的建议往往也最{a}：先{v}{n}。",
        "没有人能把每个细节都做对，但以{a}的方式对待{n}，可以避免大多数意外。",
        "不要只看{n}这一周的样子，也要想想一年以后会怎样，并顺便{v}{m}。",
        "关于{n}，多听一个意见花费不多，却常常能在{m}上省下很多麻烦。",
        "好的信息来源会解释{n}，差的来源只会重复{m}。",
        "小步而{a}地前进，胜过在{n}上押一次大注。",
        "如果{n}还不清楚，先{v}清楚，再做任何承诺。",
        "给{n}设定一个{a}的上限，并写在随时看得见的地方。",
        "当两个选项看起来差不多时，{n}往往决定了最终的选择。",
        "笔记里要把{n}和{m}分开记录，混在一起容易掩盖问题。",
        "有经验的读者会每隔几个月{v}一次{n}，而不是只看一次。",
        "「{t}」没有唯一正确的答案，但确实存在明显错误的做法。",
        "{a}的选择不一定最便宜，除了价格，还要权衡{n}。",
        "一个关于「{t}」的计划，应当写明当{n}变得不利时你会怎么做。",
        "把选择{n}的理由写下来，明年你会想要重新{v}这些理由。",
        "向你介绍「{t}」的人，也应该说明他们自己的{n}。",
    ),
    steps=(
        "{v}{n}，记下任何不够{a}的地方。",
        "至少把两种{n}放在一起{v}，再做决定。",
        "先想清楚哪些{n}不能接受，再据此{v}。",
        "从小处开始，一个月后{v}{n}，然后再调整。",
        "{n}确定之后，再{v}一遍{m}。",
    ),
    mistakes=(
        "因为{m}看起来没问题，就忽视了{n}。",
        "只相信一个来源提供的{n}，而没有花时间{v}。",
        "偶尔放松一次{a}的规则，之后就次次放松。",
        "只凭一周的结果来判断{n}。",
        "{n}变化之后，忘了{v}{m}。",
    ),
    heads=("概述", "关键要点", "具体步骤", "常见误区", "优点与缺点", "总结"),
    note="> 占位草稿：由离线写作程序生成，并非由语言模型撰写。",
    table=("| 优点 | 缺点 |\n| --- | --- |", "| {a}的{n} | {m}难以{v} |"),
    close=(
        "「{t}」需要谨慎而充分的准备：{v}{n}，关注{m}，并在情况变化时重新审视。"
        "配置 LLM 服务（OPENAI_API_KEY 或 OPENAI_BASE_URL）后，这份占位草稿会由真正的文章取代。"
    ),
    join="",
)


def _templates(language: str) -> _Templates:
    return _ZH if primary(language) == "zh" else _EN


def _language(request: ArticleRequest) -> str:
    try:
        tag = normalize_language(request.language or AUTO)
    except ValueError:
        tag = AUTO
    return resolve_language(tag, request.title)


def _target(request: ArticleRequest, language: str) -> int:
    low, high = request.min_length, request.max_length
    if low and high:
        return low + (high - low) // 4
    if low:
        return low * 5 // 4
    default = DEFAULT_TARGET["zh" if primary(language) == "zh" else "en"]
    return min(default, high * 3 // 4) if high else default


class _Writer:
    """Fills the templates from a title-seeded random generator."""

    def __init__(self, request: ArticleRequest, language: str) -> None:
        seed = "\x00".join((request.title, request.category, language, request.feedback or ""))
        self.rng = random.Random(hashlib.sha256(seed.encode()).digest())
        self.tpl = _templates(language)
        self.title, self.category = request.title, request.category
        self.sentences = self._deck("sentences")

    def _words(self, key: str) -> Sequence[str]:
        words: Sequence[str] = getattr(self.tpl, key)
        return words

    def _deck(self, key: str) -> Callable[[], str]:
        """Draw templates in a shuffled order, reshuffling when all were used."""
        items = list(self._words(key))
        pos = len(items)

        def draw() -> str:
            nonlocal pos
            if pos >= len(items):
                self.rng.shuffle(items)
                pos = 0
            pos += 1
            return items[pos - 1]

        return draw

    def fill(self, template: str) -> str:
        n, m = self.rng.sample(self._words("n"), 2)
        v, w = self.rng.sample(self._words("v"), 2)
        a = self.rng.choice(self._words("a"))
        title = f"“{self.title}”" if self.tpl is _EN else self.title
        text = template.format(t=title, c=self.category, n=n, m=m, v=v, w=w, a=a,
                               V=v.capitalize(), A=a.capitalize(), M=m.capitalize())
        return text[:1].upper() + text[1:]

    def paragraph(self, sentences: int) -> str:
        return self.tpl.join.join(self.fill(self.sentences()) for _ in range(sentences))

    def bullets(self, count: int) -> str:
        return "\n".join(f"- {self.fill(self.sentences())}" for _ in range(count))

    def items(self, key: str, count: int, numbered: bool) -> str:
        chosen = self.rng.sample(self._words(key), count)
        return "\n".join(f"{i}. {self.fill(t)}" if numbered else f"- {self.fill(t)}"
                         for i, t in enumerate(chosen, 1))

    def table(self, rows: int) -> str:
        head, row = self._words("table")
        return "\n".join([head, *(self.fill(row) for _ in range(rows))])


def draft(request: ArticleRequest) -> str:
    """The placeholder article for ``request``, in its language, at its target length."""
    language = _language(request)
    writer = _Writer(request, language)
    tpl = writer.tpl
    heads = list(writer._words("heads"))
    review = "review" in request.category.lower()
    # [heading, blocks]: overview, key points, steps, mistakes, (pros and cons), conclusion.
    sections: list[tuple[str, list[str]]] = [
        (heads[0], [writer.paragraph(3)]),
        (heads[1], [writer.paragraph(1), writer.bullets(3)]),
        (heads[2], [writer.items("steps", 4, True)]),
        (heads[3], [writer.items("mistakes", 3, False), writer.paragraph(2)]),
    ]
    if review:
        sections.append((heads[4], [writer.table(3), writer.paragraph(2)]))
    conclusion = (heads[5], [writer.fill(tpl.close)])
    note = tpl.note

    def render() -> str:
        body = "\n\n".join(
            f"## {head}\n\n" + "\n\n".join(block for block in blocks if block)
            for head, blocks in (*sections, conclusion)
        )
        return f"# {request.title}\n\n{note}\n\n{body}\n"

    target = _target(request, language)
    text = render()
    grow = 0
    while len(split_tokens(text)) < target and grow < 200:
        # Longer: one more paragraph, in turn to each section but the conclusion.
        sections[grow % len(sections)][1].append(writer.paragraph(3))
        grow += 1
        text = render()
    return text


class OfflineProvider:
    name = PROVIDER_NAME
    model = "offline-template-v1"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def generate(self, request: ArticleRequest, checkpoint: Checkpoint) -> Generated:
        content = draft(request)
        # "Stream" it in a few steps so cancellation and heartbeats behave as with a real LLM.
        steps = 5
        for step in range(1, steps + 1):
            if self.delay:
                time.sleep(self.delay / steps)
            checkpoint(len(content) * step // steps)
        words = len(split_tokens(content))  # each CJK character counted as one
        return Generated(
            content=content,
            provider=self.name,
            model=self.model,
            prompt_tokens=len(request.title.split()) + 60,
            completion_tokens=words,
        )
