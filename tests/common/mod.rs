//! Fixtures shared by the integration tests: the real knowledge base and a
//! classifier built from it once per test binary.

#![allow(dead_code)]

use promeneur_bot::classify::Classifier;
use promeneur_bot::config::Config;
use promeneur_bot::engine::Engine;
use promeneur_bot::knowledge::Knowledge;
use promeneur_bot::store::Store;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub fn knowledge_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge")
}

pub fn knowledge() -> &'static Knowledge {
    shared_knowledge()
}

pub fn shared_knowledge() -> &'static Arc<Knowledge> {
    static KNOWLEDGE: OnceLock<Arc<Knowledge>> = OnceLock::new();
    KNOWLEDGE.get_or_init(|| {
        Arc::new(Knowledge::load(&knowledge_dir()).expect("the shipped knowledge base is valid"))
    })
}

pub fn classifier() -> &'static Classifier {
    shared_classifier()
}

pub fn shared_classifier() -> &'static Arc<Classifier> {
    static CLASSIFIER: OnceLock<Arc<Classifier>> = OnceLock::new();
    CLASSIFIER
        .get_or_init(|| Arc::new(Classifier::new(knowledge()).expect("the theme index builds")))
}

/// The shipped example configuration (`config/bot.toml`).
pub fn example_config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/bot.toml");
        Config::load(&path, None)
            .expect("the shipped example configuration is valid")
            .0
    })
}

/// An engine on the example roster and the real knowledge and classifier.
pub fn engine<S: Store>(store: S) -> Engine<S> {
    Engine::new(
        example_config(),
        shared_knowledge().clone(),
        shared_classifier().clone(),
        store,
    )
}

/// A labelled set from tests/data (never learned from) or from
/// knowledge/messages (the theme model's training messages).
pub fn labelled(name: &str) -> Vec<promeneur_bot::classify::evaluate::Labelled> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = ["tests/data", "knowledge/messages"]
        .iter()
        .map(|dir| root.join(dir).join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("no labelled set {name} in tests/data or knowledge/messages"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    promeneur_bot::classify::evaluate::parse_labelled(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Copies the knowledge base to a fresh temporary folder, for tests that break it.
pub fn knowledge_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy_dir(&knowledge_dir(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A conversation played as a transcript: people and Promeneurs type, the
/// clock is moved by hand, and each side's screen can be read.
pub struct Transcript<S: Store> {
    pub engine: Engine<S>,
    pub now: chrono::DateTime<chrono::Utc>,
    /// Everything sent so far, in order.
    pub sent: Vec<promeneur_bot::engine::Outbound>,
}

pub fn at(rfc3339: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("a valid time")
        .with_timezone(&chrono::Utc)
}

pub fn person(name: &str) -> promeneur_bot::engine::Account {
    promeneur_bot::engine::Account::new(
        promeneur_bot::engine::Platform::Console,
        format!("personne:{name}"),
    )
}

pub fn staff(id: &str) -> promeneur_bot::engine::Account {
    promeneur_bot::engine::Account::new(promeneur_bot::engine::Platform::Console, id)
}

impl<S: Store> Transcript<S> {
    pub fn new(store: S, now: &str) -> Transcript<S> {
        Transcript {
            engine: engine(store),
            now: at(now),
            sent: Vec::new(),
        }
    }

    pub fn at(&mut self, now: &str) {
        self.now = at(now);
    }

    /// `account` types `text`; what came back to `account` itself, as shown.
    pub fn says(&mut self, account: &promeneur_bot::engine::Account, text: &str) -> Vec<String> {
        let out = self.engine.handle(
            promeneur_bot::engine::Inbound::Message {
                from: account.clone(),
                text: text.to_string(),
                place: promeneur_bot::engine::Place::Direct,
            },
            self.now,
        );
        let mine = texts_for(&out, account);
        self.sent.extend(out);
        mine
    }

    /// The young person `name` types.
    pub fn young(&mut self, name: &str, text: &str) -> Vec<String> {
        self.says(&person(name), text)
    }

    /// The Promeneur `id` types (on the console).
    pub fn promeneur(&mut self, id: &str, text: &str) -> Vec<String> {
        self.says(&staff(id), text)
    }

    pub fn tick(&mut self) -> Vec<promeneur_bot::engine::Outbound> {
        let out = self
            .engine
            .handle(promeneur_bot::engine::Inbound::Tick, self.now);
        self.sent.extend(out.clone());
        out
    }

    /// Everything `account` has been shown so far.
    pub fn screen(&self, account: &promeneur_bot::engine::Account) -> Vec<String> {
        texts_for(&self.sent, account)
    }

    /// Forgets the screens (what was sent), not the state.
    pub fn clear(&mut self) {
        self.sent.clear();
    }
}

/// The texts addressed to one account, rendered as the console shows them
/// (so a Promeneur's words carry their name and the bot's say "bot").
pub fn texts_for(
    out: &[promeneur_bot::engine::Outbound],
    account: &promeneur_bot::engine::Account,
) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            promeneur_bot::engine::Outbound::Say { to, speaker, text } if to == account => {
                Some(promeneur_bot::console::render(speaker, text))
            }
            _ => None,
        })
        .collect()
}

/// Whether any of the lines contains `needle`.
pub fn shows(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}
