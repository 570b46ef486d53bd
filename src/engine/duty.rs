//! Who is on duty, and when the next permanence starts, in the time zone of
//! the département (overseas included, where there is no summer time).
//!
//! On duty means inside a weekly permanence or switched on by hand, and
//! neither switched off by hand nor absent that day. Time is always an
//! argument.

use crate::config::Promeneur;
use crate::store::DutySwitch;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

pub fn on_duty(promeneur: &Promeneur, switch: Option<DutySwitch>, now: DateTime<Utc>) -> bool {
    let local = now.with_timezone(&promeneur.timezone);
    if promeneur.absent_on(local.date_naive()) {
        return false;
    }
    if let Some(switch) = switch.filter(|s| now.timestamp() < s.until) {
        return switch.on;
    }
    in_permanence(promeneur, now)
}

pub fn in_permanence(promeneur: &Promeneur, now: DateTime<Utc>) -> bool {
    let local = now.with_timezone(&promeneur.timezone);
    promeneur.permanences.is_open(
        local.weekday().num_days_from_monday() as u8,
        (local.hour() * 60 + local.minute()) as u16,
    )
}

/// The end of the local day: a switch by hand lasts until then.
pub fn end_of_day(timezone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.with_timezone(&timezone).date_naive() + Duration::days(1);
    local_time(timezone, tomorrow, 0).unwrap_or(now + Duration::hours(24))
}

/// When the Promeneur's next permanence starts after `now` (within two
/// weeks), skipping days of absence.
pub fn next_permanence(promeneur: &Promeneur, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let today = now.with_timezone(&promeneur.timezone).date_naive();
    (0..15).find_map(|offset| {
        let date = today + Duration::days(offset);
        if promeneur.absent_on(date) {
            return None;
        }
        let weekday = date.weekday().num_days_from_monday();
        promeneur
            .permanences
            .spans
            .iter()
            .filter(|span| span.days & (1 << weekday) != 0)
            .filter_map(|span| local_time(promeneur.timezone, date, span.open))
            .filter(|start| *start > now)
            .min()
    })
}

fn local_time(timezone: Tz, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
    let naive = date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
    // A time skipped by the spring change is read one hour later.
    let local = timezone
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            timezone
                .from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })?;
    Some(local.with_timezone(&Utc))
}

const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "aujourd'hui à 14 h", "demain à 9 h 30", "mardi à 14 h", "lundi 7 décembre
/// à 10 h": a moment in words, in the given time zone.
pub fn in_words(at: DateTime<Utc>, now: DateTime<Utc>, timezone: Tz) -> String {
    let local = at.with_timezone(&timezone);
    let today = now.with_timezone(&timezone).date_naive();
    let days = (local.date_naive() - today).num_days();
    let hour = if local.minute() == 0 {
        format!("{} h", local.hour())
    } else {
        format!("{} h {:02}", local.hour(), local.minute())
    };
    let weekday = WEEKDAYS[local.weekday().num_days_from_monday() as usize];
    match days {
        0 => format!("aujourd'hui à {hour}"),
        1 => format!("demain à {hour}"),
        2..=6 => format!("{weekday} à {hour}"),
        _ => format!(
            "{weekday} {} {} à {hour}",
            local.day(),
            MONTHS[local.month0() as usize]
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn moments_read_in_words() {
        let paris = chrono_tz::Europe::Paris;
        // Saturday 21 November 2026, 10:00 in Paris.
        let now = at("2026-11-21T09:00:00Z");
        assert_eq!(
            in_words(at("2026-11-21T13:00:00Z"), now, paris),
            "aujourd'hui à 14 h"
        );
        assert_eq!(
            in_words(at("2026-11-22T08:30:00Z"), now, paris),
            "demain à 9 h 30"
        );
        assert_eq!(
            in_words(at("2026-11-24T13:00:00Z"), now, paris),
            "mardi à 14 h"
        );
        assert_eq!(
            in_words(at("2026-12-01T13:00:00Z"), now, paris),
            "mardi 1 décembre à 14 h"
        );
        // The same instant is 17 h in La Réunion.
        assert_eq!(
            in_words(at("2026-11-21T13:00:00Z"), now, chrono_tz::Indian::Reunion),
            "aujourd'hui à 17 h"
        );
    }
}
