//! The configuration: the shipped example is valid; a broken one is refused
//! at start by `check` and by `chat`, with every problem named by file and key.

mod common;

use std::process::{Command, Stdio};

fn bot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_promeneur-bot"))
}

/// `promeneur-bot check --config path`.
fn check(path: &std::path::Path) -> std::process::Output {
    bot()
        .arg("check")
        .arg("--config")
        .arg(path)
        .output()
        .unwrap()
}

/// A configuration file in a fresh folder, pointing at the real knowledge base.
fn config_file(body: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.toml");
    let knowledge = common::knowledge_dir();
    let text = body.replace("KNOWLEDGE", &knowledge.display().to_string());
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

const BROKEN: &str = r#"
[bot]
knowledge = "KNOWLEDGE"
handoff_timeout_minutes = 0

[storage]
database = "bot.sqlite3"
retention_days = 30
purge_every_minutes = 60

[[departement]]
code = "41"
coordinator = "personne"

[[departement]]
code = "99"
coordinator = "camille-41"

[[promeneur]]
id = "camille-41"
first_name = "Camille"
photo = "pas une adresse"
profession = "animatrice"
structure = ""
departements = ["41", "974"]
themes = ["orientation", "cuisine"]
capacity = 0
permanences = ["lundi 14h-17h"]
absences = [{ from = "2026-12-24", to = "2026-12-20" }]
accounts = { matrix = "camille" }
"#;

#[test]
fn check_accepts_the_example_configuration() {
    let output = bot().arg("check").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("config/bot.toml: ok (4 départements served, 6 Promeneurs, 6 of them fictional examples"), "{stdout}");
}

#[test]
fn check_reports_every_problem_with_file_and_key() {
    let (_dir, path) = config_file(BROKEN);
    let output = check(&path);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let file = path.display().to_string();
    for (key, what) in [
        ("bot.handoff_timeout_minutes", "must be at least 1"),
        (
            "departement[0].coordinator",
            "`personne` is not a Promeneur id",
        ),
        ("departement[1].code", "`99` is not a département code"),
        ("promeneur[0].photo", "is neither a web address"),
        ("promeneur[0].structure", "must not be empty"),
        ("promeneur[0].departements", "different time zones"),
        (
            "promeneur[0].themes[1]",
            "`cuisine` is not a theme; valid: ",
        ),
        ("promeneur[0].capacity", "must be at least 1"),
        ("promeneur[0].permanences[0]", "`lundi 14h-17h`"),
        ("promeneur[0].absences[0]", "ends before it starts"),
        ("promeneur[0].accounts.matrix", "is not a Matrix user id"),
        (
            "promeneur[0].departements[1]",
            "`974` has no [[departement]] section",
        ),
    ] {
        let line = format!("{file}: {key}: ");
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&line) && l.contains(what)),
            "missing `{line}… {what}` in:\n{stderr}"
        );
    }
}

#[test]
fn unknown_keys_are_refused_with_their_place() {
    let (_dir, path) = config_file(
        r#"
[bot]
knowledge = "KNOWLEDGE"
handoff_timeout_minutes = 10
retention = 30

[storage]
database = "bot.sqlite3"
retention_days = 30
purge_every_minutes = 60
"#,
    );
    let output = check(&path);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown field `retention`"), "{stderr}");
    assert!(stderr.contains("line 5"), "{stderr}");
}

#[test]
fn chat_refuses_to_start_on_an_invalid_configuration() {
    let (dir, path) = config_file(BROKEN);
    let output = bot()
        .arg("chat")
        .arg("--config")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the configuration is not valid, the bot does not start"),
        "{stderr}"
    );
    assert!(stderr.contains("promeneur[0].capacity"), "{stderr}");
    assert!(
        !dir.path().join("bot.sqlite3").exists(),
        "nothing was created"
    );
}

#[test]
fn chat_as_an_unknown_promeneur_is_refused() {
    let output = bot()
        .args(["chat", "--as", "nobody-00"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`nobody-00` is not a Promeneur of config/bot.toml; known ids: camille-41"),
        "{stderr}"
    );
}

const MINIMAL: &str = r#"
[bot]
knowledge = "KNOWLEDGE"
handoff_timeout_minutes = 10

[storage]
database = "bot.sqlite3"
retention_days = 30
purge_every_minutes = 60
"#;

/// `check` on a configuration made of MINIMAL and `extra`: its error output.
fn check_refuses(extra: &str) -> String {
    let (_dir, path) = config_file(&format!("{MINIMAL}\n{extra}"));
    let output = check(&path);
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_bad_matrix_section_is_refused_with_its_keys() {
    let section = "[matrix]\nhomeserver = \"matrix.example.org\"\nuser = \"bot\"\nstore = \"\"\n";
    // A password in the TOML is an unknown key: secrets never live there.
    let stderr = check_refuses(&format!("{section}password = \"nope\"\n"));
    assert!(stderr.contains("password"), "{stderr}");
    let stderr = check_refuses(section);
    for key in ["matrix.homeserver", "matrix.user", "matrix.store"] {
        assert!(stderr.contains(key), "{key} missing from:\n{stderr}");
    }
}

#[test]
fn serve_without_a_password_says_where_to_put_it_and_never_prints_secrets() {
    let (dir, path) = config_file(&format!(
        "{MINIMAL}\n[matrix]\nhomeserver = \"http://127.0.0.1:9\"\nuser = \"@bot:example.org\"\nstore = \"matrix\"\n\n[secrets]\nfile = \"secrets.toml\"\n"
    ));
    std::fs::write(
        dir.path().join("secrets.toml"),
        "discord_token = \"tok-123-secret\"\n",
    )
    .unwrap();
    let output = bot()
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .env_remove("PROMENEUR_BOT_MATRIX_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("PROMENEUR_BOT_MATRIX_PASSWORD"), "{stderr}");
    assert!(stderr.contains("matrix_password"), "{stderr}");
    assert!(!stderr.contains("tok-123-secret"), "{stderr}");
}

#[test]
fn a_secret_is_never_printed() {
    let secret = promeneur_bot::config::Secret::new("hunter2");
    assert_eq!(format!("{secret:?}"), "Secret(***)");
    assert_eq!(secret.expose(), "hunter2");
}

/// The Loir-et-Cher served by one Promeneur, for the adapters' sections.
const SERVED_41: &str = r#"
[[departement]]
code = "41"
coordinator = "camille-41"

[[promeneur]]
id = "camille-41"
first_name = "Camille"
photo = "https://example.org/camille.jpg"
profession = "animatrice jeunesse"
structure = "MJC de Blois"
departements = ["41"]
capacity = 2
"#;

#[test]
fn a_bad_discord_section_is_refused_with_its_keys() {
    let stderr = check_refuses(
        "[discord]\nstore = \"discord\"\ntoken = \"nope\"\n[[discord.guild]]\nid = \"1\"\nhandoff_channel = \"2\"\nstaff_channel = \"3\"\ndepartements = [\"41\"]\n",
    );
    // A token in the TOML is an unknown key: secrets never live there.
    assert!(stderr.contains("token"), "{stderr}");
    let stderr = check_refuses(
        "[discord]\nstore = \"\"\napi = \"discord.com\"\n[[discord.guild]]\nid = \"mon-serveur\"\nhandoff_channel = \"#accueil\"\nstaff_channel = \"#accueil\"\ndepartements = [\"99\", \"62\"]\n",
    );
    for key in [
        "discord.store",
        "discord.api",
        "discord.guild[0].id",
        "discord.guild[0].handoff_channel",
        "discord.guild[0].staff_channel",
        "discord.guild[0].departements[0]",
        "discord.guild[0].departements[1]",
    ] {
        assert!(stderr.contains(key), "{key} missing from:\n{stderr}");
    }
    assert!(stderr.contains("Copy ID"), "{stderr}");
    let stderr = check_refuses("[discord]\nstore = \"discord\"\n");
    assert!(stderr.contains("[[discord.guild]]"), "{stderr}");
}

#[test]
fn serve_without_a_discord_token_says_where_to_put_it() {
    let (_dir, path) = config_file(&format!(
        "{MINIMAL}{SERVED_41}\n[discord]\nstore = \"discord\"\napi = \"http://127.0.0.1:9\"\n[[discord.guild]]\nid = \"1\"\nhandoff_channel = \"2\"\nstaff_channel = \"3\"\ndepartements = [\"41\"]\n"
    ));
    let output = bot()
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .env_remove("PROMENEUR_BOT_DISCORD_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("PROMENEUR_BOT_DISCORD_TOKEN"), "{stderr}");
    assert!(stderr.contains("discord_token"), "{stderr}");
}

#[test]
fn invite_prints_the_url_with_the_permissions() {
    let (_dir, path) = config_file(&format!(
        "{MINIMAL}{SERVED_41}\n[discord]\nstore = \"discord\"\napplication_id = \"123456789012345678\"\n[[discord.guild]]\nid = \"1\"\nhandoff_channel = \"2\"\nstaff_channel = \"3\"\ndepartements = [\"41\"]\n"
    ));
    let output = bot()
        .arg("invite")
        .arg("--config")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.starts_with("https://discord.com/oauth2/authorize?client_id=123456789012345678&scope=bot+applications.commands&permissions="), "{stdout}");
    let bits: u64 = stdout.trim().rsplit('=').next().unwrap().parse().unwrap();
    // Create private threads, send in threads, manage threads, embeds.
    for bit in [36, 38, 34, 14, 11, 10] {
        assert!(
            bits & (1 << bit) != 0,
            "permission bit {bit} missing: {bits}"
        );
    }
}

#[test]
fn a_staff_channel_shared_by_two_teams_is_refused() {
    let two_teams = format!(
        "{SERVED_41}\n[[departement]]\ncode = \"62\"\ncoordinator = \"lea-62\"\n\n[[promeneur]]\nid = \"lea-62\"\nfirst_name = \"Léa\"\nphoto = \"https://example.org/lea.jpg\"\nprofession = \"éducatrice\"\nstructure = \"MDA\"\ndepartements = [\"62\"]\ncapacity = 2\n"
    );
    let stderr = check_refuses(&format!(
        "{two_teams}\n[discord]\nstore = \"discord\"\n[[discord.guild]]\nid = \"1\"\nhandoff_channel = \"2\"\nstaff_channel = \"3\"\ndepartements = [\"41\", \"62\"]\n"
    ));
    assert!(
        stderr.contains("discord.guild[0].staff_channel"),
        "{stderr}"
    );
    assert!(stderr.contains("41, 62"), "{stderr}");
    // One entry per team, in the same server: accepted.
    let (_dir, path) = config_file(&format!(
        "{MINIMAL}{two_teams}\n[discord]\nstore = \"discord\"\n[[discord.guild]]\nid = \"1\"\nhandoff_channel = \"2\"\nstaff_channel = \"3\"\ndepartements = [\"41\"]\n[[discord.guild]]\nid = \"1\"\nhandoff_channel = \"2\"\nstaff_channel = \"4\"\ndepartements = [\"62\"]\n"
    ));
    let output = check(&path);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
