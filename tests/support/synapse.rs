//! A real Matrix homeserver for the tests: Synapse from the virtualenv that
//! `scripts/synapse-venv.sh` makes, started on a free loopback port in a
//! temporary folder, stopped whatever happens (on drop, panics included).
//! Also the players: matrix-sdk clients that log in, sync without pause,
//! accept invitations and record every message they can read.

#![allow(dead_code)]

use hmac::{Hmac, Mac};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::room::Room;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId, RoomId};
use matrix_sdk::Client;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

pub const SERVER_NAME: &str = "promeneurs.test";
const SHARED_SECRET: &str = "test-registration-secret";

/// Where the virtualenv is: `SYNAPSE_VENV`, or `target/synapse-venv`.
pub fn venv() -> PathBuf {
    if let Ok(dir) = std::env::var("SYNAPSE_VENV") {
        return PathBuf::from(dir);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("synapse-venv")
}

fn python() -> PathBuf {
    let python = venv().join("bin").join("python");
    assert!(
        python.exists(),
        "\n\nThe Matrix tests need a real Synapse, and there is none at {}.\n\
         Install it (about a minute, from PyPI) with:\n\n    scripts/synapse-venv.sh\n\n\
         then run the tests again (`.ci/run` does both).\n",
        venv().display()
    );
    python
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub struct Synapse {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub url: String,
}

impl Synapse {
    pub async fn start() -> Synapse {
        let python = python();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let port = free_port();
        let d = dir.path();
        let config = format!(
            r#"server_name: "{SERVER_NAME}"
pid_file: "{d}/homeserver.pid"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{d}/homeserver.db"
media_store_path: "{d}/media"
signing_key_path: "{d}/signing.key"
registration_shared_secret: "{SHARED_SECRET}"
macaroon_secret_key: "test-macaroon-secret"
form_secret: "test-form-secret"
report_stats: false
enable_registration: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
presence:
  enabled: false
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
  remote: {{per_second: 1000, burst_count: 1000}}
rc_invites:
  per_room: {{per_second: 1000, burst_count: 1000}}
  per_user: {{per_second: 1000, burst_count: 1000}}
  per_issuer: {{per_second: 1000, burst_count: 1000}}
rc_3pid_validation: {{per_second: 1000, burst_count: 1000}}
rc_admin_redaction: {{per_second: 1000, burst_count: 1000}}
rc_room_creation: {{per_second: 1000, burst_count: 1000}}
rc_key_requests: {{per_second: 1000, burst_count: 1000}}
"#,
            d = d.display()
        );
        std::fs::write(d.join("homeserver.yaml"), config).expect("writing homeserver.yaml");
        let status = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(d.join("homeserver.yaml"))
            .arg("--generate-keys")
            .current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("Synapse generates its keys");
        assert!(
            status.success(),
            "Synapse could not generate its signing key"
        );
        let mut synapse = Synapse {
            child: None,
            dir,
            port,
            url: format!("http://127.0.0.1:{port}"),
        };
        synapse.launch().await;
        synapse
    }

    async fn launch(&mut self) {
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("homeserver.log"))
            .expect("the Synapse log file");
        let child = Command::new(python())
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(d.join("homeserver.yaml"))
            .current_dir(d)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("Synapse starts");
        self.child = Some(child);
        let health = format!("{}/health", self.url);
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(&health).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "Synapse exited at start ({status}); its log:\n{}",
                        self.log()
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "Synapse did not answer /health within 60 s; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log(&self) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("homeserver.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Stops the homeserver (SIGTERM, then SIGKILL).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops and starts again on the same port and database.
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    /// Registers a user through the shared-secret admin API.
    pub async fn register(&self, name: &str, password: &str) -> OwnedUserId {
        let http = reqwest::Client::new();
        let endpoint = format!("{}/_synapse/admin/v1/register", self.url);
        let nonce: serde_json::Value = http
            .get(&endpoint)
            .send()
            .await
            .expect("GET register")
            .json()
            .await
            .expect("a nonce");
        let nonce = nonce["nonce"].as_str().expect("a nonce").to_string();
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SHARED_SECRET.as_bytes()).expect("hmac");
        mac.update(format!("{nonce}\0{name}\0{password}\0notadmin").as_bytes());
        let mac = hex::encode(mac.finalize().into_bytes());
        let response = http
            .post(&endpoint)
            .json(&serde_json::json!({
                "nonce": nonce, "username": name, "password": password,
                "admin": false, "mac": mac,
            }))
            .send()
            .await
            .expect("POST register");
        assert!(
            response.status().is_success(),
            "registering {name} failed: {}",
            response.text().await.unwrap_or_default()
        );
        OwnedUserId::try_from(format!("@{name}:{SERVER_NAME}")).expect("a user id")
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A message a player could read.
#[derive(Debug, Clone)]
pub struct Seen {
    pub room: OwnedRoomId,
    pub sender: OwnedUserId,
    pub body: String,
    /// "text", "notice", "image" or another msgtype.
    pub kind: String,
    pub image: Option<String>,
    pub at: Instant,
}

/// A person at a Matrix client (Element, say): logs in, syncs, accepts
/// invitations, reads.
pub struct Player {
    pub client: Client,
    pub id: OwnedUserId,
    seen: Arc<Mutex<Vec<Seen>>>,
    news: Arc<Notify>,
    sync: tokio::task::JoinHandle<()>,
    _store: tempfile::TempDir,
}

impl Player {
    pub async fn login(synapse: &Synapse, name: &str) -> Player {
        let password = format!("{name}-password");
        let id = synapse.register(name, &password).await;
        let store = tempfile::tempdir().expect("a player store");
        let client = Client::builder()
            .homeserver_url(&synapse.url)
            .sqlite_store(store.path(), None)
            .build()
            .await
            .expect("a player's client");
        client
            .matrix_auth()
            .login_username(name, &password)
            .initial_device_display_name(name)
            .await
            .expect("a player logs in");
        // Nothing of the past.
        client
            .sync_once(SyncSettings::default())
            .await
            .expect("the first sync");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let news = Arc::new(Notify::new());
        {
            let seen = seen.clone();
            let news = news.clone();
            let me = id.clone();
            client.add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room| {
                let seen = seen.clone();
                let news = news.clone();
                let me = me.clone();
                async move {
                    if ev.sender == me {
                        return;
                    }
                    let (body, kind, image) = match &ev.content.msgtype {
                        MessageType::Text(t) => (t.body.clone(), "text".to_string(), None),
                        MessageType::Notice(n) => (n.body.clone(), "notice".to_string(), None),
                        MessageType::Image(i) => {
                            let url = match &i.source {
                                matrix_sdk::ruma::events::room::MediaSource::Plain(u) => {
                                    Some(u.to_string())
                                }
                                _ => None,
                            };
                            (i.body.clone(), "image".to_string(), url)
                        }
                        other => (other.body().to_string(), other.msgtype().to_string(), None),
                    };
                    seen.lock().unwrap().push(Seen {
                        room: room.room_id().to_owned(),
                        sender: ev.sender.clone(),
                        body,
                        kind,
                        image,
                        at: Instant::now(),
                    });
                    news.notify_waiters();
                }
            });
        }
        {
            let me = id.clone();
            client.add_event_handler(move |ev: StrippedRoomMemberEvent, room: Room| {
                let me = me.clone();
                async move {
                    if ev.state_key != me {
                        return;
                    }
                    tokio::spawn(async move {
                        for _ in 0..20 {
                            if room.join().await.is_ok() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(250)).await;
                        }
                    });
                }
            });
        }
        let sync_client = client.clone();
        let sync = tokio::spawn(async move {
            // sync_once in a loop: `Client::sync` pauses a second between
            // quick syncs, which would blur the latency measured.
            let settings = SyncSettings::default().timeout(Duration::from_secs(10));
            loop {
                if sync_client.sync_once(settings.clone()).await.is_err() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
        Player {
            client,
            id,
            seen,
            news,
            sync,
            _store: store,
        }
    }

    /// Everything read so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Forgets what was read so far.
    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }

    /// Waits for a message matching `what`; fails with everything read.
    pub async fn expect(&self, label: &str, what: impl Fn(&Seen) -> bool) -> Seen {
        self.expect_within(label, Duration::from_secs(60), what)
            .await
    }

    pub async fn expect_within(
        &self,
        label: &str,
        within: Duration,
        what: impl Fn(&Seen) -> bool,
    ) -> Seen {
        let deadline = Instant::now() + within;
        loop {
            let notified = self.news.notified();
            if let Some(found) = self.seen.lock().unwrap().iter().find(|s| what(s)) {
                return found.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "{} never read {label} within {within:?}; it read:\n{:#?}",
                    self.id,
                    self.seen()
                );
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(500)), notified).await;
        }
    }

    pub async fn send(&self, room: &RoomId, text: &str) {
        let room = self.wait_for_room(room).await;
        room.send(RoomMessageEventContent::text_plain(text))
            .await
            .expect("a player's message is sent");
    }

    /// The joined room, once the invitation is accepted and synced.
    pub async fn wait_for_room(&self, room: &RoomId) -> Room {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(r) = self.client.get_room(room) {
                if r.state() == matrix_sdk::RoomState::Joined {
                    return r;
                }
            }
            assert!(Instant::now() < deadline, "{} never joined {room}", self.id);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.sync.abort();
    }
}
