//! The 101 départements (`knowledge/departements.toml`), the areas people
//! name instead (`knowledge/areas.toml`) and the communes with their postal codes
//! (`knowledge/places.tsv`, derived from Etalab's data by
//! `scripts/build-places.mjs`).
//!
//! This module only reads and checks the data; finding a place in a message
//! is the classifier's job.

use super::Problems;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A département code as written in France: "01"–"95" (no "20"), "2A",
/// "2B", "971"–"974", "976".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DepartementCode(String);

impl DepartementCode {
    /// What a valid code looks like, for error messages.
    pub const VALID: &'static str = "01–95, 2A, 2B, 971–974, 976";

    pub fn parse(text: &str) -> Option<DepartementCode> {
        let code = text.trim().to_ascii_uppercase();
        let valid = match code.as_str() {
            "2A" | "2B" => true,
            "971" | "972" | "973" | "974" | "976" => true,
            two if two.len() == 2 && two.bytes().all(|b| b.is_ascii_digit()) => {
                let n: u8 = two.parse().unwrap_or(0);
                (1..=95).contains(&n) && n != 20
            }
            _ => false,
        };
        valid.then_some(DepartementCode(code))
    }

    /// Parses a code read from a file; a bad one is reported under `key`.
    pub fn parse_reported(
        text: &str,
        key: impl Into<String>,
        problems: &mut crate::knowledge::Problems,
    ) -> Option<DepartementCode> {
        let code = DepartementCode::parse(text);
        if code.is_none() {
            problems.push(
                key,
                format!("`{text}` is not a département code ({})", Self::VALID),
            );
        }
        code
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The time zone the law sets for the département.
    pub fn expected_timezone(&self) -> &'static str {
        match self.0.as_str() {
            "971" => "America/Guadeloupe",
            "972" => "America/Martinique",
            "973" => "America/Cayenne",
            "974" => "Indian/Reunion",
            "976" => "Indian/Mayotte",
            _ => "Europe/Paris",
        }
    }

    /// Every valid code, in the usual order.
    pub fn all() -> Vec<DepartementCode> {
        let mut codes: Vec<DepartementCode> = (1..=95)
            .filter(|n| *n != 20)
            .map(|n| DepartementCode(format!("{n:02}")))
            .collect();
        let corsica = codes
            .iter()
            .position(|c| c.0 == "21")
            .unwrap_or(codes.len());
        codes.insert(corsica, DepartementCode("2B".into()));
        codes.insert(corsica, DepartementCode("2A".into()));
        codes.extend(["971", "972", "973", "974", "976"].map(|c| DepartementCode(c.into())));
        codes
    }

    /// The département of a French postal code, by the postal rule: the first
    /// two digits, Corsica by its 200/201 (2A) and 202/206 (2B) prefixes,
    /// overseas by the first three. `None` for a code no département has.
    pub fn from_postal_code(postal: &str) -> Option<DepartementCode> {
        if postal.len() != 5 || !postal.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match &postal[..2] {
            "20" => match &postal[..3] {
                "200" | "201" => DepartementCode::parse("2A"),
                "202" | "206" => DepartementCode::parse("2B"),
                _ => None,
            },
            "97" => DepartementCode::parse(&postal[..3]),
            two => DepartementCode::parse(two),
        }
    }
}

impl TryFrom<String> for DepartementCode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        DepartementCode::parse(&value)
            .ok_or_else(|| format!("`{value}` is not a département code ({})", Self::VALID))
    }
}

impl From<DepartementCode> for String {
    fn from(code: DepartementCode) -> String {
        code.0
    }
}

impl fmt::Display for DepartementCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DepartementFile {
    #[serde(default)]
    pub departement: Vec<DepartementEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DepartementEntry {
    pub code: String,
    pub name: String,
    pub region: String,
    pub timezone: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub common_word: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departement {
    pub code: DepartementCode,
    pub name: String,
    pub region: String,
    /// IANA time zone: permanences and opening hours are read in it.
    pub timezone: String,
    pub aliases: Vec<String>,
    /// The name is also an ordinary word ("Nord", "Cher", "Somme"): it counts
    /// as a place only after an article or preposition ("dans le Cher").
    pub common_word: bool,
}

pub(super) fn validate_departements(
    file: DepartementFile,
    problems: &mut Problems,
) -> Vec<Departement> {
    let mut seen = BTreeSet::new();
    let mut departements = Vec::new();
    for (i, entry) in file.departement.into_iter().enumerate() {
        let key = |field: &str| format!("departement[{i}].{field}");
        let Some(code) = DepartementCode::parse_reported(&entry.code, key("code"), problems) else {
            continue;
        };
        if !seen.insert(code.clone()) {
            problems.push(key("code"), format!("`{code}` is listed twice"));
            continue;
        }
        if entry.timezone != code.expected_timezone() {
            problems.push(
                key("timezone"),
                format!(
                    "`{}` is not the time zone of {code}: it is `{}`",
                    entry.timezone,
                    code.expected_timezone()
                ),
            );
        }
        for (field, value) in [("name", &entry.name), ("region", &entry.region)] {
            if value.trim().is_empty() {
                problems.push(key(field), "must not be empty");
            }
        }
        departements.push(Departement {
            code,
            name: entry.name,
            region: entry.region,
            timezone: entry.timezone,
            aliases: entry.aliases,
            common_word: entry.common_word,
        });
    }
    let missing: Vec<String> = DepartementCode::all()
        .into_iter()
        .filter(|c| !seen.contains(c))
        .map(|c| c.0)
        .collect();
    if !missing.is_empty() {
        problems.push(
            "departement",
            format!("missing départements: {}", missing.join(", ")),
        );
    }
    departements
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegionFile {
    /// Names of areas people use that are not a département ("paca",
    /// "alsace", "la corse"), with the départements they cover. The current
    /// région names of departements.toml are known without being listed.
    #[serde(default)]
    pub areas: BTreeMap<String, Vec<String>>,
}

pub(super) fn validate_regions(
    file: RegionFile,
    problems: &mut Problems,
) -> Vec<(String, Vec<DepartementCode>)> {
    let mut areas = Vec::new();
    for (name, codes) in file.areas {
        let mut parsed = Vec::new();
        for (i, code) in codes.iter().enumerate() {
            if let Some(code) =
                DepartementCode::parse_reported(code, format!("areas.\"{name}\"[{i}]"), problems)
            {
                parsed.push(code);
            }
        }
        if codes.is_empty() {
            problems.push(
                format!("areas.\"{name}\""),
                "list the départements of this area",
            );
        }
        areas.push((name, parsed));
    }
    areas
}

/// A commune, with the département it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commune {
    pub name: String,
    pub departement: DepartementCode,
    /// Used to take the obvious reading of a name shared by several communes.
    pub population: u32,
    pub postal_codes: Vec<String>,
}

pub(super) const PLACES_HEADER: &str = "name\tdepartement\tpopulation\tpostal_codes";
/// Beyond this many bad rows the file is surely the wrong one: stop listing.
const MAX_ROW_PROBLEMS: usize = 10;

pub(super) fn parse_places(text: &str, problems: &mut Problems) -> Vec<Commune> {
    let mut lines = text.lines();
    match lines.next() {
        Some(header) if header.trim_end() == PLACES_HEADER => {}
        other => {
            problems.push(
                "line 1",
                format!(
                    "the header must be `{}`, found `{}`",
                    PLACES_HEADER.replace('\t', "<tab>"),
                    other.unwrap_or("").replace('\t', "<tab>")
                ),
            );
            return Vec::new();
        }
    }
    let mut communes = Vec::new();
    let mut bad = 0;
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_place_row(line) {
            Ok(commune) => communes.push(commune),
            Err(why) => {
                bad += 1;
                if bad <= MAX_ROW_PROBLEMS {
                    problems.push(format!("line {}", i + 2), why);
                }
            }
        }
    }
    if bad > MAX_ROW_PROBLEMS {
        problems.push(
            "",
            format!("{} more bad rows not listed", bad - MAX_ROW_PROBLEMS),
        );
    }
    communes
}

fn parse_place_row(line: &str) -> Result<Commune, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [name, departement, population, postal_codes] = fields.as_slice() else {
        return Err(format!(
            "expected 4 tab-separated columns, found {}",
            fields.len()
        ));
    };
    if name.trim().is_empty() {
        return Err("empty name".into());
    }
    let departement = DepartementCode::parse(departement)
        .ok_or_else(|| format!("`{departement}` is not a département code"))?;
    let population = population
        .parse()
        .map_err(|_| format!("population `{population}` is not a whole number"))?;
    let postal_codes: Vec<String> = postal_codes
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(bad) = postal_codes
        .iter()
        .find(|p| p.len() != 5 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("postal code `{bad}` is not five digits"));
    }
    Ok(Commune {
        name: name.to_string(),
        departement,
        population,
        postal_codes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(DepartementCode::all().len(), 101);
        assert!(DepartementCode::parse("2a").is_some());
        for bad in ["20", "00", "96", "975", "977", "4", "abc", ""] {
            assert!(DepartementCode::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            DepartementCode::parse("974").unwrap().expected_timezone(),
            "Indian/Reunion"
        );
    }

    #[test]
    fn postal_rule_covers_corsica_and_overseas() {
        let dep = |p: &str| DepartementCode::from_postal_code(p).map(|c| c.0);
        assert_eq!(dep("41000").as_deref(), Some("41"));
        assert_eq!(dep("20000").as_deref(), Some("2A"));
        assert_eq!(dep("20167").as_deref(), Some("2A"));
        assert_eq!(dep("20200").as_deref(), Some("2B"));
        assert_eq!(dep("20600").as_deref(), Some("2B"));
        assert_eq!(dep("97400").as_deref(), Some("974"));
        assert_eq!(dep("97600").as_deref(), Some("976"));
        assert_eq!(dep("01000").as_deref(), Some("01"));
        assert_eq!(dep("00000"), None);
        assert_eq!(dep("98000"), None);
        assert_eq!(dep("4100"), None);
    }

    #[test]
    fn place_rows() {
        let mut problems = Problems::new("places.tsv");
        let text =
            format!("{PLACES_HEADER}\nBlois\t41\t45000\t41000\nBad\t20\t1\t\nX\t41\tmany\t41000\n");
        let communes = parse_places(&text, &mut problems);
        assert_eq!(communes.len(), 1);
        assert_eq!(communes[0].postal_codes, ["41000"]);
        let listed = problems.into_vec();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].key, "line 3");
        assert!(listed[1].message.contains("many"));
    }
}
