//! Normalisation of what people type: case and accents folded, punctuation and
//! emoji dropped, letter runs shortened, SMS spelling and slang expanded.
//!
//! Every reader of a message (theme index, danger signals, audience cues,
//! places) works on the same [`Normalized`] tokens, and the knowledge base is
//! normalised the same way, so "harcèlement", "HARCELEMENT" and "harcelement"
//! are one word everywhere. This module never stems (the theme index does)
//! and never fails: any text, however odd, gives a (possibly empty) token list.

use rustc_hash::FxHashMap as HashMap;

/// The longest message we read, in bytes. Longer text is cut at a character
/// boundary: a real question fits in far less, and the cap keeps the
/// classification time bounded whatever someone pastes.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Slang and SMS spellings, each mapped to the plain words it stands for.
#[derive(Debug, Clone, Default)]
pub struct Slang {
    expansions: HashMap<String, Vec<String>>,
}

impl Slang {
    /// Builds the table from `(written form, plain words)` pairs. Both sides are
    /// folded, so the table may be written with accents.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Slang {
        let expansions = pairs
            .into_iter()
            .filter_map(|(from, to)| {
                let from = fold_word(from)?;
                let to: Vec<String> = split_folded(to).collect();
                Some((from, to))
            })
            .collect();
        Slang { expansions }
    }

    fn expand(&self, word: &str) -> Option<&[String]> {
        self.expansions.get(word).map(Vec::as_slice)
    }

    /// The word as read: its slang expansion, "je" and the verb for a
    /// "j" glued to a word the table does not know ("jlui" is "je lui",
    /// "jregarde" is "je regarde"), or the word itself.
    fn read_into(&self, word: String, out: &mut Vec<String>) {
        if let Some(expansion) = self.expand(&word) {
            out.extend(expansion.iter().cloned());
        } else if let Some(rest) = glued_je(&word) {
            out.push("je".to_string());
            out.push(rest.to_string());
        } else {
            out.push(word);
        }
    }

    /// An already folded phrase with its slang expanded; `None` when it has
    /// none (the phrase reads as written).
    pub fn expand_folded(&self, folded: &str) -> Option<String> {
        if !folded
            .split(' ')
            .any(|w| self.expansions.contains_key(w) || glued_je(w).is_some())
        {
            return None;
        }
        let mut words: Vec<String> = Vec::new();
        for w in folded.split(' ') {
            self.read_into(w.to_string(), &mut words);
        }
        Some(words.join(" "))
    }
}

/// The word after a glued "j" ("jlui", "jregarde"): a "j", a consonant,
/// and at least three more letters with a vowel among them. Shorter forms
/// ("jtm", "jpp") are abbreviations, for the slang table.
fn glued_je(word: &str) -> Option<&str> {
    let rest = word.strip_prefix('j')?;
    let first = rest.bytes().next()?;
    let glued = b"bcdfgklmnpqrstvwxz".contains(&first)
        && rest.len() >= 3
        && rest.bytes().all(|b| b.is_ascii_lowercase())
        && rest.bytes().any(|b| b"aeiouy".contains(&b));
    glued.then_some(rest)
}

/// A message as the readers see it: folded words, in order, each with the
/// number of the sentence it stands in (sentences end at `.`, `!`, `?`, `;`,
/// `…` and line breaks), so that a pattern never reads across two sentences.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Normalized {
    pub words: Vec<String>,
    pub sentences: Vec<u32>,
}

impl Normalized {
    /// The words joined by single spaces, as fed to the theme index.
    pub fn joined(&self) -> String {
        self.words.join(" ")
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The message without the words at `positions` (sorted or not).
    pub fn without(&self, positions: &[usize]) -> Normalized {
        let keep = |i: &usize| !positions.contains(i);
        Normalized {
            words: self
                .words
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(i))
                .map(|(_, w)| w.clone())
                .collect(),
            sentences: self
                .sentences
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(i))
                .map(|(_, s)| *s)
                .collect(),
        }
    }
}

/// Normalises a message: fold, split, shorten letter runs, expand slang.
pub fn normalize(text: &str, slang: &Slang) -> Normalized {
    let text = truncate(text, MAX_MESSAGE_BYTES);
    let mut message = Normalized::default();
    for (sentence, part) in text.split(is_sentence_end).enumerate() {
        for word in split_folded(part) {
            slang.read_into(word, &mut message.words);
            message
                .sentences
                .resize(message.words.len(), sentence as u32);
        }
    }
    message
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ';' | '…' | '\n' | '\r')
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Folds one word on its own (no slang): `None` when nothing is left.
pub fn fold_word(word: &str) -> Option<String> {
    let folded = fold_phrase(word);
    (!folded.is_empty()).then_some(folded)
}

/// Folds a whole phrase to its words joined by single spaces ("Loir-et-Cher"
/// gives "loir et cher"), with no slang expansion.
pub fn fold_phrase(text: &str) -> String {
    split_folded(text).collect::<Vec<_>>().join(" ")
}

/// Lower-cases, strips accents, splits on anything that is not a letter or a
/// digit, and shortens runs of three or more identical letters to one
/// ("trooop" → "trop", "nonnn" → "non").
pub fn split_folded(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut chars = text.chars().peekable();
    std::iter::from_fn(move || {
        let mut word = String::new();
        loop {
            let c = chars.next()?;
            if push_folded(&mut word, c) {
                break;
            }
        }
        while let Some(&c) = chars.peek() {
            let mut piece = String::new();
            if !push_folded(&mut piece, c) {
                break;
            }
            word.push_str(&piece);
            chars.next();
        }
        Some(shorten_runs(&word))
    })
}

/// Appends the folded form of `c` to `out`; returns false when `c` is a
/// separator (punctuation, space, emoji, symbol).
fn push_folded(out: &mut String, c: char) -> bool {
    let folded = match c {
        'a'..='z' | '0'..='9' => {
            out.push(c);
            return true;
        }
        'A'..='Z' => {
            out.push(c.to_ascii_lowercase());
            return true;
        }
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => "y",
        'œ' | 'Œ' => "oe",
        'æ' | 'Æ' => "ae",
        'ß' => "ss",
        // Other letters (Greek, Cyrillic, Arabic…) are kept lower-cased: they
        // match nothing in the knowledge base but must not glue words together.
        c if c.is_alphanumeric() => {
            out.extend(c.to_lowercase());
            return true;
        }
        _ => return false,
    };
    out.push_str(folded);
    true
}

fn shorten_runs(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut last: Option<char> = None;
    let mut run = 0;
    for c in word.chars() {
        if Some(c) == last {
            run += 1;
        } else {
            last = Some(c);
            run = 1;
        }
        // Digits are kept whole ("2000", "11111"): runs only matter in words.
        if run <= 2 || c.is_ascii_digit() {
            out.push(c);
        } else if run == 3 && !c.is_ascii_digit() {
            // "ooo": remove the second copy already written.
            out.pop();
        }
    }
    out
}

/// Damerau–Levenshtein distance (adjacent transpositions count one), stopping
/// early once it exceeds `limit`; returns `limit + 1` in that case.
pub fn edit_distance_within(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let width = b.len() + 1;
    let mut before = vec![0usize; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current = vec![0usize; width];
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = current[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
            row_min = row_min.min(best);
        }
        if row_min > limit {
            return limit + 1;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()].min(limit + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let slang = Slang::new([("jsp", "je sais pas"), ("g", "j'ai"), ("chui", "je suis")]);
        normalize(text, &slang).words
    }

    #[test]
    fn a_folded_phrase_gets_the_same_slang_as_a_message() {
        let slang = Slang::new([("boulot", "travail"), ("jsp", "je sais pas")]);
        for name in ["Le Boulot", "Saint-Jsp-du-Boulot", "Blois"] {
            let folded = fold_phrase(name);
            let expanded = slang.expand_folded(&folded).unwrap_or(folded);
            assert_eq!(expanded, normalize(name, &slang).joined(), "{name}");
        }
        assert_eq!(slang.expand_folded("blois"), None);
    }

    #[test]
    fn a_glued_j_reads_as_je() {
        assert_eq!(
            words("il arrete pas quand jlui dis"),
            ["il", "arrete", "pas", "quand", "je", "lui", "dis"]
        );
        assert_eq!(words("jregarde"), ["je", "regarde"]);
        // Abbreviations, slang entries and ordinary words stay as they are.
        assert_eq!(
            words("jtm jsp jour jus"),
            ["jtm", "je", "sais", "pas", "jour", "jus"]
        );
    }

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(
            words("Harcèlement À l'ÉCOLE"),
            ["harcelement", "a", "l", "ecole"]
        );
        assert_eq!(words("cœur"), ["coeur"]);
    }

    #[test]
    fn splits_on_punctuation_and_emoji() {
        assert_eq!(words("salut!!😭😭pk?"), ["salut", "pk"]);
        assert_eq!(words("Loir-et-Cher"), ["loir", "et", "cher"]);
        assert!(words("😭🔥💀").is_empty());
        assert!(words("").is_empty());
    }

    #[test]
    fn shortens_letter_runs_but_not_digits_or_doubles() {
        assert_eq!(words("trooooop nonnn"), ["trop", "non"]);
        assert_eq!(words("appelle 11111 2000"), ["appelle", "11111", "2000"]);
    }

    #[test]
    fn expands_slang() {
        assert_eq!(
            words("jsp g peur"),
            ["je", "sais", "pas", "j", "ai", "peur"]
        );
        assert_eq!(words("CHUI perdu"), ["je", "suis", "perdu"]);
    }

    #[test]
    fn numbers_sentences() {
        let message = normalize(
            "jsp. chui là!! ok",
            &Slang::new([("jsp", "je sais pas"), ("chui", "je suis")]),
        );
        assert_eq!(
            message.words,
            ["je", "sais", "pas", "je", "suis", "la", "ok"]
        );
        assert_eq!(message.sentences, [0, 0, 0, 1, 1, 1, 3]);
    }

    #[test]
    fn truncates_on_a_char_boundary() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = truncate(&long, MAX_MESSAGE_BYTES - 1);
        assert!(cut.len() < MAX_MESSAGE_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance_within("suicide", "suicdie", 2), 1);
        assert_eq!(edit_distance_within("harcelement", "harcelemnt", 2), 1);
        assert_eq!(edit_distance_within("mourir", "courir", 2), 1);
        assert_eq!(edit_distance_within("mourir", "partir", 1), 2);
        assert_eq!(edit_distance_within("a", "abcdef", 2), 3);
    }

    #[test]
    fn folds_phrases() {
        assert_eq!(fold_phrase("Seine-Saint-Denis"), "seine saint denis");
        assert_eq!(fold_word("  Évry "), Some("evry".to_string()));
        assert_eq!(fold_word("!!"), None);
    }
}
