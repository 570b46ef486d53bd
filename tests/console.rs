//! The console adapter over pipes, as a script would use it: a young person's
//! terminal and a Promeneur's terminal on one SQLite file, taking turns.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The example configuration, with its own database in `dir`, and the
/// Pas-de-Calais team off duty until someone comes on by hand.
fn config_in(dir: &Path) -> std::path::PathBuf {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/bot.toml"))
            .unwrap();
    let text = example
        .replace(
            "knowledge = \"../knowledge\"",
            &format!(
                "knowledge = {:?}",
                common::knowledge_dir().display().to_string()
            ),
        )
        .replace(
            "database = \"../data/promeneur-bot.sqlite3\"",
            "database = \"bot.sqlite3\"",
        )
        // Nobody of the Pas-de-Calais is on duty by the clock, whatever the
        // hour the tests run: Thomas comes on duty by hand.
        .replace(
            "permanences = [\"mon-sat 16:00-19:00\"]",
            "permanences = []",
        )
        .replace(
            "permanences = [\"mon-fri 09:00-12:00\"]",
            "permanences = []",
        );
    assert_eq!(
        text.matches("permanences = []").count(),
        2,
        "the example roster changed: update this test"
    );
    let path = dir.join("bot.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs one terminal with `lines` piped in; its stdout.
fn terminal(config: &Path, args: &[&str], lines: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_promeneur-bot"))
        .arg("chat")
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn two_terminals_play_both_sides_on_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());

    let young = terminal(
        &config,
        &["--person", "lina"],
        &[
            "slt jcherche un apprentissage en cuisine, jsuis a Arras",
            "oui",
        ],
    );
    assert!(young.starts_with("🤖 bot : Bonjour ! Je suis le bot des Promeneurs du Net : un programme, pas un humain."), "{young}");
    assert!(young.contains("montrer ton premier message"), "{young}");

    // Thomas comes on duty by hand and takes the request.
    let thomas = terminal(
        &config,
        &["--as", "thomas-62"],
        &[
            "/permanence on",
            "/prendre 1",
            "Salut Lina, je suis Thomas. Tu cherches dans quel domaine ?",
        ],
    );
    assert!(thomas.contains("Tu es de permanence"), "{thomas}");
    assert!(
        thomas.contains("Nouvelle demande pour toi : Demande n°1"),
        "{thomas}"
    );
    assert!(
        thomas.contains("« slt jcherche un apprentissage en cuisine, jsuis a Arras »"),
        "{thomas}"
    );
    assert!(
        thomas.contains("✅ Tu as pris la conversation n°1"),
        "{thomas}"
    );

    // Back at Lina's terminal: what was said while she was away, who said it.
    let young = terminal(&config, &["--person", "lina"], &["dans l'animation"]);
    assert!(
        young.contains("🤖 bot : Je te présente la personne qui va prendre ta demande"),
        "{young}"
    );
    assert!(young.contains("Thomas a pris ta demande. À partir de maintenant, c'est Thomas, une personne et pas le bot"), "{young}");
    assert!(
        young.contains("👤 Thomas (animateur, Centre social du Bassin minier) — Promeneur du Net, humain : Salut Lina, je suis Thomas."),
        "{young}"
    );
    let thomas = terminal(&config, &["--as", "thomas-62"], &[]);
    assert!(
        thomas.contains("💬 personne n°1 : dans l'animation"),
        "{thomas}"
    );
}

#[test]
fn a_piped_file_gets_one_answer_block_per_line_and_the_lines_first_on_danger() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let out = terminal(
        &config,
        &[],
        &["je veux mourir, j'ai plus la force", "/aide"],
    );
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("🤖 bot : ⚠️"), "{out}");
    assert!(out.contains("3114"), "{out}");
    assert!(out.contains("Commandes : /aide"), "{out}");
    assert!(
        dir.path().join("bot.sqlite3").exists(),
        "the configured SQLite file is used"
    );
}
