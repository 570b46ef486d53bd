//! National lines and services (`knowledge/resources.toml`): how to reach them,
//! when they are open, for whom, and where the facts come from.
//!
//! Opening hours are kept in a form the bot can compute with, in the time zone
//! of the service (Europe/Paris for every national line). This module knows
//! nothing of the current time: callers pass a local weekday and minute.

use super::{Problems, ResourceId, ThemeId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Phone,
    Sms,
    Chat,
    Web,
    App,
    Form,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub kind: ChannelKind,
    pub value: String,
}

/// When a resource can be reached.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    /// Day and night, every day.
    Always,
    /// At the hours listed in `hours`.
    Scheduled,
    /// Online information or a form, with no one answering live.
    Web,
    /// Local structures, each with hours of its own.
    Local,
    /// Hours not confirmed: the bot never says it is open now.
    Unknown,
}

/// Who a resource is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceAudience {
    Jeune,
    Parent,
    Both,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResourceFile {
    #[serde(default)]
    pub resource: Vec<ResourceEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResourceEntry {
    pub id: String,
    pub name: String,
    pub description: String,
    pub channels: Vec<Channel>,
    pub availability: Availability,
    #[serde(default)]
    pub hours: Vec<String>,
    #[serde(default)]
    pub cost: String,
    pub anonymous: bool,
    pub audience: ResourceAudience,
    pub themes: Vec<String>,
    pub emergency: bool,
    pub source: String,
    pub checked: String,
    #[serde(default)]
    pub to_verify: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub id: ResourceId,
    pub name: String,
    pub description: String,
    pub channels: Vec<Channel>,
    pub availability: Availability,
    pub hours: WeeklyHours,
    pub cost: String,
    pub anonymous: bool,
    pub audience: ResourceAudience,
    pub themes: Vec<ThemeId>,
    /// A line to show first, before any question, when a message signals danger.
    pub emergency: bool,
    pub source: String,
    /// The day the facts were last checked (ISO date), shown to coordinators.
    pub checked: String,
    /// True where a fact comes from an old or unconfirmed source.
    pub to_verify: bool,
}

impl Resource {
    /// Whether the resource answers at this local weekday (0 = Monday) and
    /// minute of the day, in the service's time zone.
    pub fn is_open(&self, weekday: u8, minute: u16) -> bool {
        match self.availability {
            Availability::Always | Availability::Web => true,
            Availability::Scheduled => self.hours.is_open(weekday, minute),
            Availability::Local | Availability::Unknown => false,
        }
    }
}

pub(super) fn validate_resource(
    entry: ResourceEntry,
    index: usize,
    known_themes: &[ThemeId],
    problems: &mut Problems,
) -> Option<Resource> {
    let key = |field: &str| format!("resource[{index}].{field}");
    let before = problems.len();
    if !super::is_valid_id(&entry.id) {
        problems.push(
            key("id"),
            format!(
                "`{}` is not a valid id: use lower-case letters, digits and hyphens",
                entry.id
            ),
        );
    }
    for (field, value) in [
        ("name", &entry.name),
        ("description", &entry.description),
        ("source", &entry.source),
    ] {
        if value.trim().is_empty() {
            problems.push(key(field), "must not be empty");
        }
    }
    // A local service (CIO, PAEJ) has no national contact: the bot names it
    // and the Promeneur knows the local address.
    if entry.channels.is_empty() && entry.availability != Availability::Local {
        problems.push(key("channels"), "list at least one way to reach the service (only availability = \"local\" may have none)");
    }
    for (i, channel) in entry.channels.iter().enumerate() {
        if channel.value.trim().is_empty() {
            problems.push(key(&format!("channels[{i}].value")), "must not be empty");
        }
    }
    let mut hours = WeeklyHours::default();
    match (entry.availability == Availability::Scheduled, entry.hours.is_empty()) {
        (true, true) => problems.push(key("hours"), "availability is \"scheduled\": give the hours, e.g. [\"mon-fri 09:00-18:00\"]"),
        (false, false) => problems.push(
            key("hours"),
            "hours are only read when availability = \"scheduled\"; remove them or change availability",
        ),
        _ => {}
    }
    for (i, text) in entry.hours.iter().enumerate() {
        match OpeningSpan::parse(text) {
            Ok(span) => hours.spans.push(span),
            Err(why) => problems.push(key(&format!("hours[{i}]")), why),
        }
    }
    let themes = super::known_theme_ids(&entry.themes, known_themes, &key("themes"), problems);
    if !is_iso_date(&entry.checked) {
        problems.push(
            key("checked"),
            format!("`{}` is not a date: write it as YYYY-MM-DD", entry.checked),
        );
    }
    if problems.len() > before {
        return None;
    }
    Some(Resource {
        id: ResourceId(entry.id),
        name: entry.name,
        description: entry.description,
        channels: entry.channels,
        availability: entry.availability,
        hours,
        cost: entry.cost,
        anonymous: entry.anonymous,
        audience: entry.audience,
        themes,
        emergency: entry.emergency,
        source: entry.source,
        checked: entry.checked,
        to_verify: entry.to_verify,
    })
}

fn is_iso_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts.as_slice(), [y, m, d]
        if y.len() == 4 && m.len() == 2 && d.len() == 2
            && [y, m, d].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
            && (1..=12).contains(&m.parse::<u8>().unwrap_or(0))
            && (1..=31).contains(&d.parse::<u8>().unwrap_or(0)))
}

/// Weekly opening hours: a list of spans, each on a set of days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    pub spans: Vec<OpeningSpan>,
}

impl WeeklyHours {
    /// Whether the hours include this weekday (0 = Monday) and minute of day.
    /// A span that closes earlier than it opens runs past midnight into the
    /// next day, as "8:00–2:00" does.
    pub fn is_open(&self, weekday: u8, minute: u16) -> bool {
        self.spans.iter().any(|span| span.contains(weekday, minute))
    }
}

/// One line of opening hours: `mon-fri 09:00-18:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpeningSpan {
    /// Bit 0 is Monday, bit 6 Sunday.
    pub days: u8,
    pub open: u16,
    pub close: u16,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl OpeningSpan {
    pub fn parse(text: &str) -> Result<OpeningSpan, String> {
        let hint = "write it as `mon-fri 09:00-18:00` (days mon tue wed thu fri sat sun, a range or one day; times HH:MM)";
        let (days, times) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("`{text}`: {hint}"))?;
        let days =
            parse_days(days.trim()).ok_or_else(|| format!("`{text}`: unknown days; {hint}"))?;
        let (open, close) = times
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("`{text}`: {hint}"))?;
        let open = parse_time(open).ok_or_else(|| format!("`{text}`: bad opening time; {hint}"))?;
        let close =
            parse_time(close).ok_or_else(|| format!("`{text}`: bad closing time; {hint}"))?;
        if open == close {
            return Err(format!("`{text}`: opens and closes at the same time; use availability = \"always\" for 24/7"));
        }
        Ok(OpeningSpan { days, open, close })
    }

    fn contains(&self, weekday: u8, minute: u16) -> bool {
        let on = |day: u8| self.days & (1 << (day % 7)) != 0;
        if self.open < self.close {
            on(weekday) && (self.open..self.close).contains(&minute)
        } else {
            // Past midnight: the evening part today, the small hours from yesterday's span.
            (on(weekday) && minute >= self.open) || (on((weekday + 6) % 7) && minute < self.close)
        }
    }
}

fn parse_days(text: &str) -> Option<u8> {
    let day = |name: &str| DAY_NAMES.iter().position(|d| *d == name).map(|p| p as u8);
    match text.split_once('-') {
        Some((from, to)) => {
            let (from, to) = (day(from)?, day(to)?);
            let mut mask = 0u8;
            let mut d = from;
            loop {
                mask |= 1 << d;
                if d == to {
                    break;
                }
                d = (d + 1) % 7;
            }
            Some(mask)
        }
        None => Some(1 << day(text)?),
    }
}

/// "09:00" → 540; "24:00" is allowed as a closing time and means midnight.
fn parse_time(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(0),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(lines: &[&str]) -> WeeklyHours {
        WeeklyHours {
            spans: lines
                .iter()
                .map(|l| OpeningSpan::parse(l).unwrap())
                .collect(),
        }
    }

    #[test]
    fn day_spans() {
        let h = hours(&["mon-fri 09:00-18:00", "sat 10:00-12:00"]);
        assert!(h.is_open(0, 9 * 60));
        assert!(!h.is_open(0, 18 * 60));
        assert!(h.is_open(5, 11 * 60));
        assert!(!h.is_open(6, 11 * 60));
    }

    #[test]
    fn spans_past_midnight_belong_to_the_evening_before() {
        let h = hours(&["mon-sun 08:00-02:00"]);
        assert!(h.is_open(2, 23 * 60));
        assert!(h.is_open(3, 60));
        assert!(!h.is_open(3, 3 * 60));
        let weekend_nights = hours(&["sat 20:00-02:00"]);
        assert!(
            weekend_nights.is_open(6, 60),
            "sunday 1:00 is saturday night"
        );
        assert!(!weekend_nights.is_open(0, 60));
    }

    #[test]
    fn wrapping_day_ranges_and_midnight_close() {
        let h = hours(&["sat-mon 10:00-24:00"]);
        assert!(h.is_open(6, 23 * 60));
        assert!(h.is_open(0, 10 * 60));
        assert!(!h.is_open(1, 10 * 60));
    }

    #[test]
    fn bad_hours_say_how_to_write_them() {
        for bad in [
            "monday 9-18",
            "mon-fri 9:00-18:00",
            "mon-fri 09:00",
            "xyz 09:00-10:00",
            "mon 10:00-10:00",
        ] {
            let err = OpeningSpan::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn iso_dates() {
        assert!(is_iso_date("2026-11-21"));
        assert!(!is_iso_date("21/11/2026"));
        assert!(!is_iso_date("2026-13-01"));
    }
}
