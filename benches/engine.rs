//! Conversation engine benchmarks, with persistence on (a real SQLite file
//! in WAL mode), over 10 000 open conversations:
//! - messages per second on one core, for three mixes: person messages in
//!   conversations already handed over (each still read for danger),
//!   Promeneurs' replies, and both alternating; one transaction per event,
//!   and batched (100 events per transaction, as a busy adapter would);
//! - memory: resident set before and after opening the 10 000 conversations;
//! - restart to ready: knowledge, classifier and database opened on a file
//!   holding 10 000 conversations, until the first answer.
//!
//! Run with `cargo bench --bench engine`. The figures are printed; no test
//! asserts on time.

use chrono::{Duration, TimeZone, Utc};
use promeneur_bot::classify::{Audience, Classifier};
use promeneur_bot::config::Config;
use promeneur_bot::engine::{Account, Conversation, Engine, Inbound, Place, Platform, Stage};
use promeneur_bot::store::{SqliteStore, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const CONVERSATIONS: usize = 10_000;
const MESSAGES: usize = 20_000;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn config() -> Config {
    Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("config/bot.toml"),
        None,
    )
    .expect("valid example configuration")
    .0
}

fn start(config: &Config, file: &Path) -> Engine<SqliteStore> {
    let knowledge =
        promeneur_bot::knowledge::Knowledge::load(&config.knowledge_dir).expect("valid knowledge");
    let classifier = Classifier::new(&knowledge).expect("classifier");
    let store = SqliteStore::open(file).expect("database");
    Engine::new(config, Arc::new(knowledge), Arc::new(classifier), store)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.sqlite3");
    let config = config();
    let promeneurs: Vec<String> = config
        .roster
        .promeneurs
        .iter()
        .map(|p| p.id.0.clone())
        .collect();
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap();

    let mut engine = start(&config, &file);
    let before = rss_mb();
    // 10 000 conversations already handed over, spread over the roster.
    engine.store().begin().unwrap();
    for i in 0..CONVERSATIONS {
        let mut c = Conversation::new(
            Account::new(Platform::Console, format!("personne:{i}")),
            Audience::Jeune,
            now.timestamp(),
        );
        c.stage = Stage::Taken;
        c.departement = promeneur_bot::knowledge::DepartementCode::parse("41");
        c.theme = Some(promeneur_bot::knowledge::ThemeId("orientation".into()));
        c.promeneur = Some(promeneur_bot::config::PromeneurId(
            promeneurs[i % promeneurs.len()].clone(),
        ));
        engine.store().insert(&mut c).unwrap();
    }
    engine.store().commit().unwrap();
    let person = |i: usize| Inbound::Message {
        from: Account::new(Platform::Console, format!("personne:{}", i % CONVERSATIONS)),
        text: "ok merci, je regarde les formations ce soir et je te redis".to_string(),
        place: Place::Direct,
    };
    let reply = |i: usize| Inbound::Message {
        from: Account::new(Platform::Console, promeneurs[i % promeneurs.len()].clone()),
        text: format!("/dire {} d'accord, à demain !", i % CONVERSATIONS + 1),
        place: Place::Direct,
    };

    let mixes: [(&str, &dyn Fn(usize) -> Inbound); 3] = [
        ("person messages (danger read on each)", &person),
        ("Promeneur replies", &reply),
        ("alternating", &|i| {
            if i % 2 == 0 {
                person(i)
            } else {
                reply(i)
            }
        }),
    ];
    println!("engine, {CONVERSATIONS} open conversations, SQLite WAL, one core");
    for (name, make) in mixes {
        let started = Instant::now();
        let mut sent = 0;
        for i in 0..MESSAGES {
            sent += engine
                .handle(make(i), now + Duration::seconds(i as i64 / 1000))
                .len();
        }
        let one = MESSAGES as f64 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        for chunk in (0..MESSAGES).collect::<Vec<_>>().chunks(100) {
            sent += engine
                .handle_batch(
                    chunk
                        .iter()
                        .map(|&i| (make(i), now + Duration::seconds(i as i64 / 1000))),
                )
                .len();
        }
        let batched = MESSAGES as f64 / started.elapsed().as_secs_f64();
        println!("  {name:<40} {one:>8.0} msg/s (a transaction each)  {batched:>8.0} msg/s (100 per transaction)  [{sent} actions]");
    }
    let after = rss_mb();
    println!("  memory: {before:.1} MB resident before the conversations, {after:.1} MB after the runs ({:.1} MB more)", after - before);
    drop(engine);

    let started = Instant::now();
    let mut engine = start(&config, &file);
    let out = engine.handle(person(1), now);
    let ready = started.elapsed();
    assert!(!out.is_empty());
    println!(
        "  restart to ready with {} stored conversations: {:.0} ms (knowledge, classifier, database, first answer)",
        engine.store().count().unwrap(),
        ready.as_secs_f64() * 1000.0
    );
}
