#!/usr/bin/env python3
"""Lists the communes of knowledge/places.tsv whose name is also ordinary French
("Vue", "Sens", "Tours", "L'Hôpital", "Avion"), so the bot reads them as places
only after a clear cue ("à Tours", "j'habite à Sens"). It also lists the short
names of towns that are ordinary words ("Grande" for Grande-Synthe, "La Ville"
for La Ville-du-Bois), which the bot then never reads as short names.

Source of the French words: Debian's `wfrench` package (/usr/share/dict/french,
GPL-2). Install it with `apt-get install wfrench`, then run
`python3 scripts/build-place-words.py` from the repository root. The output,
knowledge/place-words.txt, is committed: the bot itself needs no word list.
"""
import sys
import unicodedata

DICT = "/usr/share/dict/french"
PLACES = "knowledge/places.tsv"
OUT = "knowledge/place-words.txt"
# Small words that glue a name together: a name made of these and ordinary
# words is ordinary too ("La Forêt", "Le Bois").
GLUE = {"le", "la", "les", "l", "de", "du", "des", "d", "en", "sur", "sous", "et", "a", "au", "aux"}


def fold(text):
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("œ", "oe").replace("æ", "ae")
    words, word = [], ""
    for c in text:
        if c.isalnum():
            word += c
        elif word:
            words.append(word)
            word = ""
    if word:
        words.append(word)
    return words


# The same rule as `short_name` in src/classify/place.rs: the first part of a
# town's name that people say alone ("Châlons", "Carhaix", "Saint-Amand").
# Keep the two in step.
NAME_CUTS = ["sur", "sous", "en", "les", "lez", "le", "la", "l", "de", "du", "des", "d", "aux", "au", "et", "a"]
TOWN = 5000
# Words people write that the dictionary lacks, and that a town's short name
# would otherwise take ("je suis trans": not Trans-en-Provence).
EXTRA_WORDS = {"trans"}


def short_name(words):
    start = 2 if words[0] in ("le", "la", "les", "l") else 1
    cut = next((i for i in range(start, len(words)) if words[i] in NAME_CUTS), None)
    if cut is None:
        if len(words) == 2 and start == 1:
            cut = 1
        elif len(words) == 3 and words[0] in ("saint", "sainte"):
            cut = 2
        else:
            return None
    short = words[:cut]
    if len(short) == 1 and (len(short[0]) < 4 or short[0] in ("saint", "sainte", "saints", "saintes")):
        return None
    if all(w in NAME_CUTS for w in short):
        return None
    return short


def main():
    try:
        with open(DICT, encoding="utf-8") as f:
            vocabulary = {" ".join(fold(line.strip())) for line in f if line.strip() and not line[0].isupper()}
    except FileNotFoundError:
        sys.exit(f"{DICT} not found: apt-get install wfrench")
    names = set()
    with open(PLACES, encoding="utf-8") as f:
        next(f)
        for line in f:
            name, _, population = line.split("\t", 3)[:3]
            words = fold(name)
            short = short_name(words) if int(population) >= TOWN else None
            if short and all(w in vocabulary or w in GLUE or w in EXTRA_WORDS for w in short):
                names.add(" ".join(short))
            content = [w for w in words if w not in GLUE]
            if content and all(w in vocabulary for w in content):
                names.add(" ".join(words))
            # "Le Havre" is also read as "Havre": list the bare form too.
            if len(words) > 1 and words[0] in ("le", "la", "les", "l"):
                rest = words[1:]
                if all(w in vocabulary or w in GLUE for w in rest):
                    names.add(" ".join(rest))
    with open(OUT, "w", encoding="utf-8") as out:
        out.write("# Communes dont le nom est aussi un mot courant : le bot ne les lit comme un lieu\n")
        out.write("# qu'après « à », « j'habite »… Généré par scripts/build-place-words.py à partir de\n")
        out.write("# knowledge/places.tsv et de la liste de mots du paquet Debian wfrench. Ne pas éditer.\n")
        for name in sorted(names):
            out.write(name + "\n")
    print(f"{len(names)} names written to {OUT}")


if __name__ == "__main__":
    main()
