//! One conformance suite for every `Store`: the SQLite one and the memory one
//! must keep, find and delete the same things.

use promeneur_bot::classify::Audience;
use promeneur_bot::config::PromeneurId;
use promeneur_bot::engine::{Account, Conversation, ConversationId, Platform, Stage};
use promeneur_bot::store::{AuditEntry, DutySwitch, MemoryStore, SqliteStore, Store};

fn conformance(store: &mut dyn Store) {
    let lina = Account::new(Platform::Console, "personne:lina");
    let sam = Account::new(Platform::Matrix, "@sam:example.org");
    let camille = PromeneurId("camille-41".into());

    store.begin().unwrap();
    let mut a = Conversation::new(lina.clone(), Audience::Jeune, 1_000);
    store.insert(&mut a).unwrap();
    let mut b = Conversation::new(sam.clone(), Audience::Parent, 1_100);
    store.insert(&mut b).unwrap();
    store.commit().unwrap();
    assert_ne!(a.id, b.id, "each conversation gets its own id");
    assert_eq!(store.count().unwrap(), 2);
    assert_eq!(store.open_conversation(&lina).unwrap().unwrap(), a);
    assert_eq!(
        store.conversation(b.id).unwrap().unwrap().audience,
        Audience::Parent
    );
    assert!(store.conversation(ConversationId(999)).unwrap().is_none());

    // Queue and assignment.
    a.stage = Stage::Queued;
    a.first_message = Some("jcherche un stage".into());
    store.update(&a).unwrap();
    b.stage = Stage::Offered;
    b.promeneur = Some(camille.clone());
    store.update(&b).unwrap();
    let waiting: Vec<ConversationId> = store.waiting().unwrap().iter().map(|c| c.id).collect();
    assert_eq!(waiting, vec![a.id, b.id], "oldest first");
    assert_eq!(store.assigned_to(&camille).unwrap().len(), 1);
    assert_eq!(store.loads().unwrap().get(&camille), Some(&1));
    assert_eq!(
        store
            .conversation(a.id)
            .unwrap()
            .unwrap()
            .first_message
            .as_deref(),
        Some("jcherche un stage"),
        "every field round-trips"
    );

    // A closed conversation is no longer the person's open one.
    b.stage = Stage::Closed;
    store.update(&b).unwrap();
    assert!(store.open_conversation(&sam).unwrap().is_none());
    assert!(!store.loads().unwrap().contains_key(&camille));

    // Duty switches.
    let switch = DutySwitch {
        on: true,
        at: 5,
        until: 10,
    };
    store.set_duty_switch(&camille, Some(switch)).unwrap();
    assert_eq!(store.duty_switch(&camille).unwrap(), Some(switch));
    store.set_duty_switch(&camille, None).unwrap();
    assert_eq!(store.duty_switch(&camille).unwrap(), None);

    // Audit log, erasure, purge.
    for (at, conversation) in [(1_000, Some(a.id)), (1_200, Some(b.id)), (5_000, None)] {
        store
            .audit(&AuditEntry {
                at,
                promeneur: camille.clone(),
                action: "take".into(),
                conversation,
                detail: String::new(),
            })
            .unwrap();
    }
    assert_eq!(store.audit_log().unwrap().len(), 3);
    let erased = store.erase_person(&lina).unwrap();
    assert_eq!(erased, vec![a.id]);
    assert!(store.conversation(a.id).unwrap().is_none());
    assert_eq!(
        store.audit_log().unwrap().len(),
        2,
        "the erased conversation's audit goes too"
    );
    assert!(store.erase_person(&lina).unwrap().is_empty());

    let removed = store.purge(2_000).unwrap();
    assert_eq!(removed, 2, "b (last touched at 1 100) and its audit entry");
    assert_eq!(store.count().unwrap(), 0);
    assert_eq!(store.audit_log().unwrap().len(), 1);
}

#[test]
fn the_memory_store_conforms() {
    conformance(&mut MemoryStore::new());
}

#[test]
fn the_sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&mut SqliteStore::open(&dir.path().join("bot.sqlite3")).unwrap());
}

#[test]
fn sqlite_is_in_wal_mode_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/bot.sqlite3");
    drop(SqliteStore::open(&path).unwrap());
    // Opening again finds the schema up to date and the data intact.
    let mut store = SqliteStore::open(&path).unwrap();
    let mut c = Conversation::new(Account::new(Platform::Console, "x"), Audience::Jeune, 1);
    store.insert(&mut c).unwrap();
    drop(store);
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.count().unwrap(), 1);
    let connection = rusqlite::Connection::open(&path).unwrap();
    let mode: String = connection
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
}

#[test]
fn a_database_from_a_newer_bot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.sqlite3");
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.pragma_update(None, "user_version", 99).unwrap();
    drop(connection);
    let error = SqliteStore::open(&path).err().expect("refused").to_string();
    assert!(
        error.contains("written by a newer promeneur-bot (schema 99"),
        "{error}"
    );
}

#[test]
fn sqlite_units_nest_so_a_batch_is_one_transaction_and_a_failed_event_is_undone_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("bot.sqlite3")).unwrap();
    let account = |n: &str| Account::new(Platform::Console, n);
    store.begin().unwrap(); // the batch
    for (name, keep) in [("a", true), ("b", false), ("c", true)] {
        store.begin().unwrap(); // one event
        let mut c = Conversation::new(account(name), Audience::Jeune, 1);
        store.insert(&mut c).unwrap();
        if keep {
            store.commit().unwrap();
        } else {
            store.rollback();
        }
    }
    store.commit().unwrap();
    assert!(store.open_conversation(&account("a")).unwrap().is_some());
    assert!(store.open_conversation(&account("b")).unwrap().is_none());
    assert!(store.open_conversation(&account("c")).unwrap().is_some());
}
