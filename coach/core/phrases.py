"""Phrase packs: every word coach itself says, by phrase id, per language, and numbers as words.

Templates use ``str.format`` fields; ``PLACEHOLDERS`` says which fields each id must keep
when a program (or a pack) writes it. ``fill`` formats a template, turning numbers into words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

# Phrase ids a program may override with `words:`. Order is the documentation order.
PHRASE_IDS: tuple[str, ...] = (
    "lower", "bottom_hold", "squeeze", "top_hold", "explode", "go", "rest", "next", "set_of",
    "last_rep", "last_reps", "hold", "halfway", "seconds_left", "release", "relax",
    "eyes_closed", "switch_sides", "left", "right", "reps", "tempo", "cadence", "hold_for",
    "poses", "focus", "done", "resuming", "extended", "rate_feel", "rate_effort", "progressed",
    "sets", "kilos", "pounds", "not_saved", "feel_was", "next_set", "slower_down", "peak_pause",
    "closing_hold", "hold_squeeze", "weaker_first", "back_to_program", "flex", "and", "lagging_first",
    "numbers", "time_left", "stop_ask", "not_now", "say_again", "one_to_five",
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
    "progressed": ("value", "old"),
    "sets": ("n",),
    "kilos": ("n",),
    "pounds": ("n",),
    "feel_was": ("n",),
    "next_set": ("change",),
    "slower_down": ("seconds",),
    "peak_pause": ("seconds",),
    "closing_hold": ("seconds",),
    "weaker_first": ("side",),
    "flex": ("seconds",),
    "lagging_first": ("side", "n"),
    "time_left": ("n",),
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
    "rate_feel": "How well did you feel it? Tap one to five.",
    "rate_effort": "How hard was that? Tap one to five.",
    "progressed": "{value} today, up from {old}",
    "sets": "{n} sets",
    "kilos": "{n} kilos",
    "pounds": "{n} pounds",
    "feel_was": "feel was {n}",
    "next_set": "next set: {change}",
    "slower_down": "{seconds} seconds down",
    "peak_pause": "squeeze at the top for {seconds} seconds",
    "closing_hold": "hold the squeeze {seconds} seconds at the end",
    "hold_squeeze": "hold the squeeze",
    "weaker_first": "{side} first",
    "back_to_program": "back to the program",
    "flex": "flex it for {seconds} seconds, eyes closed",
    "and": "and",
    "lagging_first": "{side} first today: it has lagged {n} sessions",
    "not_saved": "not saved",
    "time_left": "{n} seconds left",
    "stop_ask": "stop the session?",
    "not_now": "not now",
    "say_again": "say again?",
    "one_to_five": "one to five?",
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
    "rate_feel": "Wie gut hast du es gespürt? Tippe eins bis fünf.",
    "rate_effort": "Wie schwer war das? Tippe eins bis fünf.",
    "progressed": "heute {value}, vorher {old}",
    "sets": "{n} Sätze",
    # "Pfund" alone is 500 g in a German gym: the imperial pound is the "englische Pfund".
    "kilos": "{n} Kilo",
    "pounds": "{n} englische Pfund",
    "feel_was": "Gefühl war {n}",
    "next_set": "nächster Satz: {change}",
    "slower_down": "{seconds} Sekunden runter",
    "peak_pause": "oben {seconds} Sekunden anspannen",
    "closing_hold": "am Ende {seconds} Sekunden Spannung halten",
    "hold_squeeze": "Spannung halten",
    "weaker_first": "{side} zuerst",
    "back_to_program": "zurück zum Programm",
    "flex": "{seconds} Sekunden anspannen, Augen zu",
    "and": "und",
    "lagging_first": "heute zuerst die {side}: sie hing {n} Einheiten hinterher",
    "not_saved": "nicht gespeichert",
    "time_left": "noch {n} Sekunden",
    "stop_ask": "Training beenden?",
    "not_now": "jetzt nicht",
    "say_again": "wie bitte?",
    "one_to_five": "eins bis fünf?",
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
    "rate_feel": "¿Cuánto lo sentiste? Toca de uno a cinco.",
    "rate_effort": "¿Qué tan duro fue? Toca de uno a cinco.",
    "progressed": "{value} hoy, antes {old}",
    "sets": "{n} series",
    "kilos": "con {n} kilos",
    "pounds": "con {n} libras",
    "feel_was": "sensación {n}",
    "next_set": "siguiente serie: {change}",
    "slower_down": "{seconds} segundos bajando",
    "peak_pause": "aprieta arriba {seconds} segundos",
    "closing_hold": "al final aguanta la contracción {seconds} segundos",
    "hold_squeeze": "aguanta la contracción",
    "weaker_first": "primero {side}",
    "back_to_program": "vuelta al programa",
    "flex": "contrae {seconds} segundos, ojos cerrados",
    "and": "y",
    "lagging_first": "hoy primero el {side}: se ha quedado atrás {n} sesiones",
    "not_saved": "no se ha guardado",
    "time_left": "quedan {n} segundos",
    "stop_ask": "¿terminar la sesión?",
    "not_now": "ahora no",
    "say_again": "¿cómo?",
    "one_to_five": "¿de uno a cinco?",
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
    "rate_feel": "Tu l'as senti comment? Tape de un à cinq.",
    "rate_effort": "C'était dur comment? Tape de un à cinq.",
    "progressed": "{value} aujourd'hui, avant {old}",
    "sets": "{n} séries",
    "kilos": "avec {n} kilos",
    "pounds": "avec {n} livres",
    "feel_was": "ressenti {n}",
    "next_set": "série suivante : {change}",
    "slower_down": "{seconds} secondes en descente",
    "peak_pause": "serre en haut {seconds} secondes",
    "closing_hold": "à la fin tiens la contraction {seconds} secondes",
    "hold_squeeze": "tiens la contraction",
    "weaker_first": "{side} d'abord",
    "back_to_program": "retour au programme",
    "flex": "contracte {seconds} secondes, yeux fermés",
    "and": "et",
    "lagging_first": "{side} d'abord aujourd'hui : en retard sur {n} séances",
    "not_saved": "pas enregistré",
    "time_left": "encore {n} secondes",
    "stop_ask": "arrêter la séance ?",
    "not_now": "pas maintenant",
    "say_again": "pardon ?",
    "one_to_five": "de un à cinq ?",
    "numbers": "",
}

PACKS: Mapping[str, Mapping[str, str]] = {"en": EN, "de": DE, "es": ES, "fr": FR}

# Singular forms: phrase id -> the template said when its number is exactly 1 ("rest 1 second",
# never "rest 1 seconds"); a number of 1.5 or 0 takes the plural. Same fields as the plural.
# A program's `words:` override of an id replaces both forms (its wording, its grammar).
COUNTED: Mapping[str, str] = {"rest": "seconds", "seconds_left": "n", "reps": "n",
                              "cadence": "seconds", "hold_for": "seconds", "poses": "n",
                              "extended": "seconds", "sets": "n", "kilos": "n",
                              "pounds": "n", "slower_down": "seconds", "peak_pause": "seconds",
                              "closing_hold": "seconds",
                              "flex": "seconds",
                              "time_left": "n"}  # phrase id -> the field that counts
SINGULAR: Mapping[str, Mapping[str, str]] = {
    "en": {"rest": "rest {seconds} second", "seconds_left": "{n} second",
           "time_left": "{n} second left", "reps": "{n} rep",
           "cadence": "one rep every {seconds} second", "hold_for": "hold {seconds} second",
           "poses": "{n} pose", "extended": "{seconds} more second", "sets": "{n} set",
           "kilos": "{n} kilo", "pounds": "{n} pound",
           "slower_down": "{seconds} second down",
           "peak_pause": "squeeze at the top for {seconds} second",
           "closing_hold": "hold the squeeze {seconds} second at the end",
           "flex": "flex it for {seconds} second, eyes closed"},
    "de": {"rest": "Pause {seconds} Sekunde", "seconds_left": "{n} Sekunde",
           "time_left": "noch {n} Sekunde",
           "reps": "{n} Wiederholung", "cadence": "eine Wiederholung alle {seconds} Sekunde",
           "hold_for": "{seconds} Sekunde halten", "poses": "{n} Pose",
           "extended": "noch {seconds} Sekunde", "sets": "{n} Satz",
           "kilos": "{n} Kilogramm", "pounds": "{n} englisches Pfund",
           "slower_down": "{seconds} Sekunde runter",
           "peak_pause": "oben {seconds} Sekunde anspannen",
           "closing_hold": "am Ende {seconds} Sekunde Spannung halten",
           "flex": "{seconds} Sekunde anspannen, Augen zu"},
    "es": {"rest": "descansa {seconds} segundo", "seconds_left": "{n} segundo",
           "time_left": "queda {n} segundo",
           "reps": "{n} repetición", "cadence": "una repetición cada {seconds} segundo",
           "hold_for": "aguanta {seconds} segundo", "poses": "{n} pose",
           "extended": "{seconds} segundo más", "sets": "{n} serie",
           "kilos": "con {n} kilo", "pounds": "con {n} libra",
           "slower_down": "{seconds} segundo bajando",
           "peak_pause": "aprieta arriba {seconds} segundo",
           "closing_hold": "al final aguanta la contracción {seconds} segundo",
           "flex": "contrae {seconds} segundo, ojos cerrados"},
    "fr": {"rest": "repos {seconds} seconde", "seconds_left": "{n} seconde",
           "time_left": "encore {n} seconde",
           "reps": "{n} répétition", "cadence": "une répétition toutes les {seconds} seconde",
           "hold_for": "tiens {seconds} seconde", "poses": "{n} pose",
           "extended": "encore {seconds} seconde", "sets": "{n} série",
           "kilos": "avec {n} kilo", "pounds": "avec {n} livre",
           "slower_down": "{seconds} seconde en descente",
           "peak_pause": "serre en haut {seconds} seconde",
           "closing_hold": "à la fin tiens la contraction {seconds} seconde",
           "flex": "contracte {seconds} seconde, yeux fermés"},
}
SINGULAR_SUFFIX = ":one"  # a singular's key in a phrase table: "rest:one" (never a phrase id)


# --- numbers as words ---------------------------------------------------------------------
# The words come from num2words (counting form); coach only makes a number agree with the noun
# after it. A "form" is that agreement: "" counting ("eins", "uno"), "m"/"f" masculine/feminine
# ("ein"/"eine Sekunde", "un segundo", "veintiuna repeticiones", "une seconde").


def _num2words(n: int, lang: str) -> str:
    from num2words import num2words  # imported on first use: `coach plan` in English needs none
    return num2words(n, lang=lang)


def german_number(n: int, form: str = "") -> str:
    """n in German words: 21 -> "einundzwanzig", 101 -> "hunderteins"; "ein"/"eine" before a
    noun. num2words says "einhundert"/"eintausend"; coach said (and says) "hundert"/"tausend"."""
    if n == 1 and form:
        return "eine" if form == "f" else "ein"
    w = _num2words(n, "de")
    return w[3:] if w.startswith(("einhundert", "eintausend")) else w


def spanish_number(n: int, form: str = "") -> str:
    """n in Spanish words: 16 -> "dieciséis", 21 -> "veintiuno", agreeing with the noun after
    it (``form`` "m": "veintiún", "f": "veintiuna", "doscientas"). The multiplier of "mil" is
    always apocopated ("veintiún mil"; num2words says "veintiuno mil")."""
    w = _num2words(n, "es")
    head, sep, tail = w.rpartition("mil")
    if sep:
        head = _es_agree(head.rstrip(), "m") + " " if head.strip() else ""
        return head + "mil" + (" " + _es_agree(tail.strip(), form) if tail.strip() else "")
    return _es_agree(w, form)


def _es_agree(words: str, form: str) -> str:
    if not form:
        return words
    if words.endswith("veintiuno"):
        words = words[:-9] + ("veintiún" if form == "m" else "veintiuna")
    elif words == "uno" or words.endswith(" uno"):
        words = words[:-3] + ("un" if form == "m" else "una")
    if form == "f":
        words = words.replace("ientos", "ientas")
    return words


def french_number(n: int, form: str = "") -> str:
    """n in French words (traditional spelling): 71 -> "soixante et onze"; "une" before a
    feminine noun ("vingt et une secondes")."""
    w = _num2words(n, "fr")
    if form == "f" and (w == "un" or w.endswith((" un", "-un"))):
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

_REMEDY_COUNTED = ("slower_down", "peak_pause", "closing_hold", "flex")
# How a number agrees with the noun after it, by (phrase id, field); absent: counting form.
NUMBER_FORMS: Mapping[str, Mapping[tuple[str, str], str]] = {
    "en": {},
    "de": {("time_left", "n"): "f", ("rest", "seconds"): "f", ("seconds_left", "n"): "f", ("reps", "n"): "f",
           ("cadence", "seconds"): "f", ("hold_for", "seconds"): "f", ("poses", "n"): "f",
           ("extended", "seconds"): "f", ("sets", "n"): "m", ("kilos", "n"): "m",
           ("pounds", "n"): "m", **{(p, "seconds"): "f" for p in _REMEDY_COUNTED},
           ("lagging_first", "n"): "f"},
    "es": {("time_left", "n"): "m", ("rest", "seconds"): "m", ("seconds_left", "n"): "m", ("reps", "n"): "f",
           ("cadence", "seconds"): "m", ("hold_for", "seconds"): "m", ("poses", "n"): "f",
           ("extended", "seconds"): "m", ("last_reps", "n"): "f", ("sets", "n"): "f",
           ("kilos", "n"): "m", ("pounds", "n"): "f",
           **{(p, "seconds"): "m" for p in _REMEDY_COUNTED}, ("lagging_first", "n"): "f"},
    "fr": {("time_left", "n"): "f", ("rest", "seconds"): "f", ("seconds_left", "n"): "f", ("reps", "n"): "f",
           ("cadence", "seconds"): "f", ("hold_for", "seconds"): "f", ("poses", "n"): "f",
           ("extended", "seconds"): "f", ("last_reps", "n"): "f", ("sets", "n"): "f",
           ("kilos", "n"): "m", ("pounds", "n"): "f",
           **{(p, "seconds"): "f" for p in _REMEDY_COUNTED}, ("lagging_first", "n"): "f"},
}

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
    table.update({p + SINGULAR_SUFFIX: t for p, t in SINGULAR.get(language, {}).items()})
    for words in overrides:
        for p, text in words.items():
            table[p] = text
            table.pop(p + SINGULAR_SUFFIX, None)  # the override speaks for 1 too
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
    counted = COUNTED.get(phrase)
    template = words[phrase]
    if counted is not None and type(fields.get(counted)) is int and fields[counted] == 1:
        template = words.get(phrase + SINGULAR_SUFFIX, template)
    spoken: dict[str, object] = {}
    for name, value in fields.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            spoken[name] = say_decimal(value, language, forms.get((phrase, name), ""))
        else:
            spoken[name] = value
    return template.format(**spoken)
