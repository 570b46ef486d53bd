//! A plain keyword matcher: a theme wins by counting its keywords found word
//! for word in the message. No stemming, no typo tolerance, no examples.
//!
//! It is the baseline the tantivy matcher is measured against (the "keyword
//! bot" of the issue), and a second implementation of [`ThemeIndex`] for the
//! shared conformance tests. Never used to answer people.

use super::{ThemeEvidence, ThemeIndex, ThemeMatch, ThemeScore};
use crate::knowledge::{Knowledge, ThemeId};
use crate::text::{normalize, Normalized, Slang};

pub struct KeywordThemeIndex {
    /// For each theme, its keywords as normalised word sequences.
    themes: Vec<(ThemeId, Vec<Vec<String>>)>,
}

impl KeywordThemeIndex {
    pub fn build(knowledge: &Knowledge, slang: &Slang) -> KeywordThemeIndex {
        let themes = knowledge
            .themes
            .iter()
            .map(|t| {
                let keywords = t
                    .keywords
                    .iter()
                    .map(|k| normalize(k, slang).words)
                    .filter(|w| !w.is_empty())
                    .collect();
                (t.id.clone(), keywords)
            })
            .collect();
        KeywordThemeIndex { themes }
    }
}

impl ThemeIndex for KeywordThemeIndex {
    fn match_theme(&self, message: &Normalized, _explain: bool) -> ThemeMatch {
        let mut scores: Vec<ThemeScore> = self
            .themes
            .iter()
            .filter_map(|(id, keywords)| {
                let found: Vec<String> = keywords
                    .iter()
                    .filter(|k| message.words.windows(k.len()).any(|w| w == k.as_slice()))
                    .map(|k| k.join(" "))
                    .collect();
                (!found.is_empty()).then(|| ThemeScore {
                    theme: Some(id.clone()),
                    score: found.len() as f32,
                    matches: found,
                })
            })
            .collect();
        scores.sort_by(|a, b| b.score.total_cmp(&a.score));
        let total: f32 = scores.iter().map(|s| s.score).sum();
        let (theme, confidence) = match scores.first() {
            Some(best) => (best.theme.clone(), best.score / total),
            None => (None, 0.0),
        };
        ThemeMatch {
            theme,
            confidence,
            evidence: ThemeEvidence {
                terms: message.words.clone(),
                corrections: Vec::new(),
                scores,
                model: Vec::new(),
            },
            urgency: None,
        }
    }
}
