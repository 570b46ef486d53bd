//! Measuring the classifier on labelled messages (JSON lines, as in
//! `tests/data/`): theme accuracy, "no theme" accuracy, urgent recall and
//! false alarms, parent recall, département accuracy.
//!
//! Used by the accuracy tests and by `promeneur-bot evaluate`, so that a
//! coordinator can measure the bot on messages of their own département.

use super::{Audience, Classification, Classifier};
use crate::knowledge::{DepartementCode, ThemeId};
use serde::{Deserialize, Serialize};

/// One labelled message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    pub text: String,
    pub theme: Option<ThemeId>,
    pub urgent: bool,
    pub audience: String,
    pub department: Option<DepartementCode>,
    #[serde(default)]
    pub candidates: Vec<DepartementCode>,
}

impl Labelled {
    fn names_a_place(&self) -> bool {
        self.department.is_some() || !self.candidates.is_empty()
    }
}

/// A ratio with its counts, so a report says "463/480" and not only "96 %".
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Ratio {
    pub hits: usize,
    pub total: usize,
}

impl Ratio {
    pub fn value(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.hits as f64 / self.total as f64
        }
    }

    fn count(&mut self, hit: bool) {
        self.total += 1;
        self.hits += usize::from(hit);
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:5.1} % ({}/{})",
            self.value() * 100.0,
            self.hits,
            self.total
        )
    }
}

/// One miss, for reading what went wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub what: &'static str,
    pub text: String,
    pub expected: String,
    pub got: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Right theme, among messages that have one.
    pub theme: Ratio,
    /// No theme, among messages that say nothing routable.
    pub no_theme: Ratio,
    /// Flagged urgent, among urgent messages.
    pub urgent_recall: Ratio,
    /// Flagged urgent, among messages that are not (lower is better).
    pub false_alarms: Ratio,
    /// Recognised as a parent, among parents' messages.
    pub parent: Ratio,
    /// Taken for a parent, among young people's messages (lower is better).
    pub young_as_parent: Ratio,
    /// Right département (or rightly left open), among messages naming a place.
    pub department: Ratio,
    /// A département read in a message that names none (lower is better).
    pub phantom_department: Ratio,
    /// Right theme, for each expected theme, in the order first met.
    pub per_theme: Vec<(String, Ratio)>,
    pub misses: Vec<Miss>,
}

impl Report {
    pub fn summary(&self) -> String {
        format!(
            "theme right            {}\n\
             no theme when none     {}\n\
             urgent flagged         {}\n\
             false alarms           {}\n\
             parent recognised      {}\n\
             young taken for parent {}\n\
             département right      {}\n\
             département invented   {}",
            self.theme,
            self.no_theme,
            self.urgent_recall,
            self.false_alarms,
            self.parent,
            self.young_as_parent,
            self.department,
            self.phantom_department
        )
    }

    /// Theme accuracy for each expected theme, one line each.
    pub fn per_theme_summary(&self) -> String {
        let mut lines: Vec<String> = self
            .per_theme
            .iter()
            .map(|(theme, ratio)| format!("  {theme:<15} {ratio}"))
            .collect();
        lines.sort();
        lines.join("\n")
    }
}

/// Parses labelled JSON lines; the error names the line.
pub fn parse_labelled(text: &str) -> Result<Vec<Labelled>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

pub fn evaluate(classifier: &Classifier, set: &[Labelled]) -> Report {
    let mut report = Report::default();
    for item in set {
        let got = classifier.classify(&item.text);
        score(&mut report, item, &got);
    }
    report
}

fn score(report: &mut Report, item: &Labelled, got: &Classification) {
    let show = |t: &Option<ThemeId>| t.as_ref().map_or("none".to_string(), |t| t.to_string());
    let mut miss = |what, expected: String, got: String| {
        report.misses.push(Miss {
            what,
            text: item.text.clone(),
            expected,
            got,
        })
    };
    let theme_right = got.theme == item.theme;
    if !theme_right {
        miss("theme", show(&item.theme), show(&got.theme));
    }
    let urgent_right = got.urgent == item.urgent;
    if !urgent_right {
        miss("urgent", item.urgent.to_string(), got.urgent.to_string());
    }
    let parent = item.audience == "parent";
    if parent != (got.audience == Audience::Parent) {
        miss(
            "audience",
            item.audience.clone(),
            format!("{:?}", got.audience).to_lowercase(),
        );
    }
    let department_right = match &item.department {
        Some(code) => got.department.as_ref() == Some(code),
        None => got.department.is_none(),
    };
    if !department_right {
        let show = |d: &Option<DepartementCode>, c: &[DepartementCode]| {
            let c: Vec<&str> = c.iter().map(DepartementCode::as_str).collect();
            format!(
                "{} {:?}",
                d.as_ref().map_or("none", DepartementCode::as_str),
                c
            )
        };
        miss(
            "department",
            show(&item.department, &item.candidates),
            show(&got.department, &got.department_candidates),
        );
    }

    if let Some(expected) = &item.theme {
        report.theme.count(theme_right);
        match report
            .per_theme
            .iter_mut()
            .find(|(t, _)| t == expected.as_str())
        {
            Some((_, ratio)) => ratio.count(theme_right),
            None => {
                let mut ratio = Ratio::default();
                ratio.count(theme_right);
                report.per_theme.push((expected.to_string(), ratio));
            }
        }
    } else {
        report.no_theme.count(theme_right);
    }
    if item.urgent {
        report.urgent_recall.count(got.urgent);
    } else {
        report.false_alarms.count(got.urgent);
    }
    if parent {
        report.parent.count(got.audience == Audience::Parent);
    } else {
        report
            .young_as_parent
            .count(got.audience == Audience::Parent);
    }
    if item.names_a_place() {
        report.department.count(department_right);
    } else {
        report.phantom_department.count(got.department.is_some());
    }
}
