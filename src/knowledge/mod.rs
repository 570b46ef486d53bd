//! The knowledge base: the TOML and TSV files under `knowledge/` that a
//! coordinator reads and edits (themes, resources, départements, places,
//! slang, danger signals, audience cues), loaded and checked as a whole.
//!
//! Loading reports every problem at once, each with its file, its key and
//! what would be valid, so one run of `promeneur-bot check` lists them all.
//! Nothing here matches messages: that is `classify`'s job.

mod departement;
mod resource;

pub use departement::{Commune, Departement, DepartementCode};
pub use resource::{
    Availability, Channel, ChannelKind, OpeningSpan, Resource, ResourceAudience, WeeklyHours,
};

use crate::classify::pattern::Pattern;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// The theme ids every later part of the bot routes on: a stable interface.
pub const REQUIRED_THEMES: [&str; 9] = [
    "orientation",
    "harcelement",
    "sexualite",
    "fake-news",
    "radicalisation",
    "sante-mentale",
    "addictions",
    "famille",
    "droits",
];

/// Fewer examples than this and a theme is too thin to be recognised.
pub const MIN_EXAMPLES_PER_THEME: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ThemeId(pub String);

impl ThemeId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ThemeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceId(pub String);

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One thing wrong in the knowledge base or the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// Where in the file: a TOML key path (`resource[3].hours[0]`) or a line.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
        }
    }
}

/// Problems found in one file, gathered before they are reported together.
#[derive(Debug)]
pub struct Problems {
    file: PathBuf,
    found: Vec<Problem>,
}

impl Problems {
    pub fn new(file: impl Into<PathBuf>) -> Problems {
        Problems {
            file: file.into(),
            found: Vec::new(),
        }
    }

    pub fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.found.push(Problem {
            file: self.file.clone(),
            key: key.into(),
            message: message.into(),
        });
    }

    pub fn len(&self) -> usize {
        self.found.len()
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    pub fn into_vec(self) -> Vec<Problem> {
        self.found
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}", list_problems(.problems))]
pub struct KnowledgeError {
    pub problems: Vec<Problem>,
}

pub fn list_problems(problems: &[Problem]) -> String {
    let mut text = format!("{} problem(s) found:", problems.len());
    for problem in problems {
        text.push_str("\n  - ");
        text.push_str(&problem.to_string());
    }
    text
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub id: ThemeId,
    /// Shown to people in the short choice list when the theme is unclear.
    pub label: String,
    pub description: String,
    /// Most useful first.
    pub resources: Vec<ResourceId>,
    pub keywords: Vec<String>,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    id: String,
    label: String,
    description: String,
    resources: Vec<String>,
    keywords: Vec<String>,
    examples: Vec<String>,
}

/// One message of `messages/*.jsonl`: its text and its theme (`null` when
/// it says nothing routable).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledMessage {
    pub text: String,
    pub theme: Option<ThemeId>,
    /// Whether it signals a danger now (`"urgent": true`); a message
    /// without the key teaches the danger model nothing.
    pub urgent: Option<bool>,
    /// Whether it teaches the theme model: a message without a `theme` key
    /// (but with `urgent`) teaches only the danger model.
    pub teaches_theme: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct OffTopicFile {
    examples: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlangFile {
    /// Written form → the plain words it stands for.
    words: BTreeMap<String, String>,
}

/// A kind of danger, the lines to give at once, and how it is said.
#[derive(Debug, Clone)]
pub struct DangerSignal {
    pub id: String,
    pub label: String,
    /// The theme this situation belongs to, when it has one ("violence
    /// sexuelle" is `sexualite`); it takes precedence over the words' theme.
    pub theme: Option<ThemeId>,
    /// Resource ids, in the order they are shown.
    pub lines: Vec<ResourceId>,
    pub patterns: Vec<Pattern>,
    /// Words that signal this danger on their own, unless the message is
    /// plainly about a topic (see `topic_cues`): one-word patterns.
    pub words: Vec<Pattern>,
    /// Messages that signal this danger (`danger-examples.toml`): a message
    /// close to them is read as this danger even in words no pattern knows.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DangerFile {
    /// Patterns showing a message talks about a topic, not a situation
    /// ("c'est quoi", "en cours", "mdr"): they silence `words`, never `patterns`.
    #[serde(default)]
    topic_cues: Vec<String>,
    /// Idioms whose words say no danger ("mort de rire", "tuer le temps"):
    /// their words are taken out before the danger is read.
    #[serde(default)]
    harmless: Vec<String>,
    #[serde(default)]
    settled: Option<SettledFile>,
    signal: Vec<DangerEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettledFile {
    past: Vec<String>,
    settled: Vec<String>,
    #[serde(default)]
    still: Vec<String>,
}

/// How a message says a danger is over: a time in the past ("il y a deux
/// ans"), a sign that it is settled ("il va mieux", "elle est suivie"), and
/// none of the signs that it is back or near ("ça recommence", "ce soir").
#[derive(Debug, Clone, Default)]
pub struct SettledCues {
    pub past: Vec<Pattern>,
    pub settled: Vec<Pattern>,
    pub still: Vec<Pattern>,
}

/// What tells a danger's words from a danger: topic questions, harmless
/// idioms, settled past.
#[derive(Debug, Clone, Default)]
pub struct DangerCues {
    /// Patterns that show a message is about a topic ("c'est quoi", "en
    /// cours"): they silence the danger `words`, never the danger patterns.
    pub topic: Vec<Pattern>,
    /// Idioms whose words are taken out before the danger is read ("mourir
    /// de honte", "tuer le temps").
    pub harmless: Vec<Pattern>,
    /// A danger told as past and settled raises nothing but the learned
    /// model's sure reading.
    pub settled: SettledCues,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DangerEntry {
    id: String,
    label: String,
    #[serde(default)]
    theme: Option<String>,
    lines: Vec<String>,
    patterns: Vec<String>,
    #[serde(default)]
    words: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DangerExamplesFile {
    /// Signal id → messages that signal it.
    examples: BTreeMap<String, Vec<String>>,
    safe: SafeExamples,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SafeExamples {
    examples: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AudienceFile {
    /// Patterns that show a parent (or another adult in charge) is writing.
    parent: Vec<String>,
}

/// Everything under `knowledge/`, checked.
#[derive(Debug, Clone)]
pub struct Knowledge {
    pub themes: Vec<Theme>,
    /// Messages that say nothing routable: the matcher learns "no theme" from them.
    pub off_topic: Vec<String>,
    /// Labelled messages as people write them (`messages/*.jsonl`), with
    /// their theme or none: the theme model learns from them.
    pub messages: Vec<LabelledMessage>,
    pub resources: Vec<Resource>,
    pub departements: Vec<Departement>,
    /// Areas people name that are not a département ("paca", "alsace"),
    /// with the départements they cover.
    pub region_aliases: Vec<(String, Vec<DepartementCode>)>,
    pub communes: Vec<Commune>,
    /// Commune names that are also ordinary words ("vue", "sens", "tours"),
    /// folded: read as places only after a clear cue.
    pub place_words: HashSet<String>,
    /// `(written form, plain words)`.
    pub slang: Vec<(String, String)>,
    pub danger: Vec<DangerSignal>,
    pub danger_cues: DangerCues,
    /// Messages that use danger's vocabulary but signal none ("c'est quoi la
    /// sextorsion", "je vais crever de rire"): the counterweight to `examples`.
    pub safe_examples: Vec<String>,
    pub parent_cues: Vec<Pattern>,
}

impl Knowledge {
    /// Loads and checks the knowledge base in `dir`, reporting every problem.
    pub fn load(dir: &Path) -> Result<Knowledge, KnowledgeError> {
        let mut all = Vec::new();
        let problems_for = |name: &str| Problems::new(dir.join(name));

        let mut theme_problems = problems_for("themes");
        let theme_files = read_theme_files(&dir.join("themes"), &mut theme_problems);
        all.extend(theme_problems.into_vec());
        // The nine required ids always count as known: a missing theme file is
        // reported once, not at every reference to it.
        let present: Vec<ThemeId> = theme_files
            .iter()
            .map(|(_, f)| ThemeId(f.id.clone()))
            .collect();
        let mut known_themes = present.clone();
        for required in REQUIRED_THEMES {
            if !known_themes.iter().any(|t| t.0 == required) {
                known_themes.push(ThemeId(required.to_string()));
            }
        }

        let mut p = problems_for("resources.toml");
        let parsed = read_toml::<resource::ResourceFile>(&dir.join("resources.toml"), &mut p);
        // When the file cannot be read, references to it are not checked:
        // one bad key must not bury itself under a hundred unknown ids.
        let resources_readable = parsed.is_some();
        let resources: Vec<Resource> = parsed
            .map(|file| {
                file.resource
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, entry)| {
                        resource::validate_resource(entry, i, &known_themes, &mut p)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut ids = BTreeSet::new();
        for (i, r) in resources.iter().enumerate() {
            if !ids.insert(r.id.clone()) {
                p.push(
                    format!("resource[{i}].id"),
                    format!("`{}` is listed twice", r.id),
                );
            }
        }
        all.extend(p.into_vec());
        let known_resources = KnownIds {
            ids: resources.iter().map(|r| r.id.clone()).collect(),
            complete: resources_readable,
        };

        let mut themes = Vec::new();
        for (path, file) in theme_files {
            let mut p = Problems::new(path.clone());
            if let Some(theme) = validate_theme(file, &path, &known_resources, &mut p) {
                themes.push(theme);
            }
            all.extend(p.into_vec());
        }
        let mut p = problems_for("themes");
        for required in REQUIRED_THEMES {
            if !present.iter().any(|t| t.0 == required) {
                p.push(
                    format!("{required}.toml"),
                    format!(
                        "the theme `{required}` is missing: the bot routes on the nine themes {}",
                        REQUIRED_THEMES.join(", ")
                    ),
                );
            }
        }
        all.extend(p.into_vec());

        let mut p = problems_for("off-topic.toml");
        let off_topic = read_toml::<OffTopicFile>(&dir.join("off-topic.toml"), &mut p)
            .map(|f| f.examples)
            .unwrap_or_default();
        if off_topic.is_empty() && p.is_empty() {
            p.push(
                "examples",
                "give messages that say nothing routable (\"salut\", \"mdr\")",
            );
        }
        all.extend(p.into_vec());

        let messages = read_messages(&dir.join("messages"), &known_themes, &mut all);

        let mut p = problems_for("departements.toml");
        let departements = read_toml(&dir.join("departements.toml"), &mut p)
            .map(|file| departement::validate_departements(file, &mut p))
            .unwrap_or_default();
        all.extend(p.into_vec());

        let mut p = problems_for("areas.toml");
        let region_aliases = read_toml(&dir.join("areas.toml"), &mut p)
            .map(|file| departement::validate_regions(file, &mut p))
            .unwrap_or_default();
        all.extend(p.into_vec());

        let mut p = problems_for("places.tsv");
        let communes = match std::fs::read_to_string(dir.join("places.tsv")) {
            Ok(text) => departement::parse_places(&text, &mut p),
            Err(e) => {
                p.push("", format!("cannot read the file: {e} (regenerate it with `node scripts/build-places.mjs`)"));
                Vec::new()
            }
        };
        all.extend(p.into_vec());

        let mut p = problems_for("place-words.txt");
        let place_words = match std::fs::read_to_string(dir.join("place-words.txt")) {
            Ok(text) => text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(crate::text::fold_phrase)
                .collect(),
            Err(e) => {
                p.push("", format!("cannot read the file: {e} (regenerate it with `python3 scripts/build-place-words.py`)"));
                Default::default()
            }
        };
        all.extend(p.into_vec());

        let mut p = problems_for("slang.toml");
        let slang = read_toml::<SlangFile>(&dir.join("slang.toml"), &mut p)
            .map(|f| validate_slang(f, &mut p))
            .unwrap_or_default();
        all.extend(p.into_vec());

        let mut p = problems_for("danger.toml");
        let (danger, danger_cues) = read_toml::<DangerFile>(&dir.join("danger.toml"), &mut p)
            .map(|f| {
                let optional = |sources: &[String], key: &str, p: &mut Problems| {
                    if sources.is_empty() {
                        Vec::new()
                    } else {
                        compile_patterns(sources, key, p)
                    }
                };
                let settled =
                    f.settled
                        .as_ref()
                        .map_or_else(SettledCues::default, |s| SettledCues {
                            past: compile_patterns(&s.past, "settled.past", &mut p),
                            settled: compile_patterns(&s.settled, "settled.settled", &mut p),
                            still: optional(&s.still, "settled.still", &mut p),
                        });
                let cues = DangerCues {
                    topic: optional(&f.topic_cues, "topic_cues", &mut p),
                    harmless: optional(&f.harmless, "harmless", &mut p),
                    settled,
                };
                (
                    validate_danger(f, &known_resources, &known_themes, &mut p),
                    cues,
                )
            })
            .unwrap_or_default();
        all.extend(p.into_vec());

        let mut p = problems_for("danger-examples.toml");
        let mut danger = danger;
        let safe_examples =
            read_toml::<DangerExamplesFile>(&dir.join("danger-examples.toml"), &mut p)
                .map(|file| {
                    for (id, examples) in file.examples {
                        match danger.iter_mut().find(|s| s.id == id) {
                            Some(signal) if !examples.is_empty() => signal.examples = examples,
                            Some(_) => p.push(
                                format!("examples.{id}"),
                                "give messages that signal this danger",
                            ),
                            None => {
                                let ids: Vec<&str> = danger.iter().map(|s| s.id.as_str()).collect();
                                p.push(
                                    format!("examples.{id}"),
                                    format!(
                                        "`{id}` is not a signal of danger.toml (known: {})",
                                        ids.join(", ")
                                    ),
                                )
                            }
                        }
                    }
                    file.safe.examples
                })
                .unwrap_or_default();
        all.extend(p.into_vec());

        let mut p = problems_for("audience.toml");
        let parent_cues = read_toml::<AudienceFile>(&dir.join("audience.toml"), &mut p)
            .map(|f| compile_patterns(&f.parent, "parent", &mut p))
            .unwrap_or_default();
        all.extend(p.into_vec());

        if !all.is_empty() {
            return Err(KnowledgeError { problems: all });
        }
        Ok(Knowledge {
            themes,
            off_topic,
            messages,
            resources,
            departements,
            region_aliases,
            communes,
            place_words,
            slang,
            danger,
            danger_cues,
            safe_examples,
            parent_cues,
        })
    }

    pub fn theme(&self, id: &str) -> Option<&Theme> {
        self.themes.iter().find(|t| t.id.0 == id)
    }

    pub fn resource(&self, id: &ResourceId) -> Option<&Resource> {
        self.resources.iter().find(|r| &r.id == id)
    }

    pub fn departement(&self, code: &DepartementCode) -> Option<&Departement> {
        self.departements.iter().find(|d| &d.code == code)
    }
}

/// Reads and parses one TOML file; a problem (with the parser's line and
/// column) and `None` when it cannot.
pub fn read_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    problems: &mut Problems,
) -> Option<T> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            problems.push("", format!("cannot read the file: {e}"));
            return None;
        }
    };
    match toml::from_str(&text) {
        Ok(value) => Some(value),
        Err(e) => {
            problems.push("", e.to_string().trim_end().to_string());
            None
        }
    }
}

/// The labelled messages of every `*.jsonl` file in `dir`, in file-name
/// order: one JSON object a line with at least `text` and `theme` (other
/// keys, such as those of an evaluation file, are allowed and unused). The
/// folder is optional.
fn read_messages(dir: &Path, themes: &[ThemeId], all: &mut Vec<Problem>) -> Vec<LabelledMessage> {
    let Ok(paths) = files_ending_in(dir, "jsonl") else {
        return Vec::new();
    };
    let valid = || {
        themes
            .iter()
            .map(|t| format!("\"{t}\""))
            .chain(["null".to_string()])
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut messages = Vec::new();
    for path in paths {
        let mut p = Problems::new(path.clone());
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                p.push("", format!("cannot read the file: {e}"));
                all.extend(p.into_vec());
                continue;
            }
        };
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let key = format!("line {}", n + 1);
            let object = match serde_json::from_str::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(object)) => object,
                Ok(_) => {
                    p.push(
                        key,
                        "expected one JSON object: {\"text\": \"…\", \"theme\": \"…\" or null}",
                    );
                    continue;
                }
                Err(e) => {
                    p.push(key, format!("not JSON: {e}"));
                    continue;
                }
            };
            let Some(text) = object.get("text").and_then(|t| t.as_str()) else {
                p.push(key, "`text` is missing or not a string");
                continue;
            };
            let theme = match object.get("theme") {
                Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(id)) if themes.iter().any(|t| t.0 == *id) => {
                    Some(ThemeId(id.clone()))
                }
                Some(other) => {
                    p.push(
                        format!("{key}: theme"),
                        format!("{other} is not a theme (valid: {})", valid()),
                    );
                    continue;
                }
                // Checked below: only a danger label may stand alone.
                None => None,
            };
            let urgent = match object.get("urgent") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::Bool(urgent)) => Some(*urgent),
                Some(other) => {
                    p.push(
                        format!("{key}: urgent"),
                        format!("{other} is not true or false"),
                    );
                    continue;
                }
            };
            let teaches_theme = object.contains_key("theme");
            if !teaches_theme && urgent.is_none() {
                p.push(
                    format!("{key}: theme"),
                    format!(
                        "`theme` is missing (valid: {}); only a message with `urgent` may go without it",
                        valid()
                    ),
                );
                continue;
            }
            messages.push(LabelledMessage {
                text: text.to_string(),
                theme,
                urgent,
                teaches_theme,
            });
        }
        all.extend(p.into_vec());
    }
    messages
}

/// The files of `dir` with this extension, in name order.
fn files_ending_in(dir: &Path, extension: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == extension))
        .collect();
    paths.sort();
    Ok(paths)
}

fn read_theme_files(dir: &Path, problems: &mut Problems) -> Vec<(PathBuf, ThemeFile)> {
    let paths = match files_ending_in(dir, "toml") {
        Ok(paths) => paths,
        Err(e) => {
            problems.push("", format!("cannot read the folder: {e}"));
            return Vec::new();
        }
    };
    let mut files = Vec::new();
    for path in paths {
        let mut p = Problems::new(path.clone());
        if let Some(file) = read_toml::<ThemeFile>(&path, &mut p) {
            files.push((path, file));
        }
        problems.found.extend(p.into_vec());
    }
    files
}

fn validate_theme(
    file: ThemeFile,
    path: &Path,
    known_resources: &KnownIds,
    p: &mut Problems,
) -> Option<Theme> {
    let before = p.len();
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if !is_valid_id(&file.id) {
        p.push(
            "id",
            format!(
                "`{}` is not a valid id: use lower-case letters, digits and hyphens",
                file.id
            ),
        );
    } else if file.id != stem {
        p.push(
            "id",
            format!(
                "`{}` must be the file's name: rename the file to {}.toml or the id to `{stem}`",
                file.id, file.id
            ),
        );
    }
    for (key, value) in [("label", &file.label), ("description", &file.description)] {
        if value.trim().is_empty() {
            p.push(key, "must not be empty");
        }
    }
    if file.keywords.iter().all(|k| k.trim().is_empty()) {
        p.push("keywords", "give the words that point to this theme");
    }
    if file.examples.len() < MIN_EXAMPLES_PER_THEME {
        p.push(
            "examples",
            format!(
                "{} examples: give at least {MIN_EXAMPLES_PER_THEME} messages as people type them",
                file.examples.len()
            ),
        );
    }
    let mut resources = Vec::new();
    for (i, id) in file.resources.iter().enumerate() {
        let id = ResourceId(id.clone());
        if known_resources.admits(&id) {
            resources.push(id);
        } else {
            p.push(
                format!("resources[{i}]"),
                format!("`{id}` is not a resource id of resources.toml"),
            );
        }
    }
    (p.len() == before).then_some(Theme {
        id: ThemeId(file.id),
        label: file.label,
        description: file.description,
        resources,
        keywords: file.keywords,
        examples: file.examples,
    })
}

fn validate_slang(file: SlangFile, p: &mut Problems) -> Vec<(String, String)> {
    let mut words = Vec::new();
    for (from, to) in file.words {
        let folded = crate::text::fold_word(&from);
        if folded.as_deref() != Some(from.as_str()) {
            // Keys are matched after folding: an accented key would replace
            // the plain word it folds to ("jé" would rewrite every "je").
            p.push(
                format!("words.\"{from}\""),
                match folded {
                    Some(f) => format!("write the key as one word without accents or capitals: it is read as `{f}`"),
                    None => "the key has no letters".to_string(),
                },
            );
        } else if crate::text::split_folded(&to).next().is_none() {
            p.push(
                format!("words.{from}"),
                "give the plain words it stands for",
            );
        } else {
            words.push((from, to));
        }
    }
    words
}

fn validate_danger(
    file: DangerFile,
    known_resources: &KnownIds,
    known_themes: &[ThemeId],
    p: &mut Problems,
) -> Vec<DangerSignal> {
    let mut signals = Vec::new();
    let mut ids = BTreeSet::new();
    for (i, entry) in file.signal.into_iter().enumerate() {
        let key = format!("signal[{i}]");
        if !is_valid_id(&entry.id) || !ids.insert(entry.id.clone()) {
            p.push(
                format!("{key}.id"),
                format!(
                    "`{}` must be a unique id of lower-case letters, digits and hyphens",
                    entry.id
                ),
            );
        }
        if entry.lines.is_empty() {
            p.push(
                format!("{key}.lines"),
                "give the emergency lines to show for this danger",
            );
        }
        let mut lines = Vec::new();
        for (j, line) in entry.lines.iter().enumerate() {
            let id = ResourceId(line.clone());
            if known_resources.admits(&id) {
                lines.push(id);
            } else {
                p.push(
                    format!("{key}.lines[{j}]"),
                    format!("`{line}` is not a resource id of resources.toml"),
                );
            }
        }
        let patterns = compile_patterns(&entry.patterns, &format!("{key}.patterns"), p);
        let words: Vec<Pattern> = entry
            .words
            .iter()
            .enumerate()
            .filter_map(|(j, word)| match Pattern::parse(word) {
                Ok(pattern) if !word.trim().contains(' ') => Some(pattern),
                Ok(_) => {
                    p.push(
                        format!("{key}.words[{j}]"),
                        format!("`{word}` is several words: put phrases in `patterns`"),
                    );
                    None
                }
                Err(why) => {
                    p.push(format!("{key}.words[{j}]"), format!("`{word}`: {why}"));
                    None
                }
            })
            .collect();
        let theme = entry.theme.and_then(|theme| {
            known_theme_ids(
                std::slice::from_ref(&theme),
                known_themes,
                &format!("{key}.theme"),
                p,
            )
            .pop()
        });
        signals.push(DangerSignal {
            id: entry.id,
            label: entry.label,
            theme,
            lines,
            patterns,
            words,
            examples: Vec::new(),
        });
    }
    signals
}

fn compile_patterns(sources: &[String], key: &str, p: &mut Problems) -> Vec<Pattern> {
    if sources.is_empty() {
        p.push(key, "give at least one pattern");
    }
    sources
        .iter()
        .enumerate()
        .filter_map(|(i, source)| match Pattern::parse(source) {
            Ok(pattern) => Some(pattern),
            Err(why) => {
                p.push(format!("{key}[{i}]"), format!("`{source}`: {why}"));
                None
            }
        })
        .collect()
}

fn known_theme_ids(ids: &[String], known: &[ThemeId], key: &str, p: &mut Problems) -> Vec<ThemeId> {
    let mut themes = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let id = ThemeId(id.clone());
        if known.contains(&id) {
            themes.push(id);
        } else {
            let names: Vec<&str> = known.iter().map(ThemeId::as_str).collect();
            p.push(
                format!("{key}[{i}]"),
                format!("`{id}` is not a theme (known: {})", names.join(", ")),
            );
        }
    }
    themes
}

/// The resource ids other files may refer to.
struct KnownIds {
    ids: Vec<ResourceId>,
    /// False when resources.toml could not be read: every id is then
    /// admitted, since the file's own problem is the one to report.
    complete: bool,
}

impl KnownIds {
    fn admits(&self, id: &ResourceId) -> bool {
        !self.complete || self.ids.contains(id)
    }
}

/// Ids are lower-case ASCII letters, digits and single hyphens.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_valid_id("fake-news"));
        assert!(is_valid_id("3114"));
        assert!(!is_valid_id("Fake News"));
        assert!(!is_valid_id("-x"));
        assert!(!is_valid_id(""));
    }

    #[test]
    fn problems_name_file_and_key() {
        let problem = Problem {
            file: PathBuf::from("knowledge/resources.toml"),
            key: "resource[2].hours[0]".into(),
            message: "bad".into(),
        };
        assert_eq!(
            problem.to_string(),
            "knowledge/resources.toml: resource[2].hours[0]: bad"
        );
    }
}
