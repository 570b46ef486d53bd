//! A fake Discord for the tests: the REST API (under `/api/v10`) and the
//! gateway websocket (at `/`) on one loopback port, enough for the real
//! serenity 0.12.5 client to run against it.
//!
//! Point serenity at it with
//! `HttpBuilder::new(token).proxy(fake.url()).ratelimiter_disabled(true)`:
//! the proxy option rewrites every `https://discord.com` URL, so the paths
//! arrive as `/api/v10/...`. Tests then play the users (`dm`,
//! `user_message`, `slash_command`, `button`), and read what the bot did
//! (`calls`, `messages_in`, `interaction_replies`, `wait_for`).
//!
//! What serenity needs in each payload is written next to the code that
//! makes it: a gateway dispatch that fails to deserialize is only logged (a
//! tracing warning) and dropped, its sequence number not even taken, so a
//! missing field shows up as an event handler that never fires. The smoke
//! test `tests/discord_fake.rs` deserializes every dispatched frame with
//! serenity's own `GatewayEvent` to catch that early.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

/// The bot user's id (username [`BOT_NAME`], `bot: true`).
pub const BOT_ID: &str = "900000000000000001";
/// The bot's application id (READY's `application.id`, the commands' owner).
pub const APP_ID: &str = "900000000000000002";
/// The bot user's username.
pub const BOT_NAME: &str = "promeneur-bot";
/// The owner of every fake guild (not a member unless added).
pub const OWNER_ID: &str = "900000000000000003";

/// What HELLO asks for; tests never last long enough to see a heartbeat.
const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// Close code of [`FakeDiscord::drop_gateway`]: serenity 0.12.5 treats 4000
/// ("unknown error") as an unclean close and, holding a session id,
/// reconnects with RESUME at once (`Shard::handle_gateway_closed`). An
/// abrupt TCP drop resumes too, but through tungstenite's error paths, and a
/// stream that merely ends reads as "nothing yet" to `WsClient::recv_json`
/// (only the missed heartbeat ACK, 41 s later, would notice): the close
/// frame is the deterministic choice.
const RESUMABLE_CLOSE_CODE: u16 = 4000;
/// Close code for a bad token in IDENTIFY/RESUME: serenity turns it into
/// `GatewayError::InvalidAuthentication` and `Client::start` returns it.
const AUTHENTICATION_FAILED: u16 = 4004;

/// Gateway intents the fake honours (bits of `GatewayIntents`).
const GUILDS: u64 = 1;
const GUILD_MEMBERS: u64 = 1 << 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const DIRECT_MESSAGES: u64 = 1 << 12;
const MESSAGE_CONTENT: u64 = 1 << 15;

/// Permissions of every guild's @everyone role, so of everyone: view, send,
/// embed, attach, history, reactions, external emojis, change nickname,
/// application commands, manage/create threads, send in threads. They matter:
/// with the cache, serenity checks SEND_MESSAGES (and ATTACH_FILES) itself
/// from the cached guild before posting in a guild channel.
const EVERYONE_PERMISSIONS: u64 = (1 << 6)
    | (1 << 10)
    | (1 << 11)
    | (1 << 14)
    | (1 << 15)
    | (1 << 16)
    | (1 << 18)
    | (1 << 26)
    | (1 << 31)
    | (1 << 34)
    | (1 << 35)
    | (1 << 36)
    | (1 << 38);
/// Discord's default upload limit, sent as an interaction's
/// `attachment_size_limit` (required by serenity 0.12.5).
const ATTACHMENT_SIZE_LIMIT: u64 = 25 * 1024 * 1024;
/// Milliseconds from the Unix epoch to Discord's (2015-01-01).
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// One REST request the bot made.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without `/api/v10` and without the query string.
    pub path: String,
    /// The query string, without `?` (empty when none).
    pub query: String,
    /// The JSON body, the parsed `payload_json` part of a multipart request,
    /// or `Null`.
    pub body: Value,
    /// File names uploaded in a multipart request.
    pub files: Vec<String>,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.query.is_empty() {
            write!(f, "?{}", self.query)?;
        }
        if !self.body.is_null() {
            write!(f, " {}", self.body)?;
        }
        if !self.files.is_empty() {
            write!(f, " files={:?}", self.files)?;
        }
        Ok(())
    }
}

/// The fake Discord; cheap to clone (all clones share one server).
#[derive(Clone)]
pub struct FakeDiscord {
    port: u16,
    shared: Arc<Shared>,
}

struct Shared {
    /// `Bot <token>`, as serenity sends it in `Authorization` and IDENTIFY.
    auth: String,
    port: u16,
    /// Ids are snowflakes: Discord-epoch milliseconds at start, shifted,
    /// plus a counter.
    id_base: u64,
    state: Mutex<State>,
    /// Woken on every REST call and gateway change.
    changed: Notify,
}

#[derive(Default)]
struct State {
    next_id: u64,
    guilds: BTreeMap<String, GuildData>,
    /// Every user seen: id -> username.
    users: HashMap<String, String>,
    /// Every channel by id: guild text channels, threads, DMs.
    channels: HashMap<String, Value>,
    /// User id -> their DM channel id.
    dm_channels: HashMap<String, String>,
    refused_dms: HashSet<String>,
    thread_members: HashMap<String, BTreeSet<String>>,
    /// Every message by id, the users' and the bot's.
    messages: HashMap<String, Value>,
    /// Accepted POST `/channels/{c}/messages` bodies: (channel, body).
    posted: Vec<(String, Value)>,
    calls: Vec<Call>,
    unknown: Vec<Call>,
    interactions: HashMap<String, InteractionData>,
    /// Guild id (`None`: global) -> the registered commands.
    commands: BTreeMap<Option<String>, Vec<Value>>,
    gateway: Gateway,
}

struct GuildData {
    name: String,
    joined_at: String,
    /// Member user id -> joined_at.
    members: BTreeMap<String, String>,
}

struct InteractionData {
    token: String,
    kind: u8,
    channel_id: String,
    guild_id: Option<String>,
    /// The message a component belongs to.
    message_id: Option<String>,
    acknowledged: bool,
    /// The `@original` response message, once there is one.
    original: Option<Value>,
    /// Callback body, then follow-up and edit bodies, in order.
    replies: Vec<Value>,
}

#[derive(Default)]
struct Gateway {
    next_conn: u64,
    /// The live, identified or resumed, socket.
    socket: Option<(u64, mpsc::UnboundedSender<Out>)>,
    session_id: Option<String>,
    /// Last sequence number given in the current session.
    seq: u64,
    /// Last sequence number written to a socket.
    sent_seq: u64,
    /// Every dispatch of the current session, for RESUME replays.
    log: Vec<(u64, Value)>,
    /// Events dispatched while there was no session (before the first
    /// IDENTIFY or after an invalidated one): sent after READY.
    pending: Vec<(String, Value)>,
    /// Every dispatch frame ever sent or logged, for inspection.
    dispatched: Vec<Value>,
    identify_count: u32,
    resume_count: u32,
    intents: Option<u64>,
}

enum Out {
    Frame(Value),
    Close(u16, &'static str),
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock must not take the server down.
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

fn random_u64() -> u64 {
    RandomState::new().build_hasher().finish()
}

/// A user object. `discriminator: "0"` is what Discord sends for the new
/// unique usernames; serenity maps it to `None`.
fn user_json(id: &str, name: &str) -> Value {
    json!({
        "id": id, "username": name, "discriminator": "0", "global_name": null,
        "avatar": null, "bot": id == BOT_ID, "system": false, "public_flags": 0, "flags": 0,
        "banner": null, "accent_color": null, "avatar_decoration_data": null
    })
}

fn bot_user() -> Value {
    let mut user = user_json(BOT_ID, BOT_NAME);
    user["verified"] = json!(true);
    user["mfa_enabled"] = json!(false);
    user
}

/// A guild member. serenity's `Member` requires `user, roles, deaf, mute,
/// flags` (`joined_at` may be null); `guild_id` is filled in by serenity from
/// the surrounding payload.
fn member_json(user: Value, joined_at: &str) -> Value {
    json!({
        "user": user, "nick": null, "avatar": null, "banner": null, "roles": [],
        "joined_at": joined_at, "premium_since": null, "deaf": false, "mute": false,
        "flags": 0, "pending": false, "communication_disabled_until": null,
        "unusual_dm_activity_until": null
    })
}

/// The @everyone role: id = guild id. serenity 0.12.5's `Role`
/// also requires `colors {primary_color}` besides `color`, `hoist`,
/// `managed`, `name`, `permissions` (a string), `position`.
fn everyone_role(guild_id: &str) -> Value {
    json!({
        "id": guild_id, "name": "@everyone", "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false, "icon": null, "unicode_emoji": null, "position": 0,
        "permissions": EVERYONE_PERMISSIONS.to_string(), "managed": false,
        "mentionable": false, "flags": 0
    })
}

fn error(status: StatusCode, code: u32, message: &str) -> (StatusCode, Value) {
    (status, json!({"message": message, "code": code}))
}

fn not_found(code: u32, message: &str) -> (StatusCode, Value) {
    error(StatusCode::NOT_FOUND, code, message)
}

fn ok(value: Value) -> (StatusCode, Value) {
    (StatusCode::OK, value)
}

fn no_content() -> (StatusCode, Value) {
    (StatusCode::NO_CONTENT, Value::Null)
}

/// Copies the message fields a create or edit body may carry; `upload_ids`
/// are fresh ids for the uploaded files.
fn apply_message_body(
    message: &mut Value,
    body: &Value,
    uploads: &[Upload],
    upload_ids: &[String],
) {
    for key in [
        "content",
        "embeds",
        "components",
        "flags",
        "tts",
        "message_reference",
        "poll",
    ] {
        if let Some(value) = body.get(key).filter(|v| !v.is_null()) {
            message[key] = value.clone();
        }
    }
    if !uploads.is_empty() || body.get("attachments").is_some() {
        message["attachments"] = attachments_json(body, uploads, upload_ids);
    }
}

/// Attachments of a posted message. The request's `attachments` only carry
/// `{id, filename}` (the id indexes the `files[i]` part); serenity's
/// `Attachment` needs `id, filename, size, url, proxy_url`.
fn attachments_json(body: &Value, uploads: &[Upload], upload_ids: &[String]) -> Value {
    let kept = body["attachments"].as_array().into_iter().flatten();
    // Attachments with a URL are those an edit keeps.
    let mut out: Vec<Value> = kept.filter(|a| a.get("url").is_some()).cloned().collect();
    for (upload, id) in uploads.iter().zip(upload_ids) {
        let url = format!(
            "https://cdn.discordapp.com/attachments/{id}/{}",
            upload.filename
        );
        out.push(json!({
            "id": id, "filename": upload.filename, "size": upload.size, "url": url,
            "proxy_url": url, "content_type": upload.content_type
        }));
    }
    Value::Array(out)
}

impl State {
    fn new_id(&mut self, base: u64) -> String {
        self.next_id += 1;
        (base + self.next_id).to_string()
    }

    fn new_ids(&mut self, base: u64, count: usize) -> Vec<String> {
        (0..count).map(|_| self.new_id(base)).collect()
    }

    fn user_name(&self, id: &str) -> String {
        if id == BOT_ID {
            return BOT_NAME.into();
        }
        self.users
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("user{id}"))
    }

    fn ensure_member(&mut self, guild_id: &str, user_id: &str) -> Option<String> {
        let guild = self.guilds.get_mut(guild_id)?;
        Some(
            guild
                .members
                .entry(user_id.into())
                .or_insert_with(now)
                .clone(),
        )
    }

    fn member(&self, guild_id: &str, user_id: &str) -> Option<Value> {
        let joined_at = self.guilds.get(guild_id)?.members.get(user_id)?;
        Some(member_json(
            user_json(user_id, &self.user_name(user_id)),
            joined_at,
        ))
    }

    fn dm_channel(&mut self, base: u64, user_id: &str) -> String {
        // A deleted DM channel is made again, with a new id.
        if let Some(id) = self
            .dm_channels
            .get(user_id)
            .filter(|id| self.channels.contains_key(*id))
        {
            return id.clone();
        }
        let id = self.new_id(base);
        // serenity's `PrivateChannel` takes the first of `recipients`.
        let channel = json!({
            "id": id, "type": 1, "last_message_id": null, "flags": 0,
            "recipients": [user_json(user_id, &self.user_name(user_id))]
        });
        self.channels.insert(id.clone(), channel);
        self.dm_channels.insert(user_id.into(), id.clone());
        id
    }

    /// GUILD_CREATE's payload: serenity 0.12.5's `Guild` has many required
    /// fields (`verification_level`, `default_message_notifications`,
    /// `explicit_content_filter`, `mfa_level`, `system_channel_flags`,
    /// `premium_tier`, `nsfw_level`, `preferred_locale`,
    /// `premium_progress_bar_enabled`, `features`, `emojis`, `stickers`) and
    /// the GUILD_CREATE-only ones (`joined_at`, `large`, `member_count`,
    /// `voice_states`, `members`, `channels`, `threads`, `presences`,
    /// `stage_instances`, `guild_scheduled_events`). The bot must be among
    /// `members`: serenity computes its channel permissions from the cache.
    fn guild_json(&self, guild_id: &str) -> Value {
        let Some(guild) = self.guilds.get(guild_id) else {
            return Value::Null;
        };
        let members: Vec<Value> = guild
            .members
            .keys()
            .filter_map(|u| self.member(guild_id, u))
            .collect();
        let in_guild = |kinds: &[u64]| -> Vec<Value> {
            let mut list: Vec<Value> = self
                .channels
                .values()
                .filter(|c| {
                    c["guild_id"] == guild_id && kinds.contains(&c["type"].as_u64().unwrap_or(0))
                })
                .filter(|c| c["thread_metadata"]["archived"] != true)
                .cloned()
                .collect();
            list.sort_by_key(|c| c["id"].as_str().and_then(|id| id.parse::<u64>().ok()));
            list
        };
        // Two `json!` calls: one would exceed the default macro recursion limit.
        let mut value = json!({
            "id": guild_id, "name": guild.name, "icon": null, "icon_hash": null, "splash": null,
            "discovery_splash": null, "owner_id": OWNER_ID, "afk_channel_id": null,
            "afk_timeout": 300, "widget_enabled": false, "widget_channel_id": null,
            "verification_level": 0, "default_message_notifications": 1,
            "explicit_content_filter": 0, "roles": [everyone_role(guild_id)], "emojis": [],
            "features": [], "mfa_level": 0, "application_id": null, "system_channel_id": null,
            "system_channel_flags": 0, "rules_channel_id": null, "max_presences": null,
            "max_members": 500_000, "vanity_url_code": null, "description": null, "banner": null,
            "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "fr",
            "public_updates_channel_id": null, "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50, "nsfw_level": 0, "stickers": [],
            "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
            "incidents_data": null
        });
        let create_only = json!({
            "joined_at": guild.joined_at, "large": false, "unavailable": false,
            "member_count": guild.members.len(), "voice_states": [], "members": members,
            "channels": in_guild(&[0, 2, 4, 5, 13, 15]), "threads": in_guild(&[10, 11, 12]),
            "presences": [], "stage_instances": [], "guild_scheduled_events": [],
            "soundboard_sounds": [], "lazy": true
        });
        if let (Some(map), Value::Object(extra)) = (value.as_object_mut(), create_only) {
            map.extend(extra);
        }
        value
    }

    /// Whether the identified intents contain `bit` (true before any IDENTIFY).
    fn wants(&self, bit: u64) -> bool {
        self.gateway.intents.is_none_or(|i| i & bit != 0)
    }

    /// Gives an event the next sequence number and sends it on the live
    /// socket; without a live socket it waits in the session log for a
    /// RESUME, and without a session at all until the next READY.
    /// Honours intents like Discord: no GUILD_CREATE without GUILDS, no
    /// guild/DM MESSAGE_CREATE without GUILD_MESSAGES/DIRECT_MESSAGES, and
    /// guild message contents blanked without MESSAGE_CONTENT unless the bot
    /// is mentioned.
    fn dispatch(&mut self, t: &str, mut d: Value) {
        if self.gateway.session_id.is_none() {
            self.gateway.pending.push((t.into(), d));
            return;
        }
        let needed = match t {
            "GUILD_CREATE" => Some(GUILDS),
            "GUILD_MEMBER_ADD" => Some(GUILD_MEMBERS),
            "MESSAGE_CREATE" if d["guild_id"].is_string() => Some(GUILD_MESSAGES),
            "MESSAGE_CREATE" => Some(DIRECT_MESSAGES),
            _ => None,
        };
        if let Some(bit) = needed.filter(|&bit| !self.wants(bit)) {
            eprintln!("fake Discord: {t} not sent: the bot did not ask for intent bit {bit:#x}");
            return;
        }
        let mentioned = d["mentions"]
            .as_array()
            .is_some_and(|m| m.iter().any(|u| u["id"] == BOT_ID));
        if t == "MESSAGE_CREATE"
            && d["guild_id"].is_string()
            && !mentioned
            && !self.wants(MESSAGE_CONTENT)
        {
            eprintln!("fake Discord: guild message content blanked: no MESSAGE_CONTENT intent");
            for key in ["content", "embeds", "attachments", "components"] {
                d[key] = if key == "content" {
                    json!("")
                } else {
                    json!([])
                };
            }
        }
        let gateway = &mut self.gateway;
        gateway.seq += 1;
        let frame = json!({"op": 0, "t": t, "s": gateway.seq, "d": d});
        gateway.log.push((gateway.seq, frame.clone()));
        gateway.dispatched.push(frame.clone());
        if let Some((_, tx)) = &gateway.socket {
            if tx.send(Out::Frame(frame)).is_ok() {
                gateway.sent_seq = gateway.seq;
            }
        }
    }
}

impl FakeDiscord {
    /// Binds 127.0.0.1 on a free port and serves REST and the gateway; the
    /// bot must use `token` (with or without the `Bot ` prefix).
    pub async fn start(token: &str) -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Discord");
        let port = listener.local_addr().expect("fake Discord address").port();
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let shared = Arc::new(Shared {
            auth: format!("Bot {}", token.trim_start_matches("Bot ")),
            port,
            id_base: since_epoch.saturating_sub(DISCORD_EPOCH_MS) << 22,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
        });
        let app = Router::new()
            .route("/", get(gateway))
            .fallback(rest)
            .with_state(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("fake Discord: server stopped: {e}");
            }
        });
        FakeDiscord { port, shared }
    }

    /// `http://127.0.0.1:PORT`, for `HttpBuilder::proxy`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `ws://127.0.0.1:PORT`, what GET `/gateway` answers.
    pub fn gateway_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared)
    }

    /// Runs `f` on the state with a fresh-id maker, then wakes the waiters.
    fn with<T>(&self, f: impl FnOnce(&mut State, u64) -> T) -> T {
        let out = f(&mut self.state(), self.shared.id_base);
        self.shared.changed.notify_waiters();
        out
    }

    /// Adds a guild (or more channels to it) with type-0 text channels
    /// `(id, name)`; the bot is a member. Sent as GUILD_CREATE if the bot is
    /// already connected, listed in READY otherwise.
    pub fn add_guild(&self, guild_id: &str, name: &str, channels: &[(&str, &str)]) {
        self.with(|st, _| {
            let joined_at = now();
            let guild = st
                .guilds
                .entry(guild_id.into())
                .or_insert_with(|| GuildData {
                    name: name.into(),
                    joined_at: joined_at.clone(),
                    members: BTreeMap::new(),
                });
            guild.name = name.into();
            guild.members.entry(BOT_ID.into()).or_insert(joined_at);
            for (position, (id, channel_name)) in channels.iter().enumerate() {
                st.channels.insert(
                    id.to_string(),
                    json!({
                        "id": id, "type": 0, "guild_id": guild_id, "name": channel_name,
                        "position": position, "permission_overwrites": [], "parent_id": null,
                        "topic": null, "nsfw": false, "last_message_id": null,
                        "rate_limit_per_user": 0, "flags": 0
                    }),
                );
            }
            // Without a session, READY will list it.
            if st.gateway.session_id.is_some() {
                let guild = st.guild_json(guild_id);
                st.dispatch("GUILD_CREATE", guild);
            }
        })
    }

    /// Adds a member to a guild (sent as GUILD_MEMBER_ADD if the bot is
    /// connected with the GUILD_MEMBERS intent).
    pub fn add_member(&self, guild_id: &str, user_id: &str, username: &str) {
        self.with(|st, _| {
            st.users.insert(user_id.into(), username.into());
            if st.ensure_member(guild_id, user_id).is_none() {
                eprintln!("fake Discord: add_member: no guild {guild_id}");
                return;
            }
            if st.gateway.session_id.is_some() {
                if let Some(mut member) = st.member(guild_id, user_id) {
                    member["guild_id"] = json!(guild_id);
                    st.dispatch("GUILD_MEMBER_ADD", member);
                }
            }
        })
    }

    /// From now on, messages to this user's DM channel get 403 50007
    /// "Cannot send messages to this user".
    pub fn refuse_dms(&self, user_id: &str) {
        self.with(|st, _| st.refused_dms.insert(user_id.into()));
    }

    /// The DM channel id of a user: the one POST `/users/@me/channels`
    /// returns for them, and where [`FakeDiscord::dm`] writes.
    pub fn dm_channel(&self, user_id: &str) -> String {
        self.with(|st, base| st.dm_channel(base, user_id))
    }

    /// A user writes in a guild channel (`guild: Some`) or any channel;
    /// returns the message id. MESSAGE_CREATE needs `id, channel_id,
    /// author{id,username}, content, timestamp, edited_timestamp, tts,
    /// mention_everyone, mentions, mention_roles, attachments, embeds, pinned,
    /// type`; in a guild, `guild_id` and a partial `member` (no `user`). With
    /// `mentions_bot`, `mentions` holds the bot; `content` is sent as given
    /// (write `<@BOT_ID>` in it if the mention should be visible).
    pub fn user_message(
        &self,
        guild: Option<&str>,
        channel: &str,
        author_id: &str,
        author_name: &str,
        content: &str,
        mentions_bot: bool,
    ) -> String {
        self.with(|st, base| {
            st.users.insert(author_id.into(), author_name.into());
            if !st.channels.contains_key(channel) {
                eprintln!("fake Discord: user_message in unknown channel {channel}");
            }
            let id = st.new_id(base);
            let mut message = json!({
                "id": id, "channel_id": channel, "author": user_json(author_id, author_name),
                "content": content, "timestamp": now(), "edited_timestamp": null, "tts": false,
                "mention_everyone": false, "mentions": [], "mention_roles": [],
                "attachments": [], "embeds": [], "components": [], "pinned": false, "type": 0,
                "flags": 0, "nonce": id
            });
            if mentions_bot {
                let mut bot = bot_user();
                if let Some(g) = guild {
                    bot["member"] = st.member(g, BOT_ID).unwrap_or(Value::Null);
                    if let Some(m) = bot["member"].as_object_mut() {
                        m.remove("user");
                    }
                }
                message["mentions"] = json!([bot]);
            }
            if let Some(g) = guild {
                let joined_at = st.ensure_member(g, author_id).unwrap_or_else(now);
                message["guild_id"] = json!(g);
                let mut member = member_json(Value::Null, &joined_at);
                if let Some(m) = member.as_object_mut() {
                    m.remove("user");
                }
                message["member"] = member;
            }
            st.messages.insert(id.clone(), message.clone());
            st.dispatch("MESSAGE_CREATE", message);
            id
        })
    }

    /// A user writes to the bot in their DM channel (no `guild_id`);
    /// returns the message id.
    pub fn dm(&self, author_id: &str, author_name: &str, content: &str) -> String {
        self.with(|st, _| st.users.insert(author_id.into(), author_name.into()));
        let channel = self.dm_channel(author_id);
        self.user_message(None, &channel, author_id, author_name, content, false)
    }

    /// The common part of INTERACTION_CREATE. serenity 0.12.5's
    /// `CommandInteraction` and `ComponentInteraction` require `id,
    /// application_id, type, data, channel_id, token, version, locale,
    /// entitlements, attachment_size_limit`; `member` (with `user`,
    /// `roles`, `deaf`, `mute`, `flags`) in a guild, else `user`.
    /// `authorizing_integration_owners` is a map keyed by installation
    /// context as a string ("0": guild install, the guild id, or "0" in a DM).
    #[allow(clippy::too_many_arguments)]
    fn interaction(
        &self,
        kind: u8,
        guild: Option<&str>,
        channel: &str,
        user_id: &str,
        username: &str,
        data: impl FnOnce(&mut State, u64) -> Value,
        message_id: Option<&str>,
    ) -> String {
        self.with(|st, base| {
            st.users.insert(user_id.into(), username.into());
            let id = st.new_id(base);
            let token = format!(
                "aW50ZXJhY3Rpb246{id}:{:016x}{:016x}",
                random_u64(),
                random_u64()
            );
            let channel_type = st
                .channels
                .get(channel)
                .map_or(if guild.is_some() { 0 } else { 1 }, |c| {
                    c["type"].as_u64().unwrap_or(0)
                });
            let mut payload = json!({
                "id": id, "application_id": APP_ID, "type": kind, "data": data(st, base),
                "channel_id": channel,
                "channel": {"id": channel, "type": channel_type, "flags": 0,
                            "permissions": EVERYONE_PERMISSIONS.to_string()},
                "token": token, "version": 1, "locale": "fr",
                "app_permissions": EVERYONE_PERMISSIONS.to_string(), "entitlements": [],
                "authorizing_integration_owners": {"0": guild.unwrap_or("0")},
                "context": if guild.is_some() { 0 } else { 1 },
                "attachment_size_limit": ATTACHMENT_SIZE_LIMIT
            });
            if let Some(c) = st.channels.get(channel) {
                for key in ["name", "guild_id", "parent_id", "thread_metadata"] {
                    if let Some(v) = c.get(key) {
                        payload["channel"][key] = v.clone();
                    }
                }
            }
            match guild {
                Some(g) => {
                    let joined_at = st.ensure_member(g, user_id).unwrap_or_else(now);
                    let mut member = member_json(user_json(user_id, username), &joined_at);
                    member["permissions"] = json!(EVERYONE_PERMISSIONS.to_string());
                    payload["member"] = member;
                    payload["guild_id"] = json!(g);
                    payload["guild_locale"] = json!("fr");
                }
                None => payload["user"] = user_json(user_id, username),
            }
            if let Some(m) = message_id {
                let message = st.messages.get(m).cloned().unwrap_or_else(|| {
                    eprintln!("fake Discord: button on unknown message {m}: made one up");
                    json!({"id": m, "channel_id": channel, "author": bot_user(),
                        "content": "", "timestamp": now(), "edited_timestamp": null, "tts": false,
                        "mention_everyone": false, "mentions": [], "mention_roles": [],
                        "attachments": [], "embeds": [], "components": [], "pinned": false,
                        "type": 0, "flags": 0})
                });
                payload["message"] = message;
            }
            st.interactions.insert(
                id.clone(),
                InteractionData {
                    token,
                    kind,
                    channel_id: channel.into(),
                    guild_id: guild.map(Into::into),
                    message_id: message_id.map(Into::into),
                    acknowledged: false,
                    original: None,
                    replies: Vec::new(),
                },
            );
            st.dispatch("INTERACTION_CREATE", payload);
            id
        })
    }

    /// A user runs a chat-input slash command; returns the interaction id.
    /// `options` as Discord sends them, e.g.
    /// `json!([{"name":"conversation","type":4,"value":12}])`. The command id
    /// is the registered one when a command of that name was registered.
    pub fn slash_command(
        &self,
        guild: Option<&str>,
        channel: &str,
        user_id: &str,
        username: &str,
        name: &str,
        options: Value,
    ) -> String {
        let guild_key = guild.map(String::from);
        let data = |st: &mut State, base: u64| {
            let registered = [guild_key.clone(), None]
                .iter()
                .filter_map(|g| st.commands.get(g))
                .flatten()
                .find(|c| c["name"] == name)
                .and_then(|c| c["id"].as_str().map(String::from));
            let command_id = registered.unwrap_or_else(|| st.new_id(base));
            let mut data = json!({"id": command_id, "name": name, "type": 1, "options": options});
            if let Some(g) = &guild_key {
                data["guild_id"] = json!(g);
            }
            data
        };
        self.interaction(2, guild, channel, user_id, username, data, None)
    }

    /// A user clicks a button (`component_type` 2) of a message; returns the
    /// interaction id. `message` is that message as the fake stored it (one
    /// the bot posted), or a made-up bot message.
    pub fn button(
        &self,
        guild: Option<&str>,
        channel: &str,
        user_id: &str,
        username: &str,
        custom_id: &str,
        message_id: &str,
    ) -> String {
        let data = |_: &mut State, _: u64| json!({"custom_id": custom_id, "component_type": 2});
        self.interaction(3, guild, channel, user_id, username, data, Some(message_id))
    }

    /// Every REST call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The calls with this method whose path starts with `path_prefix`.
    pub fn calls_to(&self, method: &str, path_prefix: &str) -> Vec<Call> {
        let st = self.state();
        st.calls
            .iter()
            .filter(|c| c.method == method && c.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    /// Calls to routes the fake does not know (answered 404 "Unknown").
    pub fn unknown_calls(&self) -> Vec<Call> {
        self.state().unknown.clone()
    }

    /// Message bodies Discord accepted at POST `/channels/{channel}/messages`
    /// (JSON or multipart `payload_json`), in order. serenity's
    /// `CreateMessage` sends `{"content", "tts", "embeds": [], "attachments":
    /// [], "sticker_ids": [], "enforce_nonce": false, ...}`: compare fields,
    /// not whole bodies.
    pub fn messages_in(&self, channel: &str) -> Vec<Value> {
        let st = self.state();
        st.posted
            .iter()
            .filter(|(c, _)| c == channel)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// The bodies sent for an interaction: the callback (`{"type","data"}`),
    /// then follow-ups and edits made with its token, in order.
    pub fn interaction_replies(&self, interaction_id: &str) -> Vec<Value> {
        self.state()
            .interactions
            .get(interaction_id)
            .map(|i| i.replies.clone())
            .unwrap_or_default()
    }

    /// Members of a thread (user ids; the bot is added when it creates one).
    pub fn thread_members(&self, thread_id: &str) -> Vec<String> {
        let st = self.state();
        st.thread_members
            .get(thread_id)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A channel as the fake knows it (text channel, thread, or DM).
    pub fn channel(&self, channel_id: &str) -> Option<Value> {
        self.state().channels.get(channel_id).cloned()
    }

    /// The registered application commands, global (`None`) or of a guild.
    pub fn commands(&self, guild: Option<&str>) -> Vec<Value> {
        self.state()
            .commands
            .get(&guild.map(String::from))
            .cloned()
            .unwrap_or_default()
    }

    /// Every dispatch frame (`{"op":0,"t","s","d"}`) of every session,
    /// including those still waiting for a RESUME.
    pub fn dispatched(&self) -> Vec<Value> {
        self.state().gateway.dispatched.clone()
    }

    /// How many IDENTIFY the fake accepted.
    pub fn identify_count(&self) -> u32 {
        self.state().gateway.identify_count
    }

    /// How many RESUME the fake accepted.
    pub fn resume_count(&self) -> u32 {
        self.state().gateway.resume_count
    }

    /// The intents of the last accepted IDENTIFY.
    pub fn identified_intents(&self) -> Option<u64> {
        self.state().gateway.intents
    }

    /// Whether a socket is live (READY or RESUMED sent on it).
    pub fn is_connected(&self) -> bool {
        self.state().gateway.socket.is_some()
    }

    /// Closes the live gateway socket with the resumable close code 4000.
    /// Events dispatched until the bot comes back keep their sequence
    /// numbers and are replayed when it sends RESUME.
    pub fn drop_gateway(&self) {
        self.with(|st, _| match st.gateway.socket.take() {
            Some((_, tx)) => {
                let _ = tx.send(Out::Close(
                    RESUMABLE_CLOSE_CODE,
                    "fake Discord dropped the session",
                ));
            }
            None => eprintln!("fake Discord: drop_gateway without a live socket"),
        })
    }

    /// Waits until a socket is live (READY or RESUMED sent); panics after
    /// `timeout`.
    pub async fn wait_connected(&self, timeout: Duration) {
        let what = "the bot to connect to the gateway";
        self.wait_until(what, timeout, || self.is_connected().then_some(()))
            .await
    }

    /// Waits until `check` finds what it looks for in the recorded calls;
    /// panics after `timeout` with `what` and every recorded call. `check`
    /// gets a snapshot, taken on every change: it may call the fake.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&[Call]) -> Option<T>,
    ) -> T {
        self.wait_until(what, timeout, || check(&self.calls()))
            .await
    }

    /// Runs `check` on every change until it finds something.
    async fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            if let Some(found) = check() {
                return found;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "fake Discord: waited {timeout:?} for {what}\n{}",
                    self.report()
                );
            }
            // The cap only guards against a missed wake-up.
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }

    /// Every recorded call, unknown routes and gateway counters, for failure
    /// messages.
    pub fn report(&self) -> String {
        let st = self.state();
        let mut out = format!(
            "gateway: identify {} resume {} connected {} seq {}\nrecorded calls ({}):\n",
            st.gateway.identify_count,
            st.gateway.resume_count,
            st.gateway.socket.is_some(),
            st.gateway.seq,
            st.calls.len()
        );
        for call in &st.calls {
            out.push_str(&format!("  {call}\n"));
        }
        if !st.unknown.is_empty() {
            out += "calls to unknown routes (404):\n";
            for call in &st.unknown {
                out.push_str(&format!("  {call}\n"));
            }
        }
        out
    }
}

// ---------------------------------------------------------------- gateway

async fn gateway(ws: WebSocketUpgrade, AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    // serenity connects to `{url from GET /gateway}?v=10` and asks for no
    // transport compression (IDENTIFY's `compress: true` is payload
    // compression, which nobody is obliged to use): plain Text frames do.
    ws.on_upgrade(move |socket| run_gateway(shared, socket))
}

async fn run_gateway(shared: Arc<Shared>, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = {
        let mut st = lock(&shared);
        st.gateway.next_conn += 1;
        st.gateway.next_conn
    };
    // Everything, HELLO included, goes through `tx` so frames keep the order
    // they were decided in under the state lock. On RESUME serenity does not
    // wait for HELLO (it sends RESUME right after connecting and ignores the
    // HELLO that follows).
    let _ = tx.send(Out::Frame(
        json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}),
    ));
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Out::Frame(frame)) => {
                    if socket.send(WsMessage::Text(frame.to_string().into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close(code, reason)) => {
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = socket.send(WsMessage::Close(Some(frame))).await;
                    break;
                }
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => on_payload(&shared, conn, &tx, text.as_str()),
                Some(Ok(WsMessage::Binary(_))) => eprintln!("fake Discord: unexpected binary gateway frame"),
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let mut st = lock(&shared);
    if st.gateway.socket.as_ref().is_some_and(|(c, _)| *c == conn) {
        st.gateway.socket = None;
    }
    drop(st);
    shared.changed.notify_waiters();
}

fn on_payload(shared: &Shared, conn: u64, tx: &mpsc::UnboundedSender<Out>, text: &str) {
    let Ok(payload) = serde_json::from_str::<Value>(text) else {
        eprintln!("fake Discord: gateway payload is not JSON: {text}");
        return;
    };
    let d = &payload["d"];
    let token_ok = |d: &Value| {
        d["token"]
            .as_str()
            .map(|t| format!("Bot {}", t.trim_start_matches("Bot ")))
            == Some(shared.auth.clone())
    };
    let mut st = lock(shared);
    match payload["op"].as_u64() {
        // Heartbeat: ACK.
        Some(1) => {
            let _ = tx.send(Out::Frame(json!({"op": 11})));
        }
        // IDENTIFY (serenity sends its token with the `Bot ` prefix).
        Some(2) if !token_ok(d) => {
            eprintln!("fake Discord: IDENTIFY with a wrong token: closing with 4004");
            let _ = tx.send(Out::Close(AUTHENTICATION_FAILED, "Authentication failed."));
        }
        Some(2) => {
            let gateway = &mut st.gateway;
            gateway.identify_count += 1;
            gateway.intents = d["intents"].as_u64();
            // Events of an abandoned session that never reached a socket are
            // not lost: they go out after the new READY.
            let sent = gateway.sent_seq;
            let unsent: Vec<(String, Value)> = gateway
                .log
                .drain(..)
                .filter(|(s, f)| {
                    *s > sent && !matches!(f["t"].as_str(), Some("READY" | "GUILD_CREATE"))
                })
                .map(|(_, f)| {
                    (
                        f["t"].as_str().unwrap_or_default().to_string(),
                        f["d"].clone(),
                    )
                })
                .collect();
            let mut pending = std::mem::take(&mut gateway.pending);
            pending.splice(0..0, unsent);
            let session_id = format!("{:016x}{:016x}", random_u64(), random_u64());
            gateway.session_id = Some(session_id.clone());
            gateway.seq = 0;
            gateway.sent_seq = 0;
            gateway.socket = Some((conn, tx.clone()));
            let guilds: Vec<String> = st.guilds.keys().cloned().collect();
            // serenity's `Ready` requires `v, user, guilds, session_id,
            // resume_gateway_url, application{id, flags}`; `shard` echoes
            // IDENTIFY's `[id, total]`. The rest is what Discord also sends.
            let ready = json!({
                "v": 10, "user": bot_user(),
                "guilds": guilds.iter().map(|g| json!({"id": g, "unavailable": true})).collect::<Vec<_>>(),
                "session_id": session_id,
                "resume_gateway_url": format!("ws://127.0.0.1:{}", shared.port),
                "shard": d.get("shard").cloned().unwrap_or(json!([0, 1])),
                "application": {"id": APP_ID, "flags": 0},
                "private_channels": [], "relationships": [], "presences": [],
                "guild_join_requests": [], "geo_ordered_rtc_regions": [], "user_settings": {},
                "session_type": "normal", "auth": {}, "_trace": ["fake-discord"]
            });
            st.dispatch("READY", ready);
            for g in guilds {
                let guild = st.guild_json(&g);
                st.dispatch("GUILD_CREATE", guild);
            }
            for (t, d) in pending {
                st.dispatch(&t, d);
            }
        }
        // RESUME: replay what came after the client's `seq`, then RESUMED.
        Some(6) if !token_ok(d) => {
            eprintln!("fake Discord: RESUME with a wrong token: closing with 4004");
            let _ = tx.send(Out::Close(AUTHENTICATION_FAILED, "Authentication failed."));
        }
        Some(6) => {
            let gateway = &mut st.gateway;
            if gateway.session_id.is_none()
                || d["session_id"].as_str() != gateway.session_id.as_deref()
            {
                eprintln!("fake Discord: RESUME of an unknown session: INVALID_SESSION");
                let _ = tx.send(Out::Frame(json!({"op": 9, "d": false})));
                return;
            }
            gateway.resume_count += 1;
            let from = d["seq"].as_u64().unwrap_or(0);
            for (_, frame) in gateway.log.iter().filter(|(s, _)| *s > from) {
                let _ = tx.send(Out::Frame(frame.clone()));
            }
            // serenity drops a dispatch without `s`, RESUMED included: it
            // carries the last sequence number (the client's seq after the
            // replay), so no number is skipped or taken twice.
            let resumed = json!({"op": 0, "t": "RESUMED", "s": gateway.seq, "d": {"_trace": ["fake-discord"]}});
            let _ = tx.send(Out::Frame(resumed.clone()));
            gateway.dispatched.push(resumed);
            gateway.sent_seq = gateway.seq;
            gateway.socket = Some((conn, tx.clone()));
        }
        // Presence update, voice state, guild members request: ignored.
        Some(3 | 4 | 8) => {}
        _ => eprintln!("fake Discord: unexpected gateway payload: {text}"),
    }
    drop(st);
    shared.changed.notify_waiters();
}

// ------------------------------------------------------------------- REST

/// One uploaded file of a multipart request.
struct Upload {
    filename: String,
    content_type: Option<String>,
    size: usize,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses `multipart/form-data` as serenity sends it: `files[i]` parts and
/// a `payload_json` text part (the JSON body).
fn parse_multipart(content_type: &str, body: &[u8]) -> (Value, Vec<Upload>) {
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
    else {
        eprintln!("fake Discord: multipart without boundary");
        return (Value::Null, Vec::new());
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let (mut payload, mut uploads) = (Value::Null, Vec::new());
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let end = find(rest, delimiter.as_bytes()).unwrap_or(rest.len());
        let part = rest[..end].strip_prefix(b"\r\n").unwrap_or(&rest[..end]);
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]);
        let data = &part[split + 4..];
        let data = data.strip_suffix(b"\r\n").unwrap_or(data);
        let param = |key: &str| {
            head.split(['\r', '\n', ';']).find_map(|p| {
                p.trim()
                    .strip_prefix(key)?
                    .strip_prefix("=\"")?
                    .strip_suffix('"')
                    .map(String::from)
            })
        };
        let content_type = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_string())
        });
        match (param("name").as_deref(), param("filename")) {
            (Some("payload_json"), _) => {
                payload = serde_json::from_slice(data).unwrap_or_else(|e| {
                    eprintln!("fake Discord: payload_json is not JSON: {e}");
                    Value::Null
                })
            }
            (_, Some(filename)) => uploads.push(Upload {
                filename,
                content_type,
                size: data.len(),
            }),
            (name, None) => eprintln!("fake Discord: unexpected multipart field {name:?}"),
        }
    }
    (payload, uploads)
}

async fn rest(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let full_path = uri.path();
    let path = full_path
        .strip_prefix("/api/v10")
        .unwrap_or(full_path)
        .to_string();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (body, uploads) = if content_type.starts_with("multipart/form-data") {
        parse_multipart(content_type, &body)
    } else if body.is_empty() {
        (Value::Null, Vec::new())
    } else {
        let parsed = serde_json::from_slice(&body).unwrap_or_else(|_| {
            eprintln!("fake Discord: {method} {path}: body is not JSON");
            Value::String(String::from_utf8_lossy(&body).into_owned())
        });
        (parsed, Vec::new())
    };
    let call = Call {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_string(),
        body,
        files: uploads.iter().map(|u| u.filename.clone()).collect(),
    };
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (status, answer) = {
        let mut st = lock(&shared);
        st.calls.push(call.clone());
        // GET /gateway needs no token on Discord, and must not fail here:
        // serenity silently falls back to the real wss://gateway.discord.gg.
        if path != "/gateway" && authorization != shared.auth {
            error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
        } else {
            let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
            match route(&mut st, &shared, &call, &segments, &uploads) {
                Some(answer) => answer,
                None => {
                    eprintln!("fake Discord: unknown route {call}");
                    st.unknown.push(call.clone());
                    not_found(0, "Unknown")
                }
            }
        }
    };
    shared.changed.notify_waiters();
    if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        (status, axum::Json(answer)).into_response()
    }
}

/// Answers one REST call, or `None` for an unknown route.
fn route(
    st: &mut State,
    shared: &Shared,
    call: &Call,
    segments: &[&str],
    uploads: &[Upload],
) -> Option<(StatusCode, Value)> {
    let base = shared.id_base;
    let body = &call.body;
    let gateway_url = format!("ws://127.0.0.1:{}", shared.port);
    Some(match (call.method.as_str(), segments) {
        // serenity reads only `url`, and appends `?v=10` itself: no query here.
        ("GET", ["gateway"]) => ok(json!({"url": gateway_url})),
        ("GET", ["gateway", "bot"]) => ok(json!({
            "url": gateway_url, "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        })),
        ("GET", ["users", "@me"]) => ok(bot_user()),
        ("GET", ["users", user]) => match st.users.contains_key(*user) || *user == BOT_ID {
            true => ok(user_json(user, &st.user_name(user))),
            false => not_found(10013, "Unknown User"),
        },
        // `CurrentApplicationInfo` requires `id, name, description,
        // bot_public, bot_require_code_grant, verify_key`.
        ("GET", ["oauth2", "applications", "@me"]) => ok(json!({
            "id": APP_ID, "name": BOT_NAME, "icon": null, "description": "", "summary": "",
            "type": null, "bot_public": false, "bot_require_code_grant": false,
            "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
            "owner": user_json(OWNER_ID, "owner"), "team": null, "flags": 0, "tags": [],
            "rpc_origins": [], "redirect_uris": [], "interactions_endpoint_url": null,
            "role_connections_verification_url": null, "bot": bot_user(),
            "approximate_guild_count": st.guilds.len(), "integration_types_config": {"0": {}}
        })),
        // `PrivateChannel`: `{id, type: 1, recipients: [user]}`.
        ("POST", ["users", "@me", "channels"]) => match body["recipient_id"].as_str() {
            Some(user) => {
                let id = st.dm_channel(base, user);
                ok(st.channels.get(&id).cloned().unwrap_or_default())
            }
            None => error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"),
        },
        ("GET", ["channels", channel]) => match st.channels.get(*channel) {
            Some(c) => ok(c.clone()),
            None => not_found(10003, "Unknown Channel"),
        },
        // Thread state (archived, locked, invitable, auto_archive_duration)
        // lives in `thread_metadata`; serenity's `EditThread` sends it flat.
        ("PATCH", ["channels", channel]) => {
            let Some(c) = st.channels.get_mut(*channel) else {
                return Some(not_found(10003, "Unknown Channel"));
            };
            let is_thread = c.get("thread_metadata").is_some();
            for (key, value) in body.as_object().into_iter().flatten() {
                match key.as_str() {
                    "archived" | "locked" | "invitable" | "auto_archive_duration" if is_thread => {
                        if key == "archived" && c["thread_metadata"]["archived"] != *value {
                            c["thread_metadata"]["archive_timestamp"] = json!(now());
                        }
                        c["thread_metadata"][key] = value.clone();
                    }
                    _ => c[key] = value.clone(),
                }
            }
            ok(c.clone())
        }
        ("DELETE", ["channels", channel]) => match st.channels.remove(*channel) {
            Some(c) => ok(c),
            None => not_found(10003, "Unknown Channel"),
        },
        ("POST", ["channels", _, "typing"]) => no_content(),
        // The reply has the shape of MESSAGE_CREATE, without `guild_id`
        // (REST messages never carry it); embeds and components are echoed
        // as serenity serialized them, which it can read back.
        ("POST", ["channels", channel, "messages"]) => {
            let Some(c) = st.channels.get(*channel) else {
                return Some(not_found(10003, "Unknown Channel"));
            };
            if c["type"] == 1
                && c["recipients"][0]["id"]
                    .as_str()
                    .is_some_and(|u| st.refused_dms.contains(u))
            {
                return Some(error(
                    StatusCode::FORBIDDEN,
                    50007,
                    "Cannot send messages to this user",
                ));
            }
            let message = new_bot_message(st, base, channel, body, uploads, None);
            st.posted.push((channel.to_string(), body.clone()));
            ok(message)
        }
        ("GET", ["channels", _, "messages", message]) => match st.messages.get(*message) {
            Some(m) => ok(m.clone()),
            None => not_found(10008, "Unknown Message"),
        },
        ("PATCH", ["channels", _, "messages", message]) => {
            let ids = st.new_ids(base, uploads.len());
            let Some(m) = st.messages.get_mut(*message) else {
                return Some(not_found(10008, "Unknown Message"));
            };
            apply_message_body(m, body, uploads, &ids);
            m["edited_timestamp"] = json!(now());
            ok(m.clone())
        }
        ("DELETE", ["channels", _, "messages", message]) => match st.messages.remove(*message) {
            Some(_) => no_content(),
            None => not_found(10008, "Unknown Message"),
        },
        // `GuildChannel` requires `id, type, name` (guild_id defaults);
        // a thread's `thread_metadata` requires `archived,
        // auto_archive_duration`.
        ("POST", ["channels", parent, "threads"]) => create_thread(st, base, parent, body, None),
        // A thread started from a message has the message's id, and is public.
        ("POST", ["channels", parent, "messages", message, "threads"]) => {
            create_thread(st, base, parent, body, Some(message))
        }
        ("PUT" | "DELETE", ["channels", thread, "thread-members", user]) => {
            if st
                .channels
                .get(*thread)
                .is_none_or(|c| c.get("thread_metadata").is_none())
            {
                return Some(not_found(10003, "Unknown Channel"));
            }
            let members = st.thread_members.entry(thread.to_string()).or_default();
            if call.method == "PUT" {
                members.insert(user.to_string());
            } else {
                members.remove(*user);
            }
            let count = members.len();
            if let Some(c) = st.channels.get_mut(*thread) {
                c["member_count"] = json!(count);
            }
            no_content()
        }
        ("GET", ["guilds", guild, "members", user]) => match st.member(guild, user) {
            Some(mut m) => {
                m["guild_id"] = json!(guild);
                ok(m)
            }
            None if st.guilds.contains_key(*guild) => not_found(10007, "Unknown Member"),
            None => not_found(10004, "Unknown Guild"),
        },
        ("GET", ["guilds", guild, "channels"]) => match st.guilds.contains_key(*guild) {
            true => ok(st.guild_json(guild)["channels"].clone()),
            false => not_found(10004, "Unknown Guild"),
        },
        // `create_response` posts `{"type", "data"}` here, without a query
        // string in serenity 0.12.5 (`Acknowledge` is `{"type": 6, "data":
        // null}`, ephemeral is `data.flags: 64`), and expects 204 (any 2xx
        // passes). Types 4 and 5 make the `@original` message; 6 and 7
        // (components) keep or update the clicked message.
        ("POST", ["interactions", id, token, "callback"]) => {
            let Some(interaction) = st.interactions.get(*id).filter(|i| i.token == *token) else {
                return Some(not_found(10062, "Unknown interaction"));
            };
            if interaction.acknowledged {
                return Some(error(
                    StatusCode::BAD_REQUEST,
                    40060,
                    "Interaction has already been acknowledged.",
                ));
            }
            let (channel, message_id) = (
                interaction.channel_id.clone(),
                interaction.message_id.clone(),
            );
            let data = &body["data"];
            let original = match body["type"].as_u64() {
                Some(4) => Some(new_bot_message(st, base, &channel, data, uploads, Some(id))),
                Some(5) => {
                    let flags = data["flags"].as_u64().unwrap_or(0) | 128; // LOADING
                    Some(new_bot_message(
                        st,
                        base,
                        &channel,
                        &json!({"flags": flags}),
                        &[],
                        Some(id),
                    ))
                }
                Some(6 | 7) => message_id.and_then(|m| {
                    let mut message = st.messages.get(&m)?.clone();
                    if body["type"] == 7 {
                        apply_message_body(&mut message, data, &[], &[]);
                        st.messages.insert(m, message.clone());
                    }
                    Some(message)
                }),
                _ => None,
            };
            let interaction = st.interactions.get_mut(*id)?;
            interaction.acknowledged = true;
            interaction.original = original;
            interaction.replies.push(body.clone());
            no_content()
        }
        (_, ["webhooks", app, token, tail @ ..]) => {
            let found = st
                .interactions
                .iter()
                .find(|(_, i)| i.token == *token)
                .map(|(id, _)| id.clone());
            let Some(id) = found.filter(|_| *app == APP_ID) else {
                return Some(not_found(10015, "Unknown Webhook"));
            };
            webhook(st, base, &id, &call.method, tail, body, uploads)?
        }
        ("GET", ["applications", app, "commands"]) if *app == APP_ID => {
            ok(json!(st.commands.get(&None).cloned().unwrap_or_default()))
        }
        ("GET", ["applications", app, "guilds", guild, "commands"]) if *app == APP_ID => {
            ok(json!(st
                .commands
                .get(&Some(guild.to_string()))
                .cloned()
                .unwrap_or_default()))
        }
        // Bulk overwrite: the commands come back with `id` (kept for a name
        // already registered), `application_id`, `version`, `type`, and
        // `guild_id` for guild commands; serenity's `Command` requires
        // `id, type, application_id, name, description, version`.
        ("PUT", ["applications", app, "commands"]) if *app == APP_ID => {
            put_commands(st, base, None, body)
        }
        ("PUT", ["applications", app, "guilds", guild, "commands"]) if *app == APP_ID => {
            put_commands(st, base, Some(guild), body)
        }
        ("POST", ["applications", app, "commands"]) if *app == APP_ID => {
            post_command(st, base, None, body)
        }
        ("POST", ["applications", app, "guilds", guild, "commands"]) if *app == APP_ID => {
            post_command(st, base, Some(guild), body)
        }
        _ => return None,
    })
}

/// A message by the bot in `channel`, stored; `interaction` marks a message
/// made through an interaction token (webhook id = application id).
fn new_bot_message(
    st: &mut State,
    base: u64,
    channel: &str,
    body: &Value,
    uploads: &[Upload],
    interaction: Option<&str>,
) -> Value {
    let id = st.new_id(base);
    let mut message = json!({
        "id": id, "channel_id": channel, "author": bot_user(), "content": "", "timestamp": now(),
        "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": [], "components": [], "pinned": false,
        "type": if body.get("message_reference").is_some() { 19 } else { 0 }, "flags": 0
    });
    if let Some(interaction) = interaction {
        message["type"] = json!(20);
        message["webhook_id"] = json!(APP_ID);
        message["application_id"] = json!(APP_ID);
        message["interaction_metadata"] = json!({
            "id": interaction, "type": 2, "user": bot_user(), "authorizing_integration_owners": {}
        });
    }
    let ids = st.new_ids(base, uploads.len());
    apply_message_body(&mut message, body, uploads, &ids);
    st.messages.insert(id, message.clone());
    message
}

fn create_thread(
    st: &mut State,
    base: u64,
    parent: &str,
    body: &Value,
    message: Option<&str>,
) -> (StatusCode, Value) {
    let Some(guild_id) = st
        .channels
        .get(parent)
        .and_then(|c| c["guild_id"].as_str())
        .map(String::from)
    else {
        return not_found(10003, "Unknown Channel");
    };
    let id = message.map_or_else(|| st.new_id(base), String::from);
    let kind = if message.is_some() {
        11
    } else {
        body["type"].as_u64().unwrap_or(12)
    };
    let timestamp = now();
    let thread = json!({
        "id": id, "type": kind, "name": body["name"].as_str().unwrap_or("thread"),
        "guild_id": guild_id, "parent_id": parent, "owner_id": BOT_ID, "last_message_id": null,
        "rate_limit_per_user": body["rate_limit_per_user"].as_u64().unwrap_or(0),
        "message_count": 0, "member_count": 1, "total_message_sent": 0, "flags": 0,
        "thread_metadata": {
            "archived": false,
            "auto_archive_duration": body["auto_archive_duration"].as_u64().unwrap_or(10080),
            "archive_timestamp": timestamp, "locked": false,
            "invitable": body["invitable"].as_bool().unwrap_or(true), "create_timestamp": timestamp
        },
        "member": {"id": id, "user_id": BOT_ID, "join_timestamp": timestamp, "flags": 1}
    });
    st.channels.insert(id.clone(), thread.clone());
    st.thread_members
        .entry(id)
        .or_default()
        .insert(BOT_ID.into());
    (StatusCode::CREATED, thread)
}

/// `/webhooks/{app}/{token}/...` of an interaction: follow-ups and the
/// `@original` response.
fn webhook(
    st: &mut State,
    base: u64,
    interaction_id: &str,
    method: &str,
    tail: &[&str],
    body: &Value,
    uploads: &[Upload],
) -> Option<(StatusCode, Value)> {
    let interaction = st.interactions.get(interaction_id)?;
    let (channel, original) = (interaction.channel_id.clone(), interaction.original.clone());
    Some(match (method, tail) {
        ("GET", ["messages", "@original"]) => match original {
            Some(m) => ok(m),
            None => not_found(10008, "Unknown Message"),
        },
        ("PATCH", ["messages", "@original"]) => {
            let Some(mut m) = original else {
                return Some(not_found(10008, "Unknown Message"));
            };
            let ids = st.new_ids(base, uploads.len());
            apply_message_body(&mut m, body, uploads, &ids);
            let flags = m["flags"].as_u64().unwrap_or(0) & !128; // no longer loading
            m["flags"] = json!(flags);
            m["edited_timestamp"] = json!(now());
            if let Some(id) = m["id"].as_str() {
                st.messages.insert(id.into(), m.clone());
            }
            let interaction = st.interactions.get_mut(interaction_id)?;
            interaction.original = Some(m.clone());
            interaction.replies.push(body.clone());
            ok(m)
        }
        ("DELETE", ["messages", "@original"]) => {
            st.interactions.get_mut(interaction_id)?.original = None;
            no_content()
        }
        // A follow-up before any callback fails on Discord too.
        ("POST", []) if !st.interactions[interaction_id].acknowledged => {
            eprintln!("fake Discord: follow-up on an interaction not answered yet");
            not_found(10015, "Unknown Webhook")
        }
        ("POST", []) => {
            let m = new_bot_message(st, base, &channel, body, uploads, Some(interaction_id));
            st.interactions
                .get_mut(interaction_id)?
                .replies
                .push(body.clone());
            ok(m)
        }
        ("GET", ["messages", id]) => match st.messages.get(*id) {
            Some(m) => ok(m.clone()),
            None => not_found(10008, "Unknown Message"),
        },
        ("PATCH", ["messages", id]) => {
            let ids = st.new_ids(base, uploads.len());
            let Some(m) = st.messages.get_mut(*id) else {
                return Some(not_found(10008, "Unknown Message"));
            };
            apply_message_body(m, body, uploads, &ids);
            m["edited_timestamp"] = json!(now());
            let m = m.clone();
            st.interactions
                .get_mut(interaction_id)?
                .replies
                .push(body.clone());
            ok(m)
        }
        ("DELETE", ["messages", id]) => match st.messages.remove(*id) {
            Some(_) => no_content(),
            None => not_found(10008, "Unknown Message"),
        },
        _ => return None,
    })
}

fn command_json(
    st: &mut State,
    base: u64,
    guild: Option<&str>,
    body: &Value,
    existing: &[Value],
) -> Value {
    let mut command: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
    let id = existing
        .iter()
        .find(|c| c["name"] == body["name"])
        .and_then(|c| c["id"].as_str().map(String::from))
        .unwrap_or_else(|| st.new_id(base));
    command.insert("id".into(), json!(id));
    command.insert("application_id".into(), json!(APP_ID));
    command.insert("version".into(), json!(st.new_id(base)));
    command.insert("guild_id".into(), json!(guild));
    for (key, default) in [
        ("type", json!(1)),
        ("description", json!("")),
        ("options", json!([])),
        ("default_member_permissions", Value::Null),
        ("nsfw", json!(false)),
        ("integration_types", json!([0])),
    ] {
        command.entry(key).or_insert(default);
    }
    Value::Object(command)
}

fn put_commands(
    st: &mut State,
    base: u64,
    guild: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let Some(list) = body.as_array() else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    let key = guild.map(String::from);
    let existing = st.commands.get(&key).cloned().unwrap_or_default();
    let commands: Vec<Value> = list
        .iter()
        .map(|c| command_json(st, base, guild, c, &existing))
        .collect();
    st.commands.insert(key, commands.clone());
    ok(json!(commands))
}

fn post_command(
    st: &mut State,
    base: u64,
    guild: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let key = guild.map(String::from);
    let existing = st.commands.get(&key).cloned().unwrap_or_default();
    let command = command_json(st, base, guild, body, &existing);
    let list = st.commands.entry(key).or_default();
    list.retain(|c| c["name"] != command["name"]);
    list.push(command.clone());
    (StatusCode::CREATED, command)
}
