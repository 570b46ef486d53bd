//! The in-memory store: the test implementation of [`Store`], and a
//! reference for what the SQLite one must do.

use super::{AuditEntry, DutySwitch, Store, StoreError};
use crate::config::PromeneurId;
use crate::engine::{Account, Conversation, ConversationId};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default)]
pub struct MemoryStore {
    conversations: BTreeMap<ConversationId, Conversation>,
    switches: HashMap<PromeneurId, DutySwitch>,
    audit: Vec<AuditEntry>,
    next_id: i64,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn begin(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn rollback(&mut self) {}

    fn open_conversation(&mut self, person: &Account) -> Result<Option<Conversation>, StoreError> {
        Ok(self
            .conversations
            .values()
            .rev()
            .find(|c| &c.person == person && c.is_open())
            .cloned())
    }

    fn conversation(&mut self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        Ok(self.conversations.get(&id).cloned())
    }

    fn insert(&mut self, conversation: &mut Conversation) -> Result<(), StoreError> {
        self.next_id += 1;
        conversation.id = ConversationId(self.next_id);
        self.conversations
            .insert(conversation.id, conversation.clone());
        Ok(())
    }

    fn update(&mut self, conversation: &Conversation) -> Result<(), StoreError> {
        if let Some(stored) = self.conversations.get_mut(&conversation.id) {
            *stored = conversation.clone();
        }
        Ok(())
    }

    fn waiting(&mut self) -> Result<Vec<Conversation>, StoreError> {
        Ok(self
            .conversations
            .values()
            .filter(|c| c.stage.is_waiting())
            .cloned()
            .collect())
    }

    fn assigned_to(&mut self, promeneur: &PromeneurId) -> Result<Vec<Conversation>, StoreError> {
        Ok(self
            .conversations
            .values()
            .filter(|c| c.is_open() && c.promeneur.as_ref() == Some(promeneur))
            .cloned()
            .collect())
    }

    fn loads(&mut self) -> Result<HashMap<PromeneurId, u32>, StoreError> {
        let mut loads = HashMap::new();
        for c in self.conversations.values() {
            if let (true, Some(p)) = (c.is_open(), &c.promeneur) {
                *loads.entry(p.clone()).or_insert(0) += 1;
            }
        }
        Ok(loads)
    }

    fn duty_switch(&mut self, promeneur: &PromeneurId) -> Result<Option<DutySwitch>, StoreError> {
        Ok(self.switches.get(promeneur).copied())
    }

    fn set_duty_switch(
        &mut self,
        promeneur: &PromeneurId,
        switch: Option<DutySwitch>,
    ) -> Result<(), StoreError> {
        match switch {
            Some(switch) => self.switches.insert(promeneur.clone(), switch),
            None => self.switches.remove(promeneur),
        };
        Ok(())
    }

    fn audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.audit.push(entry.clone());
        Ok(())
    }

    fn audit_log(&mut self) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self.audit.clone())
    }

    fn erase_person(&mut self, person: &Account) -> Result<Vec<ConversationId>, StoreError> {
        let ids: Vec<ConversationId> = self
            .conversations
            .values()
            .filter(|c| &c.person == person)
            .map(|c| c.id)
            .collect();
        for id in &ids {
            self.conversations.remove(id);
        }
        self.audit
            .retain(|e| !e.conversation.is_some_and(|c| ids.contains(&c)));
        Ok(ids)
    }

    fn purge(&mut self, before: i64) -> Result<usize, StoreError> {
        let old: Vec<ConversationId> = self
            .conversations
            .values()
            .filter(|c| c.updated_at < before)
            .map(|c| c.id)
            .collect();
        for id in &old {
            self.conversations.remove(id);
        }
        let audit_before = self.audit.len();
        self.audit.retain(|e| e.at >= before);
        Ok(old.len() + audit_before - self.audit.len())
    }

    fn count(&mut self) -> Result<usize, StoreError> {
        Ok(self.conversations.len())
    }
}
