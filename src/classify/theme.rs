//! The theme matcher on tantivy, built in memory from `knowledge/` at start.
//!
//! Every keyword and every example message of a theme is one document; the
//! off-topic examples are documents of "no theme". A message is analysed the
//! same way (fold case and accents, drop French stop words, then stem), its
//! words unknown to the knowledge base are corrected to the known word one
//! typo away, and its terms are searched with BM25 in two corpora: the
//! nearest documents vote for their theme, and one profile per theme scores
//! what tells themes apart. A naive Bayes posterior helps choose between
//! themes. "No theme" wins when the off-topic class has more evidence or
//! nothing matches enough.
//!
//! A softmax regression trained on the same knowledge and on the labelled
//! messages of `knowledge/messages/` ([`super::learned`]) decides first: when
//! it gives one class at least [`MODEL_SURE`], that is the answer; otherwise
//! the nearest entries decide as above. A second regression, on the same
//! features, learns whether a message signals a danger (the danger examples
//! and the `urgent` labels): its probability goes with every match
//! ([`ThemeMatch::urgency`]) to the danger reader, which decides.
//!
//! Raw text never reaches a query parser: queries are built from analysed
//! terms only, so `AND (`, `-` or a page of emoji is just text.

use super::corpus::{
    analyse, decaying_vote, is_number, remember_stems, Corpus, Lexicon, MessageQuery,
};
use super::learned::{Learned, Sample, Training, TRAINING};
use super::{ms, ModelScore, ThemeEvidence, ThemeIndex, ThemeMatch, ThemeScore};
use crate::knowledge::{Knowledge, ThemeId};
use crate::text::{normalize, Normalized, Slang};
use rustc_hash::FxHashMap as HashMap;

/// How many of the best example documents vote.
const VOTERS: usize = 40;

/// The learned model's answer is taken when its best class has at least
/// this probability ("no theme" included). Chosen by cross-validation over
/// the labelled sets: below it, the nearest entries are right more often.
const MODEL_SURE: f32 = 0.6;

/// The danger model's classes.
const SAFE: usize = 0;
const URGENT: usize = 1;

/// Weight of a keyword in the learned model's training (a keyword is a
/// fragment, not a message).
const KEYWORD_SAMPLE_WEIGHT: f32 = 0.5;

/// The matcher's settings, chosen on the development set
/// (`promeneur-bot evaluate tests/data/dev.jsonl`) and checked on the blind
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
    /// Weight of the naive Bayes posterior (0 to 1) when choosing the theme.
    bayes_weight: f32,
}

const TUNING: Tuning = Tuning {
    spread_floor: 0.3,
    keyword_weight: 1.3,

    vote_weight: 1.0,
    profile_weight: 1.0,
    min_score: 9.0,
    strong_score: 12.0,
    off_topic_margin: 1.3,
    keyword_repeat: 2,
    votes: 3,
    decay: 0.5,
    bayes_weight: 5.0,
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
    /// For a keyword: its stems, to tell how much of it a message contains
    /// ("salut" is not the keyword "salut nazi").
    parts: Vec<String>,
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
    /// The analysis, and how much each stem says about one theme (see
    /// [`Tuning::spread_floor`]).
    lexicon: Lexicon,
    /// Naive Bayes: for each stem, the log-probability of seeing it in each
    /// class; and the log-probability of an unseen stem per class.
    bayes: HashMap<String, Vec<f32>>,
    bayes_unseen: Vec<f32>,
    /// Trained on every keyword and example and on the labelled messages.
    model: Learned,
    /// Whether a message signals a danger: class [`URGENT`] against [`SAFE`].
    danger_model: Learned,
    tuning: Tuning,
}

/// Fewest readable stems (numbers apart) for the danger model to give a
/// probability at all.
const MODEL_MIN_WORDS: usize = 2;

impl TantivyThemeIndex {
    pub fn build(
        knowledge: &Knowledge,
        slang: &Slang,
    ) -> Result<TantivyThemeIndex, ThemeIndexError> {
        let tuning = TUNING;
        let started = std::time::Instant::now();
        let _remember = remember_stems();

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

        let classes = themes.len() + 1;
        let class_of = |meta: &DocMeta| meta.theme.unwrap_or(classes - 1);
        let lexicon = Lexicon::build(
            docs.iter()
                .zip(&texts)
                .map(|(meta, text)| (text.as_str(), class_of(meta))),
            classes,
            tuning.spread_floor,
        );
        // Each text is stemmed once here, for naive Bayes and keyword coverage.
        let stems: Vec<Vec<String>> = texts
            .iter()
            .map(|text| analyse(&lexicon.stem_analyzer, text))
            .collect();
        for (meta, stems) in docs.iter_mut().zip(&stems) {
            if meta.kind == DocKind::Keyword {
                meta.parts = stems.clone();
            }
        }
        let (bayes, bayes_unseen) = naive_bayes(
            docs.iter().zip(&stems).map(|(meta, stems)| {
                let weight = if meta.kind == DocKind::Keyword {
                    tuning.keyword_repeat as f32
                } else {
                    1.0
                };
                (stems.clone(), class_of(meta), weight)
            }),
            classes,
        );
        let mut profiles = vec![String::new(); classes];
        for (meta, text) in docs.iter().zip(&texts) {
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

        // The knowledge's own texts need no typo correction: their stems
        // are those already found.
        let samples: Vec<Sample> = docs
            .iter()
            .zip(&texts)
            .zip(stems)
            .map(|((meta, text), stems)| Sample {
                stems,
                words: words_of(text),
                class: class_of(meta),
                weight: if meta.kind == DocKind::Keyword {
                    KEYWORD_SAMPLE_WEIGHT
                } else {
                    1.0
                },
            })
            .collect();
        tracing::debug!(ms = ms(started), "theme lexicon and naive Bayes ready");
        // The models learn on one core while tantivy indexes on the other.
        let (model, danger_model, examples, profiles) = std::thread::scope(|scope| {
            let models =
                scope.spawn(|| train_models(knowledge, slang, &lexicon, &themes, &docs, samples));
            let examples = Corpus::build(texts.into_iter().zip(0u64..));
            let profiles = Corpus::build(profiles.into_iter().zip(0u64..));
            tracing::debug!(ms = ms(started), "theme corpora indexed");
            let (model, danger_model) = models.join().expect("training does not panic");
            (model, danger_model, examples, profiles)
        });
        let (examples, profiles) = (examples?, profiles?);
        Ok(TantivyThemeIndex {
            themes,
            docs,
            examples,
            profiles,
            lexicon,
            bayes,
            bayes_unseen,
            model,
            danger_model,
            tuning,
        })
    }
}

fn words_of(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// The theme model (its knowledge `samples`, then the labelled messages)
/// and the danger model (the danger and safe examples, the labelled
/// messages' `urgent`, and every example that is not a keyword as safe),
/// trained side by side.
fn train_models(
    knowledge: &Knowledge,
    slang: &Slang,
    lexicon: &Lexicon,
    themes: &[ThemeId],
    docs: &[DocMeta],
    mut samples: Vec<Sample>,
) -> (Learned, Learned) {
    let started = std::time::Instant::now();
    let _remember = remember_stems();
    let classes = themes.len() + 1;
    let mut memo = HashMap::default();
    let mut read = |text: &str| {
        let text = normalize(text, slang).joined();
        (lexicon.query_stems(&text, &mut memo), words_of(&text))
    };
    let sample = |(stems, words): (Vec<String>, Vec<String>), class| Sample {
        stems,
        words,
        class,
        weight: 1.0,
    };
    let messages: Vec<Sample> = knowledge
        .messages
        .iter()
        .map(|m| {
            let class = m
                .theme
                .as_ref()
                .and_then(|id| themes.iter().position(|t| t == id))
                .unwrap_or(classes - 1);
            sample(read(&m.text), class)
        })
        .collect();
    let mut danger: Vec<Sample> = docs
        .iter()
        .zip(&samples)
        .filter(|(meta, _)| meta.kind != DocKind::Keyword)
        .map(|(_, s)| s.relabelled(SAFE))
        .collect();
    danger.extend(
        knowledge
            .messages
            .iter()
            .zip(&messages)
            .filter_map(|(m, s)| {
                m.urgent
                    .map(|urgent| s.relabelled(if urgent { URGENT } else { SAFE }))
            }),
    );
    for signal in &knowledge.danger {
        danger.extend(signal.examples.iter().map(|t| sample(read(t), URGENT)));
    }
    danger.extend(
        knowledge
            .safe_examples
            .iter()
            .map(|t| sample(read(t), SAFE)),
    );
    tracing::debug!(ms = ms(started), "model samples ready");
    samples.extend(
        knowledge
            .messages
            .iter()
            .zip(messages)
            .filter_map(|(m, s)| m.teaches_theme.then_some(s)),
    );
    std::thread::scope(|scope| {
        // Two epochs give the danger model the same readings as three on
        // every labelled set, in less time.
        let danger_model = scope.spawn(|| {
            let training = Training {
                epochs: 2,
                ..TRAINING
            };
            let model = Learned::train(&danger, 2, training);
            tracing::debug!(ms = ms(started), "danger model trained");
            model
        });
        let model = Learned::train(&samples, classes, TRAINING);
        tracing::debug!(ms = ms(started), "theme model trained");
        let danger_model = danger_model.join().expect("training does not panic");
        (model, danger_model)
    })
}

/// The share of a keyword's words that the message contains (typos are
/// corrected before, so stems suffice).
fn coverage(parts: &[String], query: &MessageQuery) -> f32 {
    if parts.is_empty() {
        return 1.0;
    }
    let covered = parts
        .iter()
        .filter(|stem| query.stems.iter().any(|(s, _)| s == *stem))
        .count();
    covered as f32 / parts.len() as f32
}

impl TantivyThemeIndex {
    /// The naive Bayes posterior of each class for the message's stems,
    /// over the stems the knowledge base knows (0 everywhere when none).
    fn posterior(&self, query: &MessageQuery) -> Vec<f32> {
        let mut log = vec![0.0f32; self.bayes_unseen.len()];
        let mut known = 0;
        for (stem, _) in &query.stems {
            if let Some(logp) = self.bayes.get(stem) {
                known += 1;
                for (l, p) in log.iter_mut().zip(logp) {
                    *l += p;
                }
            }
        }
        if known == 0 {
            return vec![0.0; log.len()];
        }
        let max = log.iter().copied().fold(f32::MIN, f32::max);
        let exp: Vec<f32> = log.iter().map(|l| (l - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        exp.into_iter().map(|e| e / sum).collect()
    }
}

/// Per-class log-probabilities of each stem (Laplace smoothing), from the
/// stems of each labelled text with its weight.
fn naive_bayes(
    texts: impl Iterator<Item = (Vec<String>, usize, f32)>,
    classes: usize,
) -> (HashMap<String, Vec<f32>>, Vec<f32>) {
    let mut counts: HashMap<String, Vec<f32>> = HashMap::default();
    let mut totals = vec![0.0f32; classes];
    for (stems, class, weight) in texts {
        for stem in stems {
            counts.entry(stem).or_insert_with(|| vec![0.0; classes])[class] += weight;
            totals[class] += weight;
        }
    }
    let vocabulary = counts.len() as f32;
    let denominator: Vec<f32> = totals.iter().map(|t| t + vocabulary).collect();
    let unseen: Vec<f32> = denominator.iter().map(|d| (1.0 / d).ln()).collect();
    let logs = counts
        .into_iter()
        .map(|(stem, c)| {
            (
                stem,
                c.iter()
                    .zip(&denominator)
                    .map(|(n, d)| ((n + 1.0) / d).ln())
                    .collect(),
            )
        })
        .collect();
    (logs, unseen)
}

impl TantivyThemeIndex {
    /// The danger model's probability. A message with fewer than
    /// `MODEL_MIN_WORDS` words it can read, numbers apart, gives 0 ("jsuis
    /// de la Martinique", "je suis toujours là (12)"): the bias, "je suis"
    /// and a number would decide. Patterns and words still read it.
    fn urgency_of(&self, stems: &[String], words: &[String]) -> f32 {
        let readable = stems.iter().filter(|s| !is_number(s)).count();
        if readable < MODEL_MIN_WORDS {
            return 0.0;
        }
        self.danger_model.probabilities(stems, words)[URGENT]
    }
}

impl ThemeIndex for TantivyThemeIndex {
    fn urgency(&self, message: &Normalized) -> Option<f32> {
        if message.is_empty() {
            return None;
        }
        let stems: Vec<String> = self
            .lexicon
            .query(&message.joined())
            .stems
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        Some(self.urgency_of(&stems, &message.words))
    }

    fn match_theme(&self, message: &Normalized, explain: bool) -> ThemeMatch {
        if message.is_empty() {
            return ThemeMatch::default();
        }
        let t = self.tuning;
        let query = self.lexicon.query(&message.joined());
        let stems: Vec<String> = query.stems.iter().map(|(s, _)| s.clone()).collect();
        let learned = self.model.probabilities(&stems, &message.words);
        let urgency = Some(self.urgency_of(&stems, &message.words));
        // Class `themes.len()` is "nothing routable".
        let none = self.themes.len();
        let (best_class, best_p) = learned
            .iter()
            .copied()
            .enumerate()
            .fold((none, 0.0f32), |a, b| if b.1 > a.1 { b } else { a });
        // The learned model's answer when it is sure; the nearest entries
        // are then searched only for an explanation.
        let sure = (best_p >= MODEL_SURE).then(|| {
            if best_class == none {
                (None, 0.0)
            } else {
                (Some(self.themes[best_class].clone()), best_p)
            }
        });
        if let (Some((theme, confidence)), false) = (&sure, explain) {
            return ThemeMatch {
                theme: theme.clone(),
                confidence: (confidence * 100.0).round() / 100.0,
                evidence: ThemeEvidence::default(),
                urgency,
            };
        }
        // A search over an in-memory index fails only on a bug; the message
        // then gets "no theme", which the conversation handles by asking.
        let hits = self.examples.search(&query, VOTERS).unwrap_or_default();
        let profile_hits = self
            .profiles
            .search(&query, self.themes.len() + 1)
            .unwrap_or_default();

        let mut votes: Vec<Vec<(f32, usize)>> = vec![Vec::new(); none + 1];
        for (score, doc_ref) in hits {
            let meta = &self.docs[doc_ref];
            let weight = match meta.kind {
                DocKind::Keyword => t.keyword_weight * coverage(&meta.parts, &query).powi(2),
                DocKind::Example => 1.0,
            };
            votes[meta.theme.unwrap_or(none)].push((score * weight, doc_ref));
        }
        let posterior = self.posterior(&query);
        let mut profile = vec![0.0f32; none + 1];
        for (score, class) in profile_hits {
            profile[class] = score;
        }
        // Each class: (class, evidence, score, best documents). The evidence
        // (nearest examples and profiles) decides whether a theme is named at
        // all; the score adds the naive Bayes posterior, which helps choose
        // between themes but would lend any chatter some probability.
        let mut scores: Vec<(usize, f32, f32, Vec<usize>)> = votes
            .into_iter()
            .enumerate()
            .map(|(class, mut v)| {
                v.sort_by(|a, b| b.0.total_cmp(&a.0));
                let vote = decaying_vote(v.iter().map(|(s, _)| *s), t.votes, t.decay);
                let evidence = t.vote_weight * vote + t.profile_weight * profile[class];
                let score = evidence + t.bayes_weight * posterior[class];
                (
                    class,
                    evidence,
                    score,
                    v.iter().take(t.votes).map(|(_, d)| *d).collect(),
                )
            })
            .filter(|(_, evidence, _, _)| *evidence > 0.0)
            .collect();
        scores.sort_by(|a, b| b.2.total_cmp(&a.2));

        let evidence_of =
            |wanted: usize| scores.iter().find(|s| s.0 == wanted).map_or(0.0, |s| s.1);
        let off_topic = evidence_of(none);
        let strongest = scores
            .iter()
            .filter(|s| s.0 != none)
            .map(|s| s.1)
            .fold(0.0f32, f32::max);
        let best_theme = scores.iter().find(|s| s.0 != none);
        let (theme, confidence) = match best_theme {
            Some(&(class, _, best, _))
                if strongest >= t.min_score && strongest > off_topic * t.off_topic_margin =>
            {
                let runner_up = scores
                    .iter()
                    .filter(|s| s.0 != class)
                    .map(|s| s.2)
                    .fold(0.0f32, f32::max);
                let lead = (best - runner_up) / best;
                let strength = (strongest / t.strong_score).min(1.0);
                (
                    Some(self.themes[class].clone()),
                    (lead * strength.sqrt()).clamp(0.01, 1.0),
                )
            }
            _ => (None, 0.0),
        };
        let (theme, confidence) = sure.unwrap_or((theme, confidence));

        if !explain {
            return ThemeMatch {
                theme,
                confidence: (confidence * 100.0).round() / 100.0,
                evidence: ThemeEvidence::default(),
                urgency,
            };
        }
        let terms: Vec<String> = query.stems.iter().map(|(s, _)| s.clone()).collect();
        let stems_of = |doc: usize| {
            analyse(
                &self.lexicon.stem_analyzer,
                &self.docs[doc].text.to_lowercase(),
            )
        };
        let evidence = ThemeEvidence {
            scores: scores
                .iter()
                .map(|(class, _, score, docs)| ThemeScore {
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
            corrections: query.corrections,
            model: {
                let mut model: Vec<ModelScore> = learned
                    .iter()
                    .enumerate()
                    .map(|(class, p)| ModelScore {
                        theme: (class != none).then(|| self.themes[class].clone()),
                        probability: (p * 100.0).round() / 100.0,
                    })
                    .collect();
                model.sort_by(|a, b| b.probability.total_cmp(&a.probability));
                model.truncate(3);
                model
            },
        };
        ThemeMatch {
            theme,
            confidence: (confidence * 100.0).round() / 100.0,
            evidence,
            urgency,
        }
    }
}
