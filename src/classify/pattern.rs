//! Word patterns for the danger signals and audience cues of the knowledge base.
//!
//! A pattern is written in plain words, as a coordinator would read it:
//! `veux|voudrais ... mourir`, `me scarif*`, `mon|ma|notre fils|fille`.
//! - words are matched in order against the normalised message (folded, slang
//!   expanded, not stemmed);
//! - `a|b` is a choice of words at one place;
//! - a trailing `*` matches any word that starts with what comes before it
//!   (with one typo allowed when that is six letters or more);
//! - a word of seven letters or more also matches a word one typo away that
//!   starts with the same letter ("suicder", "scarifie");
//! - one other word may stand between two pattern words ("veux vraiment
//!   mourir"); `...` lets up to four stand there, and `~` any number,
//!   within the same sentence ("coach ~ secret").
//!
//! Patterns never see raw text, so no character a person types can change
//! their meaning. This module only matches: what a match means is decided by
//! the danger and audience readers.

use crate::text::{edit_distance_within, split_folded, Normalized};
use rustc_hash::FxHashMap as HashMap;

/// Words allowed between two pattern words when nothing is said.
const DEFAULT_GAP: usize = 1;
/// Words allowed between two pattern words around `...`.
const WIDE_GAP: usize = 4;
/// Words allowed around `~`: any number, within the sentence.
const ANYWHERE: usize = usize::MAX / 4;
/// Shortest pattern word that also matches with one typo. Shorter words are
/// too close to each other ("enfuie" and "ennuie").
const FUZZY_MIN_LEN: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Form {
    Exact(String),
    Prefix(String),
}

/// One place in a pattern: the words that may stand there.
#[derive(Debug, Clone)]
struct Slot {
    forms: Vec<Form>,
    /// Words allowed between the previous slot and this one.
    gap_before: usize,
}

/// A compiled pattern, with its source text for explanations.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    slots: Vec<Slot>,
}

impl Pattern {
    /// Compiles a pattern; the error says what is wrong in words.
    pub fn parse(source: &str) -> Result<Pattern, String> {
        let mut slots = Vec::new();
        let mut gap = DEFAULT_GAP;
        for piece in source.split_whitespace() {
            if piece == "..." || piece == "…" || piece == "~" {
                if slots.is_empty() {
                    return Err(format!("a pattern cannot start with `{piece}`"));
                }
                gap = if piece == "~" { ANYWHERE } else { WIDE_GAP };
                continue;
            }
            let mut forms = Vec::new();
            for choice in piece.split('|') {
                let (body, prefix) = match choice.strip_suffix('*') {
                    Some(body) => (body, true),
                    None => (choice, false),
                };
                let folded: Vec<String> = split_folded(body).collect();
                match folded.as_slice() {
                    [word] if prefix => forms.push(Form::Prefix(word.clone())),
                    [word] => forms.push(Form::Exact(word.clone())),
                    [] => return Err(format!("`{choice}` has no letters")),
                    _ => {
                        return Err(format!(
                        "`{choice}` is several words: separate words with spaces, choices with `|`"
                    ))
                    }
                }
            }
            slots.push(Slot {
                forms,
                gap_before: if slots.is_empty() { 0 } else { gap },
            });
            gap = DEFAULT_GAP;
        }
        if slots.is_empty() {
            return Err("the pattern is empty".into());
        }
        if gap != DEFAULT_GAP {
            return Err("a pattern cannot end with `...` or `~`".into());
        }
        Ok(Pattern {
            source: source.trim().to_string(),
            slots,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

/// A set of patterns, each tagged with a value (a danger signal, a cue kind),
/// matched together against one message.
#[derive(Debug, Clone)]
pub struct PatternSet<T> {
    patterns: Vec<(Pattern, T)>,
    /// Every distinct form, so each is checked once per message word.
    forms: Vec<Form>,
    /// For each pattern, for each slot, the indices of its forms in `forms`.
    slot_forms: Vec<Vec<Vec<usize>>>,
    exact_index: HashMap<String, Vec<usize>>,
    /// Prefix forms by their prefix, so a word looks up its own beginnings.
    prefix_index: HashMap<String, Vec<usize>>,
    /// Forms long enough to tolerate a typo, by first letter (a typo never
    /// falls on the first letter).
    typo_index: HashMap<u8, Vec<usize>>,
}

/// What matched: the pattern's value, its source and the message words it covered.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternMatch<'a, T> {
    pub value: &'a T,
    pub pattern: &'a str,
    pub words: Vec<String>,
    /// Where those words stand in the message.
    pub positions: Vec<usize>,
}

impl<T> PatternSet<T> {
    pub fn new(patterns: Vec<(Pattern, T)>) -> PatternSet<T> {
        let mut forms: Vec<Form> = Vec::new();
        let mut ids: HashMap<Form, usize> = HashMap::default();
        let mut slot_forms = Vec::with_capacity(patterns.len());
        for (pattern, _) in &patterns {
            let mut slots = Vec::with_capacity(pattern.slots.len());
            for slot in &pattern.slots {
                let mut slot_ids = Vec::with_capacity(slot.forms.len());
                for form in &slot.forms {
                    let id = *ids.entry(form.clone()).or_insert_with(|| {
                        forms.push(form.clone());
                        forms.len() - 1
                    });
                    slot_ids.push(id);
                }
                slots.push(slot_ids);
            }
            slot_forms.push(slots);
        }
        let mut exact_index: HashMap<String, Vec<usize>> = HashMap::default();
        let mut prefix_index: HashMap<String, Vec<usize>> = HashMap::default();
        let mut typo_index: HashMap<u8, Vec<usize>> = HashMap::default();
        for (id, form) in forms.iter().enumerate() {
            let (text, tolerant) = match form {
                Form::Exact(word) => {
                    exact_index.entry(word.clone()).or_default().push(id);
                    (word, word.len() >= FUZZY_MIN_LEN)
                }
                Form::Prefix(prefix) => {
                    prefix_index.entry(prefix.clone()).or_default().push(id);
                    (prefix, prefix.len() + 1 >= FUZZY_MIN_LEN)
                }
            };
            if tolerant {
                typo_index.entry(text.as_bytes()[0]).or_default().push(id);
            }
        }
        PatternSet {
            patterns,
            forms,
            slot_forms,
            exact_index,
            prefix_index,
            typo_index,
        }
    }

    /// Every pattern that matches within one sentence of the message, at
    /// most once each, in set order.
    pub fn matches<'a>(&'a self, message: &Normalized) -> Vec<PatternMatch<'a, T>> {
        let words = &message.words;
        let hits = self.form_hits(words);
        let mut found = Vec::new();
        for (index, (pattern, value)) in self.patterns.iter().enumerate() {
            let slots = &self.slot_forms[index];
            if !slots
                .iter()
                .all(|ids| ids.iter().any(|&id| !hits[id].is_empty()))
            {
                continue;
            }
            let search = Search {
                pattern,
                slots: &self.slot_forms[index],
                hits: &hits,
                sentences: &message.sentences,
            };
            if let Some(positions) = search.first() {
                found.push(PatternMatch {
                    value,
                    pattern: pattern.source(),
                    words: positions.iter().map(|&p| words[p].clone()).collect(),
                    positions,
                });
            }
        }
        found
    }

    /// For each form, the sorted positions of the message words it matches.
    fn form_hits(&self, words: &[String]) -> Vec<Vec<usize>> {
        let mut hits = vec![Vec::new(); self.forms.len()];
        for (position, word) in words.iter().enumerate() {
            let mut matched: Vec<usize> = Vec::new();
            if let Some(ids) = self.exact_index.get(word) {
                matched.extend(ids);
            }
            for (end, _) in word
                .char_indices()
                .skip(1)
                .chain(std::iter::once((word.len(), ' ')))
            {
                if let Some(ids) = self.prefix_index.get(&word[..end]) {
                    matched.extend(ids);
                }
            }
            for &id in self
                .typo_index
                .get(&word.as_bytes()[0])
                .into_iter()
                .flatten()
            {
                let typo = match &self.forms[id] {
                    Form::Prefix(prefix) => prefix_with_typo(prefix, word),
                    Form::Exact(expected) => {
                        expected.len().abs_diff(word.len()) <= 1
                            && expected != word
                            && edit_distance_within(expected, word, 1) <= 1
                    }
                };
                if typo {
                    matched.push(id);
                }
            }
            matched.sort_unstable();
            matched.dedup();
            for id in matched {
                hits[id].push(position);
            }
        }
        hits
    }
}

/// Placing one pattern's slots on the words of one message.
struct Search<'s> {
    pattern: &'s Pattern,
    /// For each slot, the ids of its forms.
    slots: &'s [Vec<usize>],
    /// For each form, the positions of the words it matches.
    hits: &'s [Vec<usize>],
    sentences: &'s [u32],
}

impl Search<'_> {
    /// The first placement, trying each start in order.
    fn first(&self) -> Option<Vec<usize>> {
        let mut chosen = Vec::with_capacity(self.slots.len());
        for start in positions_of(&self.slots[0], self.hits) {
            chosen.clear();
            chosen.push(start);
            if self.extend(&mut chosen) {
                return Some(chosen);
            }
        }
        None
    }

    /// Depth-first: place the next slot within its gap after the last placed
    /// one, in the same sentence.
    fn extend(&self, chosen: &mut Vec<usize>) -> bool {
        let next = chosen.len();
        if next == self.slots.len() {
            return true;
        }
        let last = *chosen
            .last()
            .expect("the first slot is placed before extending");
        let max_gap = self.pattern.slots[next].gap_before;
        for position in positions_of(&self.slots[next], self.hits) {
            if position <= last
                || position > last + 1 + max_gap
                || self.sentences[position] != self.sentences[last]
            {
                continue;
            }
            chosen.push(position);
            if self.extend(chosen) {
                return true;
            }
            chosen.pop();
        }
        false
    }
}

/// Whether `word` begins with `prefix` but for one typo ("suicder" for
/// "suicid*"), for prefixes long enough that this cannot be another word's.
fn prefix_with_typo(prefix: &str, word: &str) -> bool {
    let len = prefix.len();
    if len < FUZZY_MIN_LEN - 1 || word.len() + 1 < len || prefix.as_bytes()[0] != word.as_bytes()[0]
    {
        return false;
    }
    // The typo may not fall on the prefix's last letter, where the word goes
    // on: "etrangl*" is not "etranger".
    let last = prefix.as_bytes()[len - 1];
    (len - 1..=len + 1)
        .filter(|&k| k <= word.len() && word.is_char_boundary(k) && word.as_bytes()[k - 1] == last)
        .any(|k| edit_distance_within(prefix, &word[..k], 1) <= 1)
}

fn positions_of(form_ids: &[usize], hits: &[Vec<usize>]) -> Vec<usize> {
    let mut positions: Vec<usize> = form_ids
        .iter()
        .flat_map(|&id| hits[id].iter().copied())
        .collect();
    positions.sort_unstable();
    positions.dedup();
    positions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{normalize, Slang};

    fn set(patterns: &[&str]) -> PatternSet<usize> {
        PatternSet::new(
            patterns
                .iter()
                .enumerate()
                .map(|(i, p)| (Pattern::parse(p).unwrap(), i))
                .collect(),
        )
    }

    fn matched(set: &PatternSet<usize>, text: &str) -> Vec<usize> {
        set.matches(&normalize(text, &Slang::default()))
            .into_iter()
            .map(|m| *m.value)
            .collect()
    }

    #[test]
    fn words_in_order_with_one_word_between() {
        let s = set(&["veux mourir"]);
        assert_eq!(matched(&s, "je veux mourir"), [0]);
        assert_eq!(matched(&s, "je veux vraiment mourir"), [0]);
        assert!(matched(&s, "je veux pas du tout mourir").is_empty());
        assert!(matched(&s, "mourir je veux").is_empty());
    }

    #[test]
    fn never_across_sentences() {
        let s = set(&["sais pas ou je suis"]);
        assert_eq!(matched(&s, "je sais pas ou je suis, aidez moi"), [0]);
        assert!(matched(&s, "je sais pas ou. je suis en 1ere").is_empty());
    }

    #[test]
    fn anywhere_in_the_sentence() {
        let s = set(&["coach|prof ~ secret"]);
        assert_eq!(
            matched(
                &s,
                "mon coach m envoie des messages la nuit et dit qu il faut garder ca secret"
            ),
            [0]
        );
        assert!(matched(&s, "mon coach est sympa. c est un secret").is_empty());
        assert!(matched(&s, "un secret de mon coach").is_empty());
        assert!(Pattern::parse("~ secret").is_err());
        assert!(Pattern::parse("secret ~").is_err());
    }

    #[test]
    fn wide_gap_choices_and_prefixes() {
        let s = set(&["envie|veux ... mourir|crever", "me scarif*"]);
        assert_eq!(matched(&s, "g envie de tout lacher et crever"), [0]);
        assert!(matched(&s, "envie de tout arreter et puis de crever").is_empty());
        assert_eq!(matched(&s, "je me scarifie le soir"), [1]);
        assert_eq!(matched(&s, "Je me SCARIFIAIS"), [1]);
    }

    #[test]
    fn long_words_tolerate_one_typo_with_the_same_first_letter() {
        let s = set(&["me suicider", "envie mourir"]);
        assert_eq!(matched(&s, "envie de mourir"), [1]);
        assert_eq!(matched(&s, "je vais me suicder"), [0]);
        assert_eq!(matched(&s, "je vais me sucider"), [0]);
        let prefixed = set(&["me suicid*"]);
        assert_eq!(matched(&prefixed, "je veux me suicder"), [0]);
        assert_eq!(matched(&prefixed, "je veux me sucidé"), [0]);
        assert!(
            matched(&prefixed, "je me suis").is_empty(),
            "a short word is no typo of a long prefix"
        );
        let strangle = set(&["etrangl*"]);
        assert!(matched(&strangle, "il est etranger").is_empty());
        assert_eq!(matched(&strangle, "il m a etrnaglee"), [0]);
        // Short words must be exact: "mourir" is one letter from "courir".
        assert!(matched(&s, "envie de courir").is_empty());
        assert!(matched(&s, "envie de nourir").is_empty());
    }

    #[test]
    fn reports_the_words_it_covered() {
        let s = set(&["mon|ma fils|fille"]);
        let found = s.matches(&normalize("Bonjour, ma fille de 14 ans", &Slang::default()));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].words, ["ma", "fille"]);
        assert_eq!(found[0].pattern, "mon|ma fils|fille");
    }

    #[test]
    fn rejects_malformed_patterns() {
        assert!(Pattern::parse("").is_err());
        assert!(Pattern::parse("... mourir").is_err());
        assert!(Pattern::parse("mourir ...").is_err());
        assert!(Pattern::parse("!!").is_err());
        assert!(Pattern::parse("j'ai").is_err());
    }
}
