//! The console adapter, the embedded default: a terminal conversation as a
//! young person, or with `--as <promeneur-id>` as that Promeneur, on the
//! configured SQLite file. Two terminals on one file play both sides: what
//! one side says to the other goes through the database's mail table.
//!
//! It only translates: lines in become engine events, actions out become
//! lines on stdout or mail for the other terminal. It decides nothing and
//! logs no message body. Works the same with stdin piped from a file.

use crate::config::PromeneurId;
use crate::engine::{Account, Engine, Inbound, Outbound, Place, Platform, Speaker};
use crate::store::{SqliteStore, StoreError};
use chrono::Utc;
use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Who is at this terminal.
#[derive(Debug, Clone)]
pub enum Side {
    /// A young person or a parent, by a local name.
    Person(String),
    Promeneur(PromeneurId),
}

impl Side {
    pub fn account(&self) -> Account {
        match self {
            Side::Person(name) => Account::new(Platform::Console, format!("personne:{name}")),
            Side::Promeneur(id) => Account::new(Platform::Console, id.0.clone()),
        }
    }
}

/// How often the other terminal's mail is looked at.
const MAIL_EVERY: Duration = Duration::from_millis(250);

enum Input {
    Line(String),
    End,
}

/// Runs the chat until the input ends. `input` is read on its own thread so
/// that replies from the other side show up while waiting for a line.
pub fn chat(
    mut engine: Engine<SqliteStore>,
    side: Side,
    input: impl BufRead + Send + 'static,
    output: &mut impl Write,
    tick_every: Duration,
) -> Result<(), StoreError> {
    let me = side.account();
    // Bounded: a fast pipe waits for the engine rather than filling memory.
    let (lines, received) = mpsc::sync_channel::<Input>(64);
    std::thread::spawn(move || {
        let mut input = input;
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match input.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buffer)
                        .trim_end_matches(['\n', '\r'])
                        .to_string();
                    if lines.send(Input::Line(text)).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = lines.send(Input::End);
    });

    let mut last_tick: Option<Instant> = None;
    loop {
        if last_tick.is_none_or(|t| t.elapsed() >= tick_every) {
            let actions = engine.handle(Inbound::Tick, Utc::now());
            deliver(&mut engine, &me, actions, output)?;
            last_tick = Some(Instant::now());
        }
        for body in engine.store().take_mail(&me)? {
            let _ = writeln!(output, "{body}");
        }
        let _ = output.flush();
        match received.recv_timeout(MAIL_EVERY) {
            Ok(Input::Line(text)) => {
                let actions = engine.handle(
                    Inbound::Message {
                        from: me.clone(),
                        text,
                        place: Place::Direct,
                    },
                    Utc::now(),
                );
                deliver(&mut engine, &me, actions, output)?;
            }
            Ok(Input::End) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    for body in engine.store().take_mail(&me)? {
        let _ = writeln!(output, "{body}");
    }
    let _ = output.flush();
    Ok(())
}

/// Shows what is for this terminal; leaves the rest as mail for the others.
fn deliver(
    engine: &mut Engine<SqliteStore>,
    me: &Account,
    actions: Vec<Outbound>,
    output: &mut impl Write,
) -> Result<(), StoreError> {
    let now = Utc::now().timestamp();
    for action in actions {
        match action {
            Outbound::Say { to, speaker, text } => {
                let shown = render(&speaker, &text);
                if &to == me {
                    let _ = writeln!(output, "{shown}");
                } else if to.platform == Platform::Console {
                    engine.store().post_mail(&to, now, &shown)?;
                }
            }
            Outbound::Staff {
                departement, text, ..
            } => {
                // The console has no staff room: each Promeneur of the
                // département gets the notice.
                let to: Vec<Account> = engine
                    .roster()
                    .of(&departement)
                    .map(|p| Account::new(Platform::Console, p.id.0.clone()))
                    .collect();
                let shown = format!("📋 [équipe {departement}] {text}");
                for account in to {
                    if &account == me {
                        let _ = writeln!(output, "{shown}");
                    } else {
                        engine.store().post_mail(&account, now, &shown)?;
                    }
                }
            }
            // The texts already say it; a terminal has no rooms to make.
            Outbound::HandOff(_) | Outbound::Closed { .. } | Outbound::Released { .. } => {}
        }
    }
    let _ = output.flush();
    Ok(())
}

/// Who speaks is always shown: the bot, or a named human.
pub fn render(speaker: &Speaker, text: &str) -> String {
    let label = match speaker {
        Speaker::Bot => "🤖 bot".to_string(),
        Speaker::Promeneur(card) => format!(
            "👤 {} ({}, {}) — Promeneur du Net, humain",
            card.first_name, card.profession, card.structure
        ),
        Speaker::Person(id) => format!("💬 personne n°{id}"),
    };
    let mut lines = text.lines();
    let mut shown = format!("{label} : {}", lines.next().unwrap_or(""));
    for line in lines {
        shown.push_str("\n    ");
        shown.push_str(line);
    }
    shown
}
