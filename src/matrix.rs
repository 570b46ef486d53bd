//! The Matrix adapter: end-to-end encrypted, on matrix-sdk.
//!
//! - **In**: a message in a direct chat with the bot, or one that mentions
//!   the bot in a public room (answered in a direct chat, never in the
//!   room); a command in a département's staff room; anything in a hand-off
//!   room (read for danger, and for the Promeneur's commands). Everything
//!   else is ignored and leaves no trace.
//! - **Out**: the engine's actions. A hand-off taken becomes an encrypted
//!   room with the person and the Promeneur, named for what it is, with the
//!   Promeneur's identity card and photo; the bot stays for the commands and
//!   leaves when the conversation closes (as configured).
//!
//! The session is saved in the store folder and restored at start, so the
//! bot keeps one device and its keys. The first start skips the history; a
//! restart answers what arrived while the bot was down (the sync token is
//! kept in the SDK's store).

use crate::config::{Config, MatrixSettings, Secret};
use crate::engine::ConversationId;
use crate::engine::{Account, HandOff, IdentityCard, Inbound, Outbound, Place, Platform, Speaker};
use crate::serve::{Delivery, EngineHandle, Origin};
use anyhow::{bail, Context};
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::room::Room;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::room::create_room::v3::{
    Request as CreateRoomRequest, RoomPreset,
};
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::{
    ImageMessageEventContent, MessageType, OriginalSyncRoomMessageEvent, RoomMessageEventContent,
};
use matrix_sdk::ruma::events::InitialStateEvent;
use matrix_sdk::ruma::{OwnedMxcUri, OwnedRoomId, OwnedUserId, RoomAliasId, RoomId, UserId};
use matrix_sdk::{Client, RoomState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The secrets the adapter may use, by their name in the secrets file (or
/// `PROMENEUR_BOT_MATRIX_PASSWORD` in the environment).
pub const PASSWORD_SECRET: &str = "matrix_password";

/// A hand-off room: one conversation, its person and Promeneur.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct HandOffRoom {
    room: OwnedRoomId,
    person: OwnedUserId,
    promeneur: Option<OwnedUserId>,
    /// Closed, the bot still in it (`leave_on_close = false`): nothing
    /// written there is read any more.
    #[serde(default)]
    closed: bool,
}

/// The hand-off rooms, kept in the store folder so a restart loses none.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RoomBook {
    handoffs: BTreeMap<i64, HandOffRoom>,
}

impl RoomBook {
    fn load(path: &Path) -> RoomBook {
        crate::state::load_json(path, "the hand-off room book")
    }

    fn save(&self, path: &Path) {
        crate::state::save_json(path, self, "the hand-off room book")
    }

    /// The conversation of a hand-off room, and whether it is closed.
    fn conversation_of_room(&self, room: &RoomId) -> Option<(i64, bool)> {
        self.handoffs
            .iter()
            .find(|(_, h)| h.room == room)
            .map(|(id, h)| (*id, h.closed))
    }

    /// The room of a person's conversation with a Promeneur, if any.
    fn room_of_person(&self, person: &UserId) -> Option<OwnedRoomId> {
        self.handoffs
            .values()
            .rev()
            .find(|h| h.person == person && h.promeneur.is_some() && !h.closed)
            .map(|h| h.room.clone())
    }
}

/// What the event handlers and the outbound task share.
struct Shared {
    client: Client,
    me: OwnedUserId,
    settings: MatrixSettings,
    engine: EngineHandle,
    /// Staff room → département code, and back.
    staff_rooms: HashMap<OwnedRoomId, String>,
    staff_by_departement: HashMap<String, OwnedRoomId>,
    book: Mutex<RoomBook>,
    book_path: PathBuf,
    /// Asks the whole process to stop (the engine is gone).
    stop: Arc<watch::Sender<bool>>,
    /// Photos already uploaded, by their file path.
    uploaded: Mutex<HashMap<String, OwnedMxcUri>>,
}

/// A connected Matrix adapter, ready to run.
pub struct MatrixAdapter {
    shared: Arc<Shared>,
    first_start: bool,
}

/// Written in the store folder once the first sync (which skips the
/// history) has gone through.
const SYNCED_MARKER: &str = "synced";

fn session_path(store: &Path) -> PathBuf {
    store.join("session.json")
}

use crate::state::{private_dir, write_private};

impl MatrixAdapter {
    /// Logs in (first start) or restores the saved session, resolves the
    /// staff rooms and joins them.
    pub async fn connect(
        config: &Config,
        settings: &MatrixSettings,
        engine: EngineHandle,
        stop: Arc<watch::Sender<bool>>,
    ) -> anyhow::Result<MatrixAdapter> {
        private_dir(&settings.store).with_context(|| {
            format!(
                "the Matrix store folder `{}` (matrix.store in {}) cannot be created",
                settings.store.display(),
                config.file.display()
            )
        })?;
        let client = Client::builder()
            .homeserver_url(&settings.homeserver)
            .sqlite_store(settings.store.join("sdk"), None)
            .build()
            .await
            .with_context(|| {
                format!(
                    "the Matrix client cannot be built for {} (matrix.homeserver in {})",
                    settings.homeserver,
                    config.file.display()
                )
            })?;
        let session_file = session_path(&settings.store);
        // The history is skipped until one sync has gone through, whatever
        // stopped the bot before that.
        let first_start = !settings.store.join(SYNCED_MARKER).exists();
        if session_file.exists() {
            let text = std::fs::read_to_string(&session_file)
                .with_context(|| format!("`{}` cannot be read", session_file.display()))?;
            let session: MatrixSession = serde_json::from_str(&text).with_context(|| {
                format!(
                    "`{}` is not a saved Matrix session; delete it to log in again",
                    session_file.display()
                )
            })?;
            client
                .restore_session(session)
                .await
                .context("the saved Matrix session cannot be restored")?;
            tracing::info!("Matrix session restored");
        } else {
            let password = password(config)?;
            client
                .matrix_auth()
                .login_username(&settings.user, password.expose())
                .initial_device_display_name("promeneur-bot")
                .await
                .map_err(|e| {
                    // The SDK's error never carries the password; still,
                    // say only what is useful.
                    anyhow::anyhow!(
                        "the Matrix login of {} on {} failed: {e}",
                        settings.user,
                        settings.homeserver
                    )
                })?;
            let session = client
                .matrix_auth()
                .session()
                .context("the homeserver returned no session")?;
            write_private(&session_file, &serde_json::to_vec(&session)?)
                .with_context(|| format!("`{}` cannot be written", session_file.display()))?;
            tracing::info!("Matrix login done; session saved");
        }
        let me = client
            .user_id()
            .context("the Matrix client has no user id after login")?
            .to_owned();
        if me.as_str() != settings.user {
            bail!(
                "the saved session is for {me}, but matrix.user in {} is {}: delete `{}` to log in again",
                config.file.display(),
                settings.user,
                session_file.display()
            );
        }

        let mut staff_rooms = HashMap::new();
        let mut staff_by_departement = HashMap::new();
        for (code, d) in &config.roster.departements {
            let Some(room) = &d.staff_matrix else {
                continue;
            };
            let id = resolve_room(&client, room).await.with_context(|| {
                format!(
                    "the staff room `{room}` of {code} (departement.staff.matrix in {}) cannot be found",
                    config.file.display()
                )
            })?;
            staff_rooms.insert(id.clone(), code.to_string());
            staff_by_departement.insert(code.to_string(), id);
        }
        let book_path = settings.store.join("handoff-rooms.json");
        let shared = Arc::new(Shared {
            client,
            me,
            settings: settings.clone(),
            engine,
            staff_rooms,
            staff_by_departement,
            book: Mutex::new(RoomBook::load(&book_path)),
            book_path,
            stop,
            uploaded: Mutex::new(HashMap::new()),
        });
        Ok(MatrixAdapter {
            shared,
            first_start,
        })
    }

    /// Syncs until `stop` turns true, delivering the engine's actions from
    /// `deliveries` as they come. Reconnects with back-off.
    pub async fn run(
        self,
        mut deliveries: mpsc::UnboundedReceiver<Delivery>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let shared = self.shared.clone();
        let client = shared.client.clone();
        // Up to 100 events a room in one sync: what arrived while the bot
        // was down is all read (the server's default is 10).
        let mut filter = FilterDefinition::default();
        filter.room.timeline.limit = Some(100u32.into());
        let settings = SyncSettings::default()
            .timeout(Duration::from_secs(30))
            .filter(filter.into());
        if self.first_start {
            // The first start answers nothing of the past.
            if !sync_with_backoff(&client, settings.clone().timeout(Duration::ZERO), &mut stop)
                .await?
            {
                return Ok(());
            }
            if let Err(e) = std::fs::write(shared.settings.store.join(SYNCED_MARKER), b"") {
                tracing::warn!(error = %e, "the first-sync marker could not be written");
            }
        }
        if let Err(e) = client
            .account()
            .set_display_name(Some(&shared.settings.display_name))
            .await
        {
            tracing::warn!(error = %e, "the bot's display name could not be set");
        }
        for (code, room) in &shared.staff_by_departement {
            if client
                .get_room(room)
                .is_none_or(|r| r.state() != RoomState::Joined)
            {
                if let Err(e) = client.join_room_by_id(room).await {
                    tracing::warn!(departement = %code, error = %e, "the bot could not join a staff room; invite it there");
                }
            }
        }
        // Invitations received while the bot was away.
        for room in client.invited_rooms() {
            tokio::spawn(join_with_retry(room));
        }

        let handler_shared = shared.clone();
        client.add_event_handler(move |event: OriginalSyncRoomMessageEvent, room: Room| {
            let shared = handler_shared.clone();
            async move { on_message(&shared, event, room).await }
        });
        let undecryptable_shared = shared.clone();
        client.add_event_handler(move |event: OriginalSyncRoomEncryptedEvent, room: Room| {
            let shared = undecryptable_shared.clone();
            async move { on_undecryptable(&shared, event, room).await }
        });
        let me = shared.me.clone();
        client.add_event_handler(move |event: StrippedRoomMemberEvent, room: Room| {
            let me = me.clone();
            async move {
                if event.state_key == me {
                    tokio::spawn(join_with_retry(room));
                }
            }
        });

        let outbound_shared = shared.clone();
        let mut outbound_stop = stop.clone();
        let outbound = tokio::spawn(async move {
            loop {
                let stopping = *outbound_stop.borrow();
                let next = if stopping {
                    // Stopping: what the engine still sends (answers to the
                    // last messages) goes out, until it falls quiet.
                    tokio::time::timeout(Duration::from_secs(2), deliveries.recv())
                        .await
                        .ok()
                        .flatten()
                } else {
                    tokio::select! {
                        next = deliveries.recv() => next,
                        changed = outbound_stop.changed() => {
                            if changed.is_err() {
                                // Nobody can stop us any more: drain as stopping.
                                return drain(&outbound_shared, &mut deliveries).await;
                            }
                            continue;
                        }
                    }
                };
                match next {
                    Some(delivery) => deliver(&outbound_shared, delivery).await,
                    None => break,
                }
            }
        });

        // Ready: what arrives from now on is answered.
        eprintln!(
            "promeneur-bot: serving Matrix as {} (Ctrl-C or SIGTERM to stop)",
            shared.me
        );
        let mut stop_waiting = stop.clone();
        let mut failure = None;
        loop {
            tokio::select! {
                _ = stop_waiting.changed() => break,
                synced = sync_with_backoff(&client, settings.clone(), &mut stop) => match synced {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        failure = Some(e);
                        // What the engine already decided still goes out
                        // (by the sends' own retries) before the bot stops.
                        let _ = shared.stop.send(true);
                        break;
                    }
                },
            }
            if *stop.borrow() {
                break;
            }
        }
        tracing::info!("Matrix sync stopped");
        let _ = outbound.await;
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

async fn drain(shared: &Arc<Shared>, deliveries: &mut mpsc::UnboundedReceiver<Delivery>) {
    while let Ok(Some(delivery)) =
        tokio::time::timeout(Duration::from_secs(2), deliveries.recv()).await
    {
        deliver(shared, delivery).await;
    }
}

/// One sync, retried with growing pauses while the homeserver is away.
/// `false` when asked to stop meanwhile; an error when the homeserver no
/// longer knows the bot's session (retrying would never end).
async fn sync_with_backoff(
    client: &Client,
    settings: SyncSettings,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<bool> {
    let mut pause = Duration::from_millis(500);
    loop {
        match client.sync_once(settings.clone()).await {
            Ok(_) => return Ok(true),
            Err(e)
                if matches!(
                    e.client_api_error_kind(),
                    Some(matrix_sdk::ruma::api::error::ErrorKind::UnknownToken { .. })
                ) =>
            {
                bail!(
                    "the homeserver no longer accepts the bot's session (logged out, or its device deleted): stop the bot, empty the matrix.store folder, and start it again with the password"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "Matrix sync failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => return Ok(false),
                }
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
}

fn password(config: &Config) -> anyhow::Result<Secret> {
    match config.secret(PASSWORD_SECRET) {
        Ok(Some(secret)) => Ok(secret),
        Ok(None) => bail!(
            "no Matrix password to log in with: set PROMENEUR_BOT_MATRIX_PASSWORD, or `{PASSWORD_SECRET} = \"…\"` in the secrets file ([secrets] file in {}). It is needed at the first start only; the session is then saved in matrix.store",
            config.file.display()
        ),
        Err(e) => bail!(e),
    }
}

async fn resolve_room(client: &Client, room: &str) -> anyhow::Result<OwnedRoomId> {
    if room.starts_with('#') {
        let alias = <&RoomAliasId>::try_from(room)?;
        Ok(client.resolve_room_alias(alias).await?.room_id)
    } else {
        Ok(OwnedRoomId::try_from(room)?)
    }
}

/// Joins a room the bot was invited to, retrying with growing pauses (the
/// homeserver may not have finished creating it).
async fn join_with_retry(room: Room) {
    let mut pause = Duration::from_secs(1);
    for attempt in 1..=8 {
        match room.join().await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(attempt, error = %e, "joining a room failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(60));
            }
        }
    }
    tracing::error!("a room invitation could not be accepted");
}

/// The bot is addressed in a public room: by a mention, its user id, or its
/// name in the message. Returns the text without it.
fn addressed(
    me: &UserId,
    display_name: &str,
    event: &OriginalSyncRoomMessageEvent,
    body: &str,
) -> Option<String> {
    let mentioned = event
        .content
        .mentions
        .as_ref()
        .is_some_and(|m| m.user_ids.contains(me));
    let localpart = me.localpart();
    let names = [me.as_str(), display_name, localpart];
    // ASCII lower case keeps byte offsets, so a found name can be cut out.
    let lower = body.to_ascii_lowercase();
    let named = names
        .iter()
        .any(|n| !n.is_empty() && lower.contains(&n.to_ascii_lowercase()));
    if !(mentioned || named) {
        return None;
    }
    let mut text = body.to_string();
    for name in names {
        if name.is_empty() {
            continue;
        }
        if let Some(at) = text.to_ascii_lowercase().find(&name.to_ascii_lowercase()) {
            text.replace_range(at..at + name.len(), "");
        }
    }
    Some(
        text.trim_matches(|c: char| c.is_whitespace() || c == ':' || c == ',')
            .to_string(),
    )
}

async fn on_message(shared: &Arc<Shared>, event: OriginalSyncRoomMessageEvent, room: Room) {
    if event.sender == shared.me || room.state() != RoomState::Joined {
        return;
    }
    // Only what people type: notices are other bots, media carry no words.
    let MessageType::Text(content) = &event.content.msgtype else {
        return;
    };
    // An edit is not a new message: answering it would answer twice.
    if matches!(
        event.content.relates_to,
        Some(matrix_sdk::ruma::events::room::message::Relation::Replacement(_))
    ) {
        return;
    }
    let body = content.body.trim();
    if body.is_empty() {
        return;
    }
    let from = Account::new(Platform::Matrix, event.sender.as_str());
    let origin = |public: bool| Origin {
        platform: Platform::Matrix,
        room: room.room_id().to_string(),
        public,
    };
    let (text, place, public) = match room_kind(shared, &room).await {
        RoomKind::Staff => {
            // Promeneurs talk among themselves here: only commands are read.
            if !body.starts_with('/') {
                return;
            }
            // Answered in private: a brief may hold what the person wrote,
            // which is for the Promeneur who takes it, not for the whole team.
            (body.to_string(), Place::StaffRoom, true)
        }
        RoomKind::HandOff(conversation) => (
            body.to_string(),
            Place::HandOffRoom(ConversationId(conversation)),
            false,
        ),
        RoomKind::ClosedHandOff => return,
        RoomKind::Private => (body.to_string(), Place::Direct, false),
        // A public room: only what is addressed to the bot, answered in
        // private; the rest is not read at all.
        RoomKind::Public => {
            match addressed(&shared.me, &shared.settings.display_name, &event, body) {
                Some(text) if !text.is_empty() => (text, Place::Direct, true),
                Some(_) => ("bonjour".to_string(), Place::Direct, true),
                None => return,
            }
        }
    };
    tracing::debug!(event = %event.event_id, "message received");
    if !shared
        .engine
        .submit(Inbound::Message { from, text, place }, Some(origin(public)))
    {
        tracing::error!("the engine has stopped: a message cannot be handled; stopping");
        let _ = shared.stop.send(true);
    }
}

/// What a room is to the bot, which decides what it reads there.
enum RoomKind {
    /// A département's staff room.
    Staff,
    /// The room of an open hand-off.
    HandOff(i64),
    /// A hand-off room the bot stayed in after the close: not read.
    ClosedHandOff,
    /// A direct chat: a room that is not public where only the bot and one
    /// other person are (joined or invited).
    Private,
    /// Anything else; a public room is never private, however few are in it.
    Public,
}

async fn room_kind(shared: &Shared, room: &Room) -> RoomKind {
    if shared.staff_rooms.contains_key(room.room_id()) {
        return RoomKind::Staff;
    }
    let handoff = shared
        .book
        .lock()
        .expect("the room book lock")
        .conversation_of_room(room.room_id());
    match handoff {
        Some((_, true)) => return RoomKind::ClosedHandOff,
        Some((conversation, false)) => return RoomKind::HandOff(conversation),
        None => {}
    }
    if room.is_public().unwrap_or(false) {
        return RoomKind::Public;
    }
    match room.members(matrix_sdk::RoomMemberships::ACTIVE).await {
        Ok(members) if members.len() <= 2 => RoomKind::Private,
        Ok(_) => RoomKind::Public,
        Err(e) => {
            tracing::warn!(error = %e, "the members of a room could not be read; taken as a group room");
            RoomKind::Public
        }
    }
}

/// A message the bot could not decrypt (its key never came): the person is
/// asked to send it again rather than left without an answer. Only in
/// private rooms: a public room's unreadable chatter is not the bot's.
async fn on_undecryptable(shared: &Arc<Shared>, event: OriginalSyncRoomEncryptedEvent, room: Room) {
    if event.sender == shared.me || room.state() != RoomState::Joined {
        return;
    }
    if !matches!(
        room_kind(shared, &room).await,
        RoomKind::HandOff(_) | RoomKind::Private
    ) {
        return;
    }
    tracing::warn!(event = %event.event_id, "a message could not be decrypted");
    send_to(
        shared,
        room.room_id(),
        bot_notice("Je n'ai pas pu lire ton dernier message (un problème de chiffrement). Peux-tu le renvoyer ? Si c'est urgent : 3114 (idées suicidaires), 119 (enfance en danger), 112 (urgences)."),
    )
    .await;
}

// ----- out -----

async fn deliver(shared: &Arc<Shared>, delivery: Delivery) {
    for action in delivery.actions {
        match action {
            Outbound::Say { to, speaker, text } => {
                say(
                    shared,
                    &delivery.sender,
                    &delivery.origin,
                    &to,
                    speaker,
                    &text,
                )
                .await
            }
            Outbound::Staff {
                departement, text, ..
            } => {
                let room = shared
                    .staff_by_departement
                    .get(departement.as_str())
                    .cloned();
                if let Some(room) = room {
                    if !send_to(shared, &room, bot_notice(&text)).await {
                        tracing::warn!(departement = %departement, "a staff notice could not be posted; is the bot in the staff room?");
                    }
                }
            }
            Outbound::HandOff(handoff) => {
                if handoff.taken {
                    open_handoff_room(shared, &handoff).await;
                } else {
                    offered_elsewhere(shared, &handoff).await;
                }
            }
            Outbound::Closed { conversation, .. } => {
                close_handoff_room(shared, conversation.0).await
            }
            Outbound::Released { conversation, .. } => release(shared, conversation.0, None).await,
        }
    }
}

fn bot_notice(text: &str) -> RoomMessageEventContent {
    RoomMessageEventContent::notice_plain(format!("🤖 {text}"))
}

async fn say(
    shared: &Arc<Shared>,
    sender: &Option<Account>,
    origin: &Option<Origin>,
    to: &Account,
    speaker: Speaker,
    text: &str,
) {
    let Ok(user) = OwnedUserId::try_from(to.id.as_str()) else {
        tracing::warn!("a message for an account that is not a Matrix user id was dropped");
        return;
    };
    let (room, content) = {
        let book = shared.book.lock().expect("the room book lock");
        match speaker {
            // Written in private while a hand-off room exists: shown there.
            Speaker::Person(conversation) => (
                book.handoffs.get(&conversation.0).map(|h| h.room.clone()),
                RoomMessageEventContent::text_plain(format!(
                    "💬 Demande n°{conversation} — message de la personne : {text}"
                )),
            ),
            Speaker::Promeneur(card) => (
                book.room_of_person(&user),
                RoomMessageEventContent::text_plain(format!("👤 {} : {text}", card.headline())),
            ),
            // An answer goes where the question was asked, unless that was
            // a public room.
            Speaker::Bot => {
                let answer_here = origin
                    .as_ref()
                    .filter(|o| !o.public && sender.as_ref() == Some(to));
                let room = match answer_here {
                    Some(o) => OwnedRoomId::try_from(o.room.as_str()).ok(),
                    None => book.room_of_person(&user),
                };
                (room, bot_notice(text))
            }
        }
    };
    if let Some(room) = room {
        if send_to(shared, &room, content.clone()).await {
            return;
        }
        // That room is gone (left, closed): the direct chat then.
    }
    if let Some(room) = direct_room(shared, &user).await {
        send_to(shared, &room, content).await;
    }
}

/// The direct chat with someone, made if there is none.
async fn direct_room(shared: &Arc<Shared>, user: &UserId) -> Option<OwnedRoomId> {
    for room in shared.client.get_dm_rooms(user) {
        // A direct chat the person left is no way to reach them.
        let present = matches!(
            room.get_member_no_sync(user).await,
            Ok(Some(member)) if matches!(
                member.membership(),
                matrix_sdk::ruma::events::room::member::MembershipState::Join
                    | matrix_sdk::ruma::events::room::member::MembershipState::Invite
            )
        );
        if present {
            return Some(room.room_id().to_owned());
        }
    }
    for attempt in 1..=5u32 {
        match shared.client.create_dm(user).await {
            Ok(room) => return Some(room.room_id().to_owned()),
            Err(e) => {
                tracing::warn!(attempt, error = %e, "a direct chat could not be created; retrying");
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
        }
    }
    tracing::error!("a direct chat could not be created; a message was not delivered");
    None
}

/// Sends, retrying while the homeserver is away: the emergency lines must
/// arrive. `false` when it cannot be sent (a room the bot is not in, a
/// refusal by the server), so the caller can try the direct chat.
async fn send_to(shared: &Arc<Shared>, room: &RoomId, content: RoomMessageEventContent) -> bool {
    let mut pause = Duration::from_millis(500);
    for attempt in 1..=8u32 {
        let Some(joined) = shared
            .client
            .get_room(room)
            .filter(|r| r.state() == RoomState::Joined)
        else {
            tracing::debug!("a message for a room the bot is not in was not sent there");
            return false;
        };
        let started = std::time::Instant::now();
        match joined.send(content.clone()).await {
            Ok(_) => {
                tracing::debug!(
                    micros = started.elapsed().as_micros() as u64,
                    "message sent"
                );
                return true;
            }
            Err(e) => {
                let kind = e.client_api_error_kind();
                let throttled = matches!(
                    kind,
                    Some(matrix_sdk::ruma::api::error::ErrorKind::LimitExceeded { .. })
                );
                if kind.is_some() && !throttled {
                    // The server answered no: asking again will not help.
                    tracing::warn!(error = %e, "the homeserver refused a message");
                    return false;
                }
                tracing::warn!(attempt, error = %e, "sending failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
    tracing::error!("a message could not be sent after retries");
    false
}

async fn open_handoff_room(shared: &Arc<Shared>, handoff: &HandOff) {
    let Ok(person) = OwnedUserId::try_from(handoff.person.id.as_str()) else {
        return;
    };
    let promeneur = promeneur_user(&handoff.card);
    let existing = shared
        .book
        .lock()
        .expect("the room book lock")
        .handoffs
        .get(&handoff.conversation.0)
        .cloned();
    let room_id = match existing {
        Some(entry) => {
            // A transfer: the new Promeneur comes in, the previous one goes.
            let Some(room) = shared.client.get_room(&entry.room) else {
                return;
            };
            if entry.promeneur != promeneur {
                if let Some(old) = &entry.promeneur {
                    if let Err(e) = room.kick_user(old, Some("Conversation transférée")).await {
                        tracing::warn!(error = %e, "the previous Promeneur could not be removed from a hand-off room");
                    }
                }
                if let Some(new) = &promeneur {
                    if let Err(e) = room.invite_user_by_id(new).await {
                        tracing::warn!(error = %e, "the Promeneur could not be invited to a hand-off room");
                    }
                }
            }
            entry.room
        }
        None => {
            let mut invite = vec![person.clone()];
            invite.extend(promeneur.clone());
            let initial_state = vec![InitialStateEvent::with_empty_state_key(
                RoomEncryptionEventContent::with_recommended_defaults(),
            )
            .to_raw_any()];
            let mut request = CreateRoomRequest::new();
            request.invite = invite;
            request.preset = Some(RoomPreset::PrivateChat);
            request.initial_state = initial_state;
            request.name = Some(format!(
                "Promeneur du Net · {} · demande n°{}",
                handoff.card.first_name, handoff.conversation
            ));
            request.topic = Some(format!(
                "Conversation privée entre toi et {}, une personne humaine. Le robot promeneur-bot reste dans ce salon pour les commandes du Promeneur (/fermer, /transferer) ; il ne répond pas à sa place.",
                handoff.card.headline()
            ));
            let mut created = None;
            for attempt in 1..=5u32 {
                match shared.client.create_room(request.clone()).await {
                    Ok(room) => {
                        created = Some(room.room_id().to_owned());
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(attempt, error = %e, "a hand-off room could not be created; retrying");
                        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                    }
                }
            }
            let Some(room) = created else {
                tracing::error!("a hand-off room could not be created");
                return;
            };
            room
        }
    };
    {
        let mut book = shared.book.lock().expect("the room book lock");
        book.handoffs.insert(
            handoff.conversation.0,
            HandOffRoom {
                room: room_id.clone(),
                person,
                promeneur: promeneur.clone(),
                closed: false,
            },
        );
        book.save(&shared.book_path);
    }
    // The identity card, with the Promeneur's photo.
    if let Some(photo) = photo_uri(shared, &handoff.card, promeneur.as_deref()).await {
        if let Some(room) = shared.client.get_room(&room_id) {
            if let Err(e) = room.set_avatar_url(&photo, None).await {
                tracing::warn!(error = %e, "the hand-off room's avatar could not be set");
            }
        }
        let image =
            ImageMessageEventContent::plain(format!("Photo de {}", handoff.card.first_name), photo);
        send_to(
            shared,
            &room_id,
            RoomMessageEventContent::new(MessageType::Image(image)),
        )
        .await;
    }
    send_to(
        shared,
        &room_id,
        bot_notice(&format!(
            "Voici ton Promeneur du Net, une personne humaine :\n{}\nÀ partir d'ici, c'est {} qui te répond. Le robot reste là pour les commandes.",
            handoff.card.text(),
            handoff.card.first_name
        )),
    )
    .await;
}

/// Offered again (a transfer, a time-out): a Promeneur who had the room and
/// is not the one offered now leaves it, so they read no more of it.
async fn offered_elsewhere(shared: &Arc<Shared>, handoff: &HandOff) {
    release(
        shared,
        handoff.conversation.0,
        promeneur_user(&handoff.card).as_deref(),
    )
    .await;
}

/// The Promeneur who had a conversation leaves its room, unless it is
/// `keep` (the one it now goes to).
async fn release(shared: &Arc<Shared>, conversation: i64, keep: Option<&UserId>) {
    let previous = {
        let mut book = shared.book.lock().expect("the room book lock");
        let Some(entry) = book.handoffs.get_mut(&conversation) else {
            return;
        };
        if entry.promeneur.is_none() || entry.promeneur.as_deref() == keep {
            return;
        }
        let previous = entry.promeneur.take().map(|p| (entry.room.clone(), p));
        book.save(&shared.book_path);
        previous
    };
    if let Some((room, old)) = previous {
        if let Some(room) = shared.client.get_room(&room) {
            if let Err(e) = room.kick_user(&old, Some("Conversation transférée")).await {
                tracing::warn!(error = %e, "the previous Promeneur could not be removed from a hand-off room");
            }
        }
    }
}

fn promeneur_user(card: &IdentityCard) -> Option<OwnedUserId> {
    card.matrix
        .as_deref()
        .and_then(|id| OwnedUserId::try_from(id).ok())
}

/// The Promeneur's photo as Matrix media: the roster's own (a Matrix media,
/// or a file uploaded once), else their Matrix avatar.
async fn photo_uri(
    shared: &Arc<Shared>,
    card: &IdentityCard,
    promeneur: Option<&UserId>,
) -> Option<OwnedMxcUri> {
    let photo = card.photo.as_str();
    if photo.starts_with("mxc://") {
        return Some(OwnedMxcUri::from(photo));
    }
    if !photo.starts_with("http://") && !photo.starts_with("https://") {
        if let Some(uri) = shared.uploaded.lock().expect("the photo lock").get(photo) {
            return Some(uri.clone());
        }
        let bytes = match std::fs::read(photo) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(error = %e, "a Promeneur's photo file cannot be read");
                return None;
            }
        };
        let mime: mime::Mime = if photo.to_ascii_lowercase().ends_with(".png") {
            mime::IMAGE_PNG
        } else if photo.to_ascii_lowercase().ends_with(".webp") {
            "image/webp".parse().ok()?
        } else {
            mime::IMAGE_JPEG
        };
        match shared.client.media().upload(&mime, bytes, None).await {
            Ok(response) => {
                shared
                    .uploaded
                    .lock()
                    .expect("the photo lock")
                    .insert(photo.to_string(), response.content_uri.clone());
                return Some(response.content_uri);
            }
            Err(e) => {
                tracing::warn!(error = %e, "a Promeneur's photo could not be uploaded");
                return None;
            }
        }
    }
    let user = promeneur?;
    let profile = shared
        .client
        .account()
        .fetch_user_profile_of(user)
        .await
        .ok()?;
    let avatar = profile.get("avatar_url")?.as_str()?;
    Some(OwnedMxcUri::from(avatar))
}

async fn close_handoff_room(shared: &Arc<Shared>, conversation: i64) {
    let leave = shared.settings.leave_on_close;
    let entry = {
        let mut book = shared.book.lock().expect("the room book lock");
        let entry = if leave {
            book.handoffs.remove(&conversation)
        } else {
            // The bot stays, but reads nothing more there.
            book.handoffs.get_mut(&conversation).map(|h| {
                h.closed = true;
                h.clone()
            })
        };
        if entry.is_some() {
            book.save(&shared.book_path);
        }
        entry
    };
    let Some(entry) = entry else {
        return;
    };
    if !leave {
        return;
    }
    send_to(
        shared,
        &entry.room,
        bot_notice("Cette conversation est close. Le robot quitte le salon. Tu peux toujours m'écrire en message privé si tu as besoin."),
    )
    .await;
    if let Some(room) = shared.client.get_room(&entry.room) {
        if let Err(e) = room.leave().await {
            tracing::warn!(error = %e, "the bot could not leave a closed hand-off room");
        }
    }
}
