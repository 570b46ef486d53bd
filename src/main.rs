//! The `promeneur-bot` command: `chat` is the console conversation (the
//! embedded default); `classify` reads messages on stdin and writes one JSON
//! reading per line; `check` validates the configuration and the knowledge
//! base; `evaluate` measures the classifier.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use promeneur_bot::classify::{evaluate, Classification, Classifier, Explanation};
use promeneur_bot::config::{Config, PromeneurId};
use promeneur_bot::console::{self, Side};
use promeneur_bot::engine::Engine;
use promeneur_bot::knowledge::Knowledge;
use promeneur_bot::store::SqliteStore;
use serde::Serialize;
use std::io::IsTerminal;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Building the classifier at start makes hundreds of thousands of small
/// strings: mimalloc does it faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "promeneur-bot",
    version,
    about = "Le bot d'orientation des Promeneurs du Net"
)]
struct Cli {
    /// The knowledge base folder (themes, resources, départements, places);
    /// by default the one the configuration names, or `knowledge`.
    #[arg(long, global = true, value_name = "DIR")]
    knowledge: Option<PathBuf>,
    /// The deployment's configuration: settings, storage, roster.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Chat in the terminal as a young person (or, with --as, as a
    /// Promeneur of the roster), on the configured SQLite file. Works with
    /// stdin piped from a file: one message a line, answers on stdout.
    Chat {
        /// Play this Promeneur (an id of the roster, e.g. camille-41).
        #[arg(long = "as", value_name = "PROMENEUR_ID")]
        as_promeneur: Option<String>,
        /// The young person's local name, to play several people.
        #[arg(long, default_value = "jeune", value_name = "NAME")]
        person: String,
    },
    /// Serve the platforms the configuration names ([matrix], [discord])
    /// until SIGINT or SIGTERM, on the configured SQLite file.
    Serve,
    /// Print the URL that adds the Discord bot to a server, with its slash
    /// commands and the permissions it needs.
    Invite,
    /// Read one message a line on stdin; write one JSON object a line on stdout:
    /// theme, confidence, urgent, audience, department, department_candidates.
    Classify {
        /// Add why: matched terms, scores, danger patterns, place rule.
        #[arg(long)]
        explain: bool,
    },
    /// Check the configuration and the knowledge base, and report every
    /// problem with its file and key.
    Check,
    /// Measure the classifier on labelled messages (JSON lines with text,
    /// theme, urgent, audience, department, candidates).
    Evaluate {
        /// The labelled file, e.g. tests/data/final9.jsonl.
        file: PathBuf,
        /// Also list every miss.
        #[arg(long)]
        misses: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(log_filter())
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("promeneur-bot: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `PROMENEUR_LOG` (default `warn`). serenity is held to errors unless
/// named there: its warnings and debug spans can quote raw gateway payloads
/// (message bodies) and request routes (interaction tokens).
fn log_filter() -> tracing_subscriber::EnvFilter {
    let asked = std::env::var("PROMENEUR_LOG").unwrap_or_default();
    let base = if asked.trim().is_empty() {
        "warn"
    } else {
        asked.as_str()
    };
    let directives = if asked.contains("serenity") {
        base.to_string()
    } else {
        format!("{base},serenity=error")
    };
    tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,serenity=error"))
}

const DEFAULT_CONFIG: &str = "config/bot.toml";

fn run(cli: Cli) -> Result<ExitCode> {
    let knowledge_dir = cli
        .knowledge
        .clone()
        .unwrap_or_else(|| PathBuf::from("knowledge"));
    match cli.command {
        Command::Check => {
            // Without --config and without the default file, only the
            // knowledge base is checked (a classifier-only install).
            let config = cli.config.clone().or_else(|| {
                let default = PathBuf::from(DEFAULT_CONFIG);
                default.exists().then_some(default)
            });
            let result = match &config {
                Some(path) => Config::load(path, cli.knowledge.as_deref())
                    .map(|(c, k)| (Some(c), k))
                    .map_err(|e| e.to_string()),
                None => Knowledge::load(&knowledge_dir)
                    .map(|k| (None, k))
                    .map_err(|e| e.to_string()),
            };
            match result {
                Ok((config, knowledge)) => {
                    if let Some(config) = config {
                        let examples = config
                            .roster
                            .promeneurs
                            .iter()
                            .filter(|p| p.example)
                            .count();
                        println!(
                            "{}: ok ({} départements served, {} Promeneurs{}, database {}, retention {} days)",
                            config.file.display(),
                            config.roster.departements.len(),
                            config.roster.promeneurs.len(),
                            if examples > 0 { format!(", {examples} of them fictional examples") } else { String::new() },
                            config.database.display(),
                            config.settings.retention_days()
                        );
                    }
                    println!(
                        "{}: ok ({} themes, {} resources, {} départements, {} communes, {} danger signals)",
                        config_knowledge_dir(&cli, &knowledge_dir).display(),
                        knowledge.themes.len(),
                        knowledge.resources.len(),
                        knowledge.departements.len(),
                        knowledge.communes.len(),
                        knowledge.danger.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    eprintln!("{error}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Serve => {
            let (_, config, knowledge) = load_config(cli.config.as_ref(), cli.knowledge.as_ref())?;
            promeneur_bot::serve::run(config, knowledge)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Invite => {
            let (_, config, _) = load_config(cli.config.as_ref(), cli.knowledge.as_ref())?;
            let Some(discord) = config.discord.clone() else {
                anyhow::bail!(
                    "{} has no [discord] section (see the README)",
                    config.file.display()
                );
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let url = runtime.block_on(promeneur_bot::discord::invite(&config, &discord))?;
            println!("{url}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Chat {
            as_promeneur,
            person,
        } => {
            let (path, config, knowledge) =
                load_config(cli.config.as_ref(), cli.knowledge.as_ref())?;
            let side = match as_promeneur {
                Some(id) => {
                    let id = PromeneurId(id);
                    if config.roster.promeneur(&id).is_none() {
                        let known: Vec<&str> = config
                            .roster
                            .promeneurs
                            .iter()
                            .map(|p| p.id.0.as_str())
                            .collect();
                        anyhow::bail!(
                            "`{id}` is not a Promeneur of {}; known ids: {}",
                            path.display(),
                            known.join(", ")
                        );
                    }
                    Side::Promeneur(id)
                }
                None => Side::Person(person),
            };
            let classifier = Classifier::new(&knowledge).context("building the theme matcher")?;
            let store = SqliteStore::open(&config.database)
                .with_context(|| format!("opening the database {}", config.database.display()))?;
            let tick = config.settings.tick;
            let engine = Engine::new(&config, Arc::new(knowledge), Arc::new(classifier), store);
            if std::io::stdin().is_terminal() {
                match &side {
                    Side::Person(name) => eprintln!("promeneur-bot — console. Tu écris en tant que « {name} ». /aide pour l'aide, Ctrl-D pour quitter."),
                    Side::Promeneur(id) => eprintln!("promeneur-bot — console Promeneur ({id}). /aide pour les commandes, Ctrl-D pour quitter."),
                }
            }
            let stdin = std::io::BufReader::new(std::io::stdin());
            let mut stdout = std::io::stdout();
            console::chat(engine, side, stdin, &mut stdout, tick)
                .context("running the console chat")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluate { file, misses } => {
            let knowledge = load_knowledge(&knowledge_dir)?;
            let classifier = Classifier::new(&knowledge).context("building the theme matcher")?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let set = evaluate::parse_labelled(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let report = evaluate::evaluate(&classifier, &set);
            let mut out = String::new();
            if misses {
                for miss in &report.misses {
                    out.push_str(&format!(
                        "{:<10} expected {:<22} got {:<22} {}\n",
                        miss.what, miss.expected, miss.got, miss.text
                    ));
                }
                out.push('\n');
            }
            out.push_str(&format!(
                "{} ({} messages)\n{}\ntheme right, by theme:\n{}\n",
                file.display(),
                set.len(),
                report.summary(),
                report.per_theme_summary()
            ));
            // A reader that stops early (`| head`) is not an error.
            match std::io::stdout().lock().write_all(out.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
                _ => {}
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Classify { explain } => {
            let knowledge = load_knowledge(&knowledge_dir)?;
            let classifier = Classifier::new(&knowledge).context("building the theme matcher")?;
            classify_lines(&classifier, explain)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The configuration `--config` names (or the default), validated: a bad one
/// stops the bot before it starts.
fn load_config(
    config: Option<&PathBuf>,
    knowledge: Option<&PathBuf>,
) -> Result<(PathBuf, Config, Knowledge)> {
    let path = config
        .cloned()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    if !path.exists() {
        anyhow::bail!(
            "no configuration at {}: run from the repository root or pass --config PATH",
            path.display()
        );
    }
    let (config, knowledge) = Config::load(&path, knowledge.map(|k| k.as_path())).map_err(|e| {
        anyhow::anyhow!("the configuration is not valid, the bot does not start:\n{e}")
    })?;
    Ok((path, config, knowledge))
}

fn config_knowledge_dir(cli: &Cli, default: &std::path::Path) -> PathBuf {
    cli.knowledge
        .clone()
        .unwrap_or_else(|| default.to_path_buf())
}

fn load_knowledge(dir: &std::path::Path) -> Result<Knowledge> {
    if !dir.is_dir() {
        anyhow::bail!(
            "no knowledge base at {}: run from the repository root or pass --knowledge DIR",
            dir.display()
        );
    }
    Knowledge::load(dir)
        .with_context(|| format!("loading the knowledge base from {}", dir.display()))
}

#[derive(Serialize)]
struct Explained {
    #[serde(flatten)]
    classification: Classification,
    explain: Explanation,
}

/// One JSON line out per line in, in order, flushed each time so a caller
/// can converse over a pipe. Bytes that are not UTF-8 are replaced, not refused.
fn classify_lines(classifier: &Classifier, explain: bool) -> Result<()> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .context("reading stdin")?
            == 0
        {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        let json = if explain {
            let (classification, explain) = classifier.explain(text);
            serde_json::to_string(&Explained {
                classification,
                explain,
            })
        } else {
            serde_json::to_string(&classifier.classify(text))
        }
        .context("writing a classification")?;
        writeln!(out, "{json}").context("writing stdout")?;
        out.flush().context("writing stdout")?;
    }
}
