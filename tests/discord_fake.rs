//! The fake Discord of `tests/support/discord.rs` against a bare serenity
//! client: if these pass, the fake speaks enough Discord for the adapter's
//! tests to mean something. `RUST_LOG=serenity=debug` shows serenity's side.

#[path = "support/discord.rs"]
mod discord;

use discord::{FakeDiscord, APP_ID, BOT_ID};
use serde_json::json;
use serenity::all::{
    async_trait, ApplicationId, ButtonStyle, ChannelId, ChannelType, ClientBuilder, Command,
    CommandDataOptionValue, Context, CreateActionRow, CreateAttachment, CreateButton,
    CreateCommand, CreateCommandOption, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    CreateThread, EditInteractionResponse, EditThread, EventHandler, GatewayIntents, Guild,
    GuildId, Http, HttpBuilder, Interaction, Message, Ready, ResumedEvent, UserId,
};
use serenity::gateway::GatewayError;
use serenity::model::event::GatewayEvent;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const TOKEN: &str = "fake-token.for-the-tests";
const GUILD: &str = "800000000000000001";
const LOBBY: &str = "800000000000000010";
const STAFF: &str = "800000000000000011";
const USER: &str = "700000000000000001";
const WAIT: Duration = Duration::from_secs(10);

/// What the handler saw.
#[derive(Debug)]
enum Seen {
    Ready(Box<Ready>),
    Guild(Box<Guild>),
    Message(Box<Message>),
    Interaction(Box<Interaction>),
    Resumed,
}

/// Records every event; answers DMs with "reçu : {content}", slash commands
/// with an ephemeral "ok" (deferred for `/lent`), buttons with a deferred
/// update (type 6).
struct Recorder(mpsc::UnboundedSender<Seen>);

#[async_trait]
impl EventHandler for Recorder {
    async fn ready(&self, _: Context, ready: Ready) {
        let _ = self.0.send(Seen::Ready(Box::new(ready)));
    }

    async fn guild_create(&self, _: Context, guild: Guild, _: Option<bool>) {
        let _ = self.0.send(Seen::Guild(Box::new(guild)));
    }

    async fn message(&self, ctx: Context, message: Message) {
        if message.guild_id.is_none() && !message.author.bot {
            let answer = format!("reçu : {}", message.content);
            message
                .channel_id
                .say(&ctx, answer)
                .await
                .expect("answer the DM");
        }
        let _ = self.0.send(Seen::Message(Box::new(message)));
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match &interaction {
            Interaction::Command(command) => {
                let message = CreateInteractionResponseMessage::new().ephemeral(true);
                let response = match command.data.name.as_str() {
                    "lent" => CreateInteractionResponse::Defer(message),
                    _ => CreateInteractionResponse::Message(message.content("ok")),
                };
                command
                    .create_response(&ctx.http, response)
                    .await
                    .expect("answer the command");
            }
            Interaction::Component(component) => {
                let response = CreateInteractionResponse::Acknowledge;
                component
                    .create_response(&ctx.http, response)
                    .await
                    .expect("answer the button");
            }
            _ => {}
        }
        let _ = self.0.send(Seen::Interaction(Box::new(interaction)));
    }

    async fn resume(&self, _: Context, _: ResumedEvent) {
        let _ = self.0.send(Seen::Resumed);
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::from_default_env();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

fn http(fake: &FakeDiscord, token: &str) -> Http {
    HttpBuilder::new(token)
        .proxy(fake.url())
        .ratelimiter_disabled(true)
        .build()
}

/// A serenity client running against the fake, and what it saw.
struct Bot {
    http: Arc<Http>,
    seen: mpsc::UnboundedReceiver<Seen>,
    backlog: Vec<Seen>,
    fake: FakeDiscord,
    task: tokio::task::JoinHandle<serenity::Result<()>>,
}

impl Bot {
    /// Starts the client with [`intents`] and waits for READY.
    async fn start(fake: &FakeDiscord) -> Bot {
        Bot::start_with(fake, intents()).await
    }

    async fn start_with(fake: &FakeDiscord, intents: GatewayIntents) -> Bot {
        init_tracing();
        let (tx, seen) = mpsc::unbounded_channel();
        let mut client = ClientBuilder::new_with_http(http(fake, TOKEN), intents)
            .event_handler(Recorder(tx))
            .await
            .expect("build the client");
        let http = client.http.clone();
        let task = tokio::spawn(async move { client.start().await });
        let mut bot = Bot {
            http,
            seen,
            backlog: Vec::new(),
            fake: fake.clone(),
            task,
        };
        let ready = bot
            .next("READY", |s| match s {
                Seen::Ready(r) => Some(r.clone()),
                _ => None,
            })
            .await;
        assert_eq!(ready.user.id.to_string(), BOT_ID);
        assert!(ready.guilds.iter().all(|g| g.unavailable));
        bot
    }

    /// The first event `pick` accepts; the others stay for later calls
    /// (handlers run in their own tasks, so their order is not the
    /// gateway's).
    async fn next<T>(&mut self, what: &str, mut pick: impl FnMut(&Seen) -> Option<T>) -> T {
        if let Some(found) = self.backlog.iter().find_map(&mut pick) {
            let index = self.backlog.iter().position(|s| pick(s).is_some()).unwrap();
            self.backlog.remove(index);
            return found;
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.seen.recv()).await {
                Ok(Some(seen)) => match pick(&seen) {
                    Some(found) => return found,
                    None => self.backlog.push(seen),
                },
                _ => panic!("the client never saw {what}\n{}", self.fake.report()),
            }
        }
    }

    async fn message(&mut self) -> Message {
        self.next("a message", |s| match s {
            Seen::Message(m) => Some((**m).clone()),
            _ => None,
        })
        .await
    }

    async fn interaction(&mut self) -> Interaction {
        self.next("an interaction", |s| match s {
            Seen::Interaction(i) => Some((**i).clone()),
            _ => None,
        })
        .await
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn fake_with_guild() -> FakeDiscord {
    let fake = FakeDiscord::start(TOKEN).await;
    fake.add_guild(
        GUILD,
        "Promeneurs du Finistère",
        &[(LOBBY, "accueil"), (STAFF, "promeneurs")],
    );
    fake.add_member(GUILD, USER, "camille");
    fake
}

/// Every frame the fake dispatched is one serenity can read (a frame it
/// cannot read would be dropped without a word).
fn assert_serenity_reads_every_dispatch(fake: &FakeDiscord) {
    for frame in fake.dispatched() {
        if let Err(e) = serde_json::from_value::<GatewayEvent>(frame.clone()) {
            panic!(
                "serenity cannot read this {} dispatch: {e}\n{frame:#}",
                frame["t"]
            );
        }
    }
    assert!(
        fake.unknown_calls().is_empty(),
        "unknown calls:\n{}",
        fake.report()
    );
}

#[tokio::test]
async fn connects_and_reads_ready_and_guild_create() {
    let fake = fake_with_guild().await;
    let mut bot = Bot::start(&fake).await;
    let guild = bot
        .next("GUILD_CREATE", |s| match s {
            Seen::Guild(g) => Some(g.clone()),
            _ => None,
        })
        .await;
    assert_eq!(guild.id, GuildId::new(GUILD.parse().unwrap()));
    assert_eq!(guild.name, "Promeneurs du Finistère");
    let lobby = &guild.channels[&ChannelId::new(LOBBY.parse().unwrap())];
    assert_eq!(
        (lobby.name.as_str(), lobby.kind),
        ("accueil", ChannelType::Text)
    );
    assert!(guild
        .members
        .contains_key(&UserId::new(USER.parse().unwrap())));
    assert!(guild
        .members
        .contains_key(&UserId::new(BOT_ID.parse().unwrap())));
    assert_eq!(guild.roles.len(), 1, "the @everyone role");

    fake.wait_connected(WAIT).await;
    assert_eq!(fake.identified_intents(), Some(intents().bits()));
    assert_eq!(fake.identify_count(), 1);
    assert_eq!(
        bot.http.application_id().map(|a| a.to_string()).as_deref(),
        Some(APP_ID)
    );
    // At start serenity only asks for the gateway URL.
    let calls: Vec<String> = fake.calls().iter().map(ToString::to_string).collect();
    assert_eq!(calls, ["GET /gateway"]);

    // A guild added while connected comes as GUILD_CREATE.
    fake.add_guild(
        "800000000000000002",
        "Promeneurs du Morbihan",
        &[("800000000000000020", "accueil")],
    );
    let second = bot
        .next("the second GUILD_CREATE", |s| match s {
            Seen::Guild(g) => Some(g.clone()),
            _ => None,
        })
        .await;
    assert_eq!(second.name, "Promeneurs du Morbihan");
    assert_serenity_reads_every_dispatch(&fake);
}

#[tokio::test]
async fn rest_endpoints_answer_what_serenity_reads() {
    init_tracing();
    let fake = fake_with_guild().await;
    let http = http(&fake, TOKEN);
    let me = http.get_current_user().await.expect("GET /users/@me");
    assert_eq!((me.id.to_string().as_str(), me.bot), (BOT_ID, true));
    let app = http
        .get_current_application_info()
        .await
        .expect("GET /oauth2/applications/@me");
    assert_eq!(app.id.to_string(), APP_ID);

    let guild = GuildId::new(GUILD.parse().unwrap());
    let member = http
        .get_member(guild, UserId::new(USER.parse().unwrap()))
        .await
        .expect("a member");
    assert_eq!(member.user.name, "camille");
    let missing = http
        .get_member(guild, UserId::new(1))
        .await
        .expect_err("not a member");
    assert!(missing.to_string().contains("Unknown Member"), "{missing}");

    let user = UserId::new(USER.parse().unwrap());
    let dm = user
        .create_dm_channel(&http)
        .await
        .expect("POST /users/@me/channels");
    assert_eq!(dm.id.to_string(), fake.dm_channel(USER));
    assert_eq!(dm.recipient.id, user);
    dm.id.say(&http, "bonjour").await.expect("a DM");
    fake.refuse_dms(USER);
    let refused = dm.id.say(&http, "encore").await.expect_err("DMs refused");
    assert!(
        refused
            .to_string()
            .contains("Cannot send messages to this user"),
        "{refused}"
    );
    let sent = fake.messages_in(&fake.dm_channel(USER));
    assert_eq!((sent.len(), &sent[0]["content"]), (1, &json!("bonjour")));

    let option = CreateCommandOption::new(
        serenity::all::CommandOptionType::Integer,
        "conversation",
        "numéro",
    )
    .required(true);
    let commands = vec![CreateCommand::new("transfert")
        .description("Transférer")
        .add_option(option)];
    // A bare `Http` learns the application id from READY only.
    http.set_application_id(ApplicationId::new(APP_ID.parse().unwrap()));
    let registered = Command::set_global_commands(&http, commands)
        .await
        .expect("PUT commands");
    assert_eq!(registered[0].name, "transfert");
    assert_eq!(registered[0].options[0].name, "conversation");
    assert_eq!(fake.commands(None).len(), 1);
    assert!(fake.unknown_calls().is_empty(), "{}", fake.report());

    // Multipart: the body is the `payload_json` part.
    let photo = CreateAttachment::bytes(vec![0x89, b'P', b'N', b'G'], "carte.png");
    let post = CreateMessage::new().content("la carte").add_file(photo);
    let lobby = ChannelId::new(LOBBY.parse().unwrap());
    let sent = lobby
        .send_message(&http, post)
        .await
        .expect("a message with a file");
    assert_eq!(
        (
            sent.attachments[0].filename.as_str(),
            sent.attachments[0].size
        ),
        ("carte.png", 4)
    );
    let call = fake
        .calls_to("POST", &format!("/channels/{LOBBY}/messages"))
        .pop()
        .unwrap();
    assert_eq!(
        (&call.body["content"], call.files.as_slice()),
        (&json!("la carte"), &["carte.png".to_string()][..])
    );

    let wrong = http_with_wrong_token(&fake)
        .get_current_user()
        .await
        .expect_err("401");
    assert!(wrong.to_string().contains("401: Unauthorized"), "{wrong}");
}

fn http_with_wrong_token(fake: &FakeDiscord) -> Http {
    http(fake, "not-the-token")
}

#[tokio::test]
async fn a_dm_arrives_and_the_reply_is_recorded() {
    let fake = fake_with_guild().await;
    // Sent before the bot connects: delivered after READY.
    let id = fake.dm(USER, "camille", "bonjour");
    let mut bot = Bot::start(&fake).await;
    let message = bot.message().await;
    assert_eq!(message.id.to_string(), id);
    assert_eq!(message.guild_id, None);
    assert_eq!(message.content, "bonjour");
    assert_eq!(message.author.name, "camille");
    let dm = fake.dm_channel(USER);
    assert_eq!(message.channel_id.to_string(), dm);
    let path = format!("/channels/{dm}/messages");
    let reply = fake
        .wait_for("the DM reply", WAIT, |calls| {
            calls
                .iter()
                .find(|c| c.path == path)
                .map(|c| c.body.clone())
        })
        .await;
    assert_eq!(reply["content"], "reçu : bonjour");
    // The check may call the fake (it gets a snapshot, not the lock).
    let accepted = fake
        .wait_for("the accepted reply", WAIT, |_| {
            Some(fake.messages_in(&dm)).filter(|m| !m.is_empty())
        })
        .await;
    assert_eq!(accepted, [reply]);
    assert_serenity_reads_every_dispatch(&fake);
}

#[tokio::test]
async fn guild_messages_carry_the_mention_of_the_bot() {
    let fake = fake_with_guild().await;
    let mut bot = Bot::start(&fake).await;
    fake.user_message(
        Some(GUILD),
        LOBBY,
        USER,
        "camille",
        &format!("<@{BOT_ID}> aide"),
        true,
    );
    let message = bot.message().await;
    assert_eq!(
        message.guild_id.map(|g| g.to_string()).as_deref(),
        Some(GUILD)
    );
    assert!(message.mentions.iter().any(|u| u.id.to_string() == BOT_ID));
    assert_eq!(message.content, format!("<@{BOT_ID}> aide"));
    assert!(message.member.is_some());

    fake.user_message(Some(GUILD), LOBBY, USER, "camille", "sans mention", false);
    let message = bot.message().await;
    assert!(message.mentions.is_empty());
    assert_eq!(
        message.content, "sans mention",
        "MESSAGE_CONTENT was asked for"
    );
    assert_serenity_reads_every_dispatch(&fake);
}

#[tokio::test]
async fn without_message_content_guild_messages_come_blank_unless_mentioned() {
    let fake = fake_with_guild().await;
    let mut bot = Bot::start_with(&fake, intents() - GatewayIntents::MESSAGE_CONTENT).await;
    fake.user_message(Some(GUILD), LOBBY, USER, "camille", "secret", false);
    assert_eq!(bot.message().await.content, "");
    fake.user_message(Some(GUILD), LOBBY, USER, "camille", "à toi", true);
    assert_eq!(bot.message().await.content, "à toi");
}

#[tokio::test]
async fn slash_commands_and_buttons_are_interactions() {
    let fake = fake_with_guild().await;
    let mut bot = Bot::start(&fake).await;

    let id = fake.slash_command(
        Some(GUILD),
        LOBBY,
        USER,
        "camille",
        "transfert",
        json!([{"name": "conversation", "type": 4, "value": 12}]),
    );
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("not a command")
    };
    assert_eq!(command.id.to_string(), id);
    assert_eq!(command.data.name, "transfert");
    assert_eq!(command.data.options[0].name, "conversation");
    assert_eq!(
        command.data.options[0].value,
        CommandDataOptionValue::Integer(12)
    );
    assert_eq!(command.user.id.to_string(), USER, "taken from member");
    assert_eq!(
        command.guild_id.map(|g| g.to_string()).as_deref(),
        Some(GUILD)
    );
    let callback = &fake.interaction_replies(&id)[0];
    assert_eq!(
        (&callback["type"], &callback["data"]["content"]),
        (&json!(4), &json!("ok"))
    );
    assert_eq!(callback["data"]["flags"], 64, "ephemeral");

    // Follow-up, edit and read of the original response, with the token.
    let followup = CreateInteractionResponseFollowup::new()
        .content("suite")
        .ephemeral(true);
    command
        .create_followup(&bot.http, followup)
        .await
        .expect("follow-up");
    command
        .edit_response(&bot.http, EditInteractionResponse::new().content("ok !"))
        .await
        .expect("edit");
    let original = command
        .get_response(&bot.http)
        .await
        .expect("GET @original");
    assert_eq!(original.content, "ok !");
    let replies = fake.interaction_replies(&id);
    assert_eq!(
        (
            replies.len(),
            &replies[1]["content"],
            &replies[2]["content"]
        ),
        (3, &json!("suite"), &json!("ok !"))
    );

    // In a DM the interaction has `user`, no guild.
    // Deferred (type 5), then edited.
    let dm = fake.dm_channel(USER);
    let id = fake.slash_command(None, &dm, USER, "camille", "lent", json!([]));
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("not a command")
    };
    assert_eq!(
        (command.guild_id, command.user.name.as_str()),
        (None, "camille")
    );
    assert_eq!(fake.interaction_replies(&id)[0]["type"], 5);
    command
        .edit_response(&bot.http, EditInteractionResponse::new().content("fini"))
        .await
        .expect("edit");
    assert_eq!(
        command
            .get_response(&bot.http)
            .await
            .expect("GET @original")
            .content,
        "fini"
    );

    // A button on a message the bot posted.
    let button = CreateButton::new("prendre:12")
        .label("Je prends")
        .style(ButtonStyle::Primary);
    let post = CreateMessage::new()
        .content("Nouvelle demande")
        .components(vec![CreateActionRow::Buttons(vec![button])]);
    let posted = ChannelId::new(STAFF.parse().unwrap())
        .send_message(&bot.http, post)
        .await
        .expect("post");
    assert_eq!(posted.components.len(), 1);
    let id = fake.button(
        Some(GUILD),
        STAFF,
        USER,
        "camille",
        "prendre:12",
        &posted.id.to_string(),
    );
    let Interaction::Component(component) = bot.interaction().await else {
        panic!("not a component")
    };
    assert_eq!(component.data.custom_id, "prendre:12");
    assert_eq!(component.message.id, posted.id);
    // serenity sends `{"type": 6, "data": null}`.
    assert_eq!(fake.interaction_replies(&id)[0]["type"], 6);
    assert_serenity_reads_every_dispatch(&fake);
}

#[tokio::test]
async fn private_threads_through_the_builders() {
    init_tracing();
    let fake = fake_with_guild().await;
    let http = http(&fake, TOKEN);
    let lobby = ChannelId::new(LOBBY.parse().unwrap());
    let builder = CreateThread::new("Camille")
        .kind(ChannelType::PrivateThread)
        .invitable(false);
    let thread = lobby
        .create_thread(&http, builder)
        .await
        .expect("create the thread");
    assert_eq!(
        (thread.kind, thread.parent_id),
        (ChannelType::PrivateThread, Some(lobby))
    );
    let created = &fake.calls_to("POST", &format!("/channels/{LOBBY}/threads"))[0];
    assert_eq!(
        (&created.body["type"], &created.body["invitable"]),
        (&json!(12), &json!(false))
    );

    thread
        .id
        .add_thread_member(&http, UserId::new(USER.parse().unwrap()))
        .await
        .expect("add a member");
    assert_eq!(fake.thread_members(&thread.id.to_string()), [USER, BOT_ID]);
    thread
        .id
        .say(&http, "Bonjour Camille")
        .await
        .expect("write in the thread");
    assert_eq!(fake.messages_in(&thread.id.to_string()).len(), 1);

    let archived = thread
        .id
        .edit_thread(&http, EditThread::new().archived(true).locked(true))
        .await
        .expect("archive");
    let metadata = archived.thread_metadata.expect("thread metadata");
    assert!(metadata.archived && metadata.locked);
    assert_eq!(
        fake.channel(&thread.id.to_string()).unwrap()["thread_metadata"]["archived"],
        true
    );
    assert!(fake.unknown_calls().is_empty(), "{}", fake.report());
}

#[tokio::test]
async fn a_dropped_gateway_resumes_and_replays_what_was_missed() {
    let fake = fake_with_guild().await;
    let mut bot = Bot::start(&fake).await;
    fake.wait_connected(WAIT).await;
    fake.drop_gateway();
    let id = fake.dm(USER, "camille", "pendant la coupure");
    let missed = bot.message().await;
    bot.next("RESUMED", |s| matches!(s, Seen::Resumed).then_some(()))
        .await;
    assert_eq!(
        (missed.id.to_string(), missed.content.as_str()),
        (id, "pendant la coupure")
    );
    assert_eq!((fake.identify_count(), fake.resume_count()), (1, 1));
    fake.wait_connected(WAIT).await;

    // The resumed session goes on.
    fake.dm(USER, "camille", "après");
    assert_eq!(bot.message().await.content, "après");
    assert_serenity_reads_every_dispatch(&fake);
}

#[tokio::test]
async fn a_wrong_token_makes_start_fail() {
    init_tracing();
    let fake = fake_with_guild().await;
    let mut client = ClientBuilder::new_with_http(http_with_wrong_token(&fake), intents())
        .await
        .expect("build the client");
    let result = tokio::time::timeout(WAIT, client.start())
        .await
        .expect("start() returns quickly");
    let error = result.expect_err("a wrong token");
    assert!(
        matches!(
            error,
            serenity::Error::Gateway(GatewayError::InvalidAuthentication)
        ),
        "{error:?}"
    );
    assert_eq!(fake.identify_count(), 0);
}
