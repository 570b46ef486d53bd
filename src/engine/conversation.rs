//! One person's conversation with the bot, from first message to close: what
//! is known (theme, département, audience), where it stands, and the little
//! that must be kept for a hand-off. It is what the store saves; it holds no
//! message body except the ones a Promeneur is waiting for.

use crate::classify::Audience;
use crate::config::PromeneurId;
use crate::knowledge::{DepartementCode, ThemeId};
use serde::{Deserialize, Serialize};

/// The platforms the core knows of, by name only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Console,
    Matrix,
    Discord,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Matrix => "matrix",
            Platform::Discord => "discord",
        }
    }
}

/// Someone's account on a platform, in the core's own terms: adapters turn
/// their user ids into this at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account {
    pub platform: Platform,
    pub id: String,
}

impl Account {
    pub fn new(platform: Platform, id: impl Into<String>) -> Account {
        Account {
            platform,
            id: id.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConversationId(pub i64);

impl std::fmt::Display for ConversationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Waiting for the person to say where they live.
    AskDepartement,
    /// Waiting for the person to pick a theme from the list.
    AskTheme,
    /// Waiting for a yes or no: may the first message go to the Promeneur?
    AskConsent,
    /// Nobody on duty: waiting for the first Promeneur who comes on duty.
    Queued,
    /// Offered to one Promeneur, not yet taken.
    Offered,
    /// A Promeneur has taken it over: the bot only relays.
    Taken,
    /// Nobody serves the département: resources were given.
    Unserved,
    Closed,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::AskDepartement => "ask_departement",
            Stage::AskTheme => "ask_theme",
            Stage::AskConsent => "ask_consent",
            Stage::Queued => "queued",
            Stage::Offered => "offered",
            Stage::Taken => "taken",
            Stage::Unserved => "unserved",
            Stage::Closed => "closed",
        }
    }

    /// Waiting for a Promeneur: in the département's queue.
    pub fn is_waiting(self) -> bool {
        matches!(self, Stage::Queued | Stage::Offered)
    }
}

/// An internal note a Promeneur added: never shown to the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub at: i64,
    pub promeneur: PromeneurId,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub person: Account,
    pub audience: Audience,
    pub stage: Stage,
    pub departement: Option<DepartementCode>,
    /// The département actually serving the request: the person's own, or a
    /// fallback when the own has no Promeneur.
    pub served_by: Option<DepartementCode>,
    /// When the place was ambiguous: the départements to choose from.
    pub candidates: Vec<DepartementCode>,
    pub theme: Option<ThemeId>,
    /// Danger signal ids seen in this conversation; a hand-off is then a
    /// priority and never waits for an answer.
    pub danger: Vec<String>,
    /// The first message, kept only until the hand-off needs it, and only
    /// given to the Promeneur if the person agrees.
    pub first_message: Option<String>,
    pub consent: Option<bool>,
    /// Messages written while waiting for a Promeneur, given when taken.
    pub waiting_messages: Vec<String>,
    /// The person asked to be told when a Promeneur is there.
    pub notify: bool,
    pub promeneur: Option<PromeneurId>,
    /// Everyone this request was offered to, in order: a time-out goes to
    /// someone not yet asked.
    pub offered_to: Vec<PromeneurId>,
    pub offered_at: Option<i64>,
    pub queued_at: Option<i64>,
    pub notes: Vec<Note>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Conversation {
    pub fn new(person: Account, audience: Audience, now: i64) -> Conversation {
        Conversation {
            id: ConversationId(0),
            person,
            audience,
            stage: Stage::AskDepartement,
            departement: None,
            served_by: None,
            candidates: Vec::new(),
            theme: None,
            danger: Vec::new(),
            first_message: None,
            consent: None,
            waiting_messages: Vec::new(),
            notify: false,
            promeneur: None,
            offered_to: Vec::new(),
            offered_at: None,
            queued_at: None,
            notes: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn urgent(&self) -> bool {
        !self.danger.is_empty()
    }

    /// The Promeneur the conversation is offered to or taken by, if any.
    pub fn handled_by(&self) -> Option<&PromeneurId> {
        self.promeneur
            .as_ref()
            .filter(|_| self.stage.is_waiting() || self.stage == Stage::Taken)
    }

    pub fn is_open(&self) -> bool {
        self.stage != Stage::Closed
    }

    /// The département whose Promeneurs handle it.
    pub fn serving(&self) -> Option<&DepartementCode> {
        self.served_by.as_ref().or(self.departement.as_ref())
    }

    /// Drops every message body: after a hand-off is taken, or at close.
    pub fn forget_bodies(&mut self) {
        self.first_message = None;
        self.waiting_messages.clear();
    }
}
