//! Reading one message: its theme (or none), whether it signals danger, who is
//! writing (a young person or a parent) and which département it names.
//!
//! Each reader works on the same normalised words ([`crate::text`]) and is
//! independent of the others: danger is never decided by the theme matcher,
//! and a message with no theme can still be urgent. The classifier keeps no
//! state between messages, logs nothing and never fails: any text gives a
//! [`Classification`].

mod corpus;
pub mod danger;
pub mod evaluate;
pub mod keyword;
mod learned;
pub mod pattern;
pub mod place;
pub mod theme;

use crate::knowledge::{DepartementCode, Knowledge, ThemeId};
use crate::text::{normalize, Normalized, Slang};
use danger::{DangerDetector, DangerHit};
use pattern::PatternSet;
use place::{PlaceFinder, PlaceReading};
use serde::{Deserialize, Serialize};
use theme::{TantivyThemeIndex, ThemeIndexError};

/// Who is writing: the bot says "tu" to a young person and "vous" to a parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    Jeune,
    Parent,
}

/// What the classifier reads in one message. Its JSON form is the stable
/// interface of `promeneur-bot classify`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub theme: Option<ThemeId>,
    /// 0 when there is no theme; above [`CONFIDENT`] the theme can be used
    /// without asking.
    pub confidence: f32,
    pub urgent: bool,
    pub audience: Audience,
    pub department: Option<DepartementCode>,
    /// When the place is ambiguous: the départements it may be, most likely
    /// first (`department` is then null). Empty otherwise.
    pub department_candidates: Vec<DepartementCode>,
}

/// At or above this confidence the theme is taken as said; below it, the bot
/// asks with a short choice list.
pub const CONFIDENT: f32 = 0.5;

/// Why the classifier read what it read (`classify --explain`).
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The message as the readers saw it.
    pub words: Vec<String>,
    pub theme: ThemeEvidence,
    pub danger: Vec<DangerHit>,
    /// The learned danger model's probability of a danger.
    pub urgency: Option<f32>,
    pub parent_cue: Option<String>,
    pub place: Option<PlaceReading>,
}

/// The theme matcher's view of a message.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ThemeEvidence {
    /// Analysed terms of the message (stems), as queried.
    pub terms: Vec<String>,
    /// Words not in the knowledge base read as the known word one typo away.
    pub corrections: Vec<String>,
    /// Themes by score, best first; `null` stands for "nothing routable".
    pub scores: Vec<ThemeScore>,
    /// The learned model's three most probable classes; it decides when
    /// the first reaches 0.5.
    pub model: Vec<ModelScore>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelScore {
    pub theme: Option<ThemeId>,
    pub probability: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThemeScore {
    pub theme: Option<ThemeId>,
    pub score: f32,
    /// The knowledge entries that matched best, with the terms they share.
    pub matches: Vec<String>,
}

/// A theme decision, with the evidence behind it.
#[derive(Debug, Clone, Default)]
pub struct ThemeMatch {
    pub theme: Option<ThemeId>,
    pub confidence: f32,
    pub evidence: ThemeEvidence,
    /// The learned danger model's probability that the message signals a
    /// danger, when the index has one (see [`danger`]).
    pub urgency: Option<f32>,
}

/// Finds the theme of a normalised message. One real implementation
/// ([`TantivyThemeIndex`]) and one plain keyword matcher ([`keyword::KeywordThemeIndex`])
/// used as a baseline and in tests; both pass the same conformance tests.
pub trait ThemeIndex: Send + Sync {
    /// The theme of a message; with `explain`, the evidence too (it costs
    /// more, so the message path leaves it out).
    fn match_theme(&self, message: &Normalized, explain: bool) -> ThemeMatch;

    /// Only [`ThemeMatch::urgency`], without looking for the theme.
    fn urgency(&self, _message: &Normalized) -> Option<f32> {
        None
    }
}

/// The whole reader of messages, built once from the knowledge base.
pub struct Classifier {
    slang: Slang,
    themes: Box<dyn ThemeIndex>,
    danger: DangerDetector,
    parent: PatternSet<()>,
    places: PlaceFinder,
}

impl Classifier {
    /// Builds every reader, the tantivy theme index included.
    pub fn new(knowledge: &Knowledge) -> Result<Classifier, ThemeIndexError> {
        let slang = Slang::new(
            knowledge
                .slang
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str())),
        );
        // The builds are independent, each on its thread (the theme index
        // has two more for its models): the cores take whatever is ready.
        let started = std::time::Instant::now();
        let (themes, places, danger) = std::thread::scope(|scope| {
            let danger = scope.spawn(|| {
                let danger = danger_detector(knowledge, &slang);
                tracing::debug!(ms = ms(started), "danger reader built");
                danger
            });
            let places = scope.spawn(|| {
                let places = PlaceFinder::new(knowledge, &slang);
                tracing::debug!(ms = ms(started), "place finder built");
                places
            });
            let themes = TantivyThemeIndex::build(knowledge, &slang);
            tracing::debug!(ms = ms(started), "theme index built");
            let places = places
                .join()
                .expect("the place finder builds without panicking");
            let danger = danger
                .join()
                .expect("the danger reader builds without panicking");
            (themes, places, danger)
        });
        Ok(Classifier::assemble(
            knowledge,
            slang,
            Box::new(themes?),
            places,
            danger,
        ))
    }

    /// Builds the classifier around another theme index.
    pub fn with_theme_index(
        knowledge: &Knowledge,
        slang: Slang,
        themes: Box<dyn ThemeIndex>,
    ) -> Classifier {
        let danger = danger_detector(knowledge, &slang);
        let places = PlaceFinder::new(knowledge, &slang);
        Classifier::assemble(knowledge, slang, themes, places, danger)
    }

    fn assemble(
        knowledge: &Knowledge,
        slang: Slang,
        themes: Box<dyn ThemeIndex>,
        places: PlaceFinder,
        danger: DangerDetector,
    ) -> Classifier {
        Classifier {
            danger,
            parent: PatternSet::new(
                knowledge
                    .parent_cues
                    .iter()
                    .cloned()
                    .map(|p| (p, ()))
                    .collect(),
            ),
            places,
            themes,
            slang,
        }
    }

    pub fn classify(&self, text: &str) -> Classification {
        self.read(text, false).0
    }

    pub fn explain(&self, text: &str) -> (Classification, Explanation) {
        let (classification, explanation) = self.read(text, true);
        (
            classification,
            explanation.expect("asked for an explanation"),
        )
    }

    /// The classification and the danger signals behind `urgent`, read once:
    /// what the conversation engine needs to pick the emergency lines.
    pub fn read_with_danger(&self, text: &str) -> (Classification, Vec<DangerHit>) {
        let (classification, _, danger) = self.read_all(text, false);
        (classification, danger)
    }

    fn read(&self, text: &str, explain: bool) -> (Classification, Option<Explanation>) {
        let (classification, explanation, _) = self.read_all(text, explain);
        (classification, explanation)
    }

    fn read_all(
        &self,
        text: &str,
        explain: bool,
    ) -> (Classification, Option<Explanation>, Vec<DangerHit>) {
        let message = normalize(text, &self.slang);
        let parent_cue = self.parent.matches(&message).into_iter().next();
        let place = self.places.find(&message);
        let theme = self
            .themes
            .match_theme(&without_place(&message, place.as_ref()), explain);
        let danger = self.danger.detect(&message, theme.urgency);
        let (department, department_candidates) = match &place {
            Some(reading) => (reading.department.clone(), reading.candidates.clone()),
            None => (None, Vec::new()),
        };
        // A danger signal names the situation more surely than the words do:
        // "il m'a forcée à la soirée, j'étais bourrée" is sexual violence.
        let (theme_id, confidence) = match danger.iter().find_map(|hit| hit.theme.clone()) {
            Some(situation)
                if theme.theme.as_ref() != Some(&situation) && theme.confidence < CONFIDENT =>
            {
                (Some(situation), CONFIDENT)
            }
            // The words and the situation agree: that is a confident reading.
            Some(situation) if theme.theme.as_ref() == Some(&situation) => {
                (Some(situation), theme.confidence.max(CONFIDENT))
            }
            _ => (theme.theme.clone(), theme.confidence),
        };
        let classification = Classification {
            theme: theme_id,
            confidence,
            urgent: !danger.is_empty(),
            audience: if parent_cue.is_some() {
                Audience::Parent
            } else {
                Audience::Jeune
            },
            department,
            department_candidates,
        };
        let explanation = explain.then(|| Explanation {
            words: message.words.clone(),
            theme: theme.evidence,
            danger: danger.clone(),
            urgency: theme.urgency.map(|u| (u * 100.0).round() / 100.0),
            parent_cue: parent_cue.map(|m| m.words.join(" ")),
            place,
        });
        (classification, explanation, danger)
    }

    /// Only the département a message names (or the candidates when the
    /// place is ambiguous): for an answer to "where do you live?".
    pub fn place(&self, text: &str) -> (Option<DepartementCode>, Vec<DepartementCode>) {
        let message = normalize(text, &self.slang);
        match self.places.find(&message) {
            Some(reading) => (reading.department, reading.candidates),
            None => (None, Vec::new()),
        }
    }

    /// The danger signals a message carries, for callers that need which
    /// lines to show, not only whether it is urgent.
    pub fn danger(&self, text: &str) -> Vec<DangerHit> {
        let message = normalize(text, &self.slang);
        let place = self.places.find(&message);
        let urgency = self
            .themes
            .urgency(&without_place(&message, place.as_ref()));
        self.danger.detect(&message, urgency)
    }
}

/// The message as the theme index reads it: without the place it names.
fn without_place<'a>(
    message: &'a Normalized,
    place: Option<&PlaceReading>,
) -> std::borrow::Cow<'a, Normalized> {
    match place {
        Some(place) => std::borrow::Cow::Owned(message.without(&place.positions)),
        None => std::borrow::Cow::Borrowed(message),
    }
}

/// Milliseconds since `since`, for the build's debug log.
fn ms(since: std::time::Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn danger_detector(knowledge: &Knowledge, slang: &Slang) -> DangerDetector {
    DangerDetector::new(
        &knowledge.danger,
        &knowledge.danger_cues,
        &knowledge.safe_examples,
        &ordinary_examples(knowledge),
        slang,
    )
}

/// Every example message of the knowledge base that is not a danger example.
fn ordinary_examples(knowledge: &Knowledge) -> Vec<String> {
    knowledge
        .themes
        .iter()
        .flat_map(|t| t.examples.iter())
        .chain(&knowledge.off_topic)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_json_is_the_documented_shape() {
        let c = Classification {
            theme: Some(ThemeId("harcelement".into())),
            confidence: 0.75,
            urgent: true,
            audience: Audience::Parent,
            department: DepartementCode::parse("41"),
            department_candidates: vec![],
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"theme":"harcelement","confidence":0.75,"urgent":true,"audience":"parent","department":"41","department_candidates":[]}"#
        );
    }
}
