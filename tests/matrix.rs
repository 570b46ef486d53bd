//! The Matrix adapter against a real homeserver: each test starts its own
//! Synapse (from `scripts/synapse-venv.sh`), registers the bot and the
//! players, and runs the real `promeneur-bot serve` binary. The young person
//! and the Promeneurs are matrix-sdk clients, as Element would be: direct
//! chats and hand-off rooms are end-to-end encrypted.

#[path = "support/synapse.rs"]
mod synapse;

#[path = "support/discord.rs"]
mod discord;
#[path = "support/process.rs"]
mod process;

use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoomRequest;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::InitialStateEvent;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use synapse::{Player, Seen, Synapse, SERVER_NAME};

const BOT_PASSWORD: &str = "bot-secret-password-9f3k";
const DISCORD_TOKEN: &str = "MTAw.fake-discord-token.matrix-and-discord";

/// A 1×1 PNG: Camille's photo.
const PHOTO: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn user(name: &str) -> String {
    format!("@{name}:{SERVER_NAME}")
}

/// The bot's deployment: the roster has Camille (Loir-et-Cher, always on
/// duty, a staff room) and Léa (Pas-de-Calais, no permanence at all).
fn write_config(dir: &Path, synapse: &Synapse, staff_room: &OwnedRoomId, extra: &str) -> PathBuf {
    std::fs::write(dir.join("camille.png"), PHOTO).unwrap();
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

[matrix]
homeserver = "{url}"
user = "{bot}"
store = "matrix-store"

[[departement]]
code = "41"
coordinator = "camille-41"
staff = {{ matrix = "{staff_room}" }}

[[departement]]
code = "62"
coordinator = "lea-62"

[[promeneur]]
id = "camille-41"
first_name = "Camille"
photo = "camille.png"
profession = "animatrice jeunesse"
structure = "MJC de Blois"
departements = ["41"]
capacity = 4
permanences = ["mon-sun 00:00-23:59"]
accounts = {{ matrix = "{camille}" }}

[[promeneur]]
id = "lea-62"
first_name = "Léa"
photo = "https://example.org/lea.jpg"
profession = "éducatrice spécialisée"
structure = "Maison des ados d'Arras"
departements = ["62"]
capacity = 4
permanences = []
accounts = {{ matrix = "{lea}" }}
"#,
        knowledge = knowledge.display(),
        url = synapse.url,
        bot = user("promeneur-bot"),
        camille = user("camille"),
        lea = user("lea"),
    );
    let path = dir.join("bot.toml");
    std::fs::write(&path, config + extra).unwrap();
    path
}

/// The real binary, `serve`.
struct Bot {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
    /// Starts so far: each writes one "serving" line to the log.
    starts: usize,
}

impl Bot {
    fn start(config: &Path) -> Bot {
        let log = config.with_file_name("bot.log");
        let mut bot = Bot {
            child: None,
            config: config.to_path_buf(),
            log,
            starts: 0,
        };
        bot.launch();
        bot
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        // PROMENEUR_BOT_BIN measures another build (the release binary,
        // as deployed) with the same tests.
        let binary = std::env::var_os("PROMENEUR_BOT_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_promeneur-bot").into());
        let child = Command::new(binary)
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("PROMENEUR_BOT_MATRIX_PASSWORD", BOT_PASSWORD)
            .env("PROMENEUR_BOT_DISCORD_TOKEN", DISCORD_TOKEN)
            .env("PROMENEUR_LOG", "info,promeneur_bot=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the bot starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.log_text().matches("serving Matrix as").count() > self.starts {
                break;
            }
            if let Ok(Some(status)) = self.child.as_mut().unwrap().try_wait() {
                panic!("the bot exited at start ({status}):\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "the bot did not start:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.starts += 1;
    }

    /// VmRSS of the running bot, as Linux reports it.
    fn resident_memory(&self) -> String {
        let pid = self.child.as_ref().map_or(0, |c| c.id());
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .map(|l| l.trim_start_matches("VmRSS:").trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as systemd does: the bot must stop cleanly.
    fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            process::terminate(child, &self.log);
        }
    }

    /// The log never holds a message body, a password or a token.
    fn assert_log_is_clean(&self, bodies: &[&str]) {
        let log = self.log_text();
        assert!(!log.contains(BOT_PASSWORD), "the password is in the log");
        assert!(!log.contains("access_token"), "a token is in the log");
        for body in bodies {
            assert!(
                !log.contains(body),
                "a message body is in the log: {body}\n{log}"
            );
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        process::kill(self.child.take());
    }
}

/// A homeserver with the bot's account, Camille, Léa and the 41's staff
/// room (encrypted, made by Camille, the bot invited), and the bot running.
struct World {
    synapse: Synapse,
    camille: Player,
    lea: Player,
    staff_room: OwnedRoomId,
    bot: Bot,
    bot_id: OwnedUserId,
}

impl World {
    async fn new() -> World {
        World::with("").await
    }

    /// With `extra` appended to the configuration (another platform).
    async fn with(extra: &str) -> World {
        let synapse = Synapse::start().await;
        let bot_id = synapse.register("promeneur-bot", BOT_PASSWORD).await;
        let camille = Player::login(&synapse, "camille").await;
        let lea = Player::login(&synapse, "lea").await;
        let mut request = CreateRoomRequest::new();
        request.name = Some("Équipe Promeneurs 41".into());
        request.invite = vec![bot_id.clone()];
        request.initial_state = vec![InitialStateEvent::with_empty_state_key(
            RoomEncryptionEventContent::with_recommended_defaults(),
        )
        .to_raw_any()];
        let staff_room = camille
            .client
            .create_room(request)
            .await
            .expect("the staff room")
            .room_id()
            .to_owned();
        let config = write_config(synapse.dir.path(), &synapse, &staff_room, extra);
        let bot = Bot::start(&config);
        World {
            synapse,
            camille,
            lea,
            staff_room,
            bot,
            bot_id,
        }
    }

    /// A young person opens a direct chat with the bot, as Element does.
    async fn direct_chat(&self, player: &Player) -> OwnedRoomId {
        let room = player
            .client
            .create_dm(&self.bot_id)
            .await
            .expect("a direct chat with the bot");
        room.room_id().to_owned()
    }
}

/// Waits until `user` is (or is no longer) joined to `room`.
async fn wait_for_membership(
    room: &matrix_sdk::Room,
    user: &OwnedUserId,
    joined: bool,
    failure: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let members = room
            .members(matrix_sdk::RoomMemberships::JOIN)
            .await
            .unwrap();
        if members.iter().any(|m| m.user_id() == user) == joined {
            return;
        }
        assert!(Instant::now() < deadline, "{failure}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn from_bot<'a>(bot: &'a OwnedUserId, room: &'a OwnedRoomId) -> impl Fn(&Seen) -> bool + 'a {
    move |s: &Seen| &s.sender == bot && &s.room == room
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_young_person_is_handed_to_camille_in_an_encrypted_room() {
    let world = World::new().await;
    let jeune = Player::login(&world.synapse, "jeune").await;
    let dm = world.direct_chat(&jeune).await;
    let first = "salut je suis en 3e à Blois et jsp quoi faire l'an pro, lycée pro ou général ?";
    jeune.send(&dm, first).await;

    // The bot says it is a bot, then asks only what is missing: consent.
    let welcome = jeune
        .expect("the welcome", |s| {
            from_bot(&world.bot_id, &dm)(s) && s.body.contains("pas un humain")
        })
        .await;
    assert_eq!(welcome.kind, "notice", "the bot speaks in notices");
    jeune
        .expect("the consent question", |s| {
            from_bot(&world.bot_id, &dm)(s) && s.body.contains("Réponds oui ou non")
        })
        .await;
    jeune.send(&dm, "oui").await;

    // Camille is told in private and in the staff room, and takes it there.
    let notice = world
        .camille
        .expect("the offer", |s| {
            s.sender == world.bot_id && s.body.contains("Nouvelle demande pour toi")
        })
        .await;
    assert!(
        notice.body.contains("Orientation") || notice.body.contains("orientation"),
        "{notice:?}"
    );
    assert!(
        notice.body.contains(first),
        "consent given: the first message is shown"
    );
    world
        .camille
        .expect("the staff notice", |s| {
            s.room == world.staff_room && s.body.contains("proposée à Camille")
        })
        .await;
    let number = notice
        .body
        .split("/prendre ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the conversation number")
        .to_string();
    world
        .camille
        .send(&world.staff_room, &format!("/prendre {number}"))
        .await;
    // The brief (which may hold the person's words) comes in private,
    // not in front of the whole team.
    let brief = world
        .camille
        .expect("the brief", |s| {
            s.sender == world.bot_id && s.body.contains("Tu as pris la conversation")
        })
        .await;
    assert_ne!(
        brief.room, world.staff_room,
        "the brief went to the whole team"
    );

    // A new encrypted room for the two of them, with the identity card and
    // the photo.
    let card = jeune
        .expect("the identity card in the hand-off room", |s| {
            s.sender == world.bot_id
                && s.room != dm
                && s.body.contains("Voici ton Promeneur du Net")
        })
        .await;
    for part in [
        "Camille",
        "animatrice jeunesse",
        "MJC de Blois",
        "Loir-et-Cher (41)",
        "personne humaine",
    ] {
        assert!(
            card.body.contains(part),
            "the card shows {part}: {}",
            card.body
        );
    }
    let handoff = card.room.clone();
    let photo = jeune
        .expect("the photo", |s| s.room == handoff && s.kind == "image")
        .await;
    assert!(photo
        .image
        .as_deref()
        .is_some_and(|u| u.starts_with("mxc://")));
    let room = jeune.wait_for_room(&handoff).await;
    assert!(
        room.latest_encryption_state().await.unwrap().is_encrypted(),
        "the hand-off room is encrypted"
    );
    let name = room
        .cached_display_name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    assert!(
        name.contains("Camille"),
        "the room's name says what it is: {name}"
    );

    // Camille answers there herself; the young person reads her.
    world.camille.wait_for_room(&handoff).await;
    world
        .camille
        .send(
            &handoff,
            "Bonjour ! Je suis Camille, on peut en parler ensemble.",
        )
        .await;
    let reply = jeune
        .expect("Camille's own words", |s| {
            s.room == handoff && s.sender.as_str() == user("camille")
        })
        .await;
    assert_eq!(reply.kind, "text");

    // Someone not in the roster cannot act, here or in private.
    jeune.send(&handoff, "/fermer").await;
    jeune
        .expect("the refusal in the hand-off room", |s| {
            from_bot(&world.bot_id, &handoff)(s) && s.body.contains("réservée aux Promeneurs")
        })
        .await;
    let outsider = Player::login(&world.synapse, "mallory").await;
    let outsider_dm = world.direct_chat(&outsider).await;
    outsider
        .send(&outsider_dm, &format!("/prendre {number}"))
        .await;
    outsider
        .expect("the refusal in private", |s| {
            from_bot(&world.bot_id, &outsider_dm)(s) && s.body.contains("réservée aux Promeneurs")
        })
        .await;

    // Camille closes; the bot says goodbye and leaves.
    world.camille.send(&handoff, "/fermer").await;
    jeune
        .expect("the goodbye", |s| {
            from_bot(&world.bot_id, &handoff)(s) && s.body.contains("close")
        })
        .await;
    wait_for_membership(
        &room,
        &world.bot_id,
        false,
        "the bot never left the closed room",
    )
    .await;
    world
        .bot
        .assert_log_is_clean(&[first, "on peut en parler ensemble"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn danger_gets_the_emergency_lines_first_when_nobody_is_on_duty() {
    let world = World::new().await;
    let jeune = Player::login(&world.synapse, "jeune").await;
    let dm = world.direct_chat(&jeune).await;
    let message = "jveux plus vivre, je pense a me tuer ce soir. j'habite a Arras";
    jeune.send(&dm, message).await;
    let first = jeune
        .expect("the bot's first answer", from_bot(&world.bot_id, &dm))
        .await;
    assert!(
        first.body.contains("3114"),
        "the lines come first: {}",
        first.body
    );
    assert!(first.body.contains("112"), "{}", first.body);
    let nobody = jeune
        .expect("nobody on duty, said honestly", |s| {
            from_bot(&world.bot_id, &dm)(s) && s.body.contains("Aucun Promeneur du Net")
        })
        .await;
    assert!(nobody.at >= first.at);
    world.bot.assert_log_is_clean(&[message]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bot_restarted_mid_conversation_loses_nothing() {
    let mut world = World::new().await;
    let jeune = Player::login(&world.synapse, "jeune").await;
    let dm = world.direct_chat(&jeune).await;
    jeune
        .send(
            &dm,
            "bonjour, mon patron me paie pas mes heures sup, je suis à Vendôme",
        )
        .await;
    jeune
        .expect("the consent question", |s| {
            from_bot(&world.bot_id, &dm)(s) && s.body.contains("Réponds oui ou non")
        })
        .await;

    // Down; the answer arrives meanwhile; up again.
    world.bot.stop();
    jeune.send(&dm, "non").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    world.bot.launch();
    world
        .camille
        .expect(
            "the offer, made from the answer given while the bot was down",
            |s| s.sender == world.bot_id && s.body.contains("Nouvelle demande pour toi"),
        )
        .await;
    jeune
        .expect("the presentation of Camille", |s| {
            from_bot(&world.bot_id, &dm)(s) && s.body.contains("Je te présente")
        })
        .await;
    // Old messages are not answered again, and the bot kept its device.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let consent_questions = jeune
        .seen()
        .iter()
        .filter(|s| s.body.contains("Réponds oui ou non"))
        .count();
    assert_eq!(consent_questions, 1, "the first message was answered twice");
    let devices = jeune
        .client
        .encryption()
        .get_user_devices(&world.bot_id)
        .await
        .unwrap();
    assert_eq!(devices.devices().count(), 1, "a restart made a new device");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_bot_comes_back_after_the_homeserver_restarts() {
    let mut world = World::new().await;
    let jeune = Player::login(&world.synapse, "jeune").await;
    let dm = world.direct_chat(&jeune).await;
    jeune.send(&dm, "salut").await;
    jeune
        .expect("the welcome", |s| {
            from_bot(&world.bot_id, &dm)(s) && s.body.contains("pas un humain")
        })
        .await;
    world.synapse.restart().await;
    jeune.clear();
    jeune
        .send(
            &dm,
            "j'ai besoin d'aide pour ma demande de bourse, je suis à Blois",
        )
        .await;
    jeune
        .expect_within(
            "an answer after the homeserver came back",
            Duration::from_secs(90),
            from_bot(&world.bot_id, &dm),
        )
        .await;
}

/// The target: the median time from a young person's message to the bot's
/// answer within 1.5× the median time the same homeserver takes to deliver
/// a plain message between two clients. Measured here, reported, not
/// asserted (timings belong to measurements, not to pass/fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn latency_of_the_bot_against_plain_delivery() {
    let world = World::new().await;
    let jeune = Player::login(&world.synapse, "jeune").await;
    let dm = world.direct_chat(&jeune).await;
    // Queued in the Pas-de-Calais (nobody on duty): every message then gets
    // an answer that goes through the whole engine (danger read, store).
    jeune
        .send(
            &dm,
            "j'ai des soucis avec mes parents qui divorcent, j'habite à Arras",
        )
        .await;
    jeune
        .expect("the consent question", |s| {
            from_bot(&world.bot_id, &dm)(s) && s.body.contains("Réponds oui ou non")
        })
        .await;
    jeune.send(&dm, "non").await;
    jeune
        .expect("nobody on duty", |s| {
            from_bot(&world.bot_id, &dm)(s) && s.body.contains("Aucun Promeneur du Net")
        })
        .await;
    // A plain encrypted room between the young person and Léa.
    let plain = jeune
        .client
        .create_dm(&world.lea.id)
        .await
        .unwrap()
        .room_id()
        .to_owned();
    world.lea.wait_for_room(&plain).await;
    jeune.send(&plain, "échauffement").await;
    world
        .lea
        .expect("the warm-up", |s| {
            s.room == plain && s.body == "échauffement"
        })
        .await;

    let rounds = 15;
    let mut bot_times = Vec::new();
    let mut plain_times = Vec::new();
    let mut echo_times = Vec::new();
    for i in 0..rounds {
        let text = format!("message simple {i}");
        let sent = Instant::now();
        jeune.send(&plain, &text).await;
        let seen = world
            .lea
            .expect("a plain message", |s| s.room == plain && s.body == text)
            .await;
        plain_times.push(seen.at.duration_since(sent));

        jeune.clear();
        let sent = Instant::now();
        jeune.send(&dm, &format!("je suis toujours là ({i})")).await;
        let seen = jeune
            .expect("the bot's answer", |s| {
                from_bot(&world.bot_id, &dm)(s) && s.body.contains("C'est noté")
            })
            .await;
        bot_times.push(seen.at.duration_since(sent));

        // The same round trip with a person who answers at once: what any
        // responder costs on this homeserver, however quick.
        let text = format!("écho {i}");
        let sent = Instant::now();
        jeune.send(&plain, &text).await;
        world
            .lea
            .expect("the message to answer", |s| {
                s.room == plain && s.body == text
            })
            .await;
        world.lea.send(&plain, &format!("re: {text}")).await;
        let reply = format!("re: {text}");
        let seen = jeune
            .expect("the instant answer", |s| s.room == plain && s.body == reply)
            .await;
        echo_times.push(seen.at.duration_since(sent));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let bot = median(&mut bot_times);
    let plain = median(&mut plain_times);
    let echo = median(&mut echo_times);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let report = format!(
        "Matrix latency over {rounds} rounds (real Synapse on loopback, encrypted rooms):\n\
         plain delivery between two clients, median: {:.1} ms\n\
         young person's message to the bot's answer, median: {:.1} ms\n\
         ratio: {:.2} (target ≤ 1.5)\n\
         the same round trip with a client answering at once, median: {:.1} ms (ratio {:.2})\n\
         bot process resident memory: {}\n",
        ms(plain),
        ms(bot),
        bot.as_secs_f64() / plain.as_secs_f64(),
        ms(echo),
        echo.as_secs_f64() / plain.as_secs_f64(),
        world.bot.resident_memory()
    );
    println!("{report}");
    if std::env::var("SHOW_BOT_LOG").is_ok() {
        println!("{}", world.bot.log_text());
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::write(target.join("matrix-latency.txt"), &report);
    // Synapse logs each request with its own time: where the rest goes.
    let _ = std::fs::copy(
        world.synapse.dir.path().join("homeserver.log"),
        target.join("matrix-latency-homeserver.log"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mention_in_a_public_room_is_answered_in_private_and_the_rest_is_not_read() {
    use matrix_sdk::ruma::api::client::room::create_room::v3::RoomPreset;
    use matrix_sdk::ruma::api::client::room::Visibility;
    use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
    use matrix_sdk::ruma::events::Mentions;

    let world = World::new().await;
    let jeune = Player::login(&world.synapse, "jeune").await;
    let mut request = CreateRoomRequest::new();
    request.name = Some("Le serveur du quartier".into());
    request.preset = Some(RoomPreset::PublicChat);
    request.visibility = Visibility::Public;
    request.invite = vec![world.bot_id.clone()];
    let public = jeune.client.create_room(request).await.unwrap();
    let public_id = public.room_id().to_owned();
    // Wait until the bot has accepted the invitation.
    wait_for_membership(
        &public,
        &world.bot_id,
        true,
        "the bot never joined the public room",
    )
    .await;

    // Not addressed to the bot: not read, no answer anywhere.
    jeune
        .send(&public_id, "qqn a fait l'exo 3 de maths ? jsuis perdu")
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        jeune.seen().iter().all(|s| s.sender != world.bot_id),
        "the bot answered a message not addressed to it: {:#?}",
        jeune.seen()
    );

    // Addressed: the answer comes in a direct chat, never in the room.
    let content = RoomMessageEventContent::text_plain(format!(
        "{} jcherche un apprentissage en cuisine, jsuis a Blois",
        world.bot_id
    ))
    .add_mentions(Mentions::with_user_ids([world.bot_id.clone()]));
    public.send(content).await.unwrap();
    let answer = jeune
        .expect("the answer in private", |s| {
            s.sender == world.bot_id && s.body.contains("pas un humain")
        })
        .await;
    assert_ne!(
        answer.room, public_id,
        "the bot answered in the public room"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        jeune
            .seen()
            .iter()
            .all(|s| !(s.sender == world.bot_id && s.room == public_id)),
        "the bot wrote in the public room"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_process_serves_matrix_and_discord_with_one_engine_and_database() {
    const GUILD: &str = "700000000000000001";
    const ACCUEIL: &str = "700000000000000011";
    const STAFF: &str = "700000000000000012";
    const DISCORD_JEUNE: &str = "800000000000000001";
    let fake = discord::FakeDiscord::start(DISCORD_TOKEN).await;
    fake.add_guild(
        GUILD,
        "Promeneurs du 41",
        &[(ACCUEIL, "accueil"), (STAFF, "equipe-41")],
    );
    fake.add_member(GUILD, DISCORD_JEUNE, "jeune");
    let section = format!(
        "\n[discord]\nstore = \"discord-store\"\napi = \"{}\"\n\n[[discord.guild]]\nid = \"{GUILD}\"\nhandoff_channel = \"{ACCUEIL}\"\nstaff_channel = \"{STAFF}\"\ndepartements = [\"41\"]\n",
        fake.url()
    );
    let world = World::with(&section).await;
    fake.wait_connected(Duration::from_secs(30)).await;

    // One young person on each platform.
    let jeune = Player::login(&world.synapse, "jeune").await;
    let dm = world.direct_chat(&jeune).await;
    jeune
        .send(&dm, "salut je suis en 3e à Blois et je cherche un stage")
        .await;
    fake.dm(
        DISCORD_JEUNE,
        "jeune",
        "slt je cherche un stage de 3e à Blois, tu connais des trucs ?",
    );
    jeune
        .expect("the consent question on Matrix", |s| {
            from_bot(&world.bot_id, &dm)(s) && s.body.contains("Réponds oui ou non")
        })
        .await;
    let discord_dm = fake.dm_channel(DISCORD_JEUNE);
    fake.wait_for(
        "the consent question on Discord",
        Duration::from_secs(30),
        |calls| {
            calls
                .iter()
                .find(|c| {
                    c.path == format!("/channels/{discord_dm}/messages")
                        && c.body["content"]
                            .as_str()
                            .is_some_and(|t| t.contains("Réponds oui ou non"))
                })
                .cloned()
        },
    )
    .await;
    jeune.send(&dm, "oui").await;
    fake.dm(DISCORD_JEUNE, "jeune", "oui");

    // One database: two conversations numbered in one sequence, and the
    // 41's Discord staff channel hears of both.
    for number in ["n°1", "n°2"] {
        fake.wait_for(
            &format!("{number} in the staff channel"),
            Duration::from_secs(30),
            |calls| {
                calls
                    .iter()
                    .find(|c| {
                        c.path == format!("/channels/{STAFF}/messages")
                            && c.body["content"]
                                .as_str()
                                .is_some_and(|t| t.contains(number))
                    })
                    .cloned()
            },
        )
        .await;
    }
}

/// Finds `access_token` anywhere in a saved session.
fn access_token(session: &serde_json::Value) -> Option<String> {
    match session {
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| match v {
            serde_json::Value::String(s) if k == "access_token" => Some(s.clone()),
            other => access_token(other),
        }),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_the_homeserver_forgot_stops_the_bot_saying_what_to_do() {
    let mut world = World::new().await;
    let session = std::fs::read_to_string(
        world
            .synapse
            .dir
            .path()
            .join("matrix-store")
            .join("session.json"),
    )
    .unwrap();
    let token = access_token(&serde_json::from_str(&session).unwrap()).expect("a saved token");
    // Someone logs the bot's device out (or an admin deletes it).
    let response = reqwest::Client::new()
        .post(format!("{}/_matrix/client/v3/logout", world.synapse.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    let mut child = world.bot.child.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the bot kept retrying a dead session:\n{}",
            world.bot.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        !status.success(),
        "a dead session is a failure, for systemd to report"
    );
    let log = world.bot.log_text();
    assert!(log.contains("no longer accepts the bot's session"), "{log}");
    assert!(log.contains("matrix.store"), "{log}");
    assert!(!log.contains(&token), "the token is in the log");
}
