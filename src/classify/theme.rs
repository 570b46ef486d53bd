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
use crate::text::{normalize, Normalized, Slang};
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
    "notre", "nous", "on", "ou", "par", "pas", "pour", "qu", "que", "qui", "sa", "se", "ses",
    "sur", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos", "votre", "vous", "c", "d",
    "j", "l", "a", "m", "n", "s", "t", "y", "etee", "etees", "etant", "suis", "es", "etes", "sont",
    "serai", "seras", "sera", "serons", "serez", "seront", "serais", "serait", "serions", "seriez",
    "seraient", "etais", "etait", "etions", "etiez", "etaient", "fus", "fut", "fumes", "futes",
    "furent", "sois", "soit", "soyons", "soyez", "soient", "fusse", "fusses", "fussions",
    "fussiez", "fussent", "ayant", "eu", "eue", "eues", "eus", "ai", "avons", "avez", "ont",
    "aurai", "aurons", "aurez", "auront", "aurais", "aurait", "aurions", "auriez", "auraient",
    "avais", "avait", "aviez", "avaient", "eut", "eumes", "eutes", "eurent", "aie", "aies", "ait",
    "ayons", "ayez", "aient", "eusse", "eusses", "eussions", "eussiez", "eussent", "ceci", "cela",
    "cet", "cette", "ici", "ils", "les", "leurs", "quel", "quels", "quelle", "quelles", "sans",
    "soi", "est", "ca", "va", "fait", "faire", "tres", "trop", "bien", "tout", "tous", "toute",
    "toutes", "comme", "si", "aussi", "alors", "donc", "quand", "comment", "pourquoi", "quoi",
    "oui", "non", "ok", "bon", "ya", "avoir", "etre", "vraiment", "juste", "peu", "beaucoup",
    "encore", "deja", "chose", "truc", "trucs", "genre", "sais", "sait", "savoir", "peux", "peut",
    "veux", "veut", "dois", "doit", "faut", "fais", "dit", "dire", "mm", "the",
];

/// How many of the best documents vote.
const VOTERS: usize = 40;
/// A theme's score is its best documents' scores, each counting less.
const VOTE_WEIGHTS: [f32; 3] = [1.0, 0.5, 0.25];
/// Keywords are curated: a keyword match weighs more than an example match.
const KEYWORD_WEIGHT: f32 = 1.3;
/// A typo match counts about as much as a rare word matched exactly.
const FUZZY_BOOST: f32 = 2.5;
/// Below this score, what matched is too thin to name a theme.
const MIN_SCORE: f32 = 3.0;
/// At this score and above, a theme with a clear lead is fully confident.
const STRONG_SCORE: f32 = 12.0;
/// Words shorter than this are not looked up with typo tolerance.
const FUZZY_MIN_LEN: usize = 4;
/// Long pastes are cut to this many distinct terms before querying.
const MAX_QUERY_TERMS: usize = 64;

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
}

pub struct TantivyThemeIndex {
    themes: Vec<ThemeId>,
    docs: Vec<DocMeta>,
    searcher: Searcher,
    /// The `doc_ref` fast field of each segment, indexed by segment ordinal.
    doc_refs: Vec<Column<u64>>,
    stem_field: Field,
    word_field: Field,
    stem_analyzer: TextAnalyzer,
    word_analyzer: TextAnalyzer,
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
        let (stem_analyzer, word_analyzer) = (analyzer(true), analyzer(false));
        index
            .tokenizers()
            .register("fr_stem", stem_analyzer.clone());
        index
            .tokenizers()
            .register("fr_word", word_analyzer.clone());

        let themes: Vec<ThemeId> = knowledge.themes.iter().map(|t| t.id.clone()).collect();
        let mut docs = Vec::new();
        for (i, theme) in knowledge.themes.iter().enumerate() {
            docs.extend(theme.keywords.iter().map(|k| DocMeta {
                theme: Some(i),
                kind: DocKind::Keyword,
                text: k.clone(),
            }));
            docs.extend(theme.examples.iter().map(|e| DocMeta {
                theme: Some(i),
                kind: DocKind::Example,
                text: e.clone(),
            }));
        }
        docs.extend(knowledge.off_topic.iter().map(|e| DocMeta {
            theme: None,
            kind: DocKind::Example,
            text: e.clone(),
        }));

        // One thread and one commit: the index is a single small segment.
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
        for (doc_ref, meta) in docs.iter().enumerate() {
            let text = normalize(&meta.text, slang).joined();
            let mut doc = TantivyDocument::default();
            doc.add_text(stem_field, &text);
            doc.add_text(word_field, &text);
            doc.add_u64(doc_ref_field, doc_ref as u64);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let searcher = index.reader()?.searcher();
        let doc_refs = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.fast_fields().u64("doc_ref"))
            .collect::<Result<_, _>>()?;
        Ok(TantivyThemeIndex {
            themes,
            docs,
            searcher,
            doc_refs,
            stem_field,
            word_field,
            stem_analyzer,
            word_analyzer,
        })
    }

    /// Number of documents (keywords and examples) in the index.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    fn is_known_word(&self, word: &str) -> bool {
        let term = Term::from_field_text(self.word_field, word);
        self.searcher
            .doc_freq(&term)
            .map(|n| n > 0)
            .unwrap_or(false)
    }

    fn search(&self, text: &str) -> tantivy::Result<(Vec<(f32, usize)>, Vec<String>, Vec<String>)> {
        let mut terms = analyse(&self.stem_analyzer, text);
        terms.truncate(MAX_QUERY_TERMS);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| {
                let term = Term::from_field_text(self.stem_field, t);
                let query: Box<dyn Query> =
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                (Occur::Should, query)
            })
            .collect();
        let mut fuzzy = Vec::new();
        for word in analyse(&self.word_analyzer, text)
            .into_iter()
            .take(MAX_QUERY_TERMS)
        {
            let letters = word.chars().count();
            if letters < FUZZY_MIN_LEN
                || word.bytes().any(|b| b.is_ascii_digit())
                || self.is_known_word(&word)
            {
                continue;
            }
            let distance = if letters >= 9 { 2 } else { 1 };
            let term = Term::from_field_text(self.word_field, &word);
            let query = FuzzyTermQuery::new(term, distance, true);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(query), FUZZY_BOOST)),
            ));
            fuzzy.push(word);
        }
        if clauses.is_empty() {
            return Ok((Vec::new(), terms, fuzzy));
        }
        let top = self.searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(VOTERS).order_by_score(),
        )?;
        let hits = top
            .into_iter()
            .filter_map(|(score, address)| {
                let column = self.doc_refs.get(address.segment_ord as usize)?;
                Some((score, column.first(address.doc_id)? as usize))
            })
            .collect();
        Ok((hits, terms, fuzzy))
    }
}

impl ThemeIndex for TantivyThemeIndex {
    fn match_theme(&self, message: &Normalized) -> ThemeMatch {
        if message.is_empty() {
            return ThemeMatch::default();
        }
        let text = message.joined();
        // A search over an in-memory index fails only on a bug; the message
        // then gets "no theme", which the conversation handles by asking.
        let (hits, terms, fuzzy) = self.search(&text).unwrap_or_default();

        // Slot `themes.len()` collects the off-topic votes.
        let none = self.themes.len();
        let mut votes: Vec<Vec<(f32, usize)>> = vec![Vec::new(); none + 1];
        for (score, doc_ref) in hits {
            let meta = &self.docs[doc_ref];
            let weight = if meta.kind == DocKind::Keyword {
                KEYWORD_WEIGHT
            } else {
                1.0
            };
            votes[meta.theme.unwrap_or(none)].push((score * weight, doc_ref));
        }
        let mut scores: Vec<(usize, f32, Vec<usize>)> = votes
            .into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(slot, mut v)| {
                v.sort_by(|a, b| b.0.total_cmp(&a.0));
                let score = v.iter().zip(VOTE_WEIGHTS).map(|((s, _), w)| s * w).sum();
                (
                    slot,
                    score,
                    v.iter().take(VOTE_WEIGHTS.len()).map(|(_, d)| *d).collect(),
                )
            })
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));

        let best_theme = scores.iter().find(|(slot, _, _)| *slot != none);
        let off_topic = scores
            .iter()
            .find(|(slot, _, _)| *slot == none)
            .map_or(0.0, |s| s.1);
        let (theme, confidence) = match best_theme {
            Some(&(slot, best, _)) if best >= MIN_SCORE && best > off_topic => {
                let runner_up = scores
                    .iter()
                    .filter(|(s, _, _)| *s != slot)
                    .map(|s| s.1)
                    .fold(0.0f32, f32::max);
                let lead = (best - runner_up) / best;
                let strength = (best / STRONG_SCORE).min(1.0);
                (
                    Some(self.themes[slot].clone()),
                    (lead * strength.sqrt()).clamp(0.01, 1.0),
                )
            }
            _ => (None, 0.0),
        };

        let stems_of =
            |doc: usize| analyse(&self.stem_analyzer, &self.docs[doc].text.to_lowercase());
        let evidence = ThemeEvidence {
            scores: scores
                .iter()
                .map(|(slot, score, docs)| ThemeScore {
                    theme: (*slot != none).then(|| self.themes[*slot].clone()),
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
            fuzzy,
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
        assert!(analyse(&a, "je suis pas").is_empty());
    }

    #[test]
    fn stop_words_are_folded() {
        for word in FRENCH_STOP_WORDS {
            assert!(word.bytes().all(|b| b.is_ascii_lowercase()), "{word}");
        }
    }
}
