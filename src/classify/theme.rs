//! The theme matcher on tantivy, built in memory from `knowledge/` at start.
//!
//! Every keyword and every example message of a theme is one document; the
//! off-topic examples are documents of "no theme". A message is analysed the
//! same way (fold case and accents, drop French stop words, then stem), its
//! terms are searched with BM25, and its words unknown to the knowledge base
//! are searched again with typo tolerance. The best documents vote for their
//! theme; "no theme" wins when the off-topic documents match better or
//! nothing matches enough.
//!
//! Raw text never reaches a query parser: queries are built from analysed
//! terms only, so `AND (`, `-` or a page of emoji is just text.

use super::{ThemeEvidence, ThemeIndex, ThemeMatch, ThemeScore};
use crate::knowledge::{Knowledge, ThemeId};
use crate::text::{edit_distance_within, normalize, Normalized, Slang};
use std::collections::HashMap;
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexWriter, Searcher, TantivyDocument, Term};

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
];

/// How many of the best example documents vote.
const VOTERS: usize = 40;

/// Words shorter than this are not looked up with typo tolerance.
const FUZZY_MIN_LEN: usize = 4;
/// Long pastes are cut to this many distinct terms before querying.
const MAX_QUERY_TERMS: usize = 64;

/// The matcher's settings, chosen on the development set
/// (`promeneur-bot evaluate tests/data/dev.jsonl`) and checked on the held-out
/// ones.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    /// A term spread over many themes ("fils", "ans", "mere" in parents'
    /// messages of every theme) says little; one concentrated on a theme says
    /// a lot. A term's weight is `floor + (1 - floor) × c²`, where `c` is the
    /// share of its documents in its most frequent class (a theme, or off-topic).
    spread_floor: f32,
    /// Keywords are curated: a keyword match weighs more than an example match.
    keyword_weight: f32,
    /// A typo match counts about as much as a rare word matched exactly.
    fuzzy_boost: f32,
    /// Weight of the nearest-examples vote in a theme's score.
    vote_weight: f32,
    /// Weight of the theme-profile score (one document per theme).
    profile_weight: f32,
    /// Below this score, what matched is too thin to name a theme.
    min_score: f32,
    /// At this score and above, a theme with a clear lead is fully confident.
    strong_score: f32,
    /// How much the best theme must beat the off-topic class by: "no theme"
    /// is better than a wrong one.
    off_topic_margin: f32,
    /// Each keyword is repeated this many times in its theme's profile.
    keyword_repeat: usize,
    /// How many of a class's best documents count, each `decay` times the one before.
    votes: usize,
    decay: f32,
}

const TUNING: Tuning = Tuning {
    spread_floor: 0.3,
    keyword_weight: 1.3,
    fuzzy_boost: 2.5,
    vote_weight: 1.0,
    profile_weight: 1.0,
    min_score: 9.0,
    strong_score: 12.0,
    off_topic_margin: 1.15,
    keyword_repeat: 2,
    votes: 3,
    decay: 0.5,
};

#[derive(Debug, thiserror::Error)]
#[error("cannot build the theme index")]
pub struct ThemeIndexError(#[from] tantivy::TantivyError);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocKind {
    Keyword,
    Example,
}

struct DocMeta {
    /// `None` for an off-topic example.
    theme: Option<usize>,
    kind: DocKind,
    text: String,
    /// For a keyword: its words as `(stem, folded word)`, to tell how much of
    /// it a message contains ("salut" is not the keyword "salut nazi").
    parts: Vec<(String, String)>,
}

/// What a message asks the corpora for: its stems with their weights, and
/// the words unknown to the knowledge base, to look up with typo tolerance.
struct MessageQuery {
    stems: Vec<(String, f32)>,
    fuzzy: Vec<String>,
}

/// One in-memory tantivy index over normalised texts, each with a reference.
struct Corpus {
    searcher: Searcher,
    /// The `doc_ref` fast field of each segment, indexed by segment ordinal.
    doc_refs: Vec<Column<u64>>,
    stem_field: Field,
    word_field: Field,
}

impl Corpus {
    fn build(texts: impl Iterator<Item = (String, u64)>) -> tantivy::Result<Corpus> {
        let mut schema = Schema::builder();
        let text_options = |tokenizer: &str, record: IndexRecordOption| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(record),
            )
        };
        let stem_field = schema.add_text_field(
            "stem",
            text_options("fr_stem", IndexRecordOption::WithFreqs),
        );
        let word_field =
            schema.add_text_field("word", text_options("fr_word", IndexRecordOption::Basic));
        let doc_ref_field = schema.add_u64_field("doc_ref", FAST);
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register("fr_stem", analyzer(true));
        index.tokenizers().register("fr_word", analyzer(false));
        // One thread and one commit: the index is a single small segment.
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
        for (text, doc_ref) in texts {
            let mut doc = TantivyDocument::default();
            doc.add_text(stem_field, &text);
            doc.add_text(word_field, &text);
            doc.add_u64(doc_ref_field, doc_ref);
            writer.add_document(doc)?;
        }
        writer.commit()?;
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
            word_field,
        })
    }

    fn knows_word(&self, word: &str) -> bool {
        let term = Term::from_field_text(self.word_field, word);
        self.searcher
            .doc_freq(&term)
            .map(|n| n > 0)
            .unwrap_or(false)
    }

    /// The best documents for the query, as `(score, doc_ref)`.
    fn search(
        &self,
        query: &MessageQuery,
        fuzzy_boost: f32,
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
        for word in &query.fuzzy {
            let distance = typo_distance(word) as u8;
            let term =
                FuzzyTermQuery::new(Term::from_field_text(self.word_field, word), distance, true);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(term), fuzzy_boost)),
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

pub struct TantivyThemeIndex {
    themes: Vec<ThemeId>,
    docs: Vec<DocMeta>,
    /// Every keyword and example, one document each: the nearest ones vote.
    examples: Corpus,
    /// One document per theme (its keywords and examples) and one for
    /// off-topic: BM25 over so few documents rewards the terms that tell
    /// themes apart.
    profiles: Corpus,
    stem_analyzer: TextAnalyzer,
    word_analyzer: TextAnalyzer,
    /// How much each stem says about one theme (see [`Tuning::spread_floor`]).
    term_weights: HashMap<String, f32>,
    tuning: Tuning,
}

fn analyzer(stem: bool) -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(
            FRENCH_STOP_WORDS.iter().map(|w| w.to_string()),
        ));
    if stem {
        builder.filter(Stemmer::new(Language::French)).build()
    } else {
        builder.build()
    }
}

fn analyse(analyzer: &TextAnalyzer, text: &str) -> Vec<String> {
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

impl TantivyThemeIndex {
    pub fn build(
        knowledge: &Knowledge,
        slang: &Slang,
    ) -> Result<TantivyThemeIndex, ThemeIndexError> {
        let tuning = TUNING;
        let (stem_analyzer, word_analyzer) = (analyzer(true), analyzer(false));
        let themes: Vec<ThemeId> = knowledge.themes.iter().map(|t| t.id.clone()).collect();
        let mut docs = Vec::new();
        for (i, theme) in knowledge.themes.iter().enumerate() {
            docs.extend(theme.keywords.iter().map(|k| DocMeta {
                theme: Some(i),
                kind: DocKind::Keyword,
                text: k.clone(),
                parts: Vec::new(),
            }));
            docs.extend(theme.examples.iter().map(|e| DocMeta {
                theme: Some(i),
                kind: DocKind::Example,
                text: e.clone(),
                parts: Vec::new(),
            }));
        }
        docs.extend(knowledge.off_topic.iter().map(|e| DocMeta {
            theme: None,
            kind: DocKind::Example,
            text: e.clone(),
            parts: Vec::new(),
        }));

        let texts: Vec<String> = docs
            .iter()
            .map(|d| normalize(&d.text, slang).joined())
            .collect();
        for (meta, text) in docs.iter_mut().zip(&texts) {
            if meta.kind == DocKind::Keyword {
                meta.parts = analyse(&word_analyzer, text)
                    .into_iter()
                    .map(|word| {
                        (
                            analyse(&stem_analyzer, &word).pop().unwrap_or_default(),
                            word,
                        )
                    })
                    .collect();
            }
        }

        let classes = themes.len() + 1;
        let class_of = |meta: &DocMeta| meta.theme.unwrap_or(classes - 1);
        let mut spread: HashMap<String, Vec<u32>> = HashMap::new();
        let mut profiles = vec![String::new(); classes];
        for (meta, text) in docs.iter().zip(&texts) {
            for stem in analyse(&stem_analyzer, text) {
                spread.entry(stem).or_insert_with(|| vec![0; classes])[class_of(meta)] += 1;
            }
            let repeat = if meta.kind == DocKind::Keyword {
                tuning.keyword_repeat
            } else {
                1
            };
            for _ in 0..repeat {
                let profile = &mut profiles[class_of(meta)];
                profile.push_str(text);
                profile.push('\n');
            }
        }
        let term_weights = spread
            .into_iter()
            .map(|(stem, counts)| {
                let total: u32 = counts.iter().sum();
                let top = counts.iter().copied().max().unwrap_or(0);
                let concentration = top as f32 / total.max(1) as f32;
                let floor = tuning.spread_floor;
                (stem, floor + (1.0 - floor) * concentration * concentration)
            })
            .collect();
        let examples = Corpus::build(texts.into_iter().zip(0u64..))?;
        let profiles = Corpus::build(profiles.into_iter().zip(0u64..))?;
        Ok(TantivyThemeIndex {
            themes,
            docs,
            examples,
            profiles,
            stem_analyzer,
            word_analyzer,
            term_weights,
            tuning,
        })
    }

    /// Number of documents (keywords and examples) in the index.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    fn query(&self, text: &str) -> MessageQuery {
        // "jvape", "jfume", "mappelle": an elided pronoun glued to a word the
        // knowledge base knows is read as that word.
        let words: Vec<String> = analyse(&self.word_analyzer, text)
            .into_iter()
            .take(MAX_QUERY_TERMS)
            .map(|word| match unglue(&word) {
                Some(rest)
                    if !self.examples.knows_word(&word) && self.examples.knows_word(rest) =>
                {
                    rest.to_string()
                }
                _ => word,
            })
            .collect();
        let joined = words.join(" ");
        let stems = analyse(&self.stem_analyzer, &joined)
            .into_iter()
            .map(|stem| {
                let weight = self.term_weights.get(&stem).copied().unwrap_or(1.0);
                (stem, weight)
            })
            .collect();
        let fuzzy = words
            .into_iter()
            .filter(|word| {
                word.chars().count() >= FUZZY_MIN_LEN
                    && !word.bytes().any(|b| b.is_ascii_digit())
                    && !self.examples.knows_word(word)
            })
            .collect();
        MessageQuery { stems, fuzzy }
    }
}

/// The word after an elided pronoun written without its apostrophe ("jvape"
/// is "j'vape"), if the word is long enough to be one.
fn unglue(word: &str) -> Option<&str> {
    let first = word.chars().next()?;
    let rest = &word[first.len_utf8()..];
    (matches!(first, 'j' | 'm' | 't' | 'l' | 'd' | 's' | 'n' | 'c') && rest.len() >= 4)
        .then_some(rest)
}

/// The share of a keyword's words that the message contains, by stem or
/// within the typo tolerance of a word unknown to the knowledge base.
fn coverage(parts: &[(String, String)], query: &MessageQuery) -> f32 {
    if parts.is_empty() {
        return 1.0;
    }
    let covered = parts
        .iter()
        .filter(|(stem, word)| {
            query.stems.iter().any(|(s, _)| s == stem)
                || query
                    .fuzzy
                    .iter()
                    .any(|f| edit_distance_within(f, word, typo_distance(f)) <= typo_distance(f))
        })
        .count();
    covered as f32 / parts.len() as f32
}

fn typo_distance(word: &str) -> usize {
    if word.chars().count() >= 9 {
        2
    } else {
        1
    }
}

impl ThemeIndex for TantivyThemeIndex {
    fn match_theme(&self, message: &Normalized, explain: bool) -> ThemeMatch {
        if message.is_empty() {
            return ThemeMatch::default();
        }
        let t = self.tuning;
        let query = self.query(&message.joined());
        // A search over an in-memory index fails only on a bug; the message
        // then gets "no theme", which the conversation handles by asking.
        let hits = self
            .examples
            .search(&query, t.fuzzy_boost, VOTERS)
            .unwrap_or_default();
        let profile_hits = self
            .profiles
            .search(&query, t.fuzzy_boost, self.themes.len() + 1)
            .unwrap_or_default();

        // Class `themes.len()` is "nothing routable".
        let none = self.themes.len();
        let mut votes: Vec<Vec<(f32, usize)>> = vec![Vec::new(); none + 1];
        for (score, doc_ref) in hits {
            let meta = &self.docs[doc_ref];
            let weight = match meta.kind {
                DocKind::Keyword => t.keyword_weight * coverage(&meta.parts, &query).powi(2),
                DocKind::Example => 1.0,
            };
            votes[meta.theme.unwrap_or(none)].push((score * weight, doc_ref));
        }
        let mut profile = vec![0.0f32; none + 1];
        for (score, class) in profile_hits {
            profile[class] = score;
        }
        let mut scores: Vec<(usize, f32, Vec<usize>)> = votes
            .into_iter()
            .enumerate()
            .map(|(class, mut v)| {
                v.sort_by(|a, b| b.0.total_cmp(&a.0));
                let vote: f32 = v
                    .iter()
                    .take(t.votes)
                    .zip(std::iter::successors(Some(1.0f32), |w| Some(w * t.decay)))
                    .map(|((s, _), w)| s * w)
                    .sum();
                let score = t.vote_weight * vote + t.profile_weight * profile[class];
                (
                    class,
                    score,
                    v.iter().take(t.votes).map(|(_, d)| *d).collect(),
                )
            })
            .filter(|(_, score, _)| *score > 0.0)
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));

        let best_theme = scores.iter().find(|(class, _, _)| *class != none);
        let off_topic = scores
            .iter()
            .find(|(class, _, _)| *class == none)
            .map_or(0.0, |s| s.1);
        let (theme, confidence) = match best_theme {
            Some(&(class, best, _))
                if best >= t.min_score && best > off_topic * t.off_topic_margin =>
            {
                let runner_up = scores
                    .iter()
                    .filter(|(c, _, _)| *c != class)
                    .map(|s| s.1)
                    .fold(0.0f32, f32::max);
                let lead = (best - runner_up) / best;
                let strength = (best / t.strong_score).min(1.0);
                (
                    Some(self.themes[class].clone()),
                    (lead * strength.sqrt()).clamp(0.01, 1.0),
                )
            }
            _ => (None, 0.0),
        };

        if !explain {
            return ThemeMatch {
                theme,
                confidence: (confidence * 100.0).round() / 100.0,
                evidence: ThemeEvidence::default(),
            };
        }
        let terms: Vec<String> = query.stems.iter().map(|(s, _)| s.clone()).collect();
        let stems_of =
            |doc: usize| analyse(&self.stem_analyzer, &self.docs[doc].text.to_lowercase());
        let evidence = ThemeEvidence {
            scores: scores
                .iter()
                .map(|(class, score, docs)| ThemeScore {
                    theme: (*class != none).then(|| self.themes[*class].clone()),
                    score: (score * 100.0).round() / 100.0,
                    matches: docs
                        .iter()
                        .map(|&d| {
                            let shared: Vec<String> = stems_of(d)
                                .into_iter()
                                .filter(|s| terms.contains(s))
                                .collect();
                            let kind = if self.docs[d].kind == DocKind::Keyword {
                                "keyword"
                            } else {
                                "example"
                            };
                            format!("{kind} \"{}\" [{}]", self.docs[d].text, shared.join(" "))
                        })
                        .collect(),
                })
                .collect(),
            terms,
            fuzzy: query.fuzzy,
        };
        ThemeMatch {
            theme,
            confidence: (confidence * 100.0).round() / 100.0,
            evidence,
        }
    }
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
    fn stop_words_are_folded() {
        for word in FRENCH_STOP_WORDS {
            assert!(word.bytes().all(|b| b.is_ascii_lowercase()), "{word}");
        }
    }
}
