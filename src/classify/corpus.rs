//! The in-memory tantivy machinery shared by the theme matcher and the
//! danger reader: the French analysis, a small corpus of labelled texts, and
//! the weighted query a message becomes.
//!
//! Raw text never reaches a query parser: queries are built from analysed
//! terms only, so `AND (`, `-` or a page of emoji is just text. Nothing here
//! logs or keeps a message.

use crate::text::edit_distance_within;
use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::directory::RamDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST};
use tantivy::tokenizer::TokenizerManager;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer,
    Stemmer, StopWordFilter, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};
use tantivy::{Index, Searcher, TantivyDocument, Term};

/// Whether a term is a number ("41", "15"): it says nothing of a theme or
/// a danger.
pub(super) fn is_number(term: &str) -> bool {
    term.bytes().all(|b| b.is_ascii_digit())
}

/// French stop words, folded (tantivy's list, which folds "été" to "ete",
/// plus the fillers of chat that say nothing of a theme).
pub const FRENCH_STOP_WORDS: &[&str] = &[
    "au", "aux", "avec", "ce", "ces", "dans", "de", "des", "du", "elle", "en", "et", "eux", "il",
    "je", "la", "le", "leur", "lui", "ma", "mais", "me", "meme", "mes", "moi", "mon", "ne", "nos",
    "notre", "nous", "on", "ou", "par", "pour", "qu", "que", "qui", "sa", "se", "ses", "sur", "ta",
    "te", "tes", "toi", "ton", "tu", "un", "une", "vos", "votre", "vous", "c", "d", "j", "l", "a",
    "m", "n", "s", "t", "y", "etee", "etees", "etant", "suis", "es", "etes", "sont", "serai",
    "seras", "sera", "serons", "serez", "seront", "serais", "serait", "serions", "seriez",
    "seraient", "etais", "etait", "etions", "etiez", "etaient", "fus", "fut", "fumes", "futes",
    "furent", "sois", "soit", "soyons", "soyez", "soient", "fusse", "fusses", "fussions",
    "fussiez", "fussent", "ayant", "eu", "eue", "eues", "eus", "ai", "avons", "avez", "ont",
    "aurai", "aurons", "aurez", "auront", "aurais", "aurait", "aurions", "auriez", "auraient",
    "avais", "avait", "aviez", "avaient", "eut", "eumes", "eutes", "eurent", "aie", "aies", "ait",
    "ayons", "ayez", "aient", "eusse", "eusses", "eussions", "eussiez", "eussent", "ceci", "cela",
    "cet", "cette", "ici", "ils", "les", "leurs", "quel", "quels", "quelle", "quelles", "sans",
    "soi", "est", "ca", "fait", "faire", "tres", "trop", "tous", "toute", "toutes", "comme", "si",
    "aussi", "alors", "donc", "quand", "comment", "pourquoi", "quoi", "oui", "non", "ok", "bon",
    "ya", "avoir", "etre", "vraiment", "juste", "peu", "beaucoup", "encore", "deja", "chose",
    "truc", "trucs", "genre", "sais", "sait", "savoir", "peux", "peut", "veux", "veut", "dois",
    "doit", "faut", "fais", "dit", "dire", "mm", "the",
    // Chat fillers and greetings: they carry no theme, and a one-word
    // off-topic example ("wesh") must not outvote a message's content.
    "wesh", "yo", "mdr", "mdrr", "mdrrr", "ptdr", "lol", "xd", "salut", "bonjour", "bonsoir",
    "coucou", "hey", "hello", "merci", "plait", "please", "ah", "oh", "euh", "bah", "ben", "bref",
    "voila", "okay", "slt", "cc", "svp", "stp", "jsp", "hein",
];

/// Words shorter than this are not looked up with typo tolerance.
const FUZZY_MIN_LEN: usize = 4;
/// Long pastes are cut to this many distinct terms before querying.
const MAX_QUERY_TERMS: usize = 64;

/// What a message asks the corpora for: its stems with their weights, and
/// the typos corrected on the way (for explanations).
pub(super) struct MessageQuery {
    pub(super) stems: Vec<(String, f32)>,
    pub(super) corrections: Vec<String>,
}

/// One in-memory tantivy index over normalised texts, each with a reference.
pub(super) struct Corpus {
    searcher: Searcher,
    /// The `doc_ref` fast field of each segment, indexed by segment ordinal.
    doc_refs: Vec<Column<u64>>,
    stem_field: Field,
}

impl Corpus {
    pub(super) fn build(texts: impl Iterator<Item = (String, u64)>) -> tantivy::Result<Corpus> {
        let mut schema = Schema::builder();
        let stem_options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("fr_stem")
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let stem_field = schema.add_text_field("stem", stem_options);

        let doc_ref_field = schema.add_u64_field("doc_ref", FAST);
        let tokenizers = TokenizerManager::default();
        tokenizers.register("fr_stem", analyzer(true));
        // One segment, written on this thread: tantivy's IndexWriter would
        // start an indexing thread, a docstore thread and two thread pools
        // whose idle threads spin a while before they sleep, taking the
        // cores from the other builds. The directory is new and empty, as
        // the single-segment writer requires.
        let mut writer = Index::builder()
            .schema(schema.build())
            .tokenizers(tokenizers)
            .single_segment_index_writer(RamDirectory::create(), 15_000_000)?;
        for (text, doc_ref) in texts {
            let mut doc = TantivyDocument::default();
            doc.add_text(stem_field, &text);
            doc.add_u64(doc_ref_field, doc_ref);
            writer.add_document(doc)?;
        }
        let index = writer.finalize()?;
        let searcher = index.reader()?.searcher();
        let doc_refs = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.fast_fields().u64("doc_ref"))
            .collect::<Result<_, _>>()?;
        Ok(Corpus {
            searcher,
            doc_refs,
            stem_field,
        })
    }

    /// The best documents for the query, as `(score, doc_ref)`.
    pub(super) fn search(
        &self,
        query: &MessageQuery,
        limit: usize,
    ) -> tantivy::Result<Vec<(f32, usize)>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (stem, weight) in &query.stems {
            let term = TermQuery::new(
                Term::from_field_text(self.stem_field, stem),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(term), *weight)),
            ));
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let top = self.searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(limit).order_by_score(),
        )?;
        Ok(top
            .into_iter()
            .filter_map(|(score, address)| {
                let column = self.doc_refs.get(address.segment_ord as usize)?;
                Some((score, column.first(address.doc_id)? as usize))
            })
            .collect())
    }
}

/// A class's vote from its documents' scores, best first: each counts `decay`
/// times the one before, and only the first `count` count at all.
pub(super) fn decaying_vote(scores: impl Iterator<Item = f32>, count: usize, decay: f32) -> f32 {
    scores
        .take(count)
        .zip(std::iter::successors(Some(1.0f32), |w| Some(w * decay)))
        .map(|(score, weight)| score * weight)
        .sum()
}

pub(super) fn analyzer(stem: bool) -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(
            FRENCH_STOP_WORDS.iter().map(|w| w.to_string()),
        ));
    if stem {
        builder.filter(RememberingStemmer).build()
    } else {
        builder.build()
    }
}

thread_local! {
    static STEMS: RefCell<Stems> = RefCell::new(Stems {
        remembered: HashMap::default(),
        builds: 0,
        stemmer: TextAnalyzer::builder(RawTokenizer::default())
            .filter(Stemmer::new(Language::French))
            .build(),
    });
}

/// A thread's stemmer and, while it builds a reader, the stems it found.
struct Stems {
    remembered: HashMap<String, String>,
    /// Builds under way on this thread (guards alive).
    builds: usize,
    stemmer: TextAnalyzer,
}

/// While it lives, its thread remembers each stem it computes: building the
/// classifier stems the knowledge base's few thousand words hundreds of
/// thousands of times. Dropped, the thread forgets them: the words of
/// messages, stemmed later, are never kept.
pub(super) struct RememberStems(());

pub(super) fn remember_stems() -> RememberStems {
    STEMS.with(|cell| cell.borrow_mut().builds += 1);
    RememberStems(())
}

impl Drop for RememberStems {
    fn drop(&mut self) {
        STEMS.with(|cell| {
            let mut stems = cell.borrow_mut();
            stems.builds -= 1;
            if stems.builds == 0 {
                stems.remembered = HashMap::default();
            }
        });
    }
}

/// tantivy's French stemmer, remembering stems during a build ([`remember_stems`]).
#[derive(Clone)]
struct RememberingStemmer;

impl TokenFilter for RememberingStemmer {
    type Tokenizer<T: Tokenizer> = RememberingStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> RememberingStemmerFilter<T> {
        RememberingStemmerFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
struct RememberingStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for RememberingStemmerFilter<T> {
    type TokenStream<'a> = RememberingStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        RememberingStemmerStream {
            tail: self.inner.token_stream(text),
        }
    }
}

struct RememberingStemmerStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for RememberingStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        STEMS.with(|cell| {
            let stems = &mut *cell.borrow_mut();
            if let Some(stem) = stems.remembered.get(&token.text) {
                token.text.clone_from(stem);
                return;
            }
            let mut stream = stems.stemmer.token_stream(&token.text);
            let stem = if stream.advance() {
                stream.token().text.clone()
            } else {
                token.text.clone()
            };
            drop(stream);
            if stems.builds > 0 {
                stems
                    .remembered
                    .insert(std::mem::take(&mut token.text), stem.clone());
            }
            token.text = stem;
        });
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

pub(super) fn analyse(analyzer: &TextAnalyzer, text: &str) -> Vec<String> {
    let mut analyzer = analyzer.clone();
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while let Some(token) = stream.next() {
        if !terms.contains(&token.text) {
            terms.push(token.text.clone());
        }
    }
    terms
}

/// The analysers and the weight of each stem: how a message becomes a query.
pub(super) struct Lexicon {
    pub(super) stem_analyzer: TextAnalyzer,
    word_analyzer: TextAnalyzer,
    /// How much each stem says about one class.
    weights: HashMap<String, f32>,
    /// Every word of the labelled texts, with the number of texts it is in.
    vocabulary: HashMap<String, u32>,
    /// For typo correction: each word with one letter deleted, to the words
    /// it comes from (a symmetric-deletion index, distance 1).
    deletions: HashMap<String, Vec<String>>,
}

impl Lexicon {
    /// Weighs every stem of the labelled texts by how concentrated it is on
    /// one class: a stem spread over every class ("fils", "ans") says little.
    /// The weight is `floor + (1 - floor) × c²`, `c` being the share of the
    /// stem's texts that belong to its most frequent class.
    pub(super) fn build<'a>(
        texts: impl Iterator<Item = (&'a str, usize)>,
        classes: usize,
        floor: f32,
    ) -> Lexicon {
        let stem_analyzer = analyzer(true);
        let word_analyzer = analyzer(false);
        let mut spread: HashMap<String, Vec<u32>> = HashMap::default();
        let mut vocabulary: HashMap<String, u32> = HashMap::default();
        for (text, class) in texts {
            for stem in analyse(&stem_analyzer, text) {
                spread.entry(stem).or_insert_with(|| vec![0; classes])[class] += 1;
            }
            for word in analyse(&word_analyzer, text) {
                *vocabulary.entry(word).or_default() += 1;
            }
        }
        let mut deletions: HashMap<String, Vec<String>> = HashMap::default();
        for word in vocabulary.keys().filter(|w| correctable(w)) {
            for deleted in one_deletion(word) {
                deletions.entry(deleted).or_default().push(word.clone());
            }
        }
        let weights = spread
            .into_iter()
            .map(|(stem, counts)| {
                let total: u32 = counts.iter().sum();
                let top = counts.iter().copied().max().unwrap_or(0);
                let concentration = top as f32 / total.max(1) as f32;
                (stem, floor + (1.0 - floor) * concentration * concentration)
            })
            .collect();
        Lexicon {
            stem_analyzer,
            word_analyzer,
            weights,
            vocabulary,
            deletions,
        }
    }

    /// The message as a query: its words, glued pronouns split off
    /// ("jvape"), typos corrected against the vocabulary ("harcelemnt"), then
    /// stemmed and weighed.
    pub(super) fn query(&self, text: &str) -> MessageQuery {
        let mut corrections = Vec::new();
        let words: Vec<String> = analyse(&self.word_analyzer, text)
            .into_iter()
            .take(MAX_QUERY_TERMS)
            .map(|word| {
                let read = self.read_word(&word);
                if read.corrected {
                    corrections.push(format!("{word} → {}", read.word));
                }
                read.word.to_string()
            })
            .collect();
        let stems = analyse(&self.stem_analyzer, &words.join(" "))
            .into_iter()
            .map(|stem| {
                let weight = self.weights.get(&stem).copied().unwrap_or(1.0);
                (stem, weight)
            })
            .collect();
        MessageQuery { stems, corrections }
    }

    /// The stems [`Lexicon::query`] gives, each word's reading kept in
    /// `memo`: the same words come back across thousands of training texts.
    pub(super) fn query_stems(
        &self,
        text: &str,
        memo: &mut HashMap<String, Vec<String>>,
    ) -> Vec<String> {
        let mut stems: Vec<String> = Vec::new();
        for word in analyse(&self.word_analyzer, text)
            .into_iter()
            .take(MAX_QUERY_TERMS)
        {
            let of_word = memo
                .entry(word)
                .or_insert_with_key(|word| analyse(&self.stem_analyzer, self.read_word(word).word));
            for stem in of_word.iter() {
                if !stems.contains(stem) {
                    stems.push(stem.clone());
                }
            }
        }
        stems
    }

    /// A word as the vocabulary knows it: itself, without a glued pronoun
    /// ("jvape"), or corrected ("harcelemnt").
    fn read_word<'a>(&'a self, word: &'a str) -> ReadWord<'a> {
        if self.vocabulary.contains_key(word) {
            return ReadWord {
                word,
                corrected: false,
            };
        }
        if let Some(rest) = unglue(word).filter(|rest| self.vocabulary.contains_key(*rest)) {
            return ReadWord {
                word: rest,
                corrected: false,
            };
        }
        match self.correct(word) {
            Some(known) => ReadWord {
                word: known,
                corrected: true,
            },
            None => ReadWord {
                word,
                corrected: false,
            },
        }
    }

    /// The known word one typo away (a letter missing, added, replaced or
    /// two swapped, never the first), the most frequent when several are.
    fn correct(&self, word: &str) -> Option<&str> {
        if !correctable(word) {
            return None;
        }
        let mut candidates: Vec<&str> = Vec::new();
        if let Some(sources) = self.deletions.get(word) {
            candidates.extend(sources.iter().map(String::as_str));
        }
        for deleted in one_deletion(word) {
            if let Some((known, _)) = self.vocabulary.get_key_value(&deleted) {
                candidates.push(known);
            }
            if let Some(sources) = self.deletions.get(&deleted) {
                candidates.extend(sources.iter().map(String::as_str));
            }
        }
        candidates
            .into_iter()
            .filter(|c| {
                c.as_bytes()[0] == word.as_bytes()[0] && edit_distance_within(c, word, 1) == 1
            })
            .max_by(|a, b| {
                let freq = |w: &str| self.vocabulary.get(w).copied().unwrap_or(0);
                freq(a).cmp(&freq(b)).then_with(|| b.cmp(a))
            })
    }
}

struct ReadWord<'a> {
    word: &'a str,
    corrected: bool,
}

/// Words worth correcting: long enough that one typo leaves them
/// recognisable, and not numbers.
fn correctable(word: &str) -> bool {
    word.chars().count() >= FUZZY_MIN_LEN && !word.bytes().any(|b| b.is_ascii_digit())
}

/// The word with each one of its letters but the first deleted.
fn one_deletion(word: &str) -> impl Iterator<Item = String> + '_ {
    word.char_indices().skip(1).map(move |(i, c)| {
        let mut deleted = String::with_capacity(word.len());
        deleted.push_str(&word[..i]);
        deleted.push_str(&word[i + c.len_utf8()..]);
        deleted
    })
}

/// The word after an elided pronoun written without its apostrophe ("jvape"
/// is "j'vape"), if the word is long enough to be one.
fn unglue(word: &str) -> Option<&str> {
    let first = word.chars().next()?;
    let rest = &word[first.len_utf8()..];
    (matches!(first, 'j' | 'm' | 't' | 'l' | 'd' | 's' | 'n' | 'c') && rest.len() >= 4)
        .then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_folds_before_stemming() {
        let a = analyzer(true);
        assert_eq!(analyse(&a, "harcèlement"), analyse(&a, "harcelement"));
        assert_eq!(analyse(&a, "Harcèlement"), analyse(&a, "harceler"));
        assert_eq!(analyse(&a, "oublié"), analyse(&a, "oublie"));
        assert!(analyse(&a, "je suis").is_empty());
        assert_eq!(
            analyse(&a, "je vais pas bien").len(),
            3,
            "negation and \"bien\" are kept: \"ça va pas\" says something"
        );
    }

    #[test]
    fn remembered_readings_give_the_query_s_stems() {
        let lexicon = Lexicon::build(
            [
                ("harcelement a l ecole", 0),
                ("je vapote trop", 1),
                ("parcoursup me saoule", 0),
            ]
            .into_iter(),
            2,
            0.3,
        );
        let mut memo = HashMap::default();
        for text in [
            "harcelemnt ecole ecole",
            "jvapote trop parcoursup",
            "un mot inconnu harcelement",
            "",
        ] {
            let stems: Vec<String> = lexicon
                .query(text)
                .stems
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            assert_eq!(lexicon.query_stems(text, &mut memo), stems, "{text}");
        }
    }

    #[test]
    fn remembered_stems_are_tantivy_s() {
        let mut plain = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(Stemmer::new(Language::French))
            .build();
        let text = "harcelement harceler harcelement continuellement ecoles ecoles";
        let mut expected = Vec::new();
        let mut stream = plain.token_stream(text);
        while stream.advance() {
            expected.push(stream.token().text.clone());
        }
        let mut remembering = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RememberingStemmer)
            .build();
        let build = remember_stems();
        for _ in 0..2 {
            let mut got = Vec::new();
            let mut stream = remembering.token_stream(text);
            while stream.advance() {
                got.push(stream.token().text.clone());
            }
            assert_eq!(got, expected);
        }
        assert!(STEMS.with(|cell| !cell.borrow().remembered.is_empty()));
        drop(build);
        assert!(
            STEMS.with(|cell| cell.borrow().remembered.is_empty()),
            "a build's stems are forgotten with it"
        );
        let mut stream = remembering.token_stream("harcelement");
        while stream.advance() {}
        assert!(
            STEMS.with(|cell| cell.borrow().remembered.is_empty()),
            "a message's words are never kept"
        );
    }

    #[test]
    fn stop_words_are_folded() {
        for word in FRENCH_STOP_WORDS {
            assert!(word.bytes().all(|b| b.is_ascii_lowercase()), "{word}");
        }
    }
}
