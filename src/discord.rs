//! The Discord adapter (serenity): people write to the bot by DM, by
//! mentioning it in a served guild, or with `/promeneur`; Promeneurs use the
//! slash commands, the staff channel's buttons and private threads.
//!
//! What the bot reads: every DM; in a served guild, only messages that
//! mention it, commands in the staff channel and messages in the threads it
//! made. Anything else is dropped before it is looked at: no trace, no log.
//! Answers to what was written in a public channel go privately (an
//! ephemeral reply to a slash command, a DM for a mention).
//!
//! A hand-off is a private thread under the guild's hand-off channel with
//! the person and the Promeneur, opened by the Promeneur's identity card (an
//! embed with the photo). A person who shares no served guild with the
//! Promeneur stays in their DM: the bot relays between it and a private
//! thread under the staff channel, and shows each of the Promeneur's
//! messages with their identity.
//!
//! Production requests go through serenity's rate limiter; only the tests'
//! fake Discord (`discord.api`) turns it off.

use crate::config::{Config, DiscordSettings, PromeneurId, Roster, Secret};
use crate::engine::{Account, HandOff, IdentityCard, Inbound, Outbound, Place, Platform, Speaker};
use crate::serve::{Delivery, EngineHandle, Origin};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serenity::all::{
    ButtonStyle, ChannelId, ChannelType, Client, ClientBuilder, CommandDataOptionValue,
    CommandInteraction, CommandOptionType, ComponentInteraction, Context, CreateActionRow,
    CreateAllowedMentions, CreateAttachment, CreateButton, CreateCommand, CreateCommandOption,
    CreateEmbed, CreateEmbedAuthor, CreateEmbedFooter, CreateInteractionResponseFollowup,
    CreateMessage, CreateThread, EditThread, EventHandler, GatewayIntents, GuildId, Http,
    HttpBuilder, Interaction, Message, Permissions, Ready, ResumedEvent, UserId,
};
use serenity::builder::Builder as _;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// What the bot asks of the gateway. MESSAGE_CONTENT is privileged: it must
/// also be enabled in the Developer Portal.
pub const INTENTS: GatewayIntents = GatewayIntents::GUILDS
    .union(GatewayIntents::GUILD_MESSAGES)
    .union(GatewayIntents::DIRECT_MESSAGES)
    .union(GatewayIntents::MESSAGE_CONTENT);

/// What the bot needs in a guild: see the channels, write, make private
/// threads and bring people into them, archive them, show embeds.
pub fn permissions() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::SEND_MESSAGES_IN_THREADS
        | Permissions::CREATE_PRIVATE_THREADS
        | Permissions::MANAGE_THREADS
        | Permissions::EMBED_LINKS
        | Permissions::ATTACH_FILES
        | Permissions::READ_MESSAGE_HISTORY
}

/// The URL a guild's administrator opens to add the bot with its slash
/// commands and the permissions it needs.
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands&permissions={}",
        permissions().bits()
    )
}

/// The bot's token: from the environment or the secrets file, never from
/// the configuration.
pub fn token(config: &Config) -> anyhow::Result<Secret> {
    match config.secret("discord_token") {
        Ok(Some(token)) => Ok(token),
        Ok(None) => anyhow::bail!(
            "the Discord bot token is missing: set PROMENEUR_BOT_DISCORD_TOKEN, or `discord_token` in the [secrets] file of {} (see the README)",
            config.file.display()
        ),
        Err(e) => anyhow::bail!("{e}"),
    }
}

/// How long one request to Discord may take: a hung connection must not
/// hold back the messages behind it (emergency lines included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

fn http_for(settings: &DiscordSettings, token: &Secret) -> Http {
    // serenity's own client, with a time limit added.
    let client = discord_reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("the HTTP client builds");
    // No mention pings anyone unless a message says so: a person's relayed
    // words with `<@someone>` must not pull that someone into a thread.
    let builder = HttpBuilder::new(token.expose())
        .client(client)
        .default_allowed_mentions(CreateAllowedMentions::new());
    match &settings.api {
        Some(api) => builder
            .proxy(api.as_str())
            .ratelimiter_disabled(true)
            .build(),
        None => builder.build(),
    }
}

/// The invite URL of the configured application; its id comes from
/// `discord.application_id`, or else from Discord with the token.
pub async fn invite(config: &Config, settings: &DiscordSettings) -> anyhow::Result<String> {
    let id = match settings.application_id {
        Some(id) => id,
        None => {
            let http = http_for(settings, &token(config)?);
            let info = http.get_current_application_info().await.map_err(|e| {
                anyhow::anyhow!(
                    "Discord did not give the application's id (is the token right?): {}",
                    describe(&e)
                )
            })?;
            info.id.get()
        }
    };
    Ok(invite_url(id))
}

// ----- the thread book -----

/// A thread the bot made for a conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Thread {
    thread: u64,
    person: u64,
    promeneur: PromeneurId,
    /// The Promeneur's Discord user, while they are in the thread.
    promeneur_user: Option<u64>,
    /// A staff thread relaying a DM (the person is not in it).
    relay: bool,
}

/// The open threads, by conversation, kept in the store folder so a restart
/// still knows them. Entries go when their conversation closes.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ThreadBook {
    threads: BTreeMap<i64, Thread>,
}

impl ThreadBook {
    fn load(path: &Path) -> ThreadBook {
        crate::state::load_json(path, "the Discord thread book")
    }

    fn save(&self, path: &Path) {
        crate::state::save_json(path, self, "the Discord thread book")
    }

    fn by_thread(&self, thread: u64) -> Option<(i64, Thread)> {
        self.threads
            .iter()
            .find(|(_, t)| t.thread == thread)
            .map(|(c, t)| (*c, t.clone()))
    }
}

// ----- the adapter -----

/// An interaction waiting for its answer: its token lets the bot send
/// ephemeral follow-ups for 15 minutes.
struct Pending {
    token: String,
    at: Instant,
}

const INTERACTION_LIFETIME: Duration = Duration::from_secs(14 * 60);

struct Shared {
    http: Arc<Http>,
    engine: EngineHandle,
    stop: Arc<watch::Sender<bool>>,
    settings: DiscordSettings,
    roster: Roster,
    /// The bot's own user, known once connected.
    me: OnceLock<UserId>,
    book_path: PathBuf,
    book: Mutex<ThreadBook>,
    interactions: Mutex<HashMap<u64, Pending>>,
    /// DM channels already opened, by user.
    dms: Mutex<HashMap<u64, ChannelId>>,
    /// The served guild where someone last mentioned the bot: where their
    /// hand-off thread goes first.
    seen_in: Mutex<HashMap<u64, u64>>,
}

pub struct DiscordAdapter {
    client: Client,
    shared: Arc<Shared>,
}

impl DiscordAdapter {
    /// Checks the token with Discord and prepares the gateway client; a
    /// refused token stops the bot here, saying where the token comes from.
    pub async fn connect(
        config: &Config,
        settings: &DiscordSettings,
        engine: EngineHandle,
        stop: Arc<watch::Sender<bool>>,
    ) -> anyhow::Result<DiscordAdapter> {
        crate::state::private_dir(&settings.store).with_context(|| {
            format!(
                "the Discord store folder `{}` (discord.store in {}) cannot be created",
                settings.store.display(),
                config.file.display()
            )
        })?;
        let token = token(config)?;
        let http = http_for(settings, &token);
        let me = http.get_current_user().await.map_err(|e| {
            anyhow::anyhow!(
                "Discord refused the bot token or cannot be reached ({}); check PROMENEUR_BOT_DISCORD_TOKEN or `discord_token` in the secrets file",
                describe(&e)
            )
        })?;
        // serenity takes the handler before the client (and its rate-limited
        // Http, shared with the adapter) exists: the handler's state is
        // filled in right after, before the gateway starts.
        let slot = Arc::new(OnceLock::new());
        let client = ClientBuilder::new_with_http(http, INTENTS)
            .event_handler(Handler {
                shared: slot.clone(),
            })
            .await;
        let client = client
            .map_err(|e| anyhow::anyhow!("the Discord client cannot start: {}", describe(&e)))?;
        let book_path = settings.store.join("threads.json");
        let shared = Arc::new(Shared {
            http: client.http.clone(),
            engine,
            stop,
            settings: settings.clone(),
            roster: config.roster.clone(),
            me: OnceLock::from(me.id),
            book: Mutex::new(ThreadBook::load(&book_path)),
            book_path,
            interactions: Mutex::new(HashMap::new()),
            dms: Mutex::new(HashMap::new()),
            seen_in: Mutex::new(HashMap::new()),
        });
        let _ = slot.set(shared.clone());
        tracing::info!(bot = %me.id, guilds = settings.guilds.len(), "Discord token accepted");
        Ok(DiscordAdapter { client, shared })
    }

    /// Runs the gateway and delivers the engine's actions until `stop`.
    pub async fn run(
        mut self,
        mut deliveries: mpsc::UnboundedReceiver<Delivery>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let shard_manager = self.client.shard_manager.clone();
        let mut gateway = tokio::spawn(async move { self.client.start().await });
        let shared = self.shared;
        let outcome = loop {
            tokio::select! {
                delivery = deliveries.recv() => match delivery {
                    Some(delivery) => deliver(&shared, delivery).await,
                    None => break Ok(()),
                },
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break Ok(());
                    }
                }
                ended = &mut gateway => {
                    break match ended {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err(anyhow::anyhow!("the Discord gateway stopped: {}", describe(&e))),
                        Err(e) => Err(anyhow::anyhow!("the Discord gateway task failed: {e}")),
                    };
                }
            }
        };
        // Nothing new comes in; what the engine already decided still goes
        // out (it may still be committing: a second of quiet ends it).
        shard_manager.shutdown_all().await;
        gateway.abort();
        let grace = Instant::now() + Duration::from_secs(5);
        while Instant::now() < grace {
            match tokio::time::timeout(Duration::from_secs(1), deliveries.recv()).await {
                Ok(Some(delivery)) => deliver(&shared, delivery).await,
                _ => break,
            }
        }
        tracing::info!("Discord adapter stopped");
        outcome
    }
}

struct Handler {
    shared: Arc<OnceLock<Arc<Shared>>>,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let Some(shared) = self.shared.get() else {
            return;
        };
        shared.http.set_application_id(ready.application.id);
        tracing::info!(guilds = ready.guilds.len(), "Discord gateway ready");
        register_commands(shared).await;
    }

    async fn resume(&self, _ctx: Context, _: ResumedEvent) {
        tracing::info!("Discord gateway resumed");
    }

    async fn message(&self, _ctx: Context, message: Message) {
        if let Some(shared) = self.shared.get() {
            on_message(shared, message).await;
        }
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        let Some(shared) = self.shared.get() else {
            return;
        };
        match interaction {
            Interaction::Command(command) => on_command(shared, command).await,
            Interaction::Component(component) => on_button(shared, component).await,
            _ => {}
        }
    }
}

// ----- in -----

fn account(user: UserId) -> Account {
    Account::new(Platform::Discord, user.get().to_string())
}

fn submit(shared: &Shared, from: UserId, text: String, place: Place, origin: Origin) {
    let event = Inbound::Message {
        from: account(from),
        text,
        place,
    };
    if !shared.engine.submit(event, Some(origin)) {
        tracing::error!("the engine has stopped: a message cannot be handled; stopping");
        let _ = shared.stop.send(true);
    }
}

fn origin(room: String, public: bool) -> Origin {
    Origin {
        platform: Platform::Discord,
        room,
        public,
    }
}

fn is_staff_channel(shared: &Shared, channel: ChannelId) -> bool {
    shared
        .settings
        .guilds
        .iter()
        .any(|g| g.staff_channel == channel.get())
}

fn served_guild(shared: &Shared, guild: GuildId) -> bool {
    shared.settings.guilds.iter().any(|g| g.id == guild.get())
}

/// The text without the mentions of the bot (`<@id>`, `<@!id>`).
fn without_mention(text: &str, me: UserId) -> String {
    text.replace(&format!("<@{me}>"), "")
        .replace(&format!("<@!{me}>"), "")
        .trim()
        .to_string()
}

async fn on_message(shared: &Arc<Shared>, message: Message) {
    // Bots (the bot itself included) are never answered.
    if message.author.bot {
        return;
    }
    let Some(&me) = shared.me.get() else { return };
    let author = message.author.id;
    let channel = message.channel_id;
    let Some(guild) = message.guild_id else {
        // A DM: the person's own conversation with the bot.
        submit(
            shared,
            author,
            message.content,
            Place::Direct,
            origin(channel.get().to_string(), false),
        );
        return;
    };
    let served = served_guild(shared, guild);
    let thread = shared
        .book
        .lock()
        .expect("the thread book lock")
        .by_thread(channel.get());
    if let Some((conversation, thread)) = thread.filter(|_| served) {
        let from_promeneur = thread.promeneur_user == Some(author.get());
        let text = message.content;
        if thread.relay {
            // The Promeneur's side of a relayed DM: their words go to the
            // person, commands are answered here (only they see the thread).
            if !from_promeneur {
                return;
            }
            let text = if text.trim_start().starts_with('/') {
                text
            } else {
                format!("/dire {conversation} {text}")
            };
            submit(
                shared,
                author,
                text,
                Place::StaffRoom,
                origin(channel.get().to_string(), false),
            );
        } else if from_promeneur || thread.person == author.get() {
            // The person and the Promeneur read each other here; the bot
            // reads for commands and danger, and answers a command in
            // private (a note must not show in the shared thread).
            submit(
                shared,
                author,
                text,
                Place::HandOffRoom(crate::engine::ConversationId(conversation)),
                origin(channel.get().to_string(), true),
            );
        }
        return;
    }
    if served && is_staff_channel(shared, channel) {
        // The staff channel is the Promeneurs' own: only commands are read,
        // answered in private.
        if message.content.trim_start().starts_with('/') {
            submit(
                shared,
                author,
                message.content,
                Place::StaffRoom,
                origin(channel.get().to_string(), true),
            );
        }
        return;
    }
    // A mention is addressed to the bot, even in a guild it does not serve:
    // answered in private (a danger message gets its lines wherever it is
    // written).
    if message.mentions.iter().any(|u| u.id == me) {
        if served {
            shared
                .seen_in
                .lock()
                .expect("the seen lock")
                .insert(author.get(), guild.get());
        }
        let text = without_mention(&message.content, me);
        let text = if text.is_empty() {
            "/aide".to_string()
        } else {
            text
        };
        submit(
            shared,
            author,
            text,
            Place::Direct,
            origin(channel.get().to_string(), true),
        );
    }
    // Anything else in a guild is not for the bot: not read, not logged.
}

/// The slash command as the engine's text command: `/prendre 12`; the
/// question of `/promeneur` as a plain message.
fn command_text(command: &CommandInteraction) -> String {
    let mut words = Vec::new();
    for option in &command.data.options {
        match &option.value {
            CommandDataOptionValue::String(s) => words.push(s.trim().to_string()),
            CommandDataOptionValue::Integer(n) => words.push(n.to_string()),
            CommandDataOptionValue::Number(n) => words.push(n.to_string()),
            CommandDataOptionValue::Boolean(b) => words.push(b.to_string()),
            _ => {}
        }
    }
    let rest = words.join(" ");
    if command.data.name == "promeneur" {
        return rest;
    }
    format!("/{} {rest}", command.data.name).trim().to_string()
}

/// Where an interaction was used, as the engine sees it.
fn place_of(shared: &Shared, guild: Option<GuildId>, channel: ChannelId) -> Place {
    if guild.is_none() {
        return Place::Direct;
    }
    let thread = shared
        .book
        .lock()
        .expect("the thread book lock")
        .by_thread(channel.get());
    match thread {
        Some((_, t)) if t.relay => Place::StaffRoom,
        Some((conversation, _)) => Place::HandOffRoom(crate::engine::ConversationId(conversation)),
        None if is_staff_channel(shared, channel) => Place::StaffRoom,
        None => Place::Direct,
    }
}

fn remember_interaction(shared: &Shared, id: u64, token: &str) {
    let mut pending = shared.interactions.lock().expect("the interactions lock");
    pending.retain(|_, p| p.at.elapsed() < INTERACTION_LIFETIME);
    pending.insert(
        id,
        Pending {
            token: token.to_string(),
            at: Instant::now(),
        },
    );
}

async fn on_command(shared: &Arc<Shared>, command: CommandInteraction) {
    // Acknowledged at once, privately: Discord wants an answer within 3 s,
    // and only the person sees what follows.
    if let Err(e) = command.defer_ephemeral(&shared.http).await {
        tracing::warn!(error = %describe(&e), "a slash command could not be acknowledged");
    }
    let text = command_text(&command);
    if text.is_empty() {
        let _ = CreateInteractionResponseFollowup::new()
            .content("🤖 Écris ta question après /promeneur, par exemple : /promeneur question: je cherche un stage dans le 41.")
            .ephemeral(true)
            .execute(&shared.http, (None, &command.token))
            .await;
        return;
    }
    // In a guild the bot does not serve, the command is still answered
    // (privately): a danger message gets its lines wherever it is written.
    if let Some(guild) = command.guild_id.filter(|g| served_guild(shared, *g)) {
        shared
            .seen_in
            .lock()
            .expect("the seen lock")
            .insert(command.user.id.get(), guild.get());
    }
    remember_interaction(shared, command.id.get(), &command.token);
    let place = place_of(shared, command.guild_id, command.channel_id);
    submit(
        shared,
        command.user.id,
        text,
        place,
        origin(format!("interaction:{}", command.id.get()), true),
    );
}

/// The staff channel's "take" button: `/prendre N` by whoever pressed it
/// (the engine refuses anyone not in the roster, or out of scope).
async fn on_button(shared: &Arc<Shared>, component: ComponentInteraction) {
    let Some(id) = component
        .data
        .custom_id
        .strip_prefix("prendre:")
        .and_then(|n| n.parse::<i64>().ok())
    else {
        return;
    };
    if let Err(e) = component.defer_ephemeral(&shared.http).await {
        tracing::warn!(error = %describe(&e), "a button could not be acknowledged");
    }
    remember_interaction(shared, component.id.get(), &component.token);
    submit(
        shared,
        component.user.id,
        format!("/prendre {id}"),
        Place::StaffRoom,
        origin(format!("interaction:{}", component.id.get()), true),
    );
}

/// The slash commands, registered globally (they work in DMs too) each time
/// the bot connects; Discord keeps the last set.
fn commands() -> Vec<CreateCommand> {
    let conversation = |required: bool| {
        CreateCommandOption::new(
            CommandOptionType::Integer,
            "conversation",
            "Le numéro de la conversation",
        )
        .required(required)
        .min_int_value(1)
    };
    let text = |name: &str, what: &str| {
        CreateCommandOption::new(CommandOptionType::String, name, what).required(true)
    };
    vec![
        CreateCommand::new("promeneur")
            .description("Pose ta question à un Promeneur du Net (toi seul·e vois la réponse)")
            .add_option(text("question", "Ta question, avec tes mots")),
        CreateCommand::new("aide").description("Ce que le bot sait faire"),
        CreateCommand::new("oubli").description("Effacer tout ce que le bot garde sur toi"),
        CreateCommand::new("stop").description("Arrêter ta conversation en cours"),
        CreateCommand::new("prevenir")
            .description("Être prévenu·e quand un Promeneur du Net arrive"),
        CreateCommand::new("permanence")
            .description("Promeneurs : voir ou changer ton état de permanence")
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "etat", "on, off ou auto")
                    .add_string_choice("on", "on")
                    .add_string_choice("off", "off")
                    .add_string_choice("auto", "auto"),
            ),
        CreateCommand::new("file").description("Promeneurs : la file d'attente de ton département"),
        CreateCommand::new("mes").description("Promeneurs : tes conversations"),
        CreateCommand::new("prendre")
            .description("Promeneurs : prendre une conversation")
            .add_option(conversation(true)),
        CreateCommand::new("transferer")
            .description("Promeneurs : transférer à un Promeneur (son id) ou un département")
            .add_option(conversation(true))
            .add_option(text(
                "cible",
                "L'id d'un Promeneur ou un code de département",
            ))
            .add_option(CreateCommandOption::new(
                CommandOptionType::String,
                "note",
                "Une note pour qui reprend",
            )),
        CreateCommand::new("fermer")
            .description("Promeneurs : clore une conversation")
            .add_option(conversation(true)),
        CreateCommand::new("note")
            .description("Promeneurs : note interne, jamais montrée à la personne")
            .add_option(conversation(true))
            .add_option(text("texte", "La note")),
        CreateCommand::new("dire")
            .description("Promeneurs : écrire à la personne d'une conversation")
            .add_option(conversation(true))
            .add_option(text("texte", "Ton message")),
    ]
}

async fn register_commands(shared: &Shared) {
    match serenity::all::Command::set_global_commands(&shared.http, commands()).await {
        Ok(set) => tracing::info!(commands = set.len(), "slash commands registered"),
        Err(e) => {
            tracing::error!(error = %describe(&e), "the slash commands could not be registered")
        }
    }
}

// ----- out -----

async fn deliver(shared: &Arc<Shared>, delivery: Delivery) {
    let mut done = Done::default();
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
                    &mut done,
                )
                .await
            }
            Outbound::Staff {
                departement,
                conversation,
                text,
            } => {
                let button = CreateButton::new(format!("prendre:{}", conversation.0))
                    .label(format!("Prendre la demande n°{}", conversation.0))
                    .style(ButtonStyle::Primary);
                for guild in shared
                    .settings
                    .guilds
                    .iter()
                    .filter(|g| g.departements.contains(&departement))
                {
                    let message = CreateMessage::new()
                        .content(chunks(&format!("🤖 {text}")).swap_remove(0))
                        .components(vec![CreateActionRow::Buttons(vec![button.clone()])]);
                    if !send(shared, ChannelId::new(guild.staff_channel), message).await {
                        tracing::warn!(departement = %departement, "a staff notice could not be posted; can the bot write in the staff channel?");
                    }
                }
            }
            Outbound::HandOff(handoff) => {
                if handoff.taken {
                    open_thread(shared, &handoff).await;
                } else {
                    offered_elsewhere(shared, &handoff).await;
                }
            }
            Outbound::Closed { conversation, .. } => close_thread(shared, conversation.0).await,
            Outbound::Released { conversation, .. } => release(shared, conversation.0, None).await,
        }
    }
    // A slash command the engine answered only to others (`/dire`), or not
    // at all: its author still hears it arrived, rather than a spinner.
    if let Some(id) = delivery
        .origin
        .as_ref()
        .and_then(|o| o.room.strip_prefix("interaction:"))
    {
        if !done.interaction_answered && delivery.sender.is_some() {
            followup(shared, id, "🤖 Bien reçu.").await;
        }
    }
}

/// What one event's delivery has done so far.
#[derive(Default)]
struct Done {
    /// At most one word in a public channel per event, however many
    /// answers could not go by DM.
    channel_notice: bool,
    interaction_answered: bool,
}

fn user_of(account: &Account) -> Option<UserId> {
    account
        .id
        .parse::<u64>()
        .ok()
        .filter(|id| *id > 0)
        .map(UserId::new)
}

/// A Promeneur's words to the person, with who they are.
fn promeneur_embed(card: &IdentityCard, text: &str) -> CreateEmbed {
    // Discord takes at most 256 characters in an embed's author line.
    let headline: String = card.headline().chars().take(256).collect();
    let mut author = CreateEmbedAuthor::new(headline);
    if card.photo.starts_with("https://") || card.photo.starts_with("http://") {
        author = author.icon_url(&card.photo);
    }
    CreateEmbed::new()
        .author(author)
        .description(text)
        .footer(CreateEmbedFooter::new(
            "👤 Un·e Promeneur·se du Net te répond : une vraie personne, pas le bot.",
        ))
}

/// The identity card: first name, profession, structure, département and
/// photo. A local photo file goes with the message as an attachment.
fn identity_card(card: &IdentityCard) -> (CreateEmbed, Option<PathBuf>) {
    let mut embed = CreateEmbed::new()
        .title(format!("👤 {} — Promeneur du Net", card.first_name))
        .description(format!(
            "{}, {}\n{}",
            card.profession,
            card.structure,
            card.departements.join(", ")
        ))
        .footer(CreateEmbedFooter::new(
            "Une vraie personne, identifiée. Le bot (🤖) ne fait que les présentations.",
        ));
    if !card.helps_with.is_empty() {
        embed = embed.field("Peut aider sur", card.helps_with.join(", "), false);
    }
    let mut file = None;
    if card.photo.starts_with("https://") || card.photo.starts_with("http://") {
        embed = embed.thumbnail(&card.photo);
    } else if Path::new(&card.photo).is_file() {
        let path = PathBuf::from(&card.photo);
        let name = attachment_name(&path);
        embed = embed.thumbnail(format!("attachment://{name}"));
        file = Some(path);
    }
    (embed, file)
}

fn attachment_name(path: &Path) -> String {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("png")
        .to_ascii_lowercase();
    format!("photo.{ext}")
}

async fn card_message(card: &IdentityCard, intro: &str) -> CreateMessage {
    let (embed, file) = identity_card(card);
    let mut message = CreateMessage::new().content(intro).embed(embed);
    if let Some(path) = file {
        match tokio::fs::read(&path).await {
            Ok(bytes) => {
                message = message.add_file(CreateAttachment::bytes(bytes, attachment_name(&path)))
            }
            Err(e) => tracing::warn!(error = %e, "a Promeneur's photo file cannot be read"),
        }
    }
    message
}

async fn say(
    shared: &Arc<Shared>,
    sender: &Option<Account>,
    origin: &Option<Origin>,
    to: &Account,
    speaker: Speaker,
    text: &str,
    done: &mut Done,
) {
    let Some(user) = user_of(to) else {
        tracing::warn!("a message for an account that is not a Discord user id was dropped");
        return;
    };
    let to_sender = sender.as_ref() == Some(to);
    match speaker {
        Speaker::Bot => {
            let text = format!("🤖 {text}");
            if let Some(origin) = origin.as_ref().filter(|_| to_sender) {
                if let Some(id) = origin.room.strip_prefix("interaction:") {
                    if followup(shared, id, &text).await {
                        done.interaction_answered = true;
                        return;
                    }
                } else if !origin.public {
                    if let Ok(channel) = origin.room.parse::<u64>() {
                        if send_text(shared, ChannelId::new(channel), &text).await {
                            return;
                        }
                    }
                }
            }
            if !dm_text(shared, user, &text).await {
                // A mention in a channel from someone who takes no DMs: a
                // word there that tells nothing of what they wrote.
                let public = origin
                    .as_ref()
                    .filter(|o| to_sender && o.public && !done.channel_notice);
                if let Some(origin) = public {
                    if let Ok(channel) = origin.room.parse::<u64>() {
                        let notice = format!("🤖 <@{user}> je ne peux pas t'écrire en message privé : autorise les messages privés de ce serveur, ou utilise /promeneur (toi seul·e verras ma réponse). En cas d'urgence : 112, 3114 (idées suicidaires), 119 (enfance en danger).");
                        done.channel_notice = send(
                            shared,
                            ChannelId::new(channel),
                            CreateMessage::new()
                                .content(notice)
                                .allowed_mentions(CreateAllowedMentions::new().users([user])),
                        )
                        .await;
                    }
                }
            }
        }
        Speaker::Promeneur(card) => {
            // In the person's hand-off thread when there is one, else by DM;
            // each message shows who is speaking.
            let thread = shared
                .book
                .lock()
                .expect("the thread book lock")
                .threads
                .values()
                .find(|t| !t.relay && t.person == user.get())
                .map(|t| ChannelId::new(t.thread));
            for part in chunks(text) {
                let message = CreateMessage::new().embed(promeneur_embed(&card, &part));
                let sent = match thread {
                    Some(thread) => send(shared, thread, message.clone()).await,
                    None => false,
                };
                if !sent && !dm(shared, user, message).await {
                    tracing::warn!("a Promeneur's message could not reach the person");
                    // The Promeneur hears it did not arrive.
                    if let Some(sender) = sender.as_ref().and_then(user_of) {
                        dm_text(shared, sender, "🤖 ⚠️ Ton message n'a pas pu être remis : la personne n'accepte plus les messages privés du bot ou a quitté le serveur.").await;
                    }
                    break;
                }
            }
        }
        Speaker::Person(conversation) => {
            let thread = shared
                .book
                .lock()
                .expect("the thread book lock")
                .threads
                .get(&conversation.0)
                .map(|t| t.thread);
            let text = format!("💬 Demande n°{conversation} — message de la personne : {text}");
            if let Some(thread) = thread {
                if send_text(shared, ChannelId::new(thread), &text).await {
                    return;
                }
            }
            dm_text(shared, user, &text).await;
        }
    }
}

/// An ephemeral follow-up to a slash command or a button.
async fn followup(shared: &Shared, interaction: &str, text: &str) -> bool {
    let token = {
        let pending = shared.interactions.lock().expect("the interactions lock");
        let Some(p) = interaction
            .parse::<u64>()
            .ok()
            .and_then(|id| pending.get(&id))
            .filter(|p| p.at.elapsed() < INTERACTION_LIFETIME)
        else {
            return false;
        };
        p.token.clone()
    };
    for chunk in chunks(text) {
        let sent = CreateInteractionResponseFollowup::new()
            .content(chunk)
            .ephemeral(true)
            .execute(&shared.http, (None, &token))
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %describe(&e), "an ephemeral answer could not be sent");
            return false;
        }
    }
    true
}

/// Discord takes at most 2000 characters a message.
fn chunks(text: &str) -> Vec<String> {
    const MAX: usize = 1900;
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if current.chars().count() + line.chars().count() > MAX && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if line.chars().count() > MAX {
            let chars: Vec<char> = line.chars().collect();
            for piece in chars.chunks(MAX) {
                out.push(piece.iter().collect());
            }
            continue;
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The DM channel with someone, opened once.
async fn dm_channel(shared: &Shared, user: UserId) -> Option<ChannelId> {
    if let Some(channel) = shared.dms.lock().expect("the dm lock").get(&user.get()) {
        return Some(*channel);
    }
    let mut pause = Duration::from_millis(500);
    for attempt in 1..=5u32 {
        match user.create_dm_channel(&shared.http).await {
            Ok(channel) => {
                shared
                    .dms
                    .lock()
                    .expect("the dm lock")
                    .insert(user.get(), channel.id);
                return Some(channel.id);
            }
            Err(e) if refused(&e) => {
                tracing::warn!(error = %describe(&e), "Discord refused to open a DM");
                return None;
            }
            Err(e) => {
                tracing::warn!(attempt, error = %describe(&e), "a DM could not be opened; retrying");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
    None
}

/// A text in as many messages as Discord's 2000-character limit needs.
async fn send_text(shared: &Shared, channel: ChannelId, text: &str) -> bool {
    for chunk in chunks(text) {
        if !send(shared, channel, CreateMessage::new().content(chunk)).await {
            return false;
        }
    }
    true
}

async fn dm_text(shared: &Shared, user: UserId, text: &str) -> bool {
    match dm_channel(shared, user).await {
        Some(channel) => send_text(shared, channel, text).await,
        None => false,
    }
}

async fn dm(shared: &Shared, user: UserId, message: CreateMessage) -> bool {
    match dm_channel(shared, user).await {
        Some(channel) => send(shared, channel, message).await,
        None => false,
    }
}

/// Sends, retrying while Discord is away (the emergency lines must
/// arrive); `false` when it cannot be sent or Discord refuses it.
async fn send(shared: &Shared, channel: ChannelId, message: CreateMessage) -> bool {
    let mut pause = Duration::from_millis(500);
    for attempt in 1..=8u32 {
        let started = Instant::now();
        match channel.send_message(&shared.http, message.clone()).await {
            Ok(_) => {
                tracing::debug!(
                    micros = started.elapsed().as_micros() as u64,
                    "message sent"
                );
                return true;
            }
            Err(e) if refused(&e) => {
                tracing::warn!(error = %describe(&e), "Discord refused a message");
                return false;
            }
            Err(e) => {
                tracing::warn!(attempt, error = %describe(&e), "sending failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
    tracing::error!("a message could not be sent after retries");
    false
}

/// Discord answered no (4xx other than a rate limit): asking again will not
/// help.
fn refused(error: &serenity::Error) -> bool {
    match error {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            (400..500).contains(&status) && status != 429
        }
        serenity::Error::Model(_) => true,
        _ => false,
    }
}

/// What went wrong, without anything that could hold a token or a message.
fn describe(error: &serenity::Error) -> String {
    match error {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(response)) => format!(
            "HTTP {} ({}: {})",
            response.status_code.as_u16(),
            response.error.code,
            response.error.message
        ),
        // reqwest's own text names the URL, which holds interaction tokens.
        serenity::Error::Http(serenity::http::HttpError::Request(e)) => {
            let why = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "failed"
            };
            format!("request {why}")
        }
        serenity::Error::Gateway(e) => format!("gateway: {e}"),
        other => {
            let text = other.to_string();
            // Nothing that looks like a URL with a token in it.
            if text.contains("/webhooks/") || text.contains("/interactions/") {
                "request failed".to_string()
            } else {
                text
            }
        }
    }
}

// ----- threads -----

async fn is_member(shared: &Shared, guild: u64, user: u64) -> bool {
    match shared
        .http
        .get_member(GuildId::new(guild), UserId::new(user))
        .await
    {
        Ok(_) => true,
        Err(e) => {
            if !refused(&e) {
                tracing::warn!(error = %describe(&e), "a guild membership could not be checked");
            }
            false
        }
    }
}

/// The served guilds of a Promeneur's départements, the one where the
/// person last wrote first.
fn guilds_for(
    shared: &Shared,
    promeneur: &PromeneurId,
    person: u64,
) -> Vec<crate::config::DiscordGuild> {
    let codes = shared
        .roster
        .promeneur(promeneur)
        .map(|p| p.departements.clone())
        .unwrap_or_default();
    let mut guilds: Vec<_> = shared
        .settings
        .guilds
        .iter()
        .filter(|g| g.departements.iter().any(|d| codes.contains(d)))
        .cloned()
        .collect();
    let seen = shared
        .seen_in
        .lock()
        .expect("the seen lock")
        .get(&person)
        .copied();
    guilds.sort_by_key(|g| Some(g.id) != seen);
    guilds
}

async fn private_thread(shared: &Shared, parent: u64, name: String) -> Option<ChannelId> {
    let builder = CreateThread::new(name)
        .kind(ChannelType::PrivateThread)
        .invitable(false);
    match ChannelId::new(parent)
        .create_thread(&shared.http, builder)
        .await
    {
        Ok(thread) => Some(thread.id),
        Err(e) => {
            tracing::error!(error = %describe(&e), "a private thread could not be created; can the bot create private threads there?");
            None
        }
    }
}

async fn add_member(shared: &Shared, thread: ChannelId, user: u64) -> bool {
    match thread
        .add_thread_member(&shared.http, UserId::new(user))
        .await
    {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %describe(&e), "someone could not be added to a thread");
            false
        }
    }
}

/// A hand-off taken: the private thread with the person and the Promeneur,
/// or, when they share no served guild, the relay thread for the Promeneur.
async fn open_thread(shared: &Arc<Shared>, handoff: &HandOff) {
    let conversation = handoff.conversation.0;
    let Some(person) = user_of(&handoff.person).map(|u| u.get()) else {
        return;
    };
    let Some(promeneur_user) = handoff
        .card
        .discord
        .as_deref()
        .and_then(|id| id.parse::<u64>().ok())
    else {
        tracing::warn!(promeneur = %handoff.promeneur, "a Promeneur without a Discord account took a Discord conversation; the DM relay carries it");
        return;
    };
    let existing = shared
        .book
        .lock()
        .expect("the thread book lock")
        .threads
        .get(&conversation)
        .cloned();
    if let Some(mut thread) = existing {
        // Transferred: the new Promeneur comes into the thread with their
        // card, the previous one leaves.
        let channel = ChannelId::new(thread.thread);
        let joined = thread.promeneur_user == Some(promeneur_user)
            || add_member(shared, channel, promeneur_user).await;
        if joined {
            if let Some(old) = thread.promeneur_user.filter(|old| *old != promeneur_user) {
                let _ = channel
                    .remove_thread_member(&shared.http, UserId::new(old))
                    .await;
            }
            thread.promeneur = handoff.promeneur.clone();
            thread.promeneur_user = Some(promeneur_user);
            record(shared, conversation, Some(thread.clone()));
            let intro = format!("🤖 {} reprend cette conversation.", handoff.card.first_name);
            send(shared, channel, card_message(&handoff.card, &intro).await).await;
            if thread.relay {
                dm(
                    shared,
                    UserId::new(person),
                    card_message(&handoff.card, &intro).await,
                )
                .await;
            }
            return;
        }
        // The new Promeneur cannot join it (another guild): this thread
        // ends, and one is made where they are.
        close_thread(shared, conversation).await;
    }
    let entry = |relay| Thread {
        thread: 0,
        person,
        promeneur: handoff.promeneur.clone(),
        promeneur_user: Some(promeneur_user),
        relay,
    };
    let guilds = guilds_for(shared, &handoff.promeneur, person);
    let mut promeneur_guild = None;
    for guild in &guilds {
        if !is_member(shared, guild.id, promeneur_user).await {
            continue;
        }
        promeneur_guild.get_or_insert_with(|| guild.clone());
        if !is_member(shared, guild.id, person).await {
            continue;
        }
        let name = format!("Promeneur du Net · demande n°{conversation}");
        let entry = entry(false);
        let members = [person, promeneur_user];
        let Some(thread) = recorded_thread(
            shared,
            guild.handoff_channel,
            name,
            conversation,
            entry,
            &members,
        )
        .await
        else {
            continue;
        };
        let intro = format!(
            "🤖 Ce fil privé est pour vous deux seulement. {} est un·e Promeneur·se du Net : une vraie personne, qui te répond ici. Le bot (🤖) ne lit ici que les commandes et les signaux de danger.",
            handoff.card.first_name
        );
        send(shared, thread, card_message(&handoff.card, &intro).await).await;
        dm_text(
            shared,
            UserId::new(person),
            &format!(
                "🤖 {} t'attend dans un fil privé : <#{thread}>",
                handoff.card.first_name
            ),
        )
        .await;
        return;
    }
    // No served guild in common: the person stays in their DM, the
    // Promeneur answers from a private thread under the staff channel of a
    // guild they are in.
    let Some(guild) = promeneur_guild else {
        tracing::warn!(promeneur = %handoff.promeneur, "the Promeneur is in no served guild of their départements; the DM relay carries the conversation");
        return;
    };
    let name = format!("Relais · demande n°{conversation}");
    let members = [promeneur_user];
    let Some(thread) = recorded_thread(
        shared,
        guild.staff_channel,
        name,
        conversation,
        entry(true),
        &members,
    )
    .await
    else {
        return;
    };
    send_text(
        shared,
        thread,
        &format!(
            "🤖 Demande n°{conversation} — {}\nLa personne écrit au bot en message privé : ses messages arrivent ici, et tout ce que tu écris ici lui est transmis avec ta carte. Les commandes (/note, /fermer…) restent entre nous. Ce fil est supprimé quand la conversation est close.",
            handoff.summary
        ),
    )
    .await;
    let intro = format!(
        "🤖 {} est un·e Promeneur·se du Net : une vraie personne. Réponds-moi ici, je lui transmets tes messages, et chacune de ses réponses te montre qui elle est.",
        handoff.card.first_name
    );
    dm(
        shared,
        UserId::new(person),
        card_message(&handoff.card, &intro).await,
    )
    .await;
}

/// Records (or, with `None`, forgets) a conversation's thread, on disk too;
/// the entry it replaces.
fn record(shared: &Shared, conversation: i64, thread: Option<Thread>) -> Option<Thread> {
    let mut book = shared.book.lock().expect("the thread book lock");
    let changed = thread.is_some();
    let previous = match thread {
        Some(thread) => book.threads.insert(conversation, thread),
        None => book.threads.remove(&conversation),
    };
    if changed || previous.is_some() {
        book.save(&shared.book_path);
    }
    previous
}

/// A private thread under `parent` for `conversation`, recorded at once (so
/// nothing written there while members are added goes unread), with
/// `members` added; undone when someone cannot be added.
async fn recorded_thread(
    shared: &Shared,
    parent: u64,
    name: String,
    conversation: i64,
    mut entry: Thread,
    members: &[u64],
) -> Option<ChannelId> {
    let thread = private_thread(shared, parent, name).await?;
    entry.thread = thread.get();
    record(shared, conversation, Some(entry));
    for member in members {
        if !add_member(shared, thread, *member).await {
            record(shared, conversation, None);
            let _ = thread.delete(&shared.http).await;
            return None;
        }
    }
    Some(thread)
}

/// The conversation went to someone else: the previous Promeneur leaves
/// its thread.
async fn offered_elsewhere(shared: &Arc<Shared>, handoff: &HandOff) {
    release(shared, handoff.conversation.0, Some(&handoff.promeneur)).await;
}

/// The Promeneur who had a conversation leaves its thread, unless it is
/// `keep` (the one it now goes to). A relay thread goes with them: the
/// next Promeneur gets their own.
async fn release(shared: &Arc<Shared>, conversation: i64, keep: Option<&PromeneurId>) {
    let thread = {
        let book = shared.book.lock().expect("the thread book lock");
        book.threads.get(&conversation).cloned()
    };
    let Some(mut thread) = thread else { return };
    if Some(&thread.promeneur) == keep {
        return;
    }
    if thread.relay {
        close_thread(shared, conversation).await;
        return;
    }
    if let Some(user) = thread.promeneur_user.take() {
        record(shared, conversation, Some(thread.clone()));
        let _ = ChannelId::new(thread.thread)
            .remove_thread_member(&shared.http, UserId::new(user))
            .await;
    }
}

/// The conversation is over. A hand-off thread is archived and locked (it
/// is the person's and the Promeneur's own exchange); a relay thread, which
/// holds the bot's copies of the person's words, is deleted. Either way the
/// bot forgets it.
async fn close_thread(shared: &Arc<Shared>, conversation: i64) {
    let Some(thread) = record(shared, conversation, None) else {
        return;
    };
    let channel = ChannelId::new(thread.thread);
    if thread.relay {
        if let Err(e) = channel.delete(&shared.http).await {
            tracing::warn!(error = %describe(&e), "a closed relay thread could not be deleted");
        }
        return;
    }
    send(
        shared,
        channel,
        CreateMessage::new()
            .content("🤖 Cette conversation est close : ce fil est archivé. Merci à vous deux."),
    )
    .await;
    if let Err(e) = channel
        .edit_thread(&shared.http, EditThread::new().archived(true).locked(true))
        .await
    {
        tracing::warn!(error = %describe(&e), "a closed thread could not be archived");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_under_discords_limit_at_line_ends() {
        let line = "é".repeat(700) + "\n";
        let text = line.repeat(5);
        let parts = chunks(&text);
        assert!(parts.len() >= 2);
        assert!(parts.iter().all(|p| p.chars().count() <= 2000));
        assert!(parts.iter().all(|p| p.ends_with('\n')), "cut at line ends");
        assert_eq!(parts.concat(), text);
        let one_line = "a".repeat(4500);
        let parts = chunks(&one_line);
        assert!(parts.iter().all(|p| p.chars().count() <= 2000));
        assert_eq!(parts.concat(), one_line);
        assert_eq!(chunks("salut"), vec!["salut".to_string()]);
    }

    #[test]
    fn mentions_of_the_bot_are_taken_out() {
        let me = UserId::new(42);
        assert_eq!(without_mention("<@42> salut", me), "salut");
        assert_eq!(
            without_mention("hey <@!42>, je cherche", me),
            "hey , je cherche"
        );
        assert_eq!(without_mention("<@43> salut", me), "<@43> salut");
    }

    #[test]
    fn the_invite_asks_for_private_threads_and_commands() {
        let url = invite_url(7);
        assert!(url.contains("client_id=7"));
        assert!(url.contains("scope=bot+applications.commands"));
        assert!(permissions().contains(Permissions::CREATE_PRIVATE_THREADS));
        assert!(!permissions().contains(Permissions::ADMINISTRATOR));
    }
}
