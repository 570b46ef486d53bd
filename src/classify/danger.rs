//! Danger signals: a message saying that someone is at risk now.
//!
//! Deliberately sensitive: a false alarm costs a young person a list of lines
//! they did not need; a miss can cost far more. The patterns in
//! `knowledge/danger.toml` describe situations ("envie de mourir", "il
//! menace de publier mes photos"), not topics, so a question about a topic
//! ("c'est quoi le consentement") does not fire. This reader never decides
//! what to answer: it says which signals are there.

use super::pattern::PatternSet;
use crate::knowledge::{DangerSignal, ResourceId};
use crate::text::Normalized;
use serde::Serialize;

/// One danger signal found in a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DangerHit {
    pub signal: String,
    pub label: String,
    pub theme: Option<crate::knowledge::ThemeId>,
    /// The emergency lines for this signal, in the order to show them.
    pub lines: Vec<ResourceId>,
    pub pattern: String,
    pub words: Vec<String>,
}

pub struct DangerDetector {
    signals: Vec<DangerSignal>,
    patterns: PatternSet<usize>,
}

impl DangerDetector {
    pub fn new(signals: &[DangerSignal]) -> DangerDetector {
        let patterns = signals
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.patterns.iter().cloned().map(move |p| (p, i)))
            .collect();
        DangerDetector {
            signals: signals.to_vec(),
            patterns: PatternSet::new(patterns),
        }
    }

    /// Every signal the words carry, once each, in the order of the knowledge base.
    pub fn detect(&self, message: &Normalized) -> Vec<DangerHit> {
        let mut hits: Vec<DangerHit> = Vec::new();
        for found in self.patterns.matches(message) {
            let signal = &self.signals[*found.value];
            if hits.iter().any(|h| h.signal == signal.id) {
                continue;
            }
            hits.push(DangerHit {
                signal: signal.id.clone(),
                label: signal.label.clone(),
                theme: signal.theme.clone(),
                lines: signal.lines.clone(),
                pattern: found.pattern.to_string(),
                words: found.words,
            });
        }
        hits
    }
}
