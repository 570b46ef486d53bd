//! The `promeneur-bot` command as other tools use it: `classify` over a pipe,
//! `check` on a good and a broken knowledge base.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn bot() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_promeneur-bot"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

#[test]
fn classify_answers_each_line_in_order_as_it_comes() {
    let mut child = bot()
        .arg("classify")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // One line in, one line out, before the next line is written: the
    // answers are flushed per line.
    for (text, theme) in [
        (
            "jsp quoi faire apres le bac, parcoursup me saoule",
            "orientation",
        ),
        ("salut", "null"),
        ("on me harcèle sur insta", "harcelement"),
    ] {
        writeln!(stdin, "{text}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["theme"].to_string().trim_matches('"'), theme, "{text}");
        for key in [
            "confidence",
            "urgent",
            "audience",
            "department",
            "department_candidates",
        ] {
            assert!(json.get(key).is_some(), "{key} missing in {line}");
        }
        assert!(json.get("explain").is_none());
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn classify_reads_anything_without_failing() {
    let mut input = Vec::new();
    input.extend_from_slice(b"\"AND (\n-\n");
    input.extend_from_slice("😭".repeat(10_000).as_bytes());
    input.extend_from_slice(b"\n\xff\xfe invalid utf-8 \xc3\n\n\r\n");
    input.extend_from_slice(b"je veux mourir");
    let output = run_with_stdin(bot().arg("classify"), &input);
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        7,
        "one answer per line, the last one without a newline too"
    );
    assert_eq!(lines[6]["urgent"], true);
}

#[test]
fn explain_says_why() {
    let output = run_with_stdin(
        bot().args(["classify", "--explain"]),
        "je veux mourir, j'habite à Blois\n".as_bytes(),
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["urgent"], true);
    assert_eq!(json["explain"]["danger"][0]["signal"], "suicide");
    assert_eq!(json["explain"]["place"]["rule"], "commune");
    assert!(json["explain"]["theme"]["terms"].as_array().is_some());
}

#[test]
fn check_accepts_the_shipped_knowledge() {
    let output = bot().arg("check").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("101 départements"));
}

#[test]
fn check_reports_every_problem_with_file_and_key() {
    let dir = common::knowledge_copy();
    let path = |name: &str| dir.path().join(name);
    let edit = |name: &str, from: &str, to: &str| {
        let text = std::fs::read_to_string(path(name)).unwrap();
        assert!(text.contains(from), "{name} has no {from}");
        std::fs::write(path(name), text.replacen(from, to, 1)).unwrap();
    };
    edit(
        "audience.toml",
        "parent = [",
        "colour = \"blue\"\nparent = [",
    );
    edit(
        "themes/droits.toml",
        "resources = [",
        "resources = [\"pas-une-ressource\", ",
    );
    edit("danger.toml", "\"me|te suicid*\"", "\"... suicid*\"");
    std::fs::remove_file(path("themes/famille.toml")).unwrap();
    edit(
        "departements.toml",
        "timezone = \"Indian/Reunion\"",
        "timezone = \"Europe/Paris\"",
    );

    // Each mistake is reported once, not echoed at every reference to it.
    check_refuses(
        dir.path(),
        5,
        &[
            "audience.toml: TOML parse error",
            "unknown field `colour`, expected `parent`",
            "droits.toml: resources[0]: `pas-une-ressource` is not a resource id",
            "danger.toml: signal[0].patterns[",
            "a pattern cannot start with `...`",
            "famille.toml: the theme `famille` is missing",
            "departements.toml: departement[",
            "is not the time zone of 974: it is `Indian/Reunion`",
        ],
    );
}

/// `check` on a knowledge folder fails with exactly `count` problems, each
/// of `expected` among them.
fn check_refuses(knowledge: &std::path::Path, count: usize, expected: &[&str]) {
    let output = bot()
        .args(["check", "--knowledge"])
        .arg(knowledge)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(
        report.starts_with(&format!("{count} problem(s) found:")),
        "{report}"
    );
    for expected in expected {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
}

#[test]
fn a_bad_labelled_message_is_reported_with_its_line_and_the_valid_themes() {
    let dir = common::knowledge_copy();
    let path = dir.path().join("messages/mine.jsonl");
    std::fs::write(
        &path,
        "{\"text\": \"mon fils veut arrêter le lycée\", \"theme\": \"orientation\"}\n\
         {\"text\": \"il joue au foot\", \"theme\": \"sport\"}\n\
         \n\
         {\"text\": \"salut\"}\n\
         pas du json\n\
         {\"text\": \"je veux mourir\", \"theme\": \"sante-mentale\", \"urgent\": \"oui\"}\n\
         {\"text\": \"jme sens plus en sécurité chez moi\", \"urgent\": true}\n",
    )
    .unwrap();
    check_refuses(
        dir.path(),
        4,
        &[
            "mine.jsonl: line 2: theme: \"sport\" is not a theme (valid: ",
            "\"orientation\"",
            "null)",
            // Line 7 has no theme but a danger label: it teaches the
            // danger model only, and is no problem.
            "mine.jsonl: line 4: theme: `theme` is missing",
            "only a message with `urgent` may go without it",
            "mine.jsonl: line 5: not JSON",
            "mine.jsonl: line 6: urgent: \"oui\" is not true or false",
        ],
    );
}

#[test]
fn an_unreadable_file_is_reported_once() {
    let dir = common::knowledge_copy();
    let path = dir.path().join("resources.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen(
        "availability = \"always\"",
        "availability = \"always\"\ncolour = \"blue\"",
        1,
    );
    std::fs::write(&path, broken).unwrap();
    let output = bot()
        .args(["check", "--knowledge"])
        .arg(dir.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(report.starts_with("1 problem(s) found:"), "{report}");
    assert!(
        report.contains("resources.toml: TOML parse error"),
        "{report}"
    );
}
#[test]
fn classify_refuses_a_broken_knowledge_base_and_a_missing_one() {
    let dir = common::knowledge_copy();
    std::fs::write(
        dir.path().join("slang.toml"),
        "[words]\n\"jé\" = \"j'ai\"\n",
    )
    .unwrap();
    let output = bot()
        .args(["classify", "--knowledge"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("slang.toml: words.\"jé\": write the key as one word without accents"),
        "{error}"
    );

    let output = bot()
        .args(["classify", "--knowledge", "/nonexistent"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no knowledge base at /nonexistent"));
}

fn run_with_stdin(command: &mut Command, input: &[u8]) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}
