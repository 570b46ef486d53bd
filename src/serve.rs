//! `promeneur-bot serve`: one engine and one database for every adapter the
//! configuration names (Matrix, Discord), each on its own task.
//!
//! The engine is synchronous and owns the SQLite connection, so it runs on a
//! thread of its own. Adapters submit events through an unbounded channel
//! (nothing, least of all a message that signals danger, ever waits for room
//! in a queue); the thread drains what has arrived into one transaction
//! ([`Engine::handle_each`]) and hands each platform the actions that concern
//! it, in order, with where the event came from so the answer goes back
//! there.

use crate::engine::{Account, Engine, Inbound, Outbound, Platform};
use crate::store::SqliteStore;
use chrono::Utc;
use std::collections::HashMap;
use tokio::sync::mpsc;

/// Where an event was written, in the adapter's own terms (a Matrix room id,
/// a Discord channel id), so an answer goes back to the same place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub platform: Platform,
    pub room: String,
    /// Written in a public room or channel: the answer goes privately.
    pub public: bool,
}

struct Job {
    event: Inbound,
    origin: Option<Origin>,
}

/// The actions one event produced for one platform, in order.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Who wrote, when the event was a message.
    pub sender: Option<Account>,
    /// Where they wrote, when it was on this platform.
    pub origin: Option<Origin>,
    pub actions: Vec<Outbound>,
}

/// How adapters reach the engine. Cloning is cheap.
#[derive(Clone)]
pub struct EngineHandle {
    jobs: mpsc::UnboundedSender<Job>,
}

impl EngineHandle {
    /// Queues an event; `false` once the engine has stopped.
    pub fn submit(&self, event: Inbound, origin: Option<Origin>) -> bool {
        self.jobs.send(Job { event, origin }).is_ok()
    }
}

/// The most events handled in one transaction.
const BATCH: usize = 100;

/// Starts the engine's thread. It ends when every [`EngineHandle`] is
/// dropped, after handling what was already submitted.
pub fn spawn_engine(
    mut engine: Engine<SqliteStore>,
    outlets: HashMap<Platform, mpsc::UnboundedSender<Delivery>>,
) -> (EngineHandle, std::thread::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    let thread = std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || {
            while let Some(first) = rx.blocking_recv() {
                let mut jobs = vec![first];
                while jobs.len() < BATCH {
                    match rx.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                let now = Utc::now();
                let mut meta = Vec::with_capacity(jobs.len());
                let mut events = Vec::with_capacity(jobs.len());
                for job in jobs {
                    let sender = match &job.event {
                        Inbound::Message { from, .. } => Some(from.clone()),
                        Inbound::Tick => None,
                    };
                    meta.push((sender, job.origin));
                    events.push((job.event, now));
                }
                let started = std::time::Instant::now();
                let count = events.len();
                let results = engine.handle_each(events);
                tracing::debug!(
                    events = count,
                    micros = started.elapsed().as_micros() as u64,
                    "events handled"
                );
                for ((sender, origin), actions) in meta.into_iter().zip(results) {
                    route(&outlets, sender, origin, actions);
                }
            }
            tracing::info!("engine stopped");
        })
        .expect("the engine thread starts");
    (EngineHandle { jobs: tx }, thread)
}

/// The platform an action is for; `None` for every platform (staff notices
/// go to each platform's staff room).
fn platform_of(action: &Outbound) -> Option<Platform> {
    match action {
        Outbound::Say { to, .. } => Some(to.platform),
        Outbound::Staff { .. } => None,
        Outbound::HandOff(h) => Some(h.person.platform),
        Outbound::Closed { person, .. } | Outbound::Released { person, .. } => {
            Some(person.platform)
        }
    }
}

fn route(
    outlets: &HashMap<Platform, mpsc::UnboundedSender<Delivery>>,
    sender: Option<Account>,
    origin: Option<Origin>,
    actions: Vec<Outbound>,
) {
    for action in &actions {
        if let Outbound::Say { to, .. } = action {
            if !outlets.contains_key(&to.platform) {
                // A Promeneur with no account on the person's platform: the
                // staff room still has the notice.
                tracing::warn!(
                    platform = to.platform.as_str(),
                    "a message has no served platform to go to (a Promeneur without an account there?)"
                );
            }
        }
    }
    for (platform, outlet) in outlets {
        let mine: Vec<Outbound> = actions
            .iter()
            .filter(|a| platform_of(a).is_none_or(|p| p == *platform))
            .cloned()
            .collect();
        // The platform an event came from always hears back, even with
        // nothing to say: a pending slash command must be closed.
        let from_here = origin.as_ref().is_some_and(|o| o.platform == *platform);
        if mine.is_empty() && !from_here {
            continue;
        }
        let delivery = Delivery {
            sender: sender.clone(),
            origin: origin.clone().filter(|o| o.platform == *platform),
            actions: mine,
        };
        if outlet.send(delivery).is_err() {
            tracing::warn!(
                platform = platform.as_str(),
                "an adapter has stopped; its actions are dropped"
            );
        }
    }
}

/// Resolves when the process is asked to stop (SIGINT, SIGTERM).
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM can be listened to");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Serves every platform the configuration names until SIGINT or SIGTERM.
pub fn run(
    config: crate::config::Config,
    knowledge: crate::knowledge::Knowledge,
) -> anyhow::Result<()> {
    use anyhow::Context;
    if config.matrix.is_none() && config.discord.is_none() {
        anyhow::bail!(
            "nothing to serve: {} has no [matrix] or [discord] section (see the README); `promeneur-bot chat` runs the console",
            config.file.display()
        );
    }
    let classifier =
        crate::classify::Classifier::new(&knowledge).context("building the theme matcher")?;
    let store = SqliteStore::open(&config.database)
        .with_context(|| format!("opening the database {}", config.database.display()))?;
    let tick = config.settings.tick;
    let engine = Engine::new(
        &config,
        std::sync::Arc::new(knowledge),
        std::sync::Arc::new(classifier),
        store,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut outlets = HashMap::new();
        let (matrix_tx, matrix_rx) = mpsc::unbounded_channel();
        if config.matrix.is_some() {
            outlets.insert(Platform::Matrix, matrix_tx);
        }
        let (discord_tx, discord_rx) = mpsc::unbounded_channel();
        if config.discord.is_some() {
            outlets.insert(Platform::Discord, discord_tx);
        }
        let (handle, engine_thread) = spawn_engine(engine, outlets);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_tx = std::sync::Arc::new(stop_tx);

        // Each adapter connects (a refused login or token stops the bot
        // here, with what to fix), then runs on its own task.
        let mut adapters = tokio::task::JoinSet::new();
        if let Some(matrix) = &config.matrix {
            let adapter = crate::matrix::MatrixAdapter::connect(
                &config,
                matrix,
                handle.clone(),
                stop_tx.clone(),
            )
            .await?;
            let stop = stop_rx.clone();
            adapters.spawn(async move { ("Matrix", adapter.run(matrix_rx, stop).await) });
        }
        if let Some(discord) = &config.discord {
            let adapter = crate::discord::DiscordAdapter::connect(
                &config,
                discord,
                handle.clone(),
                stop_tx.clone(),
            )
            .await?;
            let stop = stop_rx.clone();
            adapters.spawn(async move { ("Discord", adapter.run(discord_rx, stop).await) });
        }
        // The engine's thread never ends while adapters hold its handle:
        // if it does, it failed, and serving without it would swallow
        // messages.
        // (Polled: a blocking join would hold the runtime's shutdown.)
        let engine_watch = async {
            while !engine_thread.is_finished() {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        };
        tokio::pin!(engine_watch);
        let ticker = {
            let handle = handle.clone();
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(tick);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tokio::select! {
                        _ = interval.tick() => { handle.submit(Inbound::Tick, None); }
                        _ = stop.changed() => break,
                    }
                }
            })
        };
        let mut internal_stop = stop_rx.clone();
        let mut failure: Option<anyhow::Error> = None;
        let first = tokio::select! {
            _ = shutdown_signal() => {
                tracing::info!("stopping");
                None
            }
            _ = internal_stop.wait_for(|stop| *stop) => None,
            _ = &mut engine_watch => {
                failure = Some(anyhow::anyhow!("the conversation engine stopped unexpectedly; the bot stops so it can be restarted"));
                None
            }
            ended = adapters.join_next() => ended,
        };
        // One adapter ending stops the others: a half-served bot would look
        // alive while a platform goes unanswered.
        let _ = stop_tx.send(true);
        let mut results: Vec<_> = first.into_iter().collect();
        while let Some(ended) = adapters.join_next().await {
            results.push(ended);
        }
        for ended in results {
            let error = match ended {
                Ok((_, Ok(()))) => continue,
                Ok((name, Err(e))) => e.context(format!("the {name} adapter failed")),
                Err(e) => anyhow::anyhow!("an adapter failed: {e}"),
            };
            failure.get_or_insert(error);
        }
        let _ = ticker.await;
        drop(handle);
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })
}
