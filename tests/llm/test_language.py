"""Language tags, offline detection and names: what the prompt, writer and checks rely on."""

from __future__ import annotations

import random
import threading

import pytest

from app.llm import language
from app.llm.language import (
    detect_language,
    has_tokens,
    language_confidence,
    language_name,
    normalize_language,
    resolve_language,
    split_tokens,
    text_sample,
    uses_characters,
)

CHINESE_TITLES = [
    "如何选择一家靠谱的加密货币交易所",
    "什么是 ETF？新手投资入门",
    "比特币钱包安全指南 🔐",
    "2026 年最值得关注的十个理财趋势",
]
ENGLISH_TEXT = (
    "Index funds hold every stock of a market index, so their returns follow the market. "
    "They charge low fees because nobody picks the stocks, and they suit patient savers who "
    "want broad diversification without studying individual companies."
)


@pytest.mark.parametrize("title", CHINESE_TITLES)
def test_the_four_chinese_titles_are_detected_as_simplified_chinese(title: str) -> None:
    assert detect_language(title) == "zh-CN"
    assert resolve_language("auto", title) == "zh-CN"


def test_kana_makes_japanese_and_hangul_korean() -> None:
    assert detect_language("東京で部屋を借りる方法") == "ja"
    assert detect_language("서울에서 집을 구하는 방법") == "ko"
    # A stray kana in a long Chinese text does not make it Japanese.
    long_chinese = "如何选择一家靠谱的加密货币交易所，以及需要注意的风险。" * 3
    assert detect_language(long_chinese + "の") == "zh-CN"


def test_a_few_cjk_words_in_an_english_text_leave_it_english() -> None:
    assert detect_language(ENGLISH_TEXT + " In Chinese, bitcoin is 比特币.") == "en"


def test_long_latin_texts_go_to_lingua() -> None:
    assert detect_language(ENGLISH_TEXT) == "en"
    german = ("Indexfonds bilden einen ganzen Marktindex ab, deshalb folgen ihre Renditen dem "
              "Markt. Sie sind günstig, weil niemand die Aktien auswählen muss, und eignen sich "
              "für geduldige Sparer, die breit streuen wollen.")
    assert detect_language(german) == "de"


def test_short_latin_titles_use_the_accurate_detector() -> None:
    # Low-accuracy mode reads these as Vietnamese, Indonesian and French.
    assert resolve_language("auto", "Hello world") == "en"
    assert resolve_language("auto", "Tidal power") == "en"
    assert resolve_language("auto", "Top 10 finance trends") == "en"
    assert resolve_language("auto", "Wie man eine Krypto-Börse auswählt") == "de"


def test_a_title_without_letters_gets_the_default() -> None:
    assert detect_language("🔐 2026 !!!") == "und"
    assert resolve_language("auto", "🔐 2026 !!!") == "en"
    assert resolve_language("auto", "2026", default="zh-CN") == "zh-CN"
    assert resolve_language("", "什么是 ETF") == "zh-CN"  # empty means auto


def test_an_explicit_language_wins_over_the_title() -> None:
    assert resolve_language("en", "什么是 ETF？新手投资入门") == "en"
    assert resolve_language("zh_cn", "Index funds") == "zh-CN"


@pytest.mark.parametrize(("tag", "canonical"), [
    ("zh-CN", "zh-CN"), ("zh-cn", "zh-CN"), ("ZH_cn", "zh-CN"), ("EN", "en"),
    ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419"), (" Auto ", "auto"), ("yue", "yue"),
])
def test_tags_are_validated_and_canonically_cased(tag: str, canonical: str) -> None:
    assert normalize_language(tag) == canonical


@pytest.mark.parametrize("tag", ["", "e", "english please", "zh-", "12", "zh-CN-toolongsubtag"])
def test_invalid_tags_say_what_a_tag_looks_like(tag: str) -> None:
    with pytest.raises(ValueError, match=r"is not a BCP 47 tag: use a language code such as"):
        normalize_language(tag)


def test_names_for_prompts() -> None:
    assert language_name("zh-CN") == "Simplified Chinese (zh-CN)"
    assert language_name("en") == "English (en)"
    assert language_name("de-AT") == "German (de-AT)"
    assert language_name("xx") == "the language with the BCP 47 tag xx"
    # A script and a region: the script decides which Chinese (these said only "Chinese").
    assert language_name("zh-Hant-TW") == "Traditional Chinese (zh-Hant-TW)"
    assert language_name("zh-Hans-CN") == "Simplified Chinese (zh-Hans-CN)"
    assert language_name("zh-Hant-HK") == "Traditional Chinese (zh-Hant-HK)"
    assert language_name("zh-MO") == "Traditional Chinese (Macau) (zh-MO)"
    assert language_name("sr-Latn") == "the language with the BCP 47 tag sr-Latn"


def test_cjk_lengths_are_counted_in_characters() -> None:
    assert uses_characters("zh-CN") and uses_characters("ja") and uses_characters("ko")
    assert not uses_characters("en") and not uses_characters("de")
    assert split_tokens("什么是 ETF？2026 年") == ["什", "么", "是", "ETF", "2026", "年"]
    assert split_tokens("Don't panic, it’s fine") == ["Don't", "panic", "it’s", "fine"]


def test_detection_is_safe_from_many_threads() -> None:
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(detect_language(ENGLISH_TEXT)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["en"] * 8


# -- what a long text costs (issue 20): scripts by regular expression, lingua on a sample -------
def _by_script_as_before(text: str) -> str | None:
    """The per-token loop _by_script replaced, to compare with."""
    han = kana = hangul = other = 0
    for token in language._TOKEN.findall(text):
        if len(token) == 1 and language.is_cjk(token):
            if language._in(token, language._HANGUL):
                hangul += 1
            elif language._in(token, language._KANA):
                kana += 1
            else:
                han += 1
        else:
            other += 1
    cjk = han + kana + hangul
    if not cjk or cjk < other:
        return None
    if hangul > han + kana:
        return "ko"
    if kana and kana >= 0.05 * (han + kana):
        return "ja"
    return "zh-CN"


@pytest.mark.parametrize("text", [
    *CHINESE_TITLES, ENGLISH_TEXT, ENGLISH_TEXT + " 比特币", "東京で部屋を借りる方法",
    "서울에서 집을 구하는 방법", "ETF 基金 ETF 基金 ETF", "ETF ETF 基金", "𠀀𠀁 abc", "ー・ー abc",
    "如何选择一家靠谱的交易所。" * 20 + "の", "カタカナ" + "漢字" * 30, "한국어 텍스트 and English",
    "", "2026 !!", "Ünïcödé wörds 123 ½",
])
def test_scripts_are_counted_as_the_token_loop_counted_them(text: str) -> None:
    assert language._by_script(text) == _by_script_as_before(text)


def test_a_sample_is_the_whole_short_text_or_three_windows_of_a_long_one() -> None:
    assert text_sample(ENGLISH_TEXT) == ENGLISH_TEXT
    words = [f"w{i:04d}" for i in range(2000)]
    long = " ".join(words)
    sample = text_sample(long, 1200)
    parts = sample.split("\n")
    assert len(parts) == 3 and len(sample) <= 1200
    assert parts[0].startswith("w0000") and parts[-1].endswith("w1999")
    middle = parts[1].split()
    assert "w0990" <= middle[0] <= "w1010" or middle[0] < "w1000" < middle[-1]
    assert all(word in words for part in parts for word in part.split()), "a word was cut"
    chinese = "汉字" * 2000
    assert len(text_sample(chinese, 900)) == 900 + 2  # no spaces: cut anywhere


@pytest.mark.parametrize("text", ["", "one", ENGLISH_TEXT, "什么是 ETF？2026 年", "a b c d"])
@pytest.mark.parametrize("count", [0, 1, 4, 6, 50])
def test_has_tokens_counts_as_split_tokens(text: str, count: int) -> None:
    assert has_tokens(text, count) is (len(split_tokens(text)) >= count)


# Eight sentences in each language lingua chooses between (but English, above).
SENTENCES = {
    "de": "Wer zum ersten Mal Geld anlegt, sollte zuerst wissen, wofür das Geld gedacht ist. "
          "Ein Notgroschen von drei bis sechs Monatsausgaben gehört auf ein Tagesgeldkonto. "
          "Indexfonds bilden einen ganzen Markt ab und kosten deshalb weniger. "
          "Die Gebühren wirken über viele Jahre wie ein Zinseszins in die falsche Richtung.",
    "fr": "Avant de placer son argent, il faut savoir à quoi il servira. "
          "Une épargne de précaution de trois à six mois de dépenses reste sur un livret. "
          "Les fonds indiciels suivent tout un marché et coûtent donc moins cher. "
          "Sur de longues années, les frais agissent comme des intérêts composés contre vous.",
    "es": "Antes de invertir conviene saber para qué servirá el dinero. "
          "Un fondo de emergencia de tres a seis meses de gastos debe estar disponible. "
          "Los fondos indexados siguen a todo un mercado y por eso cuestan menos. "
          "A lo largo de muchos años, las comisiones funcionan como un interés compuesto.",
    "pt": "Antes de investir, é preciso saber para que serve o dinheiro. "
          "Uma reserva de emergência de três a seis meses de despesas fica numa poupança. "
          "Os fundos de índice acompanham todo o mercado e, por isso, custam menos. "
          "Ao longo de muitos anos, as taxas funcionam como juros compostos contra você.",
    "it": "Prima di investire bisogna sapere a che cosa serviranno i soldi. "
          "Un fondo di emergenza pari a tre o sei mesi di spese resta su un conto deposito. "
          "I fondi indicizzati seguono un intero mercato e per questo costano meno. "
          "Nel corso di molti anni, le commissioni agiscono come un interesse composto.",
    "nl": "Wie voor het eerst gaat beleggen, moet weten waarvoor het geld bedoeld is. "
          "Een buffer van drie tot zes maanden aan uitgaven hoort op een spaarrekening. "
          "Indexfondsen volgen een hele markt en zijn daardoor goedkoper. "
          "Over vele jaren werken de kosten als rente op rente, in de verkeerde richting.",
    "pl": "Zanim zaczniesz inwestować, musisz wiedzieć, na co przeznaczysz pieniądze. "
          "Poduszka finansowa powinna leżeć na koncie oszczędnościowym. "
          "Fundusze indeksowe odwzorowują cały rynek, dlatego kosztują mniej. "
          "Przez wiele lat opłaty działają jak procent składany, tylko że przeciwko tobie.",
    "tr": "Yatırım yapmadan önce paranın ne için kullanılacağını bilmek gerekir. "
          "Üç ila altı aylık harcamayı karşılayan bir acil durum fonu hesapta durmalıdır. "
          "Endeks fonları bütün bir piyasayı takip eder ve bu yüzden daha ucuzdur. "
          "Uzun yıllar boyunca ücretler size karşı çalışan bileşik faiz gibi etki eder.",
    "ru": "Прежде чем инвестировать, нужно понять, для чего нужны деньги. "
          "Подушка безопасности должна лежать на сберегательном счёте. "
          "Индексные фонды повторяют весь рынок, поэтому стоят дешевле. "
          "За много лет комиссии действуют как сложный процент, только против вас.",
    "en": ENGLISH_TEXT,
}


def _long(code: str, words: int = 1000) -> str:
    """A ~``words``-word article of the language's sentences, shuffled paragraph by paragraph."""
    sentences = [s.strip() + "." for s in SENTENCES[code].split(". ") if s.strip(". ")]
    rng = random.Random(code)
    paragraphs, count = [], 0
    while count < words:
        paragraph = " ".join(rng.sample(sentences, len(sentences)))
        paragraphs.append(paragraph)
        count += len(paragraph.split())
    return "\n\n".join(paragraphs)


@pytest.mark.parametrize("code", list(SENTENCES))
def test_a_long_text_is_judged_on_its_sample_as_on_the_whole(code: str) -> None:
    text = _long(code)
    assert len(text) > 3 * language.SAMPLE_CHARS
    whole = language._detector(accurate=False).detect_language_of(text)
    assert whole is not None and whole.iso_code_639_1.name.lower() == code
    assert detect_language(text) == code
    assert language_confidence(text, code) == pytest.approx(1.0, abs=0.3)
