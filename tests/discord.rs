//! The Discord adapter against a fake Discord (`support/discord.rs`): the
//! real `promeneur-bot serve` binary, whose real serenity client talks REST
//! and the gateway websocket to a local server that records every call.
//! The young people and the Promeneurs are events the fake dispatches.

#[path = "support/discord.rs"]
mod discord;
#[path = "support/process.rs"]
mod process;

use discord::{Call, FakeDiscord, BOT_ID};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "MTAw.fake-discord-token.s3cr3t";
const GUILD: &str = "700000000000000001";
/// The channel under which hand-off threads are made.
const ACCUEIL: &str = "700000000000000011";
const STAFF: &str = "700000000000000012";
/// The Pas-de-Calais team's own staff channel in the same guild.
const STAFF_62: &str = "700000000000000014";
const GENERAL: &str = "700000000000000013";
const JEUNE: &str = "800000000000000001";
/// Writes by DM only, and is in no served guild.
const LOIN: &str = "800000000000000002";
const CURIEUX: &str = "800000000000000099";
const CAMILLE: &str = "800000000000000041";
const LEA: &str = "800000000000000062";
const WAIT: Duration = Duration::from_secs(30);

/// The deployment: one guild serving the 41 (Camille, always on duty) and
/// the 62 (Léa, no permanence at all).
fn write_config(dir: &Path, fake: &FakeDiscord) -> PathBuf {
    let knowledge = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let config = format!(
        r#"
[bot]
knowledge = "{knowledge}"
handoff_timeout_minutes = 10
tick_seconds = 1

[storage]
database = "bot.sqlite3"
retention_days = 30
purge_every_minutes = 60

[discord]
store = "discord-store"
api = "{api}"

[[discord.guild]]
id = "{GUILD}"
handoff_channel = "{ACCUEIL}"
staff_channel = "{STAFF}"
departements = ["41"]

[[discord.guild]]
id = "{GUILD}"
handoff_channel = "{ACCUEIL}"
staff_channel = "{STAFF_62}"
departements = ["62"]

[[departement]]
code = "41"
coordinator = "camille-41"

[[departement]]
code = "62"
coordinator = "lea-62"

[[promeneur]]
id = "camille-41"
first_name = "Camille"
photo = "https://example.org/camille.jpg"
profession = "animatrice jeunesse"
structure = "MJC de Blois"
departements = ["41"]
capacity = 4
permanences = ["mon-sun 00:00-23:59"]
accounts = {{ discord = "{CAMILLE}" }}

[[promeneur]]
id = "lea-62"
first_name = "Léa"
photo = "https://example.org/lea.jpg"
profession = "éducatrice spécialisée"
structure = "Maison des ados d'Arras"
departements = ["62"]
capacity = 4
permanences = []
accounts = {{ discord = "{LEA}" }}
"#,
        knowledge = knowledge.display(),
        api = fake.url(),
    );
    let path = dir.join("bot.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// The real binary, `serve`.
struct Bot {
    child: Option<Child>,
    log: PathBuf,
}

impl Bot {
    fn start(config: &Path) -> Bot {
        let log = config.with_file_name("bot.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_promeneur-bot"))
            .args(["serve", "--config"])
            .arg(config)
            .env("PROMENEUR_BOT_DISCORD_TOKEN", TOKEN)
            .env("PROMENEUR_LOG", "info,promeneur_bot=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("the bot starts");
        Bot {
            child: Some(child),
            log,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log never holds a message body or the token.
    fn assert_log_is_clean(&self, bodies: &[&str]) {
        let log = self.log_text();
        assert!(!log.contains(TOKEN), "the token is in the log");
        assert!(!log.contains("s3cr3t"), "the token is in the log");
        for body in bodies {
            assert!(
                !log.contains(body),
                "a message body is in the log: {body}\n{log}"
            );
        }
    }

    /// SIGTERM, as systemd does: the bot must stop cleanly.
    fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            process::terminate(child, &self.log);
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        process::kill(self.child.take());
    }
}

struct World {
    fake: FakeDiscord,
    bot: Bot,
    dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let fake = FakeDiscord::start(TOKEN).await;
        fake.add_guild(
            GUILD,
            "Promeneurs du Centre",
            &[
                (ACCUEIL, "accueil"),
                (STAFF, "equipe-41"),
                (STAFF_62, "equipe-62"),
                (GENERAL, "general"),
            ],
        );
        for (id, name) in [
            (JEUNE, "jeune"),
            (CURIEUX, "curieux"),
            (CAMILLE, "camille"),
            (LEA, "lea"),
        ] {
            fake.add_member(GUILD, id, name);
        }
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), &fake);
        let bot = Bot::start(&config);
        let world = World { fake, bot, dir };
        let deadline = Instant::now() + WAIT;
        while !world.fake.is_connected() {
            assert!(
                Instant::now() < deadline,
                "the bot did not connect to the gateway:\n{}\n{}",
                world.bot.log_text(),
                world.fake.report()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Ready: the slash commands are registered.
        world
            .fake
            .wait_for("the slash commands", WAIT, |calls| {
                calls
                    .iter()
                    .find(|c| c.method == "PUT" && c.path.ends_with("/commands"))
                    .cloned()
            })
            .await;
        world
    }

    /// The texts the bot posted in a channel, in order (content and embeds).
    fn texts_in(&self, channel: &str) -> Vec<String> {
        self.fake.messages_in(channel).iter().map(text_of).collect()
    }

    /// Waits for a message in `channel` whose text contains `needle`.
    async fn expect_in(&self, channel: &str, needle: &str) -> Value {
        let fake = self.fake.clone();
        let channel = channel.to_string();
        let needle_owned = needle.to_string();
        self.fake
            .wait_for(&format!("«{needle}» in {channel}"), WAIT, move |_| {
                fake.messages_in(&channel)
                    .into_iter()
                    .find(|m| text_of(m).contains(&needle_owned))
            })
            .await
    }

    /// Waits for an interaction's follow-up that contains `needle`.
    async fn expect_reply(&self, interaction: &str, needle: &str) -> Vec<Value> {
        let fake = self.fake.clone();
        let id = interaction.to_string();
        let needle_owned = needle.to_string();
        self.fake
            .wait_for(
                &format!("«{needle}» answering {interaction}"),
                WAIT,
                move |_| {
                    let replies = fake.interaction_replies(&id);
                    replies
                        .iter()
                        .any(|r| text_of(r).contains(&needle_owned))
                        .then_some(replies)
                },
            )
            .await
    }

    /// `who` asks by DM for an internship in Blois and agrees to be handed
    /// over: request n°1 waits in the 41's staff channel. Returns the DM.
    async fn request_in_41(&self, who: &str, question: &str) -> String {
        self.fake.dm(who, "jeune", question);
        let dm = self.fake.dm_channel(who);
        self.expect_in(&dm, "Réponds oui ou non").await;
        self.fake.dm(who, "jeune", "oui");
        self.expect_in(STAFF, "n°1").await;
        dm
    }

    /// A slash command about conversation 1, with more options if any.
    fn command_on_1(&self, channel: &str, user: &str, name: &str, more: &[Value]) -> String {
        let mut options = vec![json!({"name": "conversation", "type": 4, "value": 1})];
        options.extend(more.iter().cloned());
        self.fake.slash_command(
            Some(GUILD),
            channel,
            user,
            "someone",
            name,
            Value::Array(options),
        )
    }

    /// Waits for a REST call matching `method` and `path`.
    async fn expect_call(&self, what: &str, method: &str, path: impl Fn(&str) -> bool) -> Call {
        let method = method.to_string();
        self.fake
            .wait_for(what, WAIT, move |calls| {
                calls
                    .iter()
                    .find(|c| c.method == method && path(&c.path))
                    .cloned()
            })
            .await
    }

    fn database_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for name in ["bot.sqlite3", "bot.sqlite3-wal", "bot.sqlite3-journal"] {
            if let Ok(b) = std::fs::read(self.dir.path().join(name)) {
                bytes.extend(b);
            }
        }
        bytes
    }
}

/// Everything a message shows: content, embeds, the data of an interaction
/// callback.
fn text_of(message: &Value) -> String {
    let message = message
        .get("data")
        .filter(|d| d.is_object())
        .unwrap_or(message);
    let mut text = message["content"].as_str().unwrap_or_default().to_string();
    for embed in message["embeds"].as_array().into_iter().flatten() {
        for key in ["title", "description"] {
            if let Some(s) = embed[key].as_str() {
                text.push('\n');
                text.push_str(s);
            }
        }
        if let Some(s) = embed["author"]["name"].as_str() {
            text.push('\n');
            text.push_str(s);
        }
        for field in embed["fields"].as_array().into_iter().flatten() {
            text.push('\n');
            text.push_str(field["value"].as_str().unwrap_or_default());
        }
    }
    text
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_question_becomes_a_private_thread_with_the_identity_card() {
    let mut world = World::new().await;
    // The intents the bot asked for, MESSAGE_CONTENT included.
    let intents = world.fake.identified_intents().expect("an IDENTIFY");
    for bit in [0, 9, 12, 15] {
        assert!(
            intents & (1 << bit) != 0,
            "intent bit {bit} missing: {intents}"
        );
    }
    let first = "salut je suis en 3e à Blois et jsp quoi faire l'an pro, lycée pro ou général ?";
    world.fake.dm(JEUNE, "jeune", first);
    let dm = world.fake.dm_channel(JEUNE);
    world.expect_in(&dm, "pas un humain").await;
    world.expect_in(&dm, "Réponds oui ou non").await;
    world.fake.dm(JEUNE, "jeune", "oui");

    // Camille is told by DM and in the staff channel, with a button.
    let camille_dm = world.fake.dm_channel(CAMILLE);
    world.expect_in(&camille_dm, "/prendre 1").await;
    let notice = world.expect_in(STAFF, "n°1").await;
    let button = &notice["components"][0]["components"][0];
    assert_eq!(button["custom_id"], "prendre:1", "{notice}");

    // She takes it with the button: a private thread under the hand-off
    // channel, with both of them, opened by her card.
    let press = world
        .fake
        .button(Some(GUILD), STAFF, CAMILLE, "camille", "prendre:1", "1");
    let created = world
        .expect_call("the hand-off thread", "POST", |p| {
            p == format!("/channels/{ACCUEIL}/threads")
        })
        .await;
    assert_eq!(created.body["type"], 12, "a private thread: {created}");
    assert_eq!(created.body["invitable"], false, "{created}");
    let thread = world
        .fake
        .wait_for("the thread's members", WAIT, |calls| {
            let adds: Vec<_> = calls
                .iter()
                .filter(|c| c.method == "PUT" && c.path.contains("/thread-members/"))
                .collect();
            (adds.len() >= 2).then(|| adds[0].path.split('/').nth(2).unwrap().to_string())
        })
        .await;
    let members = world.fake.thread_members(&thread);
    assert!(members.contains(&JEUNE.to_string()), "{members:?}");
    assert!(members.contains(&CAMILLE.to_string()), "{members:?}");
    let card = world.expect_in(&thread, "Camille").await;
    let embed = &card["embeds"][0];
    assert_eq!(
        embed["thumbnail"]["url"], "https://example.org/camille.jpg",
        "{card}"
    );
    let shown = text_of(&card);
    for part in [
        "Camille",
        "animatrice jeunesse",
        "MJC de Blois",
        "Loir-et-Cher",
    ] {
        assert!(
            shown.contains(part),
            "{part} missing from the card: {shown}"
        );
    }
    // The person knows where to go, and Camille's button got its answer.
    world.expect_in(&dm, &format!("<#{thread}>")).await;
    let replies = world.fake.interaction_replies(&press);
    assert_eq!(replies[0]["type"], 5, "acknowledged at once: {replies:?}");
    assert_eq!(replies[0]["data"]["flags"], 64, "privately: {replies:?}");

    // What they say to each other in the thread is theirs: nothing relayed.
    let before = world.fake.calls().len();
    world.fake.user_message(
        Some(GUILD),
        &thread,
        JEUNE,
        "jeune",
        "merci camille, en vrai j'aime bien la mécanique",
        false,
    );
    // Camille closes it with the slash command: the thread is archived.
    let close = world.fake.slash_command(
        Some(GUILD),
        &thread,
        CAMILLE,
        "camille",
        "fermer",
        json!([{"name": "conversation", "type": 4, "value": 1}]),
    );
    world
        .fake
        .wait_for("the thread archived", WAIT, |calls| {
            calls
                .iter()
                .find(|c| {
                    c.method == "PATCH"
                        && c.path == format!("/channels/{thread}")
                        && c.body["archived"] == true
                        && c.body["locked"] == true
                })
                .cloned()
        })
        .await;
    world.expect_reply(&close, "n°1").await;
    let relayed = world.fake.calls()[before..]
        .iter()
        .any(|c| text_of(&c.body).contains("mécanique"));
    assert!(!relayed, "a thread message was relayed");
    assert!(
        world.fake.unknown_calls().is_empty(),
        "{:?}",
        world.fake.unknown_calls()
    );

    world.bot.stop();
    world.bot.assert_log_is_clean(&[first, "mécanique"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_message_not_addressed_to_the_bot_leaves_no_trace() {
    let mut world = World::new().await;
    let private = "je me sens trop mal en ce moment et personne le sait, j'habite à Blois";
    let id = world
        .fake
        .user_message(Some(GUILD), GENERAL, JEUNE, "jeune", private, false);
    let chatter = "quelqu'un a fini le devoir de maths ?";
    world
        .fake
        .user_message(Some(GUILD), STAFF, CURIEUX, "curieux", chatter, false);
    // A mention is for the bot: answered in private, never in the channel.
    let mention = format!("<@{BOT_ID}> je cherche un apprentissage en boulangerie vers Blois");
    world
        .fake
        .user_message(Some(GUILD), GENERAL, CURIEUX, "curieux", &mention, true);
    let curieux_dm = world.fake.dm_channel(CURIEUX);
    world.expect_in(&curieux_dm, "pas un humain").await;
    world.expect_in(&curieux_dm, "Réponds oui ou non").await;

    assert!(
        world.texts_in(GENERAL).is_empty(),
        "{:?}",
        world.texts_in(GENERAL)
    );
    assert!(
        world.texts_in(STAFF).is_empty(),
        "{:?}",
        world.texts_in(STAFF)
    );
    let jeune_touched = world
        .fake
        .calls()
        .iter()
        .any(|c| c.path.contains(JEUNE) || c.body.to_string().contains(JEUNE));
    assert!(
        !jeune_touched,
        "the bot did something about a message not for it"
    );
    world.bot.stop();
    let stored = world.database_bytes();
    assert!(!stored.is_empty(), "the database exists");
    assert!(!contains(&stored, "trop mal"), "the message was stored");
    assert!(!contains(&stored, JEUNE), "its author was stored");
    let log = world.bot.log_text();
    assert!(!log.contains(&id), "the message was logged:\n{log}");
    assert!(!log.contains(JEUNE), "its author was logged:\n{log}");
    world
        .bot
        .assert_log_is_clean(&[private, chatter, "boulangerie"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_command_from_someone_not_in_the_roster_is_refused() {
    let world = World::new().await;
    // A request waiting in the 41, so there is something to take.
    world
        .request_in_41(
            JEUNE,
            "slt je cherche un stage de 3e à Blois, tu connais des trucs ?",
        )
        .await;

    let take = world.fake.slash_command(
        Some(GUILD),
        STAFF,
        CURIEUX,
        "curieux",
        "prendre",
        json!([{"name": "conversation", "type": 4, "value": 1}]),
    );
    let replies = world.expect_reply(&take, "réservée aux Promeneurs").await;
    assert_eq!(replies[0]["data"]["flags"], 64, "ephemeral: {replies:?}");
    let duty = world.fake.slash_command(
        Some(GUILD),
        GENERAL,
        CURIEUX,
        "curieux",
        "permanence",
        json!([{"name": "etat", "type": 3, "value": "on"}]),
    );
    world.expect_reply(&duty, "réservée aux Promeneurs").await;
    // The button too.
    let press = world
        .fake
        .button(Some(GUILD), STAFF, CURIEUX, "curieux", "prendre:1", "1");
    world.expect_reply(&press, "réservée aux Promeneurs").await;
    assert!(
        world
            .fake
            .calls_to("POST", &format!("/channels/{ACCUEIL}/threads"))
            .is_empty(),
        "no thread for someone not in the roster"
    );
    // Camille still can.
    let take = world.command_on_1(STAFF, CAMILLE, "prendre", &[]);
    world.expect_reply(&take, "n°1").await;
    world
        .expect_call("the hand-off thread", "POST", |p| {
            p == format!("/channels/{ACCUEIL}/threads")
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn danger_outside_any_permanence_gets_the_emergency_lines_first() {
    let world = World::new().await;
    // Léa's Pas-de-Calais has no permanence at all.
    let danger = "j'en peux plus je veux mourir, ce soir je vais le faire. j'habite à Arras";
    world.fake.dm(LOIN, "loin", danger);
    let dm = world.fake.dm_channel(LOIN);
    world.expect_in(&dm, "3114").await;
    let texts = world.texts_in(&dm);
    assert!(
        texts[0].contains("3114") && texts[0].contains("112"),
        "the lines come first: {texts:?}"
    );

    // The same through /promeneur in a public channel: an ephemeral answer,
    // the lines first, nothing in the channel.
    let ask = world.fake.slash_command(
        Some(GUILD),
        GENERAL,
        CURIEUX,
        "curieux",
        "promeneur",
        json!([{"name": "question", "type": 3, "value": "mon beau-père me frappe tous les soirs, j'ai peur de rentrer, je suis à Arras"}]),
    );
    let replies = world.expect_reply(&ask, "119").await;
    let first_text = replies.iter().map(text_of).find(|t| !t.is_empty()).unwrap();
    assert!(
        first_text.contains("119") || first_text.contains("112"),
        "{replies:?}"
    );
    for reply in &replies[1..] {
        assert_eq!(reply["flags"], 64, "every follow-up is ephemeral: {reply}");
    }
    assert!(world.texts_in(GENERAL).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_in_no_served_guild_is_relayed_with_the_promeneur_identity() {
    let world = World::new().await;
    let dm = world
        .request_in_41(
            LOIN,
            "bonjour je cherche une formation en alternance à Vendôme",
        )
        .await;
    let take = world.command_on_1(STAFF, CAMILLE, "prendre", &[]);
    world.expect_reply(&take, "n°1").await;
    // A relay thread under the staff channel, with Camille only.
    let created = world
        .expect_call("the relay thread", "POST", |p| {
            p == format!("/channels/{STAFF}/threads")
        })
        .await;
    assert_eq!(created.body["type"], 12, "{created}");
    let thread = world
        .fake
        .wait_for("Camille in the relay thread", WAIT, |calls| {
            calls
                .iter()
                .find(|c| {
                    c.method == "PUT" && c.path.ends_with(&format!("/thread-members/{CAMILLE}"))
                })
                .map(|c| c.path.split('/').nth(2).unwrap().to_string())
        })
        .await;
    assert!(!world
        .fake
        .thread_members(&thread)
        .contains(&LOIN.to_string()));
    // The person sees who took their request.
    world.expect_in(&dm, "animatrice jeunesse").await;

    // The person's words reach the thread; Camille's reach the DM with her
    // identity.
    // A mention in the person's words pings nobody (it would pull that
    // someone into the thread).
    world.fake.dm(
        LOIN,
        "loin",
        &format!("c'est pour un BTS MCO, comme <@{CURIEUX}>"),
    );
    let relayed = world.expect_in(&thread, "BTS MCO").await;
    assert_eq!(relayed["allowed_mentions"]["parse"], json!([]), "{relayed}");
    assert!(!world
        .fake
        .thread_members(&thread)
        .contains(&CURIEUX.to_string()));
    world.fake.user_message(
        Some(GUILD),
        &thread,
        CAMILLE,
        "camille",
        "Super, la CCI de Blois en propose : je t'envoie le lien.",
        false,
    );
    let answer = world.expect_in(&dm, "CCI de Blois").await;
    let author = answer["embeds"][0]["author"]["name"]
        .as_str()
        .unwrap_or_default();
    for part in [
        "Camille",
        "animatrice jeunesse",
        "MJC de Blois",
        "Loir-et-Cher",
    ] {
        assert!(author.contains(part), "{part} missing: {answer}");
    }
    // Closed: the relay thread, with the bot's copies of the person's
    // words, is deleted.
    let close = world.fake.slash_command(
        Some(GUILD),
        &thread,
        CAMILLE,
        "camille",
        "fermer",
        json!([{"name": "conversation", "type": 4, "value": 1}]),
    );
    world.expect_reply(&close, "n°1").await;
    world
        .expect_call("the relay thread deleted", "DELETE", |p| {
            p == format!("/channels/{thread}")
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guild_the_bot_does_not_serve_still_gets_the_lines_in_private() {
    let world = World::new().await;
    const OTHER_GUILD: &str = "700000000000000002";
    const OTHER_CHANNEL: &str = "700000000000000021";
    world.fake.add_guild(
        OTHER_GUILD,
        "Un autre serveur",
        &[(OTHER_CHANNEL, "general")],
    );
    world.fake.add_member(OTHER_GUILD, JEUNE, "jeune");
    let chatter = "vous avez vu le match hier soir";
    world.fake.user_message(
        Some(OTHER_GUILD),
        OTHER_CHANNEL,
        JEUNE,
        "jeune",
        chatter,
        false,
    );
    let danger = format!("<@{BOT_ID}> je me scarifie tous les soirs et j'ai envie d'en finir");
    world.fake.user_message(
        Some(OTHER_GUILD),
        OTHER_CHANNEL,
        JEUNE,
        "jeune",
        &danger,
        true,
    );
    let dm = world.fake.dm_channel(JEUNE);
    world.expect_in(&dm, "3114").await;
    assert!(world.texts_in(OTHER_CHANNEL).is_empty());
    let ask = world.fake.slash_command(
        Some(OTHER_GUILD),
        OTHER_CHANNEL,
        CURIEUX,
        "curieux",
        "promeneur",
        json!([{"name": "question", "type": 3, "value": "j'ai pris trop de médocs je me sens pas bien du tout"}]),
    );
    world.expect_reply(&ask, "15").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_drops_and_resumes_without_losing_a_message() {
    let mut world = World::new().await;
    world.fake.drop_gateway();
    // Written while the bot is away: delivered when it resumes.
    world.fake.dm(
        JEUNE,
        "jeune",
        "salut, je cherche un stage de 3e à Blois, des idées ?",
    );
    let dm = world.fake.dm_channel(JEUNE);
    world.expect_in(&dm, "pas un humain").await;
    assert_eq!(world.fake.resume_count(), 1, "{}", world.fake.report());
    assert_eq!(
        world.fake.identify_count(),
        1,
        "resumed, not identified again"
    );
    world.fake.dm(JEUNE, "jeune", "oui");
    world.expect_in(STAFF, "n°1").await;
    world.bot.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_from_someone_who_takes_no_dms_gets_a_discreet_word_with_the_lines() {
    let world = World::new().await;
    world.fake.refuse_dms(JEUNE);
    let danger = format!(
        "<@{BOT_ID}> mon ex menace de publier mes photos nues si je lui envoie pas 200 balles"
    );
    world
        .fake
        .user_message(Some(GUILD), GENERAL, JEUNE, "jeune", &danger, true);
    let notice = world.expect_in(GENERAL, "112").await;
    let text = text_of(&notice);
    assert!(text.contains(&format!("<@{JEUNE}>")), "{text}");
    assert!(text.contains("/promeneur"), "{text}");
    assert!(
        !text.contains("photos"),
        "nothing of what was written: {text}"
    );
    // Once, however many answers could not go by DM.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        world.texts_in(GENERAL).len(),
        1,
        "{:?}",
        world.texts_in(GENERAL)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_to_another_departement_takes_the_promeneur_out_of_the_thread() {
    let world = World::new().await;
    world
        .request_in_41(
            JEUNE,
            "slt je cherche un stage de 3e à Blois, tu connais des trucs ?",
        )
        .await;
    let take = world.command_on_1(STAFF, CAMILLE, "prendre", &[]);
    world.expect_reply(&take, "n°1").await;
    let joined = world
        .expect_call("Camille in the thread", "PUT", |p| {
            p.ends_with(&format!("/thread-members/{CAMILLE}"))
        })
        .await;
    let thread = joined.path.split('/').nth(2).unwrap().to_string();
    // The family is moving to Arras: the Pas-de-Calais team takes over
    // (nobody is on duty there now). Camille leaves the thread at once.
    let transfer = world.fake.slash_command(
        Some(GUILD),
        &thread,
        CAMILLE,
        "camille",
        "transferer",
        json!([
            {"name": "conversation", "type": 4, "value": 1},
            {"name": "cible", "type": 3, "value": "62"},
            {"name": "note", "type": 3, "value": "déménage à Arras"}
        ]),
    );
    world.expect_reply(&transfer, "transférée").await;
    world
        .fake
        .wait_for("Camille out of the thread", WAIT, |calls| {
            calls
                .iter()
                .find(|c| {
                    c.method == "DELETE"
                        && c.path == format!("/channels/{thread}/thread-members/{CAMILLE}")
                })
                .cloned()
        })
        .await;
    // The 62's own staff channel hears of it, the 41's does not.
    world.expect_in(STAFF_62, "Transférée").await;
    assert!(
        !world
            .texts_in(STAFF)
            .iter()
            .any(|t| t.contains("Transférée")),
        "{:?}",
        world.texts_in(STAFF)
    );
}
