//! Fixtures shared by the integration tests: the real knowledge base and a
//! classifier built from it once per test binary.

#![allow(dead_code)]

use promeneur_bot::classify::Classifier;
use promeneur_bot::knowledge::Knowledge;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn knowledge_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge")
}

pub fn knowledge() -> &'static Knowledge {
    static KNOWLEDGE: OnceLock<Knowledge> = OnceLock::new();
    KNOWLEDGE.get_or_init(|| {
        Knowledge::load(&knowledge_dir()).expect("the shipped knowledge base is valid")
    })
}

pub fn classifier() -> &'static Classifier {
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    CLASSIFIER.get_or_init(|| Classifier::new(knowledge()).expect("the theme index builds"))
}

/// A labelled set from tests/data.
pub fn labelled(name: &str) -> Vec<promeneur_bot::classify::evaluate::Labelled> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
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
