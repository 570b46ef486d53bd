//! Where conversations, duty switches and the audit log are kept, behind the
//! [`Store`] trait: SQLite in production ([`SqliteStore`]), memory in tests
//! ([`MemoryStore`]). Both pass the same conformance tests
//! (`tests/store.rs`).
//!
//! A store keeps what it is given and deletes what it is told to; it never
//! decides anything and never logs a message body.

mod memory;
mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

use crate::config::PromeneurId;
use crate::engine::{Account, Conversation, ConversationId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database failed")]
    Sqlite(#[from] rusqlite::Error),
    #[error("a stored conversation cannot be read")]
    Corrupt(#[from] serde_json::Error),
    #[error("the database `{path}` cannot be opened")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the database `{path}` was written by a newer promeneur-bot (schema {found}, this one knows {known})")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
}

/// A Promeneur switched on or off duty by hand, until a moment (the end of
/// that local day), after which the permanences decide again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutySwitch {
    pub on: bool,
    pub at: i64,
    pub until: i64,
}

/// One Promeneur action, for the coordinator: who did what to which
/// conversation. Never a message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub promeneur: PromeneurId,
    pub action: String,
    pub conversation: Option<ConversationId>,
    /// A target (another Promeneur or département), never a body.
    pub detail: String,
}

pub trait Store {
    /// Starts a unit of work: everything until [`Store::commit`] lands
    /// together (one SQLite transaction). Units nest: an inner one (one
    /// event inside a batch) commits or rolls back on its own, and the
    /// outer one lands the batch.
    fn begin(&mut self) -> Result<(), StoreError>;
    fn commit(&mut self) -> Result<(), StoreError>;
    fn rollback(&mut self);

    /// The person's open conversation, if any.
    fn open_conversation(&mut self, person: &Account) -> Result<Option<Conversation>, StoreError>;
    fn conversation(&mut self, id: ConversationId) -> Result<Option<Conversation>, StoreError>;
    /// Saves a new conversation and gives it its id.
    fn insert(&mut self, conversation: &mut Conversation) -> Result<(), StoreError>;
    fn update(&mut self, conversation: &Conversation) -> Result<(), StoreError>;
    /// Every conversation queued or offered, oldest first.
    fn waiting(&mut self) -> Result<Vec<Conversation>, StoreError>;
    /// Conversations offered to or taken by this Promeneur.
    fn assigned_to(&mut self, promeneur: &PromeneurId) -> Result<Vec<Conversation>, StoreError>;
    /// How many conversations each Promeneur has offered or taken.
    fn loads(&mut self) -> Result<HashMap<PromeneurId, u32>, StoreError>;

    fn duty_switch(&mut self, promeneur: &PromeneurId) -> Result<Option<DutySwitch>, StoreError>;
    fn set_duty_switch(
        &mut self,
        promeneur: &PromeneurId,
        switch: Option<DutySwitch>,
    ) -> Result<(), StoreError>;

    fn audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;
    fn audit_log(&mut self) -> Result<Vec<AuditEntry>, StoreError>;

    /// Deletes everything about this person (`/oubli`); the ids of the
    /// conversations erased.
    fn erase_person(&mut self, person: &Account) -> Result<Vec<ConversationId>, StoreError>;
    /// Deletes conversations not touched since `before`, and audit entries
    /// older than it; how many rows went.
    fn purge(&mut self, before: i64) -> Result<usize, StoreError>;
    /// How many conversations are stored (open or closed).
    fn count(&mut self) -> Result<usize, StoreError>;
}
