"""Language packs: complete packs, number words, German/Spanish programs spoken in their language."""

from __future__ import annotations

import re
import shutil
import string
import subprocess

import pytest

from coach.core.errors import CoachError
from coach.core.phrases import (
    NUMBER_WORDS,
    PACKS,
    PHRASE_IDS,
    PLACEHOLDERS,
    fill,
    french_number,
    german_number,
    missing_phrases,
    phrase_table,
    say_decimal,
    say_number,
    spanish_number,
)
from coach.core.program import parse_program
from coach.core.timeline import compile_program
from tests.support.real import need

LANGS = sorted(PACKS)


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_shipped_languages():
    assert {"en", "de", "es", "fr"} <= set(PACKS)


@pytest.mark.parametrize("lang", LANGS)
def test_every_pack_has_every_id_and_nothing_else(lang):
    assert set(PACKS[lang]) == set(PHRASE_IDS)
    assert missing_phrases(lang) == []
    for pid, text in PACKS[lang].items():
        assert pid == "numbers" or text.strip(), (lang, pid)


@pytest.mark.parametrize("lang", LANGS)
def test_pack_templates_keep_exactly_their_placeholders(lang):
    for pid, text in PACKS[lang].items():
        assert fields(text) == set(PLACEHOLDERS.get(pid, ())), (lang, pid, text)


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_translated_packs_are_not_english(lang):
    # A pack that copies English phrases is the silent fallback in disguise.
    same = [p for p in PHRASE_IDS if p != "numbers" and PACKS[lang][p] == PACKS["en"][p]]
    assert len(same) <= 2, same  # e.g. "tempo {code}" is the same word in some languages


@pytest.mark.parametrize("lang", LANGS)
def test_numbers_0_to_100_are_said(lang):
    words = [say_number(n, lang) for n in range(101)]
    assert all(isinstance(w, str) and w.strip() for w in words)
    assert len(set(words)) == 101  # every number said differently
    if lang != "en":
        assert not any(re.search(r"\d", w) for w in words)


def test_english_numbers_stay_digits():
    # espeak-ng's English voice reads digits as words; digits keep the plan short.
    assert say_number(21, "en") == "21" and say_number(100, "en") == "100"


@pytest.mark.parametrize("n, de, es", [
    (0, "null", "cero"), (1, "eins", "uno"), (2, "zwei", "dos"), (3, "drei", "tres"),
    (10, "zehn", "diez"), (16, "sechzehn", "dieciséis"), (21, "einundzwanzig", "veintiuno"),
    (30, "dreißig", "treinta"), (45, "fünfundvierzig", "cuarenta y cinco"),
    (99, "neunundneunzig", "noventa y nueve"), (100, "hundert", "cien"),
    (101, "hunderteins", "ciento uno"), (121, "hunderteinundzwanzig", "ciento veintiuno"),
    (200, "zweihundert", "doscientos"), (900, "neunhundert", "novecientos"),
    (1000, "tausend", "mil"), (21000, "einundzwanzigtausend", "veintiún mil"),
])
def test_german_and_spanish_number_words(n, de, es):
    assert german_number(n) == de == say_number(n, "de")
    assert spanish_number(n) == es == say_number(n, "es")


@pytest.mark.parametrize("n, fr", [(1, "un"), (17, "dix-sept"), (21, "vingt et un"),
                                   (22, "vingt-deux"), (71, "soixante et onze"),
                                   (80, "quatre-vingts"), (81, "quatre-vingt-un"),
                                   (99, "quatre-vingt-dix-neuf"), (200, "deux cents"),
                                   (201, "deux cent un"), (80000, "quatre-vingt mille")])
def test_french_number_words(n, fr):
    assert french_number(n) == fr


def test_numbers_agree_with_the_noun_after_them():
    assert spanish_number(21, "m") == "veintiún" and spanish_number(21, "f") == "veintiuna"
    assert spanish_number(31, "m") == "treinta y un" and spanish_number(200, "f") == "doscientas"
    assert german_number(1, "f") == "eine" and german_number(21, "f") == "einundzwanzig"
    assert french_number(21, "f") == "vingt et une"
    assert fill(PACKS["es"], "reps", "es", n=21) == "veintiuna repeticiones"
    assert fill(PACKS["es"], "rest", "es", seconds=31) == "descansa treinta y un segundos"
    assert fill(PACKS["es"], "set_of", "es", n=1, total=3) == "serie uno de tres"
    assert fill(PACKS["fr"], "rest", "fr", seconds=21) == "repos vingt et une secondes"


def test_number_words_are_distinct_up_to_a_thousand():
    for lang, speak in NUMBER_WORDS.items():
        words = [speak(n) for n in range(1001)]
        assert len(set(words)) == 1001, lang
        assert all(w == w.strip() and "  " not in w for w in words), lang


def test_decimals():
    assert say_decimal(1.5, "de") == "eins Komma fünf"
    assert say_decimal(1.25, "es") == "uno coma veinticinco"
    assert say_decimal(1.5, "en") == "1.5"
    assert say_decimal(90.0, "de") == "neunzig"


def test_phrase_table_never_falls_back_to_english(monkeypatch):
    with pytest.raises(LookupError, match="available: de, en, es, fr"):
        phrase_table("xx")
    monkeypatch.setitem(PACKS, "xx", {k: v for k, v in PACKS["de"].items() if k != "halfway"})
    monkeypatch.setitem(NUMBER_WORDS, "xx", german_number)
    with pytest.raises(LookupError, match="lacks phrases: halfway"):
        phrase_table("xx", {"lower": "tiefer"})


PROGRAM_DE = """\
program: Oberkörper A
language: de
defaults: {rest: 90s, lead_in: 5s}
exercises:
  - name: Latziehen
    sets: 2
    reps: 3
    tempo: 31X0
    focus: Ellbogen nach unten ziehen
  - name: Wandsitzen
    hold: 45s
    eyes_closed: true
  - name: Liegestütze
    reps: 21
    cadence: 1.5s
"""


def test_german_program_speaks_german():
    tl = compile_program(parse_program(PROGRAM_DE, "de.yaml"))
    assert tl.language == "de"
    speech = [c for c in tl.cues if c.kind == "speech"]
    said = [c.text for c in speech]
    # No digits anywhere: every number is a German word.
    assert not [t for t in said if re.search(r"\d", t)]
    assert said[0] == ("Latziehen. Satz eins von zwei. Drei Wiederholungen, Tempo drei eins X "
                       "null. Fokus: Ellbogen nach unten ziehen.")
    # Get-ready countdown and the first phase word (replacing "go") in German.
    first = [c for c in speech if c.exercise_index == 0 and c.set == 1]
    assert [c.text for c in first[1:6]] == ["drei", "zwei", "eins", "runter", "zwei"]
    assert "zwei runter" in said and "letzte runter" in said
    assert "explosiv" in said and "halten" in said
    assert "Pause neunzig Sekunden" in said and "zehn Sekunden" in said
    assert "als Nächstes: Wandsitzen" in said
    assert "Halbzeit" in said and "loslassen" in said
    assert any(t.startswith("Wandsitzen. Fünfundvierzig Sekunden halten. Augen zu") for t in said)
    assert any("Liegestütze. Einundzwanzig Wiederholungen, eine Wiederholung alle eins Komma fünf Sekunden"
               in t for t in said)
    assert "letzte fünf" in said and "zehn" in said
    assert said[-1] == "Training beendet. Gut gemacht."
    # No English phrase word survived.
    english = {w for p, t in PACKS["en"].items() if p != "numbers"
               for w in re.findall(r"[a-z]+", t)} - {"tempo", "x"}
    spoken_words = {w for t in said for w in re.findall(r"[a-zäöüß]+", t.lower())}
    assert not english & spoken_words, english & spoken_words


def test_spanish_program_speaks_spanish():
    text = PROGRAM_DE.replace("language: de", "language: es")
    tl = compile_program(parse_program(text, "es.yaml"))
    said = [c.text for c in tl.cues if c.kind == "speech"]
    assert not [t for t in said if re.search(r"\d", t)]
    assert said[0].startswith("Latziehen. Serie uno de dos. Tres repeticiones, tempo tres uno X cero.")
    assert "dos baja" in said and "última baja" in said and "descansa noventa segundos" in said
    assert any("Liegestütze. Veintiuna repeticiones, una repetición cada uno coma cinco segundos" in t
               for t in said)
    assert said[-1] == "Entrenamiento terminado. Buen trabajo."


def test_words_overrides_win_over_the_pack():
    text = PROGRAM_DE.replace("language: de\n", "language: de\nwords: {lower: tiefer}\n")
    text = text.replace("    hold: 45s\n", "    hold: 45s\n    words: {release: ablegen}\n")
    said = [c.text for c in compile_program(parse_program(text)).cues]
    assert "tiefer" in said and "zwei tiefer" in said and "runter" not in said
    assert "ablegen" in said and "loslassen" not in said
    assert "drei" in said  # numbers still German


def test_unknown_language_lists_available_packs():
    with pytest.raises(CoachError) as info:
        parse_program("program: P\nlanguage: dee\nexercises:\n  - name: A\n    hold: 1s\n", "p.yaml")
    (d,) = info.value.diagnostics
    assert (d.line, d.col) == (2, 11)
    assert 'language "dee" is not available; available: de, en, es, fr' in d.message
    assert 'did you mean "de"' in d.message


def test_missing_phrase_is_an_error_at_the_language_line(monkeypatch):
    partial = {k: v for k, v in PACKS["de"].items() if k not in ("halfway", "release")}
    partial["relax"] = "  "  # blank counts as missing
    monkeypatch.setitem(PACKS, "xx", partial)
    assert missing_phrases("xx") == ["halfway", "release", "relax", "numbers"]
    monkeypatch.setitem(NUMBER_WORDS, "xx", german_number)
    assert missing_phrases("xx") == ["halfway", "release", "relax"]
    text = "program: P\n\nlanguage:   xx\nexercises:\n  - name: A\n    hold: 1s\n"
    with pytest.raises(CoachError) as info:
        parse_program(text, "p.yaml")
    (d,) = info.value.diagnostics
    assert (d.path, d.line, d.col, d.severity) == ("p.yaml", 3, 13, "error")
    assert d.message == 'language "xx" pack lacks phrases: halfway, release, relax'
    assert str(info.value) == ('p.yaml:3:13: error: language "xx" pack lacks phrases: '
                               "halfway, release, relax")


def _espeak_voice_table() -> list[list[str]]:
    out = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, check=True)
    return [line.split() for line in out.stdout.splitlines()[1:] if line.strip()]


@pytest.mark.parametrize("lang", LANGS)
def test_pack_voice_exists_in_espeak_ng(lang, espeak):
    need(shutil.which("espeak-ng") is not None, "espeak-ng")
    from coach.audio.voice import resolve_espeak_voice
    rows = _espeak_voice_table()
    # The voice a program in this language speaks with when it names none: the language's own
    # (the voice id's last part is the pack's language code, e.g. "gmw/de" for de).
    voice_id = resolve_espeak_voice(None, lang)
    want = voice_id.rsplit("/", 1)[-1]
    assert want == lang, voice_id
    # columns: Pty Language Age/Gender VoiceName File Other...; the File is e.g. "gmw/de".
    assert any(row[1] == want or row[4].rsplit("/", 1)[-1] == want for row in rows), want
    # and it really speaks that pack's words (a non-empty waveform)
    wav = subprocess.run(["espeak-ng", "-v", want, "--stdout", PACKS[lang]["done"]],
                         capture_output=True, check=True).stdout
    assert wav[:4] == b"RIFF" and len(wav) > 44 + 22050  # over half a second at 22.05 kHz


# ---- singular forms ("1 second") and num2words ---------------------------------------------

from coach.core.phrases import COUNTED, SINGULAR  # noqa: E402


@pytest.mark.parametrize("lang", LANGS)
def test_every_pack_has_a_singular_for_every_counted_phrase(lang):
    assert set(SINGULAR[lang]) == set(COUNTED)
    for pid, text in SINGULAR[lang].items():
        assert fields(text) == set(PLACEHOLDERS[pid]), (lang, pid, text)
        assert text != PACKS[lang][pid], (lang, pid)


@pytest.mark.parametrize("lang, pid, value, said", [
    ("en", "rest", 1, "rest 1 second"), ("en", "rest", 2, "rest 2 seconds"),
    ("en", "rest", 1.5, "rest 1.5 seconds"), ("en", "hold_for", 1, "hold 1 second"),
    ("en", "cadence", 1, "one rep every 1 second"), ("en", "reps", 1, "1 rep"),
    ("en", "poses", 1, "1 pose"), ("en", "seconds_left", 1, "1 second"),
    ("en", "extended", 1, "1 more second"),
    ("de", "rest", 1, "Pause eine Sekunde"), ("de", "hold_for", 1, "eine Sekunde halten"),
    ("de", "reps", 1, "eine Wiederholung"), ("de", "rest", 21, "Pause einundzwanzig Sekunden"),
    ("es", "rest", 1, "descansa un segundo"), ("es", "reps", 1, "una repetición"),
    ("es", "rest", 21, "descansa veintiún segundos"),
    ("fr", "rest", 1, "repos une seconde"), ("fr", "reps", 1, "une répétition"),
    ("fr", "rest", 21, "repos vingt et une secondes")])
def test_one_takes_the_singular(lang, pid, value, said):
    field = COUNTED[pid]
    assert fill(phrase_table(lang), pid, lang, **{field: value}) == said


def test_an_override_speaks_for_one_too():
    table = phrase_table("en", {"rest": "breathe for {seconds}"})
    assert fill(table, "rest", "en", seconds=1) == "breathe for 1"
    assert fill(table, "hold_for", "en", seconds=1) == "hold 1 second"


def test_programs_say_one_second():
    text = ("program: P\ndefaults: {rest: 1s}\nexercises:\n  - name: A\n    reps: 1\n"
            "    cadence: 1s\n    sets: 2\n  - name: B\n    hold: 1s\n")
    said = [c.text for c in compile_program(parse_program(text)).cues]
    assert "rest 1 second" in said
    assert said[0] == "A. Set 1 of 2. 1 rep, one rep every 1 second."
    assert "B. Hold 1 second." in said
    assert not [t for t in said if re.search(r"\b1 (seconds|reps|poses)\b", t)]


def test_number_words_come_from_num2words():
    from num2words import num2words
    for n in (2, 7, 16, 45, 99, 121):
        assert french_number(n) == num2words(n, lang="fr")
        assert spanish_number(n) == num2words(n, lang="es")
        assert german_number(n) == num2words(n, lang="de").removeprefix("ein") \
            if 100 <= n < 200 else german_number(n) == num2words(n, lang="de")
    # fixed on the way: the hand-written French table said "troi mille"
    assert french_number(3000) == "trois mille"
    # num2words says "veintiuno mil"; the multiplier of mil is apocopated
    assert spanish_number(21000) == "veintiún mil" and spanish_number(101000) == "ciento un mil"
