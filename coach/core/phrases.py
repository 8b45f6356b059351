"""Phrase packs: every word coach itself says, by phrase id, per language, and numbers as words.

Templates use ``str.format`` fields; ``PLACEHOLDERS`` says which fields each id must keep
when a program (or a pack) writes it. ``fill`` formats a template, turning numbers into words.
"""

from __future__ import annotations

from typing import Callable, Mapping

# Phrase ids a program may override with `words:`. Order is the documentation order.
PHRASE_IDS: tuple[str, ...] = (
    "lower", "bottom_hold", "squeeze", "top_hold", "explode", "go", "rest", "next", "set_of",
    "last_rep", "last_reps", "hold", "halfway", "seconds_left", "release", "relax",
    "eyes_closed", "switch_sides", "left", "right", "reps", "tempo", "cadence", "hold_for",
    "poses", "focus", "done", "resuming", "extended", "numbers",
)

# Fields each template must keep (an override that drops one is a `coach check` error).
PLACEHOLDERS: Mapping[str, tuple[str, ...]] = {
    "rest": ("seconds",),
    "next": ("exercise",),
    "set_of": ("n", "total"),
    "last_reps": ("n",),
    "seconds_left": ("n",),
    "reps": ("n",),
    "tempo": ("code",),
    "cadence": ("seconds",),
    "hold_for": ("seconds",),
    "poses": ("n",),
    "focus": ("text",),
    "extended": ("seconds",),
}

# "numbers" is not a template: a pack's numbers are spoken through NUMBER_WORDS below; the
# empty entry keeps every pack's key set equal to PHRASE_IDS.

EN: Mapping[str, str] = {
    "lower": "lower",
    "bottom_hold": "hold",
    "squeeze": "squeeze",
    "top_hold": "hold",
    "explode": "explode",
    "go": "go",
    "rest": "rest {seconds} seconds",
    "next": "next: {exercise}",
    "set_of": "set {n} of {total}",
    "last_rep": "last one",
    "last_reps": "last {n}",
    "hold": "hold",
    "halfway": "halfway",
    "seconds_left": "{n} seconds",
    "release": "release",
    "relax": "relax",
    "eyes_closed": "eyes closed",
    "switch_sides": "switch sides",
    "left": "left side",
    "right": "right side",
    "reps": "{n} reps",
    "tempo": "tempo {code}",
    "cadence": "one rep every {seconds} seconds",
    "hold_for": "hold {seconds} seconds",
    "poses": "{n} poses",
    "focus": "focus: {text}",
    "done": "session complete. Well done.",
    "resuming": "resuming",
    "extended": "{seconds} more seconds",
    "numbers": "",
}

DE: Mapping[str, str] = {
    "lower": "runter",
    "bottom_hold": "halten",
    "squeeze": "anspannen",
    "top_hold": "halten",
    "explode": "explosiv",
    "go": "los",
    "rest": "Pause {seconds} Sekunden",
    "next": "als Nächstes: {exercise}",
    "set_of": "Satz {n} von {total}",
    "last_rep": "letzte",
    "last_reps": "letzte {n}",
    "hold": "halten",
    "halfway": "Halbzeit",
    "seconds_left": "{n} Sekunden",
    "release": "loslassen",
    "relax": "locker lassen",
    "eyes_closed": "Augen zu",
    "switch_sides": "Seite wechseln",
    "left": "linke Seite",
    "right": "rechte Seite",
    "reps": "{n} Wiederholungen",
    "tempo": "Tempo {code}",
    "cadence": "eine Wiederholung alle {seconds} Sekunden",
    "hold_for": "{seconds} Sekunden halten",
    "poses": "{n} Posen",
    "focus": "Fokus: {text}",
    "done": "Training beendet. Gut gemacht.",
    "resuming": "weiter geht's",
    "extended": "noch {seconds} Sekunden",
    "numbers": "",
}

ES: Mapping[str, str] = {
    "lower": "baja",
    "bottom_hold": "aguanta",
    "squeeze": "aprieta",
    "top_hold": "aguanta",
    "explode": "explota",
    "go": "vamos",
    "rest": "descansa {seconds} segundos",
    "next": "siguiente: {exercise}",
    "set_of": "serie {n} de {total}",
    "last_rep": "última",
    "last_reps": "últimas {n}",
    "hold": "aguanta",
    "halfway": "la mitad",
    "seconds_left": "{n} segundos",
    "release": "suelta",
    "relax": "relaja",
    "eyes_closed": "ojos cerrados",
    "switch_sides": "cambia de lado",
    "left": "lado izquierdo",
    "right": "lado derecho",
    "reps": "{n} repeticiones",
    "tempo": "tempo {code}",
    "cadence": "una repetición cada {seconds} segundos",
    "hold_for": "aguanta {seconds} segundos",
    "poses": "{n} poses",
    "focus": "enfoque: {text}",
    "done": "Entrenamiento terminado. Buen trabajo.",
    "resuming": "seguimos",
    "extended": "{seconds} segundos más",
    "numbers": "",
}

FR: Mapping[str, str] = {
    "lower": "descends",
    "bottom_hold": "tiens",
    "squeeze": "contracte",
    "top_hold": "tiens",
    "explode": "explose",
    "go": "allez",
    "rest": "repos {seconds} secondes",
    "next": "ensuite: {exercise}",
    "set_of": "série {n} sur {total}",
    "last_rep": "dernière",
    "last_reps": "{n} dernières",
    "hold": "tiens",
    "halfway": "mi-temps",
    "seconds_left": "{n} secondes",
    "release": "relâche",
    "relax": "détends-toi",
    "eyes_closed": "yeux fermés",
    "switch_sides": "change de côté",
    "left": "côté gauche",
    "right": "côté droit",
    "reps": "{n} répétitions",
    "tempo": "tempo {code}",
    "cadence": "une répétition toutes les {seconds} secondes",
    "hold_for": "tiens {seconds} secondes",
    "poses": "{n} poses",
    "focus": "concentration: {text}",
    "done": "Séance terminée. Bravo.",
    "resuming": "on reprend",
    "extended": "encore {seconds} secondes",
    "numbers": "",
}

PACKS: Mapping[str, Mapping[str, str]] = {"en": EN, "de": DE, "es": ES, "fr": FR}

# The espeak-ng voice (a bare id as `espeak-ng --voices` lists it) that speaks each pack.
PACK_VOICES: Mapping[str, str] = {"en": "en", "de": "de", "es": "es", "fr": "fr"}


# --- numbers as words ---------------------------------------------------------------------
# A "form" is how a number agrees with the noun after it: "" counting ("eins", "uno"),
# "m"/"f" masculine/feminine ("un segundo", "veintiuna repeticiones", "une seconde").

_DE_ONES = ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
            "zehn", "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn",
            "achtzehn", "neunzehn")
_DE_TENS = ("", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig",
            "achtzig", "neunzig")


def _de_prefix(n: int) -> str:
    """``n`` as the first part of a compound: "ein" not "eins" (einundzwanzig, hunderteintausend)."""
    w = german_number(n)
    return w[:-1] if w.endswith("eins") else w


def german_number(n: int, form: str = "") -> str:
    """0 <= n < 1 000 000 in German words: 21 -> "einundzwanzig", 101 -> "hunderteins"."""
    if n == 1 and form:
        return "eine" if form == "f" else "ein"
    if n < 20:
        return _DE_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return (("ein" if ones == 1 else _DE_ONES[ones]) + "und" if ones else "") + _DE_TENS[tens]
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "hundert" if hundreds == 1 else _de_prefix(hundreds) + "hundert"
        return head + (german_number(rest) if rest else "")
    thousands, rest = divmod(n, 1000)
    head = "tausend" if thousands == 1 else _de_prefix(thousands) + "tausend"
    return head + (german_number(rest) if rest else "")


_ES_ONES = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
            "diez", "once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete",
            "dieciocho", "diecinueve", "veinte", "veintiuno", "veintidós", "veintitrés",
            "veinticuatro", "veinticinco", "veintiséis", "veintisiete", "veintiocho",
            "veintinueve")
_ES_TENS = ("", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta",
            "noventa")
_ES_HUNDREDS = ("", "ciento", "doscientos", "trescientos", "cuatrocientos", "quinientos",
                "seiscientos", "setecientos", "ochocientos", "novecientos")


def _es_agree(words: str, form: str) -> str:
    """Make a counting number agree with the noun after it: uno -> un/una, veintiuno ->
    veintiún/veintiuna, doscientos -> doscientas."""
    if not form:
        return words
    if words.endswith("veintiuno"):
        words = words[:-9] + ("veintiún" if form == "m" else "veintiuna")
    elif words == "uno" or words.endswith(" uno"):
        words = words[:-3] + ("un" if form == "m" else "una")
    if form == "f":
        words = words.replace("ientos", "ientas")
    return words


def spanish_number(n: int, form: str = "") -> str:
    """0 <= n < 1 000 000 in Spanish words: 16 -> "dieciséis", 21 -> "veintiuno"."""
    if n < 30:
        return _es_agree(_ES_ONES[n], form)
    if n < 100:
        tens, ones = divmod(n, 10)
        w = _ES_TENS[tens] + (" y " + _ES_ONES[ones] if ones else "")
        return _es_agree(w, form)
    if n < 1000:
        if n == 100:
            return "cien"
        hundreds, rest = divmod(n, 100)
        w = _ES_HUNDREDS[hundreds] + (" " + spanish_number(rest) if rest else "")
        return _es_agree(w, form)
    thousands, rest = divmod(n, 1000)
    # "mil", "dos mil", "veintiún mil": the multiplier agrees with "mil" (masculine).
    head = "mil" if thousands == 1 else spanish_number(thousands, "m") + " mil"
    return head + (" " + spanish_number(rest, form) if rest else "")


_FR_ONES = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf",
            "dix", "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept",
            "dix-huit", "dix-neuf")
_FR_TENS = ("", "", "vingt", "trente", "quarante", "cinquante", "soixante")


def _fr_below_100(n: int) -> str:
    if n < 20:
        return _FR_ONES[n]
    if n < 70:
        tens, ones = divmod(n, 10)
        if ones == 0:
            return _FR_TENS[tens]
        return _FR_TENS[tens] + (" et un" if ones == 1 else "-" + _FR_ONES[ones])
    if n < 80:  # soixante-dix, soixante et onze, soixante-douze ...
        return "soixante" + (" et onze" if n == 71 else "-" + _FR_ONES[n - 60])
    if n == 80:
        return "quatre-vingts"
    return "quatre-vingt-" + _FR_ONES[n - 80]


def french_number(n: int, form: str = "") -> str:
    """0 <= n < 1 000 000 in French words (traditional spelling): 71 -> "soixante et onze"."""
    if n < 100:
        w = _fr_below_100(n)
    elif n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "cent" if hundreds == 1 else _FR_ONES[hundreds] + " cent" + ("" if rest else "s")
        w = head + (" " + _fr_below_100(rest) if rest else "")
    else:
        thousands, rest = divmod(n, 1000)
        head = "mille" if thousands == 1 else french_number(thousands).removesuffix("s") + " mille"
        w = head + (" " + french_number(rest) if rest else "")
    if form == "f" and (w == "un" or w.endswith(" un") or w.endswith("-un")):
        w += "e"
    return w


def _digits(n: int, form: str = "") -> str:
    return str(n)


# English keeps digits: espeak-ng's English voice reads them exactly as words would sound,
# and digits keep `coach plan` short and the tone fallback's count detection working.
NUMBER_WORDS: Mapping[str, Callable[..., str]] = {
    "en": _digits, "de": german_number, "es": spanish_number, "fr": french_number}

# The word between a decimal's whole and fractional digits ("1.5 seconds" of a cadence).
DECIMAL_POINT: Mapping[str, str] = {"de": "Komma", "es": "coma", "fr": "virgule"}

# How a number agrees with the noun after it, by (phrase id, field); absent: counting form.
NUMBER_FORMS: Mapping[str, Mapping[tuple[str, str], str]] = {
    "en": {},
    "de": {("rest", "seconds"): "f", ("seconds_left", "n"): "f", ("reps", "n"): "f",
           ("cadence", "seconds"): "f", ("hold_for", "seconds"): "f", ("poses", "n"): "f",
           ("extended", "seconds"): "f"},
    "es": {("rest", "seconds"): "m", ("seconds_left", "n"): "m", ("reps", "n"): "f",
           ("cadence", "seconds"): "m", ("hold_for", "seconds"): "m", ("poses", "n"): "f",
           ("extended", "seconds"): "m", ("last_reps", "n"): "f"},
    "fr": {("rest", "seconds"): "f", ("seconds_left", "n"): "f", ("reps", "n"): "f",
           ("cadence", "seconds"): "f", ("hold_for", "seconds"): "f", ("poses", "n"): "f",
           ("extended", "seconds"): "f", ("last_reps", "n"): "f"},
}

# Words for 0..100 in every language (English: digits), e.g. NUMBERS["de"][21] == "einundzwanzig".
NUMBERS: Mapping[str, Mapping[int, str]] = {
    lang: {n: speak(n) for n in range(101)} for lang, speak in NUMBER_WORDS.items()}


def missing_phrases(language: str) -> list[str]:
    """Phrase ids the ``language`` pack lacks (all of them for an unknown language); "numbers"
    is missing when the language has no way to say numbers."""
    pack = PACKS.get(language, {})
    missing = [p for p in PHRASE_IDS
               if p != "numbers" and not (isinstance(pack.get(p), str) and pack[p].strip())]
    if language not in NUMBER_WORDS or "numbers" not in pack:
        missing.append("numbers")
    return missing


def phrase_table(language: str, *overrides: Mapping[str, str]) -> dict[str, str]:
    """The phrases for ``language`` with each mapping of ``overrides`` applied in order.

    Never falls back to another language: an unknown or incomplete pack is a LookupError
    (program validation reports it to the user first, at the `language:` line)."""
    if language not in PACKS:
        raise LookupError(f"no phrase pack for language {language!r}; available: "
                          + ", ".join(sorted(PACKS)))
    missing = missing_phrases(language)
    if missing:
        raise LookupError(f"language {language!r} pack lacks phrases: " + ", ".join(missing))
    table = dict(PACKS[language])
    for words in overrides:
        table.update(words)
    return table


def say_number(n: int, language: str = "en", form: str = "") -> str:
    """How a whole number is written in a cue's text for ``language`` (``form``: "" counting,
    "m"/"f" agreeing with a noun after it). Negative or huge numbers stay digits."""
    speak = NUMBER_WORDS.get(language, _digits)
    if not 0 <= n < 1_000_000:
        return str(n)
    return speak(n, form)


def say_decimal(value: float, language: str = "en", form: str = "") -> str:
    """A number of seconds such as 1.5 as text: whole numbers as ``say_number``; a fraction as
    words for the whole part, the decimal word and each digit ("eins Komma fünf")."""
    if value == int(value):
        return say_number(int(value), language, form)
    written = f"{value:g}"
    if language not in DECIMAL_POINT or "e" in written:
        return written  # the voice reads "1.5" in English
    whole, _, frac = written.partition(".")
    # German reads decimals digit by digit ("eins Komma zwei fünf"); Spanish and French read
    # the fraction as a number ("uno coma veinticinco") unless it starts with a zero.
    if language == "de" or frac.startswith("0"):
        tail = [say_number(int(d), language) for d in frac]
    else:
        tail = [say_number(int(frac), language)]
    return " ".join([say_number(int(whole), language), DECIMAL_POINT[language]] + tail)


def fill(words: Mapping[str, str], phrase: str, language: str = "en", **fields: object) -> str:
    """Format phrase ``phrase`` of ``words`` with ``fields``; int and float fields are spoken
    as the language's number words, in the form the noun after them needs."""
    forms = NUMBER_FORMS.get(language, {})
    spoken: dict[str, object] = {}
    for name, value in fields.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            spoken[name] = say_decimal(value, language, forms.get((phrase, name), ""))
        else:
            spoken[name] = value
    return words[phrase].format(**spoken)
