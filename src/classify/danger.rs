//! Danger signals: a message saying that someone is at risk now.
//!
//! Deliberately sensitive: a false alarm costs a young person a list of lines
//! they did not need; a miss can cost far more. The patterns in
//! `knowledge/danger.toml` describe situations ("envie de mourir", "il
//! menace de publier mes photos"), not topics, so a question about a topic
//! ("c'est quoi le consentement") does not fire. Each signal may also list
//! single words that signal it on their own ("scarifie", "fugue"), heard
//! unless the message is plainly about a topic ("c'est quoi", "en cours",
//! "mdr"). This reader never decides what to answer: it says which signals
//! are there.

use super::pattern::{Pattern, PatternSet};
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
    /// The signals' single words, heard unless a topic cue is there.
    words: PatternSet<usize>,
    topic_cues: PatternSet<()>,
}

impl DangerDetector {
    pub fn new(signals: &[DangerSignal], topic_cues: &[Pattern]) -> DangerDetector {
        let tagged = |of: fn(&DangerSignal) -> &Vec<Pattern>| {
            signals
                .iter()
                .enumerate()
                .flat_map(|(i, s)| of(s).iter().cloned().map(move |p| (p, i)))
                .collect()
        };
        DangerDetector {
            signals: signals.to_vec(),
            patterns: PatternSet::new(tagged(|s| &s.patterns)),
            words: PatternSet::new(tagged(|s| &s.words)),
            topic_cues: PatternSet::new(topic_cues.iter().cloned().map(|p| (p, ())).collect()),
        }
    }

    /// Every signal the words carry, once each, in the order of the knowledge base.
    pub fn detect(&self, message: &Normalized) -> Vec<DangerHit> {
        let mut hits: Vec<DangerHit> = Vec::new();
        let mut found = self.patterns.matches(message);
        if self.topic_cues.matches(message).is_empty() {
            found.extend(self.words.matches(message));
        }
        for found in found {
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
