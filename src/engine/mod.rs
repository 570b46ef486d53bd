//! The conversation engine, sans I/O: an inbound event (a person's message, a
//! Promeneur's command, a clock tick) becomes a list of outbound actions
//! (replies, hand-offs, notices). Time is an argument; state lives behind the
//! [`Store`] trait.
//!
//! It never touches the network, the environment or the wall clock, never
//! names a platform library, and never logs a message body. The emergency
//! lines for a message that signals danger are decided before anything that
//! can fail, so a broken database never holds them back.

mod command;
pub mod conversation;
pub mod duty;
pub mod say;

pub use conversation::{Account, Conversation, ConversationId, Note, Platform, Stage};

use crate::classify::{Audience, Classifier, CONFIDENT};
use crate::config::{Config, Promeneur, PromeneurId, Roster, Settings};
use crate::knowledge::{DepartementCode, Knowledge, Resource, ThemeId};
use crate::store::{AuditEntry, DutySwitch, Store, StoreError};
use chrono::{DateTime, Utc};
use command::{PersonCommand, StaffCommand};
use say::Voice;
use std::collections::HashMap;
use std::sync::Arc;

/// Where a message was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A direct conversation with the bot (a DM, the console): the bot
    /// relays between the person and their Promeneur.
    Direct,
    /// A room or thread made for one hand-off, where the person and the
    /// Promeneur read each other: nothing is relayed.
    HandOffRoom(ConversationId),
    /// A département's staff room or channel.
    StaffRoom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Message {
        from: Account,
        text: String,
        place: Place,
    },
    /// The clock: time-outs, permanences starting, the retention purge.
    Tick,
}

/// Who is speaking in a message the adapters show: the person must always
/// know whether it is the bot or a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speaker {
    Bot,
    Promeneur(Box<IdentityCard>),
    /// The person of a conversation, relayed to their Promeneur.
    Person(ConversationId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    Say {
        to: Account,
        speaker: Speaker,
        text: String,
    },
    /// A notice for a département's staff room.
    Staff {
        departement: DepartementCode,
        /// The conversation the notice is about (a "take" button).
        conversation: ConversationId,
        text: String,
    },
    /// A hand-off was offered or taken: adapters with rooms or threads make
    /// or update one for it.
    HandOff(Box<HandOff>),
    /// The conversation went back to a queue (transferred to a
    /// département): whoever had it leaves its room or thread.
    Released {
        conversation: ConversationId,
        person: Account,
    },
    /// The conversation is over (closed, stopped, erased).
    Closed {
        conversation: ConversationId,
        person: Account,
        promeneur: Option<PromeneurId>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandOff {
    pub conversation: ConversationId,
    pub person: Account,
    pub promeneur: PromeneurId,
    pub card: IdentityCard,
    pub summary: String,
    pub taken: bool,
}

/// How a Promeneur is shown: always first name, profession, structure and
/// département, and the photo where the platform can show one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCard {
    pub promeneur: PromeneurId,
    pub first_name: String,
    pub photo: String,
    pub profession: String,
    pub structure: String,
    /// "Loir-et-Cher (41)".
    pub departements: Vec<String>,
    /// Theme labels the Promeneur helps with.
    pub helps_with: Vec<String>,
    /// The Promeneur's own accounts, for adapters that bring them into a
    /// room or thread.
    pub matrix: Option<String>,
    pub discord: Option<String>,
}

impl IdentityCard {
    /// One line: "Camille — animatrice jeunesse, MJC de Blois (Loir-et-Cher (41))".
    pub fn headline(&self) -> String {
        format!(
            "{} — {}, {} — Promeneur du Net, {}",
            self.first_name,
            self.profession,
            self.structure,
            self.departements.join(", ")
        )
    }

    pub fn text(&self) -> String {
        format!(
            "👤 {}\nPhoto : {}\nPeut aider sur : {}",
            self.headline(),
            self.photo,
            self.helps_with.join(", ")
        )
    }
}

/// The engine: one per process, owned by one task.
pub struct Engine<S> {
    knowledge: Arc<Knowledge>,
    classifier: Arc<Classifier>,
    roster: Arc<Roster>,
    settings: Settings,
    store: S,
    accounts: HashMap<Account, PromeneurId>,
    last_purge: Option<i64>,
    /// People who typed `/oubli` and have not answered yet, with when they
    /// asked. Kept in memory only: a confirmation is no reason to store.
    erase_asked: HashMap<Account, i64>,
}

type Out = Vec<Outbound>;

/// How long a `/oubli` waits for its "oui".
const ERASE_CONFIRMATION_SECONDS: i64 = 10 * 60;

impl<S: Store> Engine<S> {
    pub fn new(
        config: &Config,
        knowledge: Arc<Knowledge>,
        classifier: Arc<Classifier>,
        store: S,
    ) -> Engine<S> {
        let roster = Arc::new(config.roster.clone());
        let mut accounts = HashMap::new();
        for p in &roster.promeneurs {
            accounts.insert(
                Account::new(Platform::Console, p.id.0.clone()),
                p.id.clone(),
            );
            if let Some(id) = &p.matrix {
                accounts.insert(Account::new(Platform::Matrix, id.clone()), p.id.clone());
            }
            if let Some(id) = &p.discord {
                accounts.insert(Account::new(Platform::Discord, id.clone()), p.id.clone());
            }
        }
        Engine {
            knowledge,
            classifier,
            roster,
            settings: config.settings.clone(),
            store,
            accounts,
            last_purge: None,
            erase_asked: HashMap::new(),
        }
    }

    pub fn store(&mut self) -> &mut S {
        &mut self.store
    }

    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// Handles one event as one unit of work.
    pub fn handle(&mut self, event: Inbound, now: DateTime<Utc>) -> Vec<Outbound> {
        let mut urgent = Vec::new();
        let mut out = Vec::new();
        let sender = match &event {
            Inbound::Message { from, .. } => Some(from.clone()),
            Inbound::Tick => None,
        };
        let result = self.store.begin().and_then(|()| match event {
            Inbound::Message { from, text, place } => match self.accounts.get(&from).cloned() {
                Some(promeneur) => {
                    self.staff_message(&promeneur, &from, &text, &place, now, &mut out)
                }
                None => self.person_message(&from, &text, &place, now, &mut urgent, &mut out),
            },
            Inbound::Tick => self.tick(now, &mut out),
        });
        let result = result.and_then(|()| self.store.commit());
        if let Err(e) = result {
            self.store.rollback();
            tracing::error!(error = %e, "an event could not be handled; its changes were rolled back");
            // Nothing half-done goes out: whoever wrote gets a kind word and
            // a way forward, and the emergency lines already decided.
            out.clear();
            if let Some(sender) = sender {
                out.push(self.bot_says(&sender, say::technical_problem(Voice(Audience::Jeune))));
            }
        }
        urgent.append(&mut out);
        urgent
    }

    /// Handles events in one unit of work (one transaction, a savepoint per
    /// event, so a failed event is undone alone): what a busy
    /// adapter uses to keep up.
    pub fn handle_batch(
        &mut self,
        events: impl IntoIterator<Item = (Inbound, DateTime<Utc>)>,
    ) -> Vec<Outbound> {
        self.handle_each(events).into_iter().flatten().collect()
    }

    /// Like [`Engine::handle_batch`], with the actions of each event apart,
    /// in order: an adapter answers each where it was asked.
    pub fn handle_each(
        &mut self,
        events: impl IntoIterator<Item = (Inbound, DateTime<Utc>)>,
    ) -> Vec<Vec<Outbound>> {
        let _ = self.store.begin();
        let out: Vec<Vec<Outbound>> = events
            .into_iter()
            .map(|(event, now)| self.handle(event, now))
            .collect();
        if let Err(e) = self.store.commit() {
            tracing::error!(error = %e, "a batch could not be committed");
        }
        out
    }

    fn bot_says(&self, to: &Account, text: String) -> Outbound {
        Outbound::Say {
            to: to.clone(),
            speaker: Speaker::Bot,
            text,
        }
    }

    // ----- the person's side -----

    fn person_message(
        &mut self,
        from: &Account,
        text: &str,
        place: &Place,
        now: DateTime<Utc>,
        urgent: &mut Out,
        out: &mut Out,
    ) -> Result<(), StoreError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let stored = self.store.open_conversation(from);
        let existing = match stored {
            Ok(found) => found,
            Err(e) => {
                // The lines first, whatever the database does.
                let hits = self.classifier.danger(text);
                if !hits.is_empty() {
                    let lines = self.lines_for(hits.iter().flat_map(|h| h.lines.iter()));
                    urgent.push(
                        self.bot_says(from, say::danger(Voice(Audience::Jeune), &lines, now)),
                    );
                }
                return Err(e);
            }
        };

        if let Some(command) = PersonCommand::parse(text) {
            let voice = Voice(existing.as_ref().map_or(Audience::Jeune, |c| c.audience));
            return self.person_command(from, command, existing, voice, now, out);
        }

        // The answer to `/oubli`: only a plain "oui" erases.
        if let Some(asked) = self.erase_asked.remove(from) {
            let voice = Voice(existing.as_ref().map_or(Audience::Jeune, |c| c.audience));
            if now.timestamp() - asked < ERASE_CONFIRMATION_SECONDS
                && crate::text::fold_phrase(text).split_whitespace().next() == Some("oui")
            {
                return self.erase(from, voice, out);
            }
            out.push(self.bot_says(from, say::erase_cancelled(voice)));
            return Ok(());
        }

        let before_handoff = existing.as_ref().is_none_or(|c| {
            matches!(
                c.stage,
                Stage::AskDepartement | Stage::AskTheme | Stage::AskConsent | Stage::Unserved
            )
        });
        // Before a hand-off every reader is needed; after it, only danger.
        let (reading, hits) = if before_handoff {
            let (mut reading, hits) = self.classifier.read_with_danger(text);
            let asked_place = existing
                .as_ref()
                .is_some_and(|c| c.stage == Stage::AskDepartement);
            if asked_place
                && reading.department.is_none()
                && reading.department_candidates.is_empty()
            {
                // An answer to "where do you live?" is a place even without
                // "à" before it: "Saint-Denis", "Tours".
                (reading.department, reading.department_candidates) =
                    self.classifier.place(&format!("j'habite à {text}"));
            }
            (Some(reading), hits)
        } else {
            (None, self.classifier.danger(text))
        };

        let mut c = match existing {
            Some(c) => c,
            None => {
                let audience = reading.as_ref().map_or(Audience::Jeune, |r| r.audience);
                let mut c = Conversation::new(from.clone(), audience, now.timestamp());
                self.store.insert(&mut c)?;
                out.push(self.bot_says(
                    from,
                    say::welcome(Voice(audience), self.settings.retention_days()),
                ));
                c
            }
        };
        if reading
            .as_ref()
            .is_some_and(|r| r.audience == Audience::Parent)
        {
            c.audience = Audience::Parent;
        }
        let voice = Voice(c.audience);
        c.updated_at = now.timestamp();

        if !hits.is_empty() {
            let lines = self.lines_for(hits.iter().flat_map(|h| h.lines.iter()));
            urgent.push(self.bot_says(from, say::danger(voice, &lines, now)));
            let first_danger = c.danger.is_empty();
            for hit in &hits {
                if !c.danger.contains(&hit.signal) {
                    c.danger.push(hit.signal.clone());
                }
            }
            if c.theme.is_none() {
                c.theme = hits.iter().find_map(|h| h.theme.clone());
            }
            if let Some(p) = c.handled_by() {
                let labels: Vec<&str> = hits.iter().map(|h| h.label.as_str()).collect();
                let to = self.reach(p, c.person.platform);
                out.push(self.bot_says(
                    &to,
                    format!("⚠️ Conversation n°{} : signal de danger ({}). Les lignes d'urgence ont été données.", c.id, labels.join(", ")),
                ));
            }
            if first_danger && c.stage == Stage::Queued {
                // A queued request that turns urgent jumps the queue now.
                self.store.update(&c)?;
                self.distribute(now, out)?;
                return Ok(());
            }
        }

        match c.stage {
            Stage::Taken => {
                if *place == Place::Direct {
                    if let Some(p) = c.promeneur.clone() {
                        let to = self.reach(&p, c.person.platform);
                        out.push(Outbound::Say {
                            to,
                            speaker: Speaker::Person(c.id),
                            text: text.to_string(),
                        });
                    }
                }
                self.store.update(&c)?;
            }
            Stage::Queued | Stage::Offered => {
                if *place == Place::Direct {
                    // Kept for the Promeneur, and only until the hand-off.
                    if c.waiting_messages.len() < 20 {
                        c.waiting_messages.push(text.to_string());
                    }
                    let name = c
                        .promeneur
                        .as_ref()
                        .and_then(|p| self.roster.promeneur(p))
                        .map(|p| p.first_name.clone());
                    if hits.is_empty() {
                        out.push(self.bot_says(from, say::waiting_kept(voice, name.as_deref())));
                    }
                }
                self.store.update(&c)?;
            }
            Stage::Closed => {}
            Stage::AskDepartement | Stage::AskTheme | Stage::AskConsent | Stage::Unserved => {
                let reading = reading.expect("read before a hand-off");
                let urgent_now = !hits.is_empty();
                // The message worth showing a Promeneur is the one that says
                // what it is about, not an answer to a question.
                if c.first_message.is_none() && (reading.confidence >= CONFIDENT || urgent_now) {
                    c.first_message = Some(text.to_string());
                }
                let asked = c.stage;
                // The answer to the question asked, then whatever else the
                // message says.
                let mut understood = false;
                match asked {
                    Stage::AskDepartement if !c.candidates.is_empty() => {
                        if let Some(code) = pick_candidate(text, &c.candidates, &reading.department)
                        {
                            c.departement = Some(code);
                            c.candidates.clear();
                            understood = true;
                        }
                    }
                    Stage::AskTheme => {
                        if let Some(theme) = self.pick_theme(text) {
                            c.theme = Some(theme);
                            understood = true;
                        }
                    }
                    Stage::AskConsent => {
                        if is_yes(text) {
                            c.consent = Some(true);
                            understood = true;
                        } else if is_no(text) {
                            c.consent = Some(false);
                            understood = true;
                        }
                    }
                    _ => {}
                }
                if c.theme.is_none() && reading.confidence >= CONFIDENT {
                    c.theme = reading.theme.clone();
                    understood = true;
                }
                if c.departement.is_none() || asked == Stage::Unserved {
                    if let Some(code) = reading.department.clone() {
                        if asked == Stage::Unserved {
                            c.served_by = None;
                        }
                        c.departement = Some(code);
                        c.candidates.clear();
                        understood = true;
                    } else if !reading.department_candidates.is_empty() && c.departement.is_none() {
                        c.candidates = reading.department_candidates.clone();
                        understood = true;
                    }
                }
                if asked == Stage::Unserved && !understood {
                    self.store.update(&c)?;
                    if !urgent_now {
                        let resources = say::theme_resources(
                            &self.knowledge,
                            c.theme.as_ref(),
                            c.audience,
                            now,
                        );
                        out.push(self.bot_says(from, say::resources(voice, &resources, now)));
                    }
                    return Ok(());
                }
                if !understood && !urgent_now {
                    // Say what went wrong with the answer before asking again.
                    match asked {
                        Stage::AskDepartement if c.candidates.is_empty() && c.theme.is_some() => {
                            self.store.update(&c)?;
                            out.push(self.bot_says(from, say::ask_departement_again(voice)));
                            return Ok(());
                        }
                        Stage::AskConsent => {
                            self.store.update(&c)?;
                            out.push(self.bot_says(from, say::ask_consent_again(voice)));
                            return Ok(());
                        }
                        _ => {}
                    }
                }
                if urgent_now && c.departement.is_some() {
                    out.push(self.bot_says(from, say::danger_then_routing(voice)));
                }
                self.advance(&mut c, now, out)?;
            }
        }
        Ok(())
    }

    /// Asks the next thing the hand-off needs, or hands off.
    fn advance(
        &mut self,
        c: &mut Conversation,
        now: DateTime<Utc>,
        out: &mut Out,
    ) -> Result<(), StoreError> {
        let voice = Voice(c.audience);
        let person = c.person.clone();
        // Urgent requests are routed on the danger, whatever the theme.
        if c.theme.is_none() && !c.urgent() {
            c.stage = Stage::AskTheme;
            out.push(self.bot_says(&person, say::ask_theme(voice, &self.theme_choices())));
        } else if c.departement.is_none() {
            c.stage = Stage::AskDepartement;
            let text = self.departement_question(c, voice);
            out.push(self.bot_says(&person, text));
        } else if !c.urgent() && c.consent.is_none() && c.first_message.is_some() {
            c.stage = Stage::AskConsent;
            out.push(self.bot_says(&person, say::ask_consent(voice)));
        } else {
            return self.route(c, now, out);
        }
        self.store.update(c)
    }

    fn departement_question(&self, c: &Conversation, voice: Voice) -> String {
        if c.candidates.is_empty() {
            say::ask_departement(voice)
        } else {
            let choices: Vec<(String, String)> = c
                .candidates
                .iter()
                .map(|code| (code.to_string(), self.departement_name(code)))
                .collect();
            say::ask_candidates(voice, &choices)
        }
    }

    fn theme_choices(&self) -> Vec<(ThemeId, String)> {
        self.knowledge
            .themes
            .iter()
            .map(|t| (t.id.clone(), t.label.clone()))
            .collect()
    }

    /// A number from the list, or a theme's id or label (the matcher reads
    /// any other words).
    fn pick_theme(&self, text: &str) -> Option<ThemeId> {
        let choices = self.theme_choices();
        let trimmed = text.trim().trim_end_matches(['.', ')']);
        if let Ok(n) = trimmed.parse::<usize>() {
            return choices.get(n.checked_sub(1)?).map(|(id, _)| id.clone());
        }
        let folded = crate::text::fold_phrase(trimmed);
        choices
            .iter()
            .find(|(id, label)| folded == id.as_str() || folded == crate::text::fold_phrase(label))
            .map(|(id, _)| id.clone())
    }

    fn departement_name(&self, code: &DepartementCode) -> String {
        self.knowledge
            .departement(code)
            .map_or_else(|| code.to_string(), |d| d.name.clone())
    }

    fn departement_label(&self, code: &DepartementCode) -> String {
        format!("{} ({code})", self.departement_name(code))
    }

    /// "Loir-et-Cher, 41": for sentences that already put it in brackets.
    fn departement_short(&self, code: &DepartementCode) -> String {
        format!("{}, {code}", self.departement_name(code))
    }

    /// Hands the conversation to an on-duty Promeneur, or queues it, or gives
    /// the national resources when nobody serves the département.
    fn route(
        &mut self,
        c: &mut Conversation,
        now: DateTime<Utc>,
        out: &mut Out,
    ) -> Result<(), StoreError> {
        let voice = Voice(c.audience);
        let person = c.person.clone();
        let Some(own) = c.departement.clone() else {
            return self.store.update(c);
        };
        let serving = match c.served_by.clone() {
            Some(s) => s,
            None => {
                if self.roster.of(&own).next().is_some() {
                    own.clone()
                } else {
                    let fallback = self
                        .roster
                        .departements
                        .get(&own)
                        .into_iter()
                        .flat_map(|d| d.fallback.iter())
                        .find(|f| self.roster.of(f).next().is_some())
                        .cloned();
                    match fallback {
                        Some(f) => {
                            out.push(self.bot_says(
                                &person,
                                say::fallback(
                                    voice,
                                    &self.departement_short(&own),
                                    &self.departement_short(&f),
                                ),
                            ));
                            c.served_by = Some(f.clone());
                            f
                        }
                        None => {
                            c.stage = Stage::Unserved;
                            out.push(self.bot_says(
                                &person,
                                say::unserved(voice, &self.departement_short(&own)),
                            ));
                            let resources = say::theme_resources(
                                &self.knowledge,
                                c.theme.as_ref(),
                                c.audience,
                                now,
                            );
                            out.push(
                                self.bot_says(&person, say::resources(voice, &resources, now)),
                            );
                            return self.store.update(c);
                        }
                    }
                }
            }
        };
        let exclude = c.offered_to.clone();
        match self.pick(&serving, c.theme.as_ref(), c.urgent(), &exclude, now)? {
            Some(p) => self.offer(c, &p, None, now, out),
            None => {
                c.stage = Stage::Queued;
                c.promeneur = None;
                c.queued_at.get_or_insert(now.timestamp());
                let next = self.next_permanence(&serving, c.theme.as_ref(), now);
                out.push(self.bot_says(
                    &person,
                    say::nobody_on_duty(voice, &self.departement_short(&serving), next, c.urgent()),
                ));
                if !c.urgent() {
                    let resources =
                        say::theme_resources(&self.knowledge, c.theme.as_ref(), c.audience, now);
                    out.push(self.bot_says(&person, say::resources(voice, &resources, now)));
                }
                out.push(Outbound::Staff {
                    departement: serving.clone(),
                    conversation: c.id,
                    text: format!(
                        "📥 {} — en file d'attente, personne n'est de permanence.",
                        self.summary(c)
                    ),
                });
                self.store.update(c)
            }
        }
    }

    /// The on-duty Promeneur of a département with the fewest open
    /// conversations below their capacity, competent for the theme (any
    /// competence will do when it is urgent).
    fn pick(
        &mut self,
        departement: &DepartementCode,
        theme: Option<&ThemeId>,
        urgent: bool,
        exclude: &[PromeneurId],
        now: DateTime<Utc>,
    ) -> Result<Option<PromeneurId>, StoreError> {
        let loads = self.store.loads()?;
        let roster = self.roster.clone();
        let mut best: Option<(u32, bool, &Promeneur)> = None;
        for p in roster.of(departement) {
            if exclude.contains(&p.id) {
                continue;
            }
            let load = loads.get(&p.id).copied().unwrap_or(0);
            if load >= p.capacity {
                continue;
            }
            let competent = p.competent_for(theme);
            if !competent && !urgent {
                continue;
            }
            if !duty::on_duty(p, self.store.duty_switch(&p.id)?, now) {
                continue;
            }
            // Competence first, then the lightest load; ties by roster order.
            let better = match &best {
                None => true,
                Some((best_load, best_competent, _)) => {
                    (competent && !best_competent)
                        || (competent == *best_competent && load < *best_load)
                }
            };
            if better {
                best = Some((load, competent, p));
            }
        }
        Ok(best.map(|(_, _, p)| p.id.clone()))
    }

    fn next_permanence(
        &self,
        departement: &DepartementCode,
        theme: Option<&ThemeId>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let timezone = self
            .roster
            .departements
            .get(departement)
            .map_or(chrono_tz::Europe::Paris, |d| d.timezone);
        let next = self
            .roster
            .of(departement)
            .filter(|p| p.competent_for(theme))
            .filter_map(|p| duty::next_permanence(p, now))
            .min()?;
        let mut words = duty::in_words(next, now, timezone);
        if timezone != chrono_tz::Europe::Paris {
            words.push_str(" (heure locale)");
        }
        Some(words)
    }

    fn offer(
        &mut self,
        c: &mut Conversation,
        promeneur: &PromeneurId,
        previous: Option<String>,
        now: DateTime<Utc>,
        out: &mut Out,
    ) -> Result<(), StoreError> {
        let voice = Voice(c.audience);
        c.stage = Stage::Offered;
        c.promeneur = Some(promeneur.clone());
        c.offered_to.push(promeneur.clone());
        c.offered_at = Some(now.timestamp());
        let card = self.card(promeneur);
        let person = c.person.clone();
        if c.notify {
            out.push(self.bot_says(&person, say::notify_now(voice)));
            c.notify = false;
        }
        let text = match previous {
            Some(previous) => say::reoffered(voice, &previous, &card),
            None => say::offered(voice, &card),
        };
        out.push(self.bot_says(&person, text));
        let summary = self.summary(c);
        let mut notice = format!("🔔 Nouvelle demande pour toi : {summary}.");
        if c.consent == Some(true) {
            if let Some(first) = &c.first_message {
                notice.push_str(&format!(
                    "\nPremier message (partagé avec son accord) : « {first} »"
                ));
            }
        }
        notice.push_str(&format!("\nPour la prendre : /prendre {}", c.id));
        let to = self.reach(promeneur, c.person.platform);
        out.push(self.bot_says(&to, notice));
        if let Some(serving) = c.serving().cloned() {
            out.push(Outbound::Staff {
                departement: serving,
                conversation: c.id,
                text: format!("📨 {summary} — proposée à {}.", card.first_name),
            });
        }
        out.push(Outbound::HandOff(Box::new(HandOff {
            conversation: c.id,
            person,
            promeneur: promeneur.clone(),
            card,
            summary,
            taken: false,
        })));
        self.store.update(c)
    }

    /// "Demande n°12 — ⚠ urgent (suicide) · thème : … · jeune · Loir-et-Cher (41)".
    fn summary(&self, c: &Conversation) -> String {
        let mut parts = vec![format!("Demande n°{}", c.id)];
        if c.urgent() {
            parts.push(format!("⚠️ URGENT ({})", self.danger_labels(c).join(", ")));
        }
        let theme = c
            .theme
            .as_ref()
            .and_then(|t| self.knowledge.theme(t.as_str()))
            .map_or("non précisé".to_string(), |t| t.label.clone());
        parts.push(format!("thème : {theme}"));
        parts.push(match c.audience {
            Audience::Jeune => "un·e jeune".to_string(),
            Audience::Parent => "un parent".to_string(),
        });
        if let Some(d) = &c.departement {
            parts.push(self.departement_label(d));
        }
        parts.join(" · ")
    }

    fn danger_labels(&self, c: &Conversation) -> Vec<String> {
        c.danger
            .iter()
            .map(|id| {
                self.knowledge
                    .danger
                    .iter()
                    .find(|s| &s.id == id)
                    .map_or(id.clone(), |s| s.label.clone())
            })
            .collect()
    }

    pub fn card(&self, id: &PromeneurId) -> IdentityCard {
        let p = self
            .roster
            .promeneur(id)
            .expect("cards are made for roster Promeneurs only");
        let helps_with = if p.themes.is_empty() {
            vec!["tous les sujets".to_string()]
        } else {
            p.themes
                .iter()
                .filter_map(|t| self.knowledge.theme(t.as_str()))
                .map(|t| t.label.clone())
                .collect()
        };
        IdentityCard {
            promeneur: p.id.clone(),
            first_name: p.first_name.clone(),
            photo: p.photo.clone(),
            profession: p.profession.clone(),
            structure: p.structure.clone(),
            departements: p
                .departements
                .iter()
                .map(|d| self.departement_label(d))
                .collect(),
            helps_with,
            matrix: p.matrix.clone(),
            discord: p.discord.clone(),
        }
    }

    /// The account a Promeneur is reached on: the person's platform if they
    /// have one there, else their console.
    fn reach(&self, id: &PromeneurId, platform: Platform) -> Account {
        let p = self.roster.promeneur(id);
        let account = match platform {
            Platform::Matrix => p.and_then(|p| p.matrix.clone()),
            Platform::Discord => p.and_then(|p| p.discord.clone()),
            Platform::Console => None,
        };
        match account {
            Some(account) => Account::new(platform, account),
            None => Account::new(Platform::Console, id.0.clone()),
        }
    }

    fn lines_for<'a>(
        &self,
        ids: impl Iterator<Item = &'a crate::knowledge::ResourceId>,
    ) -> Vec<&Resource> {
        let mut lines: Vec<&Resource> = Vec::new();
        for id in ids {
            if let Some(r) = self.knowledge.resource(id) {
                if !lines.iter().any(|l| l.id == r.id) {
                    lines.push(r);
                }
            }
        }
        lines.truncate(5);
        lines
    }

    fn person_command(
        &mut self,
        from: &Account,
        command: PersonCommand,
        existing: Option<Conversation>,
        voice: Voice,
        now: DateTime<Utc>,
        out: &mut Out,
    ) -> Result<(), StoreError> {
        match command {
            PersonCommand::Help => out.push(self.bot_says(from, say::help(voice))),
            PersonCommand::Forget => {
                self.erase_asked.insert(from.clone(), now.timestamp());
                out.push(self.bot_says(from, say::confirm_erase(voice)));
            }
            PersonCommand::Stop => {
                if let Some(mut c) = existing {
                    self.close(&mut c, out)?;
                }
                out.push(self.bot_says(from, say::stopped(voice, self.settings.retention_days())));
            }
            PersonCommand::Notify => match existing {
                Some(mut c) if c.stage == Stage::Queued => {
                    c.notify = true;
                    c.updated_at = now.timestamp();
                    self.store.update(&c)?;
                    out.push(self.bot_says(from, say::notify_set(voice)));
                }
                _ => out.push(self.bot_says(from, say::help(voice))),
            },
            PersonCommand::StaffOnly => out.push(self.bot_says(from, say::staff_only())),
            PersonCommand::Unknown => out.push(self.bot_says(from, say::unknown_command(voice))),
        }
        Ok(())
    }

    fn erase(&mut self, from: &Account, voice: Voice, out: &mut Out) -> Result<(), StoreError> {
        let open = self.store.open_conversation(from)?;
        let erased = self.store.erase_person(from)?;
        if let Some(c) = open {
            self.ended(
                &c,
                format!("La personne de la conversation n°{} a effacé ses données : la conversation est close.", c.id),
                out,
            );
        }
        let text = if erased.is_empty() {
            say::nothing_to_erase(voice)
        } else {
            say::erased(voice)
        };
        out.push(self.bot_says(from, text));
        Ok(())
    }

    fn close(&mut self, c: &mut Conversation, out: &mut Out) -> Result<(), StoreError> {
        let before = c.clone();
        c.stage = Stage::Closed;
        c.forget_bodies();
        self.store.update(c)?;
        self.ended(
            &before,
            format!("La conversation n°{} est terminée par la personne.", c.id),
            out,
        );
        Ok(())
    }

    /// The person ended the conversation (`/stop`, `/oubli`): its
    /// Promeneur is told, and adapters may close its room.
    fn ended(&self, c: &Conversation, notice: String, out: &mut Out) {
        if let Some(p) = c.handled_by() {
            let to = self.reach(p, c.person.platform);
            out.push(self.bot_says(&to, notice));
        }
        out.push(Outbound::Closed {
            conversation: c.id,
            person: c.person.clone(),
            promeneur: c.handled_by().cloned(),
        });
    }

    // ----- the clock -----

    fn tick(&mut self, now: DateTime<Utc>, out: &mut Out) -> Result<(), StoreError> {
        self.expire_offers(now, out)?;
        self.distribute(now, out)?;
        let every = self.settings.purge_every.as_secs() as i64;
        if self
            .last_purge
            .is_none_or(|last| now.timestamp() - last >= every)
        {
            let before = (now - self.settings.retention).timestamp();
            let removed = self.store.purge(before)?;
            if removed > 0 {
                tracing::info!(removed, "retention purge");
            }
            self.last_purge = Some(now.timestamp());
        }
        Ok(())
    }

    /// Offers not taken in time go to the next Promeneur; the coordinator
    /// is told.
    fn expire_offers(&mut self, now: DateTime<Utc>, out: &mut Out) -> Result<(), StoreError> {
        let deadline = (now - self.settings.handoff_timeout).timestamp();
        let expired: Vec<Conversation> = self
            .store
            .waiting()?
            .into_iter()
            .filter(|c| c.stage == Stage::Offered && c.offered_at.is_some_and(|at| at <= deadline))
            .collect();
        for mut c in expired {
            let Some(serving) = c.serving().cloned() else {
                continue;
            };
            let previous = c.promeneur.clone();
            let previous_name = previous
                .as_ref()
                .and_then(|p| self.roster.promeneur(p))
                .map_or(String::new(), |p| p.first_name.clone());
            let minutes = self.settings.handoff_timeout.num_minutes();
            let exclude = c.offered_to.clone();
            let next = self.pick(&serving, c.theme.as_ref(), c.urgent(), &exclude, now)?;
            if let Some(previous) = &previous {
                let to = self.reach(previous, c.person.platform);
                out.push(self.bot_says(&to, format!("La demande n°{} n'a pas été prise en {minutes} min : elle passe à quelqu'un d'autre.", c.id)));
            }
            let coordinator_note = match &next {
                Some(next) => format!(
                    "⏱ {} n'a pas été prise par {previous_name} en {minutes} min : proposée à {}.",
                    self.summary(&c),
                    self.roster.promeneur(next).map_or("?", |p| p.first_name.as_str())
                ),
                None => format!(
                    "⏱ {} n'a pas été prise par {previous_name} en {minutes} min, et personne d'autre n'est disponible : remise en file.",
                    self.summary(&c)
                ),
            };
            if let Some(d) = self.roster.departements.get(&serving) {
                let to = self.reach(&d.coordinator, c.person.platform);
                out.push(self.bot_says(&to, coordinator_note));
            }
            match next {
                Some(next) => self.offer(&mut c, &next, Some(previous_name), now, out)?,
                None => {
                    c.stage = Stage::Queued;
                    c.promeneur = None;
                    c.queued_at.get_or_insert(now.timestamp());
                    self.store.update(&c)?;
                }
            }
        }
        Ok(())
    }

    /// Queued requests go to whoever is on duty, urgent ones first.
    fn distribute(&mut self, now: DateTime<Utc>, out: &mut Out) -> Result<(), StoreError> {
        let mut queued: Vec<Conversation> = self
            .store
            .waiting()?
            .into_iter()
            .filter(|c| c.stage == Stage::Queued)
            .collect();
        queued.sort_by_key(|c| (!c.urgent(), c.queued_at.unwrap_or(c.created_at), c.id));
        for mut c in queued {
            let Some(serving) = c.serving().cloned() else {
                continue;
            };
            let exclude = c.offered_to.clone();
            if let Some(p) = self.pick(&serving, c.theme.as_ref(), c.urgent(), &exclude, now)? {
                self.offer(&mut c, &p, None, now, out)?;
            }
        }
        Ok(())
    }

    // ----- the Promeneurs' side -----

    fn staff_message(
        &mut self,
        promeneur: &PromeneurId,
        from: &Account,
        text: &str,
        place: &Place,
        now: DateTime<Utc>,
        out: &mut Out,
    ) -> Result<(), StoreError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let context = match place {
            Place::HandOffRoom(id) => Some(*id),
            _ => None,
        };
        let Some(command) = StaffCommand::parse(text) else {
            // Plain words: for the person, when it is clear who.
            if matches!(place, Place::Direct) {
                return self.say_to_person(promeneur, from, None, text, now, out);
            }
            return Ok(());
        };
        let reply = |out: &mut Out, text: String| {
            out.push(Outbound::Say {
                to: from.clone(),
                speaker: Speaker::Bot,
                text,
            })
        };
        match command {
            StaffCommand::Help => reply(out, command::STAFF_HELP.to_string()),
            StaffCommand::Duty(setting) => self.duty(promeneur, from, setting, now, out)?,
            StaffCommand::Queue => {
                let text = self.queue_listing(promeneur, now)?;
                reply(out, text);
            }
            StaffCommand::Mine => {
                let mine = self.store.assigned_to(promeneur)?;
                if mine.is_empty() {
                    reply(out, "Tu n'as aucune conversation ouverte.".into());
                } else {
                    let lines: Vec<String> = mine
                        .iter()
                        .map(|c| format!("• {} ({})", self.summary(c), stage_words(c.stage)))
                        .collect();
                    reply(out, format!("Tes conversations :\n{}", lines.join("\n")));
                }
            }
            StaffCommand::Take(id) => {
                let Some(mut c) = self.in_scope(promeneur, id.or(context), from, out)? else {
                    return Ok(());
                };
                match c.stage {
                    Stage::Queued | Stage::Offered => {
                        self.take(&mut c, promeneur, from, now, out)?
                    }
                    Stage::Taken if c.promeneur.as_ref() == Some(promeneur) => {
                        reply(out, format!("Tu as déjà pris la conversation n°{}.", c.id))
                    }
                    Stage::Taken => {
                        let who = c
                            .promeneur
                            .as_ref()
                            .and_then(|p| self.roster.promeneur(p))
                            .map_or("quelqu'un", |p| p.first_name.as_str());
                        reply(out, format!("La conversation n°{} est déjà prise par {who}. Demande-lui de te la transférer (/transferer).", c.id));
                    }
                    _ => reply(
                        out,
                        format!(
                            "La conversation n°{} n'attend pas de Promeneur ({}).",
                            c.id,
                            stage_words(c.stage)
                        ),
                    ),
                }
            }
            StaffCommand::Transfer { id, target, note } => {
                let Some(mut c) = self.in_scope(promeneur, id.or(context), from, out)? else {
                    return Ok(());
                };
                self.transfer(&mut c, promeneur, from, &target, note, now, out)?;
            }
            StaffCommand::Close(id) => {
                let Some(mut c) = self.in_scope(promeneur, id.or(context), from, out)? else {
                    return Ok(());
                };
                if c.stage == Stage::Closed {
                    reply(out, format!("La conversation n°{} est déjà close.", c.id));
                    return Ok(());
                }
                let first_name = self.card(promeneur).first_name;
                c.stage = Stage::Closed;
                c.forget_bodies();
                c.updated_at = now.timestamp();
                self.store.update(&c)?;
                self.audit(promeneur, "close", Some(c.id), "", now)?;
                out.push(self.bot_says(&c.person, say::closed_by(Voice(c.audience), &first_name)));
                reply(out, format!("Conversation n°{} close.", c.id));
                out.push(Outbound::Closed {
                    conversation: c.id,
                    person: c.person.clone(),
                    promeneur: Some(promeneur.clone()),
                });
            }
            StaffCommand::Note { id, text } => {
                let Some(mut c) = self.in_scope(promeneur, id.or(context), from, out)? else {
                    return Ok(());
                };
                c.notes.push(Note {
                    at: now.timestamp(),
                    promeneur: promeneur.clone(),
                    text,
                });
                c.updated_at = now.timestamp();
                self.store.update(&c)?;
                self.audit(promeneur, "note", Some(c.id), "", now)?;
                reply(
                    out,
                    format!(
                        "Note ajoutée à la conversation n°{} (invisible pour la personne).",
                        c.id
                    ),
                );
            }
            StaffCommand::Say { id, text } => {
                return self.say_to_person(promeneur, from, id.or(context), &text, now, out);
            }
            StaffCommand::Usage(usage) => reply(out, usage.to_string()),
            StaffCommand::Unknown => {
                reply(out, format!("Commande inconnue.\n{}", command::STAFF_HELP))
            }
        }
        Ok(())
    }

    /// The conversation, if this Promeneur may act on it; a clear refusal
    /// otherwise.
    fn in_scope(
        &mut self,
        promeneur: &PromeneurId,
        id: Option<ConversationId>,
        from: &Account,
        out: &mut Out,
    ) -> Result<Option<Conversation>, StoreError> {
        let Some(id) = id else {
            out.push(self.bot_says(
                from,
                "Précise le numéro de la conversation (voir /file).".into(),
            ));
            return Ok(None);
        };
        let Some(c) = self.store.conversation(id)? else {
            out.push(self.bot_says(
                from,
                format!("Il n'y a pas de conversation n°{id} (voir /file)."),
            ));
            return Ok(None);
        };
        let p = self.roster.promeneur(promeneur).expect("roster Promeneur");
        let mine = c.promeneur.as_ref() == Some(promeneur);
        let my_departement = c.serving().is_some_and(|d| p.covers(d))
            || c.departement.as_ref().is_some_and(|d| p.covers(d));
        if mine || my_departement {
            Ok(Some(c))
        } else {
            tracing::info!(promeneur = %promeneur, conversation = %id, "refused: out of scope");
            out.push(self.bot_says(
                from,
                format!("Tu ne peux pas agir sur la conversation n°{id} : elle n'est ni de ton département ni à toi."),
            ));
            Ok(None)
        }
    }

    fn take(
        &mut self,
        c: &mut Conversation,
        promeneur: &PromeneurId,
        from: &Account,
        now: DateTime<Utc>,
        out: &mut Out,
    ) -> Result<(), StoreError> {
        let voice = Voice(c.audience);
        let card = self.card(promeneur);
        c.stage = Stage::Taken;
        c.promeneur = Some(promeneur.clone());
        if !c.offered_to.contains(promeneur) {
            c.offered_to.push(promeneur.clone());
        }
        c.updated_at = now.timestamp();
        let mut brief = format!(
            "✅ Tu as pris la conversation n°{}. {}",
            c.id,
            self.summary(c)
        );
        if c.consent == Some(true) {
            if let Some(first) = &c.first_message {
                brief.push_str(&format!(
                    "\nPremier message (partagé avec son accord) : « {first} »"
                ));
            }
        } else if c.first_message.is_some() {
            brief.push_str("\nLa personne n'a pas souhaité partager son premier message.");
        }
        for waiting in &c.waiting_messages {
            brief.push_str(&format!("\nMessage en attente : « {waiting} »"));
        }
        brief.push_str(&format!(
            "\nÉcris simplement pour lui répondre (ou /dire {} …). /fermer {} pour clore.",
            c.id, c.id
        ));
        c.forget_bodies();
        self.store.update(c)?;
        self.audit(promeneur, "take", Some(c.id), "", now)?;
        out.push(self.bot_says(&c.person, say::taken(voice, &card)));
        out.push(self.bot_says(from, brief));
        out.push(Outbound::HandOff(Box::new(HandOff {
            conversation: c.id,
            person: c.person.clone(),
            promeneur: promeneur.clone(),
            card,
            summary: self.summary(c),
            taken: true,
        })));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn transfer(
        &mut self,
        c: &mut Conversation,
        promeneur: &PromeneurId,
        from: &Account,
        target: &str,
        note: Option<String>,
        now: DateTime<Utc>,
        out: &mut Out,
    ) -> Result<(), StoreError> {
        if !c.is_open()
            || matches!(
                c.stage,
                Stage::AskConsent | Stage::AskDepartement | Stage::AskTheme
            )
        {
            out.push(self.bot_says(
                from,
                format!(
                    "La conversation n°{} ne peut pas être transférée ({}).",
                    c.id,
                    stage_words(c.stage)
                ),
            ));
            return Ok(());
        }
        let voice = Voice(c.audience);
        let from_card = self.card(promeneur);
        if let Some(note) = &note {
            c.notes.push(Note {
                at: now.timestamp(),
                promeneur: promeneur.clone(),
                text: note.clone(),
            });
        }
        let note_text = note
            .map(|n| format!("\nNote de {} : {n}", from_card.first_name))
            .unwrap_or_default();
        let target_id = PromeneurId(target.to_string());
        if let Some(to) = self.roster.promeneur(&target_id).map(|p| p.id.clone()) {
            if &to == promeneur {
                out.push(self.bot_says(
                    from,
                    "Tu ne peux pas te transférer une conversation à toi-même.".into(),
                ));
                return Ok(());
            }
            let card = self.card(&to);
            c.stage = Stage::Offered;
            c.promeneur = Some(to.clone());
            c.offered_to.push(to.clone());
            c.offered_at = Some(now.timestamp());
            c.updated_at = now.timestamp();
            self.store.update(c)?;
            self.audit(promeneur, "transfer", Some(c.id), &to.0, now)?;
            out.push(self.bot_says(
                &c.person,
                format!(
                    "{}\n{}",
                    say::transferred(voice, &card.first_name),
                    card.text()
                ),
            ));
            let reach = self.reach(&to, c.person.platform);
            out.push(self.bot_says(
                &reach,
                format!(
                    "🔁 {} te transfère : {}.{note_text}\nPour la prendre : /prendre {}",
                    from_card.first_name,
                    self.summary(c),
                    c.id
                ),
            ));
            out.push(self.bot_says(
                from,
                format!("Conversation n°{} transférée à {}.", c.id, card.first_name),
            ));
            out.push(Outbound::HandOff(Box::new(HandOff {
                conversation: c.id,
                person: c.person.clone(),
                promeneur: to,
                card,
                summary: self.summary(c),
                taken: false,
            })));
            return Ok(());
        }
        let Some(code) =
            DepartementCode::parse(target).filter(|d| self.roster.departements.contains_key(d))
        else {
            out.push(self.bot_says(
                from,
                format!("« {target} » n'est ni un Promeneur ni un département de ce service. Exemple : /transferer {} camille-41 ta note", c.id),
            ));
            return Ok(());
        };
        c.served_by = Some(code.clone());
        c.promeneur = None;
        c.offered_to.clear();
        c.stage = Stage::Queued;
        c.queued_at = Some(now.timestamp());
        c.updated_at = now.timestamp();
        self.audit(promeneur, "transfer", Some(c.id), code.as_str(), now)?;
        out.push(Outbound::Released {
            conversation: c.id,
            person: c.person.clone(),
        });
        let label = self.departement_label(&code);
        out.push(self.bot_says(
            &c.person,
            say::transferred(voice, &format!("l'équipe des Promeneurs du Net de {label}")),
        ));
        out.push(Outbound::Staff {
            departement: code.clone(),
            conversation: c.id,
            text: format!(
                "🔁 Transférée par {} : {}.{note_text}",
                from_card.first_name,
                self.summary(c)
            ),
        });
        out.push(self.bot_says(
            from,
            format!("Conversation n°{} transférée à {label}.", c.id),
        ));
        match self.pick(
            &code,
            c.theme.as_ref(),
            c.urgent(),
            std::slice::from_ref(promeneur),
            now,
        )? {
            Some(p) => self.offer(c, &p, None, now, out),
            None => self.store.update(c),
        }
    }

    fn say_to_person(
        &mut self,
        promeneur: &PromeneurId,
        from: &Account,
        id: Option<ConversationId>,
        text: &str,
        now: DateTime<Utc>,
        out: &mut Out,
    ) -> Result<(), StoreError> {
        let target = match id {
            Some(id) => self
                .store
                .conversation(id)?
                .filter(|c| c.stage == Stage::Taken && c.promeneur.as_ref() == Some(promeneur)),
            None => self.only_taken(promeneur, from, out)?,
        };
        let Some(mut c) = target else {
            if id.is_some() {
                out.push(self.bot_says(
                    from,
                    "Tu n'as pas pris cette conversation : /prendre N d'abord.".into(),
                ));
            }
            return Ok(());
        };
        c.updated_at = now.timestamp();
        self.store.update(&c)?;
        out.push(Outbound::Say {
            to: c.person.clone(),
            speaker: Speaker::Promeneur(Box::new(self.card(promeneur))),
            text: text.to_string(),
        });
        Ok(())
    }

    /// The one conversation a Promeneur has taken, for words typed without
    /// a number; says what to do when there are none or several.
    fn only_taken(
        &mut self,
        promeneur: &PromeneurId,
        from: &Account,
        out: &mut Out,
    ) -> Result<Option<Conversation>, StoreError> {
        let taken: Vec<Conversation> = self
            .store
            .assigned_to(promeneur)?
            .into_iter()
            .filter(|c| c.stage == Stage::Taken)
            .collect();
        Ok(match taken.len() {
            1 => taken.into_iter().next(),
            0 => {
                out.push(self.bot_says(from, "Tu n'as pas de conversation en cours. /file pour voir la file, /prendre N pour en prendre une.".into()));
                None
            }
            _ => {
                let ids: Vec<String> = taken.iter().map(|c| c.id.to_string()).collect();
                out.push(self.bot_says(
                    from,
                    format!(
                        "Tu as plusieurs conversations ({}) : écris /dire N ton message.",
                        ids.join(", ")
                    ),
                ));
                None
            }
        })
    }

    fn duty(
        &mut self,
        promeneur: &PromeneurId,
        from: &Account,
        setting: Option<command::DutySetting>,
        now: DateTime<Utc>,
        out: &mut Out,
    ) -> Result<(), StoreError> {
        let p = self
            .roster
            .promeneur(promeneur)
            .expect("roster Promeneur")
            .clone();
        match setting {
            None => {}
            Some(command::DutySetting::Auto) => {
                self.store.set_duty_switch(promeneur, None)?;
                self.audit(promeneur, "duty-auto", None, "", now)?;
            }
            Some(command::DutySetting::On) | Some(command::DutySetting::Off) => {
                let on = setting == Some(command::DutySetting::On);
                self.store.set_duty_switch(
                    promeneur,
                    Some(DutySwitch {
                        on,
                        at: now.timestamp(),
                        until: duty::end_of_day(p.timezone, now).timestamp(),
                    }),
                )?;
                self.audit(
                    promeneur,
                    if on { "duty-on" } else { "duty-off" },
                    None,
                    "",
                    now,
                )?;
            }
        }
        let switch = self.store.duty_switch(promeneur)?;
        let on = duty::on_duty(&p, switch, now);
        let mut text = if on {
            "Tu es de permanence : les nouvelles demandes peuvent t'être proposées.".to_string()
        } else {
            "Tu n'es pas de permanence : aucune demande ne t'est proposée.".to_string()
        };
        if p.absent_on(now.with_timezone(&p.timezone).date_naive()) {
            text.push_str(" (Tu es noté·e absent·e aujourd'hui dans la configuration.)");
        } else if switch.is_some_and(|s| now.timestamp() < s.until) {
            text.push_str(" Réglé à la main jusqu'à ce soir minuit ; /permanence auto pour revenir à tes horaires.");
        }
        if let Some(next) = duty::next_permanence(&p, now) {
            text.push_str(&format!(
                " Prochaine permanence : {}.",
                duty::in_words(next, now, p.timezone)
            ));
        }
        out.push(self.bot_says(from, text));
        if on {
            self.distribute(now, out)?;
        }
        Ok(())
    }

    fn queue_listing(
        &mut self,
        promeneur: &PromeneurId,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let p = self
            .roster
            .promeneur(promeneur)
            .expect("roster Promeneur")
            .clone();
        let mut waiting: Vec<Conversation> = self
            .store
            .waiting()?
            .into_iter()
            .filter(|c| {
                c.serving().is_some_and(|d| p.covers(d)) || c.promeneur.as_ref() == Some(promeneur)
            })
            .collect();
        if waiting.is_empty() {
            return Ok("La file est vide.".to_string());
        }
        waiting.sort_by_key(|c| {
            (
                !c.urgent(),
                c.queued_at.or(c.offered_at).unwrap_or(c.created_at),
            )
        });
        let lines: Vec<String> = waiting
            .iter()
            .map(|c| {
                let since =
                    (now.timestamp() - c.queued_at.or(c.offered_at).unwrap_or(c.created_at)) / 60;
                let to = match (c.stage, &c.promeneur) {
                    (Stage::Offered, Some(to)) => format!(
                        ", proposée à {}",
                        self.roster
                            .promeneur(to)
                            .map_or("?", |p| p.first_name.as_str())
                    ),
                    _ => String::new(),
                };
                format!("• {} — en attente depuis {since} min{to}", self.summary(c))
            })
            .collect();
        Ok(format!(
            "File d'attente ({}) :\n{}\n/prendre N pour en prendre une.",
            waiting.len(),
            lines.join("\n")
        ))
    }

    fn audit(
        &mut self,
        promeneur: &PromeneurId,
        action: &str,
        conversation: Option<ConversationId>,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store.audit(&AuditEntry {
            at: now.timestamp(),
            promeneur: promeneur.clone(),
            action: action.to_string(),
            conversation,
            detail: detail.to_string(),
        })
    }
}

fn stage_words(stage: Stage) -> &'static str {
    match stage {
        Stage::AskDepartement | Stage::AskTheme | Stage::AskConsent => {
            "le bot pose encore ses questions"
        }
        Stage::Queued => "en file d'attente",
        Stage::Offered => "proposée, pas encore prise",
        Stage::Taken => "prise",
        Stage::Unserved => "département sans Promeneur",
        Stage::Closed => "close",
    }
}

fn is_yes(text: &str) -> bool {
    let folded = crate::text::fold_phrase(text);
    let words: Vec<&str> = folded.split_whitespace().collect();
    matches!(
        words.first().copied(),
        Some(
            "oui"
                | "ouais"
                | "ok"
                | "okay"
                | "d"
                | "dac"
                | "daccord"
                | "yes"
                | "ouai"
                | "oki"
                | "vas"
                | "si"
        )
    ) || folded.starts_with("d accord")
}

fn is_no(text: &str) -> bool {
    let folded = crate::text::fold_phrase(text);
    matches!(
        folded.split_whitespace().next(),
        Some("non" | "nan" | "no" | "nope" | "pas")
    )
}

/// "2", "41", "Loir-et-Cher" among the candidates listed.
fn pick_candidate(
    text: &str,
    candidates: &[DepartementCode],
    read: &Option<DepartementCode>,
) -> Option<DepartementCode> {
    let trimmed = text.trim().trim_end_matches(['.', ')']);
    if let Ok(n) = trimmed.parse::<usize>() {
        if (1..=candidates.len()).contains(&n) {
            return Some(candidates[n - 1].clone());
        }
    }
    if let Some(code) = DepartementCode::parse(trimmed).filter(|c| candidates.contains(c)) {
        return Some(code);
    }
    read.clone()
        .filter(|c| candidates.contains(c))
        .or_else(|| read.clone())
}
