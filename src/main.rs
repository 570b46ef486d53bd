//! The `promeneur-bot` command: `classify` reads messages on stdin and writes
//! one JSON reading per line; `check` validates the knowledge base.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use promeneur_bot::classify::{evaluate, Classification, Classifier, Explanation};
use promeneur_bot::knowledge::Knowledge;
use serde::Serialize;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "promeneur-bot",
    version,
    about = "Le bot d'orientation des Promeneurs du Net"
)]
struct Cli {
    /// The knowledge base folder (themes, resources, départements, places).
    #[arg(long, global = true, default_value = "knowledge", value_name = "DIR")]
    knowledge: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read one message a line on stdin; write one JSON object a line on stdout:
    /// theme, confidence, urgent, audience, department, department_candidates.
    Classify {
        /// Add why: matched terms, scores, danger patterns, place rule.
        #[arg(long)]
        explain: bool,
    },
    /// Check the knowledge base and report every problem with its file and key.
    Check,
    /// Measure the classifier on labelled messages (JSON lines with text,
    /// theme, urgent, audience, department, candidates).
    Evaluate {
        /// The labelled file, e.g. tests/data/holdout.jsonl.
        file: PathBuf,
        /// Also list every miss.
        #[arg(long)]
        misses: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROMENEUR_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
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

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check => match Knowledge::load(&cli.knowledge) {
            Ok(knowledge) => {
                println!(
                        "{}: ok ({} themes, {} resources, {} départements, {} communes, {} danger signals)",
                        cli.knowledge.display(),
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
        },
        Command::Evaluate { file, misses } => {
            let knowledge = load_knowledge(&cli.knowledge)?;
            let classifier = Classifier::new(&knowledge).context("building the theme matcher")?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let set = evaluate::parse_labelled(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let report = evaluate::evaluate(&classifier, &set);
            if misses {
                for miss in &report.misses {
                    println!(
                        "{:<10} expected {:<22} got {:<22} {}",
                        miss.what, miss.expected, miss.got, miss.text
                    );
                }
                println!();
            }
            println!(
                "{} ({} messages)\n{}",
                file.display(),
                set.len(),
                report.summary()
            );
            println!("theme right, by theme:\n{}", report.per_theme_summary());
            Ok(ExitCode::SUCCESS)
        }
        Command::Classify { explain } => {
            let knowledge = load_knowledge(&cli.knowledge)?;
            let classifier = Classifier::new(&knowledge).context("building the theme matcher")?;
            classify_lines(&classifier, explain)?;
            Ok(ExitCode::SUCCESS)
        }
    }
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
