//! The deployment's configuration (`config/bot.toml`): bot settings, storage,
//! the départements served and the roster of Promeneurs.
//!
//! The file is parsed, then validated into typed values; every problem is
//! reported at once with the file, the key and what would be valid. A
//! configuration that loads is whole: the engine never checks it again.
//! Nothing here is ever logged whole, and secrets never live in this file.

use crate::knowledge::{
    is_valid_id, read_toml, DepartementCode, Knowledge, OpeningSpan, Problem, Problems, ThemeId,
    WeeklyHours,
};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A Promeneur's id in the roster (`camille-41`): stable, used in commands.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, Deserialize)]
#[serde(transparent)]
pub struct PromeneurId(pub String);

impl std::fmt::Display for PromeneurId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}", crate::knowledge::list_problems(.problems))]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    bot: BotSection,
    storage: StorageSection,
    #[serde(default)]
    departement: Vec<DepartementEntry>,
    #[serde(default)]
    promeneur: Vec<PromeneurEntry>,
    matrix: Option<MatrixSection>,
    discord: Option<DiscordSection>,
    secrets: Option<SecretsSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscordSection {
    /// The adapter's state (hand-off threads), relative to this file.
    store: String,
    /// The application's id, for the invite URL (else asked to Discord).
    application_id: Option<String>,
    /// Another base URL for Discord's API and gateway: the tests' fake.
    api: Option<String>,
    #[serde(default)]
    guild: Vec<GuildEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GuildEntry {
    id: String,
    /// The channel under which the private hand-off threads are made.
    handoff_channel: String,
    /// The Promeneurs' channel: notices of this guild's départements.
    staff_channel: String,
    departements: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixSection {
    homeserver: String,
    user: String,
    /// The client's state and crypto store, relative to this file.
    store: String,
    #[serde(default = "default_display_name")]
    display_name: String,
    #[serde(default = "default_true")]
    leave_on_close: bool,
}

fn default_display_name() -> String {
    "Promeneur-bot (robot)".to_string()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsSection {
    /// A TOML file outside git with the passwords and tokens.
    file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BotSection {
    /// The knowledge base folder, relative to this file.
    knowledge: String,
    handoff_timeout_minutes: u32,
    #[serde(default = "default_tick")]
    tick_seconds: u32,
}

fn default_tick() -> u32 {
    30
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSection {
    /// The SQLite file, relative to this file.
    database: String,
    retention_days: u32,
    purge_every_minutes: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartementEntry {
    code: String,
    coordinator: String,
    #[serde(default)]
    fallback: Vec<String>,
    #[serde(default)]
    staff: StaffRooms,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffRooms {
    matrix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Accounts {
    discord: Option<String>,
    matrix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromeneurEntry {
    id: String,
    #[serde(default)]
    example: bool,
    first_name: String,
    photo: String,
    profession: String,
    structure: String,
    departements: Vec<String>,
    #[serde(default)]
    themes: Vec<String>,
    capacity: u32,
    #[serde(default)]
    accounts: Accounts,
    #[serde(default)]
    permanences: Vec<String>,
    #[serde(default)]
    absences: Vec<AbsenceEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AbsenceEntry {
    from: String,
    to: String,
}

/// Settings of the conversation engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// A hand-off not taken within this delay goes to the next Promeneur.
    pub handoff_timeout: chrono::Duration,
    /// How often the clock ticks (time-outs, permanences starting).
    pub tick: std::time::Duration,
    /// Everything older than this is deleted by the purge.
    pub retention: chrono::Duration,
    pub purge_every: std::time::Duration,
}

impl Settings {
    pub fn retention_days(&self) -> i64 {
        self.retention.num_days()
    }
}

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub knowledge_dir: PathBuf,
    pub database: PathBuf,
    pub settings: Settings,
    pub roster: Roster,
    pub matrix: Option<MatrixSettings>,
    pub discord: Option<DiscordSettings>,
    /// Where passwords and tokens are read from, besides the environment.
    pub secrets_file: Option<PathBuf>,
}

/// The Matrix adapter's settings (`[matrix]`); its password or token comes
/// from the environment or the secrets file, never from here.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSettings {
    pub homeserver: String,
    pub user: String,
    pub store: PathBuf,
    pub display_name: String,
    /// The bot leaves a hand-off room when its conversation is closed.
    pub leave_on_close: bool,
}

/// The Discord adapter's settings (`[discord]`); its token comes from the
/// environment or the secrets file, never from here.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscordSettings {
    pub store: PathBuf,
    pub application_id: Option<u64>,
    /// `None`: the real Discord.
    pub api: Option<String>,
    pub guilds: Vec<DiscordGuild>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiscordGuild {
    pub id: u64,
    pub handoff_channel: u64,
    pub staff_channel: u64,
    pub departements: Vec<DepartementCode>,
}

/// A password or a token: never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Config {
    /// A secret by name: the environment variable `PROMENEUR_BOT_<NAME>`
    /// first (upper case), then the key `<name>` of the secrets file. The
    /// error names where it was looked for, never a value.
    pub fn secret(&self, name: &str) -> Result<Option<Secret>, String> {
        let variable = format!("PROMENEUR_BOT_{}", name.to_ascii_uppercase());
        if let Ok(value) = std::env::var(&variable) {
            if !value.trim().is_empty() {
                return Ok(Some(Secret(value.trim().to_string())));
            }
        }
        let Some(file) = &self.secrets_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("the secrets file `{}` cannot be read: {e}", file.display()))?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| {
            // The parser's message may quote a line of the file: keep only
            // where it is.
            let at = e
                .span()
                .map(|s| format!(" (at byte {})", s.start))
                .unwrap_or_default();
            format!(
                "the secrets file `{}` is not valid TOML{at}",
                file.display()
            )
        })?;
        match table.get(name) {
            None => Ok(None),
            Some(toml::Value::String(value)) if !value.trim().is_empty() => {
                Ok(Some(Secret(value.trim().to_string())))
            }
            Some(_) => Err(format!(
                "`{name}` in the secrets file `{}` must be a non-empty string",
                file.display()
            )),
        }
    }
}

/// Who serves where: the départements and their Promeneurs.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    pub promeneurs: Vec<Promeneur>,
    pub departements: BTreeMap<DepartementCode, ServedDepartement>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServedDepartement {
    pub code: DepartementCode,
    pub name: String,
    pub timezone: Tz,
    /// Told when a hand-off is not taken in time.
    pub coordinator: PromeneurId,
    /// Where requests go when this département has nobody at all.
    pub fallback: Vec<DepartementCode>,
    pub staff_matrix: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Promeneur {
    pub id: PromeneurId,
    /// Fictional people of the shipped example roster.
    pub example: bool,
    pub first_name: String,
    pub photo: String,
    pub profession: String,
    pub structure: String,
    pub departements: Vec<DepartementCode>,
    /// Empty means every theme.
    pub themes: Vec<ThemeId>,
    pub capacity: u32,
    pub discord: Option<String>,
    pub matrix: Option<String>,
    /// In the time zone of the Promeneur's départements (all share one).
    pub permanences: WeeklyHours,
    pub timezone: Tz,
    /// Inclusive local dates.
    pub absences: Vec<(NaiveDate, NaiveDate)>,
}

impl Promeneur {
    pub fn covers(&self, code: &DepartementCode) -> bool {
        self.departements.contains(code)
    }

    pub fn competent_for(&self, theme: Option<&ThemeId>) -> bool {
        match theme {
            Some(theme) => self.themes.is_empty() || self.themes.contains(theme),
            None => true,
        }
    }

    pub fn absent_on(&self, date: NaiveDate) -> bool {
        self.absences
            .iter()
            .any(|(from, to)| (*from..=*to).contains(&date))
    }
}

impl Roster {
    pub fn promeneur(&self, id: &PromeneurId) -> Option<&Promeneur> {
        self.promeneurs.iter().find(|p| &p.id == id)
    }

    /// The Promeneurs of one département.
    pub fn of(&self, code: &DepartementCode) -> impl Iterator<Item = &Promeneur> {
        let code = code.clone();
        self.promeneurs.iter().filter(move |p| p.covers(&code))
    }
}

impl Config {
    /// Reads `path`, loads the knowledge base it names (or `knowledge`, when
    /// given) and validates everything, reporting every problem at once.
    pub fn load(path: &Path, knowledge: Option<&Path>) -> Result<(Config, Knowledge), ConfigError> {
        let mut problems = Problems::new(path);
        let Some(file) = read_toml::<ConfigFile>(path, &mut problems) else {
            return Err(ConfigError {
                problems: problems.into_vec(),
            });
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let knowledge_dir = match knowledge {
            Some(dir) => dir.to_path_buf(),
            None => base.join(&file.bot.knowledge),
        };
        let knowledge = match Knowledge::load(&knowledge_dir) {
            Ok(knowledge) => knowledge,
            Err(e) => {
                let mut all = e.problems;
                if knowledge.is_none() {
                    all.insert(
                        0,
                        Problem {
                            file: path.to_path_buf(),
                            key: "bot.knowledge".into(),
                            message: format!(
                                "the knowledge base `{}` has problems (listed below)",
                                knowledge_dir.display()
                            ),
                        },
                    );
                }
                return Err(ConfigError { problems: all });
            }
        };
        let config = validate(path, base, knowledge_dir, file, &knowledge, &mut problems);
        if problems.is_empty() {
            Ok((config, knowledge))
        } else {
            Err(ConfigError {
                problems: problems.into_vec(),
            })
        }
    }
}

/// A photo is a web address, a Matrix media, or an image file (made
/// absolute here, relative to the configuration).
fn resolve_photo(base: &Path, photo: &str) -> Option<String> {
    let photo = photo.trim();
    if ["https://", "http://", "mxc://"]
        .iter()
        .any(|scheme| photo.starts_with(scheme))
    {
        return Some(photo.to_string());
    }
    let lower = photo.to_ascii_lowercase();
    let image = [".png", ".jpg", ".jpeg", ".webp"]
        .iter()
        .any(|ext| lower.ends_with(ext));
    let path = base.join(photo);
    (image && path.is_file()).then(|| path.to_string_lossy().into_owned())
}

fn validate(
    path: &Path,
    base: &Path,
    knowledge_dir: PathBuf,
    file: ConfigFile,
    knowledge: &Knowledge,
    problems: &mut Problems,
) -> Config {
    if file.bot.handoff_timeout_minutes == 0 {
        problems.push(
            "bot.handoff_timeout_minutes",
            "must be at least 1 (minutes before a hand-off goes to the next Promeneur)",
        );
    }
    if !(1..=3600).contains(&file.bot.tick_seconds) {
        problems.push("bot.tick_seconds", "must be between 1 and 3600 seconds");
    }
    if !(1..=3650).contains(&file.storage.retention_days) {
        problems.push(
            "storage.retention_days",
            "must be between 1 and 3650 days (the CNIL asks for the shortest period the service needs)",
        );
    }
    if file.storage.purge_every_minutes == 0 {
        problems.push("storage.purge_every_minutes", "must be at least 1 minute");
    }
    if file.storage.database.trim().is_empty() {
        problems.push(
            "storage.database",
            "give the path of the SQLite file, e.g. `../data/promeneur-bot.sqlite3`",
        );
    }
    let settings = Settings {
        handoff_timeout: chrono::Duration::minutes(file.bot.handoff_timeout_minutes.into()),
        tick: std::time::Duration::from_secs(file.bot.tick_seconds.into()),
        retention: chrono::Duration::days(file.storage.retention_days.into()),
        purge_every: std::time::Duration::from_secs(
            u64::from(file.storage.purge_every_minutes) * 60,
        ),
    };

    let theme_ids: Vec<&str> = knowledge.themes.iter().map(|t| t.id.as_str()).collect();
    let mut promeneurs = Vec::new();
    let mut ids = BTreeSet::new();
    let mut accounts = BTreeSet::new();
    for (i, entry) in file.promeneur.into_iter().enumerate() {
        let key = |field: &str| format!("promeneur[{i}].{field}");
        if !is_valid_id(&entry.id) {
            problems.push(key("id"), format!("`{}` is not a valid id: use lower-case letters, digits and hyphens (`camille-41`)", entry.id));
        } else if !ids.insert(entry.id.clone()) {
            problems.push(
                key("id"),
                format!("`{}` is used by two Promeneurs", entry.id),
            );
        }
        for (field, value) in [
            ("first_name", &entry.first_name),
            ("photo", &entry.photo),
            ("profession", &entry.profession),
            ("structure", &entry.structure),
        ] {
            if value.trim().is_empty() {
                problems.push(key(field), "must not be empty: a Promeneur is always shown with first name, photo, profession and structure");
            }
        }
        let photo = resolve_photo(base, &entry.photo);
        if !entry.photo.trim().is_empty() && photo.is_none() {
            problems.push(
                key("photo"),
                format!("`{}` is neither a web address (https://…), a Matrix media (mxc://…) nor an image file next to this configuration (.png, .jpg, .jpeg, .webp)", entry.photo),
            );
        }
        if entry.capacity == 0 {
            problems.push(
                key("capacity"),
                "must be at least 1 (the number of open conversations at once)",
            );
        }
        let mut departements = Vec::new();
        for (j, code) in entry.departements.iter().enumerate() {
            let key = format!("promeneur[{i}].departements[{j}]");
            if let Some(code) = DepartementCode::parse_reported(code, key, problems) {
                departements.push(code);
            }
        }
        if entry.departements.is_empty() {
            problems.push(
                key("departements"),
                "list at least one département code, e.g. [\"41\"]",
            );
        }
        let zones: BTreeSet<&str> = departements.iter().map(|d| d.expected_timezone()).collect();
        if zones.len() > 1 {
            problems.push(key("departements"), "départements in different time zones: permanences are read in one time zone, list this Promeneur once per zone under two ids");
        }
        let timezone = departements
            .first()
            .map(|d| d.expected_timezone())
            .unwrap_or("Europe/Paris")
            .parse::<Tz>()
            .unwrap_or(chrono_tz::Europe::Paris);
        let mut themes = Vec::new();
        for (j, theme) in entry.themes.iter().enumerate() {
            if theme_ids.contains(&theme.as_str()) {
                themes.push(ThemeId(theme.clone()));
            } else {
                problems.push(format!("promeneur[{i}].themes[{j}]"), format!("`{theme}` is not a theme; valid: {} (or leave the list empty for every theme)", theme_ids.join(", ")));
            }
        }
        let mut spans = Vec::new();
        for (j, text) in entry.permanences.iter().enumerate() {
            match OpeningSpan::parse(text) {
                Ok(span) => spans.push(span),
                Err(message) => problems.push(format!("promeneur[{i}].permanences[{j}]"), message),
            }
        }
        let mut absences = Vec::new();
        for (j, absence) in entry.absences.iter().enumerate() {
            let mut date =
                |text: &str, field: &str| match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                    Ok(date) => Some(date),
                    Err(_) => {
                        problems.push(
                            format!("promeneur[{i}].absences[{j}].{field}"),
                            format!("`{text}` is not a date: write it as 2026-12-24"),
                        );
                        None
                    }
                };
            if let (Some(from), Some(to)) = (date(&absence.from, "from"), date(&absence.to, "to")) {
                if to < from {
                    problems.push(
                        format!("promeneur[{i}].absences[{j}]"),
                        "ends before it starts",
                    );
                } else {
                    absences.push((from, to));
                }
            }
        }
        for (field, account) in [
            ("accounts.discord", &entry.accounts.discord),
            ("accounts.matrix", &entry.accounts.matrix),
        ] {
            if let Some(account) = account {
                if !accounts.insert((field, account.clone())) {
                    problems.push(
                        key(field),
                        format!("`{account}` is given to two Promeneurs"),
                    );
                }
            }
        }
        if let Some(matrix) = &entry.accounts.matrix {
            if !(matrix.starts_with('@') && matrix.contains(':')) {
                problems.push(
                    key("accounts.matrix"),
                    format!("`{matrix}` is not a Matrix user id (@name:server)"),
                );
            }
        }
        if let Some(discord) = &entry.accounts.discord {
            if discord.is_empty() || !discord.chars().all(|c| c.is_ascii_digit()) {
                problems.push(
                    key("accounts.discord"),
                    format!("`{discord}` is not a Discord user id (digits only)"),
                );
            }
        }
        promeneurs.push(Promeneur {
            id: PromeneurId(entry.id),
            example: entry.example,
            first_name: entry.first_name,
            photo: photo.unwrap_or(entry.photo),
            profession: entry.profession,
            structure: entry.structure,
            departements,
            themes,
            capacity: entry.capacity,
            discord: entry.accounts.discord,
            matrix: entry.accounts.matrix,
            permanences: WeeklyHours { spans },
            timezone,
            absences,
        });
    }

    let mut departements = BTreeMap::new();
    let entries = file.departement;
    let codes: BTreeSet<Option<DepartementCode>> = entries
        .iter()
        .map(|e| DepartementCode::parse(&e.code))
        .collect();
    for (i, entry) in entries.iter().enumerate() {
        let key = |field: &str| format!("departement[{i}].{field}");
        let Some(code) = DepartementCode::parse_reported(&entry.code, key("code"), problems) else {
            continue;
        };
        if departements.contains_key(&code) {
            problems.push(key("code"), format!("`{code}` is listed twice"));
            continue;
        }
        let coordinator = PromeneurId(entry.coordinator.clone());
        if !promeneurs.iter().any(|p| p.id == coordinator) {
            problems.push(key("coordinator"), format!("`{}` is not a Promeneur id of this file: the coordinator must be in the roster", entry.coordinator));
        }
        let mut fallback = Vec::new();
        for (j, other) in entry.fallback.iter().enumerate() {
            let key = format!("departement[{i}].fallback[{j}]");
            match DepartementCode::parse_reported(other, key.clone(), problems) {
                Some(other) if other == code => problems.push(key, "a département cannot be its own fallback"),
                Some(other) if codes.contains(&Some(other.clone())) => fallback.push(other),
                Some(other) => problems.push(key, format!("`{other}` is not a département of this file; fallbacks must be served here")),
                None => {}
            }
        }
        if let Some(room) = &entry.staff.matrix {
            // Room ids of room version 12 have no server part (`!abc`).
            let id = room.starts_with('!') && room.len() > 1;
            let alias = room.starts_with('#') && room.contains(':');
            if !(id || alias) || room.contains(char::is_whitespace) {
                problems.push(
                    key("staff.matrix"),
                    format!(
                        "`{room}` is not a Matrix room id (!abc…) or alias (#equipe-41:server)"
                    ),
                );
            }
        }
        let (name, timezone) = match knowledge.departement(&code) {
            Some(d) => (
                d.name.clone(),
                d.timezone.parse::<Tz>().unwrap_or(chrono_tz::Europe::Paris),
            ),
            None => (code.to_string(), chrono_tz::Europe::Paris),
        };
        departements.insert(
            code.clone(),
            ServedDepartement {
                code,
                name,
                timezone,
                coordinator,
                fallback,
                staff_matrix: entry.staff.matrix.clone(),
            },
        );
    }
    for (i, promeneur) in promeneurs.iter().enumerate() {
        for (j, code) in promeneur.departements.iter().enumerate() {
            if !departements.contains_key(code) {
                problems.push(
                    format!("promeneur[{i}].departements[{j}]"),
                    format!(
                        "`{code}` has no [[departement]] section: add one with its coordinator"
                    ),
                );
            }
        }
    }

    let matrix = file.matrix.map(|m| {
        if !(m.homeserver.starts_with("https://") || m.homeserver.starts_with("http://")) {
            problems.push(
                "matrix.homeserver",
                format!(
                    "`{}` is not the homeserver's web address (https://matrix.example.org)",
                    m.homeserver
                ),
            );
        }
        if !(m.user.starts_with('@') && m.user.contains(':')) {
            problems.push(
                "matrix.user",
                format!(
                    "`{}` is not a Matrix user id (@promeneur-bot:example.org)",
                    m.user
                ),
            );
        }
        if m.store.trim().is_empty() {
            problems.push(
                "matrix.store",
                "give a folder for the Matrix session and encryption keys, e.g. `../data/matrix`",
            );
        }
        if m.display_name.trim().is_empty() {
            problems.push(
                "matrix.display_name",
                "must not be empty: people must see it is a bot",
            );
        }
        MatrixSettings {
            homeserver: m.homeserver,
            user: m.user,
            store: base.join(m.store),
            display_name: m.display_name,
            leave_on_close: m.leave_on_close,
        }
    });
    let discord = file
        .discord
        .map(|d| discord_settings(d, base, &departements, &promeneurs, problems));
    let secrets_file = file.secrets.map(|s| base.join(s.file));

    Config {
        file: path.to_path_buf(),
        knowledge_dir,
        database: base.join(file.storage.database),
        settings,
        roster: Roster {
            promeneurs,
            departements,
        },
        matrix,
        discord,
        secrets_file,
    }
}

/// A Discord id (a snowflake): digits, not zero.
fn snowflake(value: &str, key: String, what: &str, problems: &mut Problems) -> u64 {
    match value.parse::<u64>() {
        Ok(id) if id > 0 && !value.starts_with('+') => id,
        _ => {
            problems.push(
                key,
                format!("`{value}` is not a Discord {what} id (digits only; Developer Mode, then right click, Copy ID)"),
            );
            0
        }
    }
}

fn discord_settings(
    d: DiscordSection,
    base: &Path,
    departements: &BTreeMap<DepartementCode, ServedDepartement>,
    promeneurs: &[Promeneur],
    problems: &mut Problems,
) -> DiscordSettings {
    if d.store.trim().is_empty() {
        problems.push(
            "discord.store",
            "give a folder for the Discord adapter's state, e.g. `../data/discord`",
        );
    }
    let application_id = d
        .application_id
        .as_deref()
        .map(|id| snowflake(id, "discord.application_id".into(), "application", problems));
    if let Some(api) = &d.api {
        if !(api.starts_with("http://") || api.starts_with("https://")) {
            problems.push(
                "discord.api",
                format!("`{api}` is not a web address; leave the key out to use Discord itself"),
            );
        }
    }
    if d.guild.is_empty() {
        problems.push(
            "discord.guild",
            "add at least one [[discord.guild]] with id, handoff_channel, staff_channel and departements",
        );
    }
    let mut guilds = Vec::new();
    for (i, g) in d.guild.into_iter().enumerate() {
        let key = |k: &str| format!("discord.guild[{i}].{k}");
        let id = snowflake(&g.id, key("id"), "server (guild)", problems);
        let handoff_channel = snowflake(
            &g.handoff_channel,
            key("handoff_channel"),
            "channel",
            problems,
        );
        let staff_channel = snowflake(&g.staff_channel, key("staff_channel"), "channel", problems);
        if handoff_channel != 0 && handoff_channel == staff_channel {
            problems.push(
                key("staff_channel"),
                "must differ from handoff_channel: the staff channel's notices are for Promeneurs only",
            );
        }
        if g.departements.is_empty() {
            problems.push(
                key("departements"),
                "name the départements this server serves, e.g. [\"41\"]",
            );
        }
        let mut codes = Vec::new();
        for (j, code) in g.departements.iter().enumerate() {
            let key = key(&format!("departements[{j}]"));
            if let Some(code) = DepartementCode::parse_reported(code, key.clone(), problems) {
                if departements.contains_key(&code) {
                    codes.push(code);
                } else {
                    problems.push(
                        key,
                        format!("`{code}` has no [[departement]] section in this file"),
                    );
                }
            }
        }
        guilds.push(DiscordGuild {
            id,
            handoff_channel,
            staff_channel,
            departements: codes,
        });
    }
    // A Promeneur sees only their own département's requests: a staff
    // channel may gather several départements only when one team serves
    // them (a département without Promeneurs of its own).
    let mut teams: BTreeMap<u64, (usize, BTreeSet<DepartementCode>)> = BTreeMap::new();
    for (i, g) in guilds.iter().enumerate() {
        for code in &g.departements {
            if promeneurs.iter().any(|p| p.covers(code)) {
                teams
                    .entry(g.staff_channel)
                    .or_insert((i, BTreeSet::new()))
                    .1
                    .insert(code.clone());
            }
        }
    }
    for (channel, (i, codes)) in teams {
        if channel != 0 && codes.len() > 1 {
            let list: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
            problems.push(
                format!("discord.guild[{i}].staff_channel"),
                format!(
                    "would show the requests of {} to each other's Promeneurs: give each département its own [[discord.guild]] entry (the same server id, its own staff_channel)",
                    list.join(", ")
                ),
            );
        }
    }
    DiscordSettings {
        store: base.join(d.store),
        application_id,
        api: d.api.map(|a| a.trim_end_matches('/').to_string()),
        guilds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absences_are_inclusive() {
        let date = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let p = Promeneur {
            id: PromeneurId("a".into()),
            example: true,
            first_name: "A".into(),
            photo: "https://x".into(),
            profession: "p".into(),
            structure: "s".into(),
            departements: vec![],
            themes: vec![],
            capacity: 1,
            discord: None,
            matrix: None,
            permanences: WeeklyHours::default(),
            timezone: chrono_tz::Europe::Paris,
            absences: vec![(date("2026-12-20"), date("2026-12-24"))],
        };
        assert!(p.absent_on(date("2026-12-24")));
        assert!(!p.absent_on(date("2026-12-25")));
    }
}
