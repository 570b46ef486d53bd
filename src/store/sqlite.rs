//! The SQLite store (rusqlite, WAL mode), with numbered schema migrations.
//!
//! A conversation is one row: indexed columns for what is queried (person,
//! stage, Promeneur, last activity) and the rest as JSON, so adding a field
//! needs no migration. Two processes may share the file (the console's two
//! sides): every unit of work is an immediate transaction.

use super::{AuditEntry, DutySwitch, Store, StoreError};
use crate::config::PromeneurId;
use crate::engine::{Account, Conversation, ConversationId};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::HashMap;
use std::path::Path;

/// Each step takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: conversations, duty switches, audit log.
    "CREATE TABLE conversation (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        account TEXT NOT NULL,
        stage TEXT NOT NULL,
        promeneur TEXT,
        updated_at INTEGER NOT NULL,
        data TEXT NOT NULL
     );
     CREATE INDEX conversation_person ON conversation (platform, account) WHERE stage <> 'closed';
     CREATE INDEX conversation_waiting ON conversation (stage) WHERE stage IN ('queued', 'offered');
     CREATE INDEX conversation_promeneur ON conversation (promeneur) WHERE stage <> 'closed';
     CREATE INDEX conversation_updated ON conversation (updated_at);
     CREATE TABLE duty_switch (
        promeneur TEXT PRIMARY KEY,
        data TEXT NOT NULL
     );
     CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        promeneur TEXT NOT NULL,
        action TEXT NOT NULL,
        conversation INTEGER,
        detail TEXT NOT NULL
     );
     CREATE INDEX audit_at ON audit (at);
     CREATE INDEX audit_conversation ON audit (conversation);",
    // 2: mail between the console's two sides (the person's and a
    // Promeneur's terminal), deleted once read.
    "CREATE TABLE mail (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        account TEXT NOT NULL,
        at INTEGER NOT NULL,
        body TEXT NOT NULL
     );
     CREATE INDEX mail_to ON mail (platform, account);",
];

pub struct SqliteStore {
    connection: Connection,
    /// Units of work open: the outer one is a transaction, the inner ones
    /// savepoints.
    depth: usize,
}

impl SqliteStore {
    /// Opens (or creates) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let name = path.display().to_string();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // A missing folder would make SQLite fail with a vaguer message.
            let _ = std::fs::create_dir_all(parent);
        }
        let connection = Connection::open(path).map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        let open = |source| StoreError::Open {
            path: name.clone(),
            source,
        };
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(open)?;
        // WAL with NORMAL sync survives a crash of the process; only a power
        // cut can lose the last transactions.
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(open)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open)?;
        let mut store = SqliteStore {
            connection,
            depth: 0,
        };
        store.migrate(&name)?;
        Ok(store)
    }

    fn migrate(&mut self, name: &str) -> Result<(), StoreError> {
        let version: i64 = self
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                path: name.to_string(),
                found: version,
                known,
            });
        }
        for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self
                .connection
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Leaves text for an account served by another process on this file.
    pub fn post_mail(&mut self, to: &Account, at: i64, body: &str) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO mail (platform, account, at, body) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![to.platform.as_str(), to.id, at, body])?;
        Ok(())
    }

    /// Takes (and deletes) the mail waiting for an account, oldest first.
    pub fn take_mail(&mut self, to: &Account) -> Result<Vec<String>, StoreError> {
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let bodies = {
            let mut select = tx.prepare_cached(
                "SELECT body FROM mail WHERE platform = ?1 AND account = ?2 ORDER BY id",
            )?;
            let rows = select.query_map(params![to.platform.as_str(), to.id], |row| row.get(0))?;
            rows.collect::<Result<Vec<String>, _>>()?
        };
        tx.prepare_cached("DELETE FROM mail WHERE platform = ?1 AND account = ?2")?
            .execute(params![to.platform.as_str(), to.id])?;
        tx.commit()?;
        Ok(bodies)
    }

    fn conversations(
        &mut self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut statement = self.connection.prepare_cached(sql)?;
        let rows = statement.query_map(params, |row| row.get::<_, String>(0))?;
        let mut found = Vec::new();
        for data in rows {
            found.push(serde_json::from_str(&data?)?);
        }
        Ok(found)
    }
}

impl Store for SqliteStore {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.connection.execute_batch(if self.depth == 0 {
            "BEGIN IMMEDIATE"
        } else {
            "SAVEPOINT unit"
        })?;
        self.depth += 1;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if self.depth == 0 {
            return Ok(());
        }
        self.depth -= 1;
        self.connection.execute_batch(if self.depth == 0 {
            "COMMIT"
        } else {
            "RELEASE unit"
        })?;
        Ok(())
    }

    fn rollback(&mut self) {
        if self.depth == 0 {
            return;
        }
        self.depth -= 1;
        let _ = self.connection.execute_batch(if self.depth == 0 {
            "ROLLBACK"
        } else {
            "ROLLBACK TO unit; RELEASE unit"
        });
    }

    fn open_conversation(&mut self, person: &Account) -> Result<Option<Conversation>, StoreError> {
        let found = self.conversations(
            "SELECT data FROM conversation WHERE platform = ?1 AND account = ?2 AND stage <> 'closed' ORDER BY id DESC LIMIT 1",
            params![person.platform.as_str(), person.id],
        )?;
        Ok(found.into_iter().next())
    }

    fn conversation(&mut self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        let found =
            self.conversations("SELECT data FROM conversation WHERE id = ?1", params![id.0])?;
        Ok(found.into_iter().next())
    }

    fn insert(&mut self, conversation: &mut Conversation) -> Result<(), StoreError> {
        let id: i64 = self
            .connection
            .prepare_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM conversation")?
            .query_row([], |row| row.get(0))?;
        conversation.id = ConversationId(id);
        self.connection
            .prepare_cached(
                "INSERT INTO conversation (id, platform, account, stage, promeneur, updated_at, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                id,
                conversation.person.platform.as_str(),
                conversation.person.id,
                conversation.stage.as_str(),
                conversation.promeneur.as_ref().map(|p| p.0.as_str()),
                conversation.updated_at,
                serde_json::to_string(conversation)?,
            ])?;
        Ok(())
    }

    fn update(&mut self, conversation: &Conversation) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "UPDATE conversation SET stage = ?2, promeneur = ?3, updated_at = ?4, data = ?5 WHERE id = ?1",
            )?
            .execute(params![
                conversation.id.0,
                conversation.stage.as_str(),
                conversation.promeneur.as_ref().map(|p| p.0.as_str()),
                conversation.updated_at,
                serde_json::to_string(conversation)?,
            ])?;
        Ok(())
    }

    fn waiting(&mut self) -> Result<Vec<Conversation>, StoreError> {
        self.conversations(
            "SELECT data FROM conversation WHERE stage IN ('queued', 'offered') ORDER BY id",
            [],
        )
    }

    fn assigned_to(&mut self, promeneur: &PromeneurId) -> Result<Vec<Conversation>, StoreError> {
        self.conversations(
            "SELECT data FROM conversation WHERE promeneur = ?1 AND stage <> 'closed' ORDER BY id",
            params![promeneur.0],
        )
    }

    fn loads(&mut self) -> Result<HashMap<PromeneurId, u32>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT promeneur, COUNT(*) FROM conversation WHERE promeneur IS NOT NULL AND stage <> 'closed' GROUP BY promeneur",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((PromeneurId(row.get(0)?), row.get::<_, u32>(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn duty_switch(&mut self, promeneur: &PromeneurId) -> Result<Option<DutySwitch>, StoreError> {
        let data: Option<String> = self
            .connection
            .prepare_cached("SELECT data FROM duty_switch WHERE promeneur = ?1")?
            .query_row(params![promeneur.0], |row| row.get(0))
            .optional()?;
        Ok(match data {
            Some(data) => Some(serde_json::from_str(&data)?),
            None => None,
        })
    }

    fn set_duty_switch(
        &mut self,
        promeneur: &PromeneurId,
        switch: Option<DutySwitch>,
    ) -> Result<(), StoreError> {
        match switch {
            Some(switch) => self
                .connection
                .prepare_cached(
                    "INSERT INTO duty_switch (promeneur, data) VALUES (?1, ?2)
                     ON CONFLICT (promeneur) DO UPDATE SET data = excluded.data",
                )?
                .execute(params![promeneur.0, serde_json::to_string(&switch)?])?,
            None => self
                .connection
                .prepare_cached("DELETE FROM duty_switch WHERE promeneur = ?1")?
                .execute(params![promeneur.0])?,
        };
        Ok(())
    }

    fn audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO audit (at, promeneur, action, conversation, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                entry.at,
                entry.promeneur.0,
                entry.action,
                entry.conversation.map(|c| c.0),
                entry.detail
            ])?;
        Ok(())
    }

    fn audit_log(&mut self) -> Result<Vec<AuditEntry>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT at, promeneur, action, conversation, detail FROM audit ORDER BY id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(AuditEntry {
                at: row.get(0)?,
                promeneur: PromeneurId(row.get(1)?),
                action: row.get(2)?,
                conversation: row.get::<_, Option<i64>>(3)?.map(ConversationId),
                detail: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn erase_person(&mut self, person: &Account) -> Result<Vec<ConversationId>, StoreError> {
        let ids: Vec<ConversationId> = {
            let mut statement = self.connection.prepare_cached(
                "SELECT id FROM conversation WHERE platform = ?1 AND account = ?2",
            )?;
            let rows = statement
                .query_map(params![person.platform.as_str(), person.id], |row| {
                    Ok(ConversationId(row.get(0)?))
                })?;
            rows.collect::<Result<_, _>>()?
        };
        for id in &ids {
            self.connection
                .prepare_cached("DELETE FROM audit WHERE conversation = ?1")?
                .execute(params![id.0])?;
        }
        self.connection
            .prepare_cached("DELETE FROM conversation WHERE platform = ?1 AND account = ?2")?
            .execute(params![person.platform.as_str(), person.id])?;
        self.connection
            .prepare_cached("DELETE FROM mail WHERE platform = ?1 AND account = ?2")?
            .execute(params![person.platform.as_str(), person.id])?;
        Ok(ids)
    }

    fn purge(&mut self, before: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for sql in [
            "DELETE FROM conversation WHERE updated_at < ?1",
            "DELETE FROM audit WHERE at < ?1",
            "DELETE FROM mail WHERE at < ?1",
        ] {
            removed += self
                .connection
                .prepare_cached(sql)?
                .execute(params![before])?;
        }
        Ok(removed)
    }

    fn count(&mut self) -> Result<usize, StoreError> {
        Ok(self
            .connection
            .prepare_cached("SELECT COUNT(*) FROM conversation")?
            .query_row([], |row| row.get::<_, i64>(0))? as usize)
    }
}
