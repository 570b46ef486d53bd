//! Finding the département a message names: a code in context ("dans le 41",
//! "le 2A"), a département name ("loir et cher", "dans la Manche"), a postal
//! code ("41000", "20200", "97400"), a commune ("j'habite à Blois") or a
//! région ("en Bretagne", which gives candidates).
//!
//! Numbers and names are read with care, because most of them are not
//! places: "j'ai 15 ans", "appelle le 17", "la somme de 50 €", "je me sens
//! mal". A big city takes its obvious reading (Valence is the Drôme's); a name
//! shared by communes of comparable size (Saint-Denis) gives the candidates,
//! so the conversation can ask instead of guessing.

use super::corpus::{is_number, FRENCH_STOP_WORDS};
use crate::knowledge::{DepartementCode, Knowledge};
use crate::text::{normalize, Normalized, Slang};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Serialize;
use std::collections::BTreeSet;

/// The longest place name looked up, in words ("saint remy de provence").
const MAX_NAME_WORDS: usize = 7;
/// A commune this big is read as a place even with nothing before its name.
const BIG_CITY: u32 = 20_000;
/// After a weak cue ("de", "vers", "sur") a commune must be at least this big.
const TOWN: u32 = 5_000;
/// After a strong cue ("à", "j'habite") a commune must be at least this big,
/// which leaves out hamlets named like first names or words.
const VILLAGE: u32 = 1_000;
/// A homonym of [`TOWN_OF_ITS_OWN`] people or more, this many times bigger
/// than the next, is the obvious reading.
const OBVIOUS_RATIO: u32 = 5;
/// A homonym this big is a town of its own: a name an overseas town shares
/// with it is asked about ("Saint-Pierre": La Réunion or Martinique), and a
/// town named like a département is asked about ("Vienne").
const TOWN_OF_ITS_OWN: u32 = 3_000;
/// A homonym this many times smaller than the biggest is not offered, unless
/// it is a town of its own.
const HAMLET_RATIO: u32 = 10;
/// Most candidates returned for an ambiguous name.
const MAX_CANDIDATES: usize = 8;

/// Words before a commune that say a place follows.
const STRONG_CUES: &[&str] = &[
    "a", "au", "aux", "habite", "habites", "habitons", "vis", "vit", "ville", "commune", "pres",
    "cote", "secteur", "coin",
];
/// Verbs that make a following "de" a strong cue ("je viens de Guéret").
const ORIGIN_VERBS: &[&str] = &[
    "viens",
    "vient",
    "venons",
    "venez",
    "suis",
    "sommes",
    "originaire",
    "originaires",
];
/// Places of a town named after "de": "au collège de Guéret", "la mairie de
/// Tulle" name the town even when its name is also a word.
const PLACE_NOUNS: &[&str] = &[
    "college",
    "lycee",
    "mairie",
    "gare",
    "hopital",
    "ville",
    "commune",
    "fac",
    "universite",
    "iut",
    "cio",
    "prefecture",
    "quartier",
    "piscine",
    "mjc",
    "pij",
    "caf",
    "cite",
];
const WEAK_CUES: &[&str] = &[
    "de", "d", "du", "sur", "vers", "depuis", "from", "region", "entre",
];
/// Words before a code that make it a département ("dans le 41", "du 93").
const CODE_CUES: &[&str] = &[
    "le",
    "du",
    "dans",
    "departement",
    "dep",
    "dept",
    "dpt",
    "depart",
    "en",
    "au",
];
/// Cues strong enough to read 15, 17 and 18 (emergency numbers) as places.
const STRICT_CODE_CUES: &[&str] = &["du", "dans", "departement", "dep", "dept", "dpt", "depart"];
/// Words a message that is only a code may also hold ("je suis dans le 41").
const CODE_ONLY_FILLER: &[&str] = &[
    "je",
    "suis",
    "j",
    "habite",
    "dans",
    "le",
    "du",
    "c",
    "est",
    "moi",
    "on",
    "vis",
    "en",
    "de",
    "la",
    "chui",
    "merci",
    "departement",
    "dep",
    "dpt",
    "dept",
    "ici",
    "perso",
];
/// Words after a number that make it something else than a place.
const NUMBER_BLOCKERS: &[&str] = &[
    "an",
    "ans",
    "h",
    "heure",
    "heures",
    "hr",
    "min",
    "mn",
    "minute",
    "minutes",
    "seconde",
    "secondes",
    "sec",
    "euro",
    "euros",
    "eur",
    "e",
    "eme",
    "em",
    "er",
    "ere",
    "ieme",
    "fois",
    "jour",
    "jours",
    "mois",
    "semaine",
    "semaines",
    "kg",
    "kilos",
    "km",
    "cm",
    "m",
    "sur",
    "point",
    "points",
    "pts",
    "pourcent",
    "pourcents",
    "balles",
    "mille",
    "k",
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
    "mois",
    "personnes",
    "eleves",
    "followers",
    "abonnes",
    "messages",
    "likes",
    "vues",
    "ml",
    "g",
    "cl",
    "l",
];
/// Words before a number that make it a phone number ("appelle le 15").
const PHONE_CUES: &[&str] = &[
    "appel",
    "appelle",
    "appeler",
    "appele",
    "appelez",
    "appelles",
    "compose",
    "composer",
    "composez",
    "numero",
    "num",
    "tel",
    "telephone",
    "contacter",
    "contacte",
];
/// Articles and prepositions that let a common-word name be a place ("dans le Cher").
#[rustfmt::skip]
const ARTICLES: &[&str] = &["le", "la", "l", "dans", "en", "du", "de", "au", "departement", "vers"];
/// Plural articles, which make a place only after a preposition ("dans les
/// Vosges", not "les paris sportifs").
const PLURAL_ARTICLES: &[&str] = &["les", "des", "aux"];
/// Words after a common-word name that make it the word ("la somme de",
/// "paris sportifs", "paris en ligne").
#[rustfmt::skip]
const WORD_FOLLOWERS: &[&str] = &["de", "d", "du", "des", "sportif", "sportifs", "en", "sur", "truques", "gagnants", "perdus", "foot"];

/// Words before a common-word commune name that make it the word ("aux paris",
/// "mes paris").
#[rustfmt::skip]
const POSSESSIVES_AND_PLURALS: &[&str] = &["les", "des", "aux", "mes", "tes", "ses", "nos", "vos", "leurs", "ces"];
/// Words after a common-word commune name that make it the word ("paris sportifs").
#[rustfmt::skip]
const NOUN_FOLLOWERS: &[&str] = &["sportif", "sportifs", "truques", "gagnants", "perdus", "foot", "hippiques"];

/// Nouns before "de" that make a common-word commune name the word ("sites
/// de paris", "appli de paris", "frais de port").
#[rustfmt::skip]
const WORD_HEADS: &[&str] = &[
    "site", "sites", "appli", "applis", "app", "apps", "application", "applications", "jeu",
    "jeux", "compte", "comptes", "addiction", "pari", "frais",
];

/// Where a message says it is, and how that was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceReading {
    pub department: Option<DepartementCode>,
    pub candidates: Vec<DepartementCode>,
    /// The words that named the place.
    pub text: String,
    pub rule: &'static str,
    /// Positions of every word read as a place, so the theme matcher can
    /// leave them out ("à Ajaccio" says nothing of a theme).
    #[serde(skip)]
    pub positions: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Name {
    Departement {
        code: DepartementCode,
        common_word: bool,
    },
    Area(Vec<DepartementCode>),
}

/// One reading of a place, before they are reconciled.
#[derive(Debug, Clone)]
struct Sighting {
    strength: u8,
    /// Most likely first; one entry when the reading is certain.
    codes: Vec<DepartementCode>,
    certain: bool,
    text: String,
    rule: &'static str,
}

pub struct PlaceFinder {
    names: HashMap<String, Name>,
    /// Folded commune name → (département, population), biggest first, one per département.
    communes: HashMap<String, Vec<(DepartementCode, u32)>>,
    postal: HashMap<String, Vec<DepartementCode>>,

    place_words: std::collections::HashSet<String>,
    /// Names known only without their article ("havre" for Le Havre).
    bare_names: HashSet<String>,
}

impl PlaceFinder {
    pub fn new(knowledge: &Knowledge, slang: &Slang) -> PlaceFinder {
        // Names are read the way messages are: "seine st denis" is "seine saint denis".
        let fold_phrase = |text: &str| normalize(text, slang).joined();
        let mut names = HashMap::default();
        let mut regions: HashMap<String, Vec<DepartementCode>> = HashMap::default();
        for d in &knowledge.departements {
            regions
                .entry(fold_phrase(&d.region))
                .or_default()
                .push(d.code.clone());
        }
        for (area, codes) in &knowledge.region_aliases {
            regions.insert(fold_phrase(area), codes.clone());
        }
        for (name, codes) in regions {
            names.insert(name, Name::Area(codes));
        }
        // Départements last: their names win over a région of the same name (Guadeloupe).
        for d in &knowledge.departements {
            for written in std::iter::once(&d.name).chain(&d.aliases) {
                let name = Name::Departement {
                    code: d.code.clone(),
                    common_word: d.common_word,
                };
                names.insert(fold_phrase(written), name);
            }
        }

        let mut communes: HashMap<String, Vec<(DepartementCode, u32)>> = HashMap::default();
        let mut postal: HashMap<String, Vec<(DepartementCode, u32)>> = HashMap::default();
        let add = |communes: &mut HashMap<String, Vec<(DepartementCode, u32)>>,
                   name: String,
                   code: &DepartementCode,
                   population: u32| {
            let entry = communes.entry(name).or_default();
            match entry.iter_mut().find(|(c, _)| c == code) {
                Some(existing) => existing.1 = existing.1.max(population),
                None => entry.push((code.clone(), population)),
            }
        };
        // A commune whose name is slang ("Job", "Boulot") reads as the word
        // it stands for ("travail"): it is an ordinary word, as "Sens" is.
        let mut place_words = knowledge.place_words.clone();
        let mut bare_names = HashSet::default();
        let mut full_names = HashSet::default();
        let mut short_names = Vec::new();
        for c in &knowledge.communes {
            // Folded once, then the slang table (35,000 names: this is most
            // of the places' build time).
            let folded = crate::text::fold_phrase(&c.name);
            let folded = match slang.expand_folded(&folded) {
                Some(expanded) if expanded != folded => {
                    place_words.insert(expanded.clone());
                    expanded
                }
                _ => folded,
            };
            full_names.insert(folded.clone());
            // "Le Havre" is also "au Havre": keep the name without its article
            // for towns big enough that the bare name means them.
            if let Some((article, rest)) = folded.split_once(' ') {
                if ["le", "la", "les", "l"].contains(&article) && c.population >= 10_000 {
                    bare_names.insert(rest.to_string());
                    add(
                        &mut communes,
                        rest.to_string(),
                        &c.departement,
                        c.population,
                    );
                }
            }
            if c.population >= TOWN {
                if let Some(short) = short_name(&folded) {
                    short_names.push((short, &c.departement, c.population));
                }
            }
            add(&mut communes, folded, &c.departement, c.population);
            for p in &c.postal_codes {
                let entry = postal.entry(p.clone()).or_default();
                match entry.iter_mut().find(|(code, _)| code == &c.departement) {
                    Some(existing) => existing.1 += c.population,
                    None => entry.push((c.departement.clone(), c.population)),
                }
            }
        }
        // "Châlons" is Châlons-en-Champagne, "Carhaix" Carhaix-Plouguer,
        // "Clermont" Clermont-Ferrand (147,000 people) rather than Clermont
        // (Oise, 10,000). A short name never stands for a town when it is an
        // ordinary word ("La Ville", "Grande"), a département or région
        // ("Loire"), or the whole name of a commune of comparable size
        // ("Chartres" stays Chartres, not Chartres-de-Bretagne).
        let short_names: Vec<_> = short_names
            .into_iter()
            .filter(|(short, _, population)| {
                !place_words.contains(short)
                    && !names.contains_key(short)
                    && communes.get(short).is_none_or(|full| {
                        full.iter()
                            .all(|(_, p)| p.saturating_mul(OBVIOUS_RATIO) <= *population)
                    })
            })
            .collect();
        for (short, code, population) in short_names {
            add(&mut communes, short, code, population);
        }
        // "Port" is Le Port only when no commune is named just that.
        bare_names.retain(|name| !full_names.contains(name));
        for homonyms in communes.values_mut() {
            homonyms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        let postal = postal
            .into_iter()
            .map(|(code, mut deps)| {
                deps.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                (code, deps.into_iter().map(|(d, _)| d).collect())
            })
            .collect();
        PlaceFinder {
            names,
            communes,
            postal,

            place_words,
            bare_names,
        }
    }

    /// The place a message names, if any.
    pub fn find(&self, message: &Normalized) -> Option<PlaceReading> {
        let words = &message.words;
        let mut sightings = Vec::new();
        let mut positions = Vec::new();
        let mut i = 0;
        while i < words.len() {
            if let Some((sighting, used)) = self
                .number_at(words, i)
                .or_else(|| self.name_at(words, &message.sentences, i))
            {
                sightings.push(sighting);
                positions.extend(i..i + used);
                i += used;
            } else {
                i += 1;
            }
        }
        let mut reading = reconcile(sightings)?;
        reading.positions = positions;
        Some(reading)
    }

    fn number_at(&self, words: &[String], i: usize) -> Option<(Sighting, usize)> {
        let word = words[i].as_str();
        if !word.bytes().next()?.is_ascii_digit() {
            return None;
        }
        let prev = i.checked_sub(1).map(|p| words[p].as_str());
        let next = words.get(i + 1).map(String::as_str);
        let is_number = |w: Option<&str>| w.is_some_and(is_number);
        // "le 21 du mois", "le 14 de ce mois": a date.
        let after_next = words.get(i + 2).map(String::as_str);
        let dated = next.is_some_and(|n| ["du", "de", "d"].contains(&n))
            && after_next.is_some_and(|w| NUMBER_BLOCKERS.contains(&w) || w == "ce");
        if dated
            || next.is_some_and(|n| NUMBER_BLOCKERS.contains(&n))
            || prev.is_some_and(|p| PHONE_CUES.contains(&p))
        {
            return None;
        }
        // Pairs of digits in a row are a phone number ("01 48 06 42 41").
        if is_number(prev) || is_number(next) {
            if word == "9" && next == Some("3") && prev.is_some_and(|p| CODE_CUES.contains(&p)) {
                let code = DepartementCode::parse("93")?;
                return Some((certain(4, code, "9 3", "code"), 2));
            }
            return None;
        }
        if word.len() == 5 && word.bytes().all(|b| b.is_ascii_digit()) {
            let codes = self.postal.get(word)?.clone();
            let certain = codes.len() == 1;
            let sighting = Sighting {
                strength: 5,
                codes,
                certain,
                text: word.to_string(),
                rule: "postal code",
            };
            return Some((sighting, 1));
        }
        let code = match word.len() {
            1 if prev.is_some_and(|p| ["departement", "dep", "dept", "dpt"].contains(&p)) => {
                DepartementCode::parse(&format!("0{word}"))
            }
            2 | 3 => DepartementCode::parse(word),
            _ => None,
        }?;
        // 15, 17 and 18 are also the emergency numbers: "le 17" is the police,
        // "dans le 17" is Charente-Maritime.
        let emergency_number = ["15", "17", "18"].contains(&code.as_str());
        let before_prev = i.checked_sub(2).map(|p| words[p].as_str());
        let cued = if emergency_number {
            prev.is_some_and(|p| STRICT_CODE_CUES.contains(&p))
                || (prev == Some("le")
                    && before_prev.is_some_and(|p| STRICT_CODE_CUES.contains(&p)))
        } else {
            prev.is_some_and(|p| CODE_CUES.contains(&p))
        };
        let alone = words
            .iter()
            .enumerate()
            .all(|(j, w)| j == i || CODE_ONLY_FILLER.contains(&w.as_str()));
        if cued || alone {
            return Some((certain(4, code, word, "code"), 1));
        }
        None
    }

    fn name_at(&self, words: &[String], sentences: &[u32], i: usize) -> Option<(Sighting, usize)> {
        let prev = i.checked_sub(1).map(|p| words[p].as_str());
        // A name never runs on into the next sentence ("à Saint-Cyr. L'école
        // minimise" is not Saint-Cyr-l'École).
        let in_sentence = sentences[i..]
            .iter()
            .take_while(|&&s| s == sentences[i])
            .count();
        let longest = MAX_NAME_WORDS.min(in_sentence);
        for n in (1..=longest).rev() {
            let phrase = words[i..i + n].join(" ");
            if let Some(name) = self.names.get(&phrase) {
                match name {
                    Name::Departement { code, common_word } => {
                        if !common_word || introduced_as_place(words, i, n) {
                            // "de Vienne" is the town (38) or the département
                            // (86); "dans la Vienne" is only the département.
                            let own_article =
                                prev.is_some_and(|p| ["le", "la", "l", "les", "en"].contains(&p));
                            if let Some(town) = self.namesake_town(&phrase, code) {
                                if !own_article {
                                    let sighting = Sighting {
                                        strength: 3,
                                        codes: vec![code.clone(), town],
                                        certain: false,
                                        text: phrase,
                                        rule: "département or commune",
                                    };
                                    return Some((sighting, n));
                                }
                            }
                            return Some((
                                certain(4, code.clone(), &phrase, "département name"),
                                n,
                            ));
                        }
                    }
                    Name::Area(codes) => {
                        // "Cherbourg" (one département) is as sure as a town;
                        // "le centre" (a région) is the weakest reading.
                        let sighting = Sighting {
                            strength: if codes.len() == 1 { 3 } else { 1 },
                            codes: codes.clone(),
                            certain: codes.len() == 1,
                            text: phrase,
                            rule: "région",
                        };
                        return Some((sighting, n));
                    }
                }
            }
            if let Some(homonyms) = self.communes.get(&phrase) {
                let before_prev = i.checked_sub(2).map(|p| words[p].as_str());
                let next = words.get(i + n).map(String::as_str);
                let after_next = words.get(i + n + 1).map(String::as_str);
                // "aux paris sportifs", "des paris en ligne": the word, not the city.
                let as_word = prev.is_some_and(|p| POSSESSIVES_AND_PLURALS.contains(&p))
                    || next.is_some_and(|w| NOUN_FOLLOWERS.contains(&w))
                    || (next == Some("en") && after_next == Some("ligne"))
                    // "des sites de paris", "au sens de la loi"
                    || (matches!(prev, Some("de" | "d"))
                        && before_prev.is_some_and(|p| WORD_HEADS.contains(&p)))
                    || (prev == Some("au") && matches!(next, Some("de" | "du" | "d" | "des")));
                if as_word && self.place_words.contains(&phrase) {
                    continue;
                }
                if let Some(sighting) = self.commune(&phrase, n, homonyms, prev, before_prev) {
                    return Some((sighting, n));
                }
            }
        }
        None
    }

    /// The biggest town of another département named like this département,
    /// when it is a town of its own (Vienne, 38, for the Vienne, 86).
    fn namesake_town(
        &self,
        phrase: &str,
        departement: &DepartementCode,
    ) -> Option<DepartementCode> {
        self.communes
            .get(phrase)?
            .iter()
            .find(|(code, population)| code != departement && *population >= TOWN_OF_ITS_OWN)
            .map(|(code, _)| code.clone())
    }

    fn commune(
        &self,
        phrase: &str,
        words: usize,
        homonyms: &[(DepartementCode, u32)],
        prev: Option<&str>,
        before_prev: Option<&str>,
    ) -> Option<Sighting> {
        let biggest = homonyms.first()?.1;
        // A name that is an ordinary word ("Sens", "Vue") or only small words.
        let common = self.place_words.contains(phrase)
            || phrase.split(' ').all(|w| FRENCH_STOP_WORDS.contains(&w));
        // "de" after "je viens", "je suis", "originaire" introduces a place.
        let origin = matches!(prev, Some("de" | "d"))
            && before_prev.is_some_and(|p| ORIGIN_VERBS.contains(&p) || PLACE_NOUNS.contains(&p));
        let strong_cue = origin || prev.is_some_and(|p| STRONG_CUES.contains(&p));
        let weak_cue = prev.is_some_and(|p| WEAK_CUES.contains(&p));
        let partitive = prev.is_some_and(|p| ["du", "des"].contains(&p));
        // "à l'hôpital", "à la plage": a word with its article is that word,
        // unless the town is big enough to be the obvious reading.
        let article = ["l ", "le ", "la ", "les "]
            .iter()
            .any(|a| phrase.starts_with(a));
        // "a" is also the verb ("il a eu"): a short name that is a word ("Eu",
        // "Y", "Bar") needs a cue that can only introduce a place.
        let short = phrase.len() < 4;
        let place_cue = prev.is_some_and(|p| {
            [
                "habite", "habites", "habitons", "habitez", "vis", "vit", "vivons", "ville",
                "commune",
            ]
            .contains(&p)
        });
        let accepted = if common && self.bare_names.contains(phrase) {
            // "au Havre", "du Port": a common word stands for a town named
            // with its article only after the article fused with "à" or "de"
            // ("de garde" is not La Garde).
            place_cue
                || (prev.is_some_and(|p| ["au", "aux", "du", "des"].contains(&p))
                    && biggest >= TOWN)
        } else if common && short {
            // "à Gap" is the town; "il a eu" is not Eu.
            place_cue || (strong_cue && biggest >= BIG_CITY)
        } else if common && article {
            // "nous habitons le Pas-de-Calais" is not Le Pas (53, 300 people).
            // "à l'Étang-Salé": three words with their article are rarely a phrase.
            (place_cue && biggest >= VILLAGE)
                || ((strong_cue || weak_cue) && biggest >= BIG_CITY)
                || (strong_cue && words >= 3 && biggest >= TOWN)
        } else if common && words < 3 {
            // "ça a du sens" is not Sens: a town named without an article
            // never follows "du" or "des".
            (strong_cue && biggest >= TOWN) || (weak_cue && !partitive && biggest >= BIG_CITY)
        } else if common {
            // Three ordinary words in a row that make a town's name
            // ("depuis Pointe-à-Pitre") are rarely anything else.
            (strong_cue || weak_cue) && biggest >= TOWN
        } else {
            // A name that is no word is a place after any cue ("pas loin
            // de Salbris", "au collège de Mondoubleau").
            biggest >= BIG_CITY
                || (strong_cue && (biggest >= VILLAGE || words > 1))
                || (weak_cue && biggest >= VILLAGE)
        };
        if !accepted {
            return None;
        }
        let second = homonyms.get(1).map_or(0, |h| h.1);
        // An overseas town is not the obvious reading of a name that a town
        // of its own elsewhere also bears: people elsewhere rarely mean it
        // ("Saint-Pierre": La Réunion or Martinique; "Valence" is the Drôme's).
        let overseas = homonyms[0].0.as_str().starts_with("97");
        let obvious = homonyms.len() == 1
            || (biggest >= TOWN_OF_ITS_OWN
                && !(overseas && second >= TOWN_OF_ITS_OWN)
                && biggest >= second.saturating_mul(OBVIOUS_RATIO));
        let mut codes: Vec<DepartementCode> = if obvious {
            vec![homonyms[0].0.clone()]
        } else {
            // Villages ten times smaller than the town are not what anyone
            // means, unless they are towns of their own ("Saint-Pierre": La
            // Réunion or Martinique, not the Bas-Rhin's 600 people).
            homonyms
                .iter()
                .filter(|(_, population)| {
                    population.saturating_mul(HAMLET_RATIO) >= biggest
                        || *population >= TOWN_OF_ITS_OWN
                })
                .take(MAX_CANDIDATES)
                .map(|(c, _)| c.clone())
                .collect()
        };
        // Only hamlets beside it: the town is the obvious reading.
        let mut obvious = obvious || codes.len() == 1;
        // "à Vienne": the town, or the département named like it.
        if let Some(Name::Departement { code, .. }) = self.names.get(phrase) {
            if !codes.contains(code) && self.namesake_town(phrase, code).is_some() {
                codes.insert(0, code.clone());
                obvious = false;
            }
        }
        // A name that is also a word is weaker evidence than a name that is
        // only a name ("au port, je suis sur Dunkerque" is Dunkerque), and
        // "j'habite" makes any name stronger ("chez son père à Bordeaux,
        // nous habitons Lille" is Lille).
        let strength = u8::from(obvious) + 2 + u8::from(place_cue) - u8::from(common);
        Some(Sighting {
            strength,
            certain: obvious,
            codes,
            text: phrase.to_string(),
            rule: "commune",
        })
    }
}

/// Words where a commune's name can be cut, keeping what comes before
/// ("Boulogne-sur-Mer", "Saint-Dié-des-Vosges", "Mantes-la-Jolie").
const NAME_CUTS: &[&str] = &[
    "sur", "sous", "en", "les", "lez", "le", "la", "l", "de", "du", "des", "d", "aux", "au", "et",
    "a",
];

/// The first part of a town's name that people say alone: the words before
/// the first [`NAME_CUTS`] word ("chalons" for "chalons en champagne"), the
/// first of two words ("carhaix" for "carhaix plouguer"), or the first two of
/// a saint's three ("saint amand" for "saint amand montrond"). Never a bare
/// article or "saint", never a word of three letters or fewer.
/// `scripts/build-place-words.py` applies the same rule, to list the short
/// names that are also ordinary words.
fn short_name(folded: &str) -> Option<String> {
    let words: Vec<&str> = folded.split(' ').collect();
    let start = if ["le", "la", "les", "l"].contains(&words[0]) {
        2
    } else {
        1
    };
    let cut = (start..words.len())
        .find(|&i| NAME_CUTS.contains(&words[i]))
        .or(match words.as_slice() {
            [_, _] if start == 1 => Some(1),
            ["saint" | "sainte", _, _] => Some(2),
            _ => None,
        })?;
    let short = &words[..cut];
    let too_short = match short {
        [one] => one.len() < 4 || ["saint", "sainte", "saints", "saintes"].contains(one),
        _ => false,
    };
    (!too_short && !short.iter().all(|w| NAME_CUTS.contains(w))).then(|| short.join(" "))
}

/// Whether a name that is also a word stands as a place here: after an
/// article or preposition ("dans le Nord", "dans les Vosges"), and not
/// followed by what makes it the word ("la somme de", "les paris sportifs").
fn introduced_as_place(words: &[String], i: usize, n: usize) -> bool {
    let at = |j: Option<usize>| j.and_then(|j| words.get(j)).map(String::as_str);
    let prev = at(i.checked_sub(1));
    let before_prev = at(i.checked_sub(2));
    let next = at(Some(i + n));
    let introduced = ARTICLES.contains(&words[i].as_str())
        || prev.is_some_and(|p| ARTICLES.contains(&p))
        || (prev.is_some_and(|p| PLURAL_ARTICLES.contains(&p))
            && before_prev.is_some_and(|p| ARTICLES.contains(&p)));
    let headed =
        matches!(prev, Some("de" | "d")) && before_prev.is_some_and(|p| WORD_HEADS.contains(&p));
    // "à la Réunion en ce moment" is the island, "paris en ligne" the bets.
    let for_now = next == Some("en") && at(Some(i + n + 1)) == Some("ce");
    introduced && !headed && (for_now || !next.is_some_and(|w| WORD_FOLLOWERS.contains(&w)))
}

fn certain(strength: u8, code: DepartementCode, text: &str, rule: &'static str) -> Sighting {
    Sighting {
        strength,
        codes: vec![code],
        certain: true,
        text: text.to_string(),
        rule,
    }
}

/// Takes the strongest reading, narrowed by the others where they agree
/// ("Saint-Denis, à la Réunion" is 974).
fn reconcile(mut sightings: Vec<Sighting>) -> Option<PlaceReading> {
    // Stable sort: among equals, the first mentioned leads.
    sightings.sort_by_key(|s| std::cmp::Reverse(s.strength));
    let mut best = sightings.first()?.clone();
    if !best.certain {
        for other in &sightings[1..] {
            let others: BTreeSet<&DepartementCode> = other.codes.iter().collect();
            let narrowed: Vec<DepartementCode> = best
                .codes
                .iter()
                .filter(|c| others.contains(c))
                .cloned()
                .collect();
            if !narrowed.is_empty() {
                best.certain = narrowed.len() == 1;
                best.codes = narrowed;
            }
        }
    }
    Some(if best.certain {
        PlaceReading {
            department: best.codes.first().cloned(),
            candidates: Vec::new(),
            text: best.text,
            rule: best.rule,
            positions: Vec::new(),
        }
    } else {
        PlaceReading {
            department: None,
            candidates: best.codes,
            text: best.text,
            rule: best.rule,
            positions: Vec::new(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::short_name;

    #[test]
    fn short_names_are_the_part_people_say() {
        for (full, short) in [
            ("chalons en champagne", Some("chalons")),
            ("saint die des vosges", Some("saint die")),
            ("la roche sur yon", Some("la roche")),
            ("carhaix plouguer", Some("carhaix")),
            ("saint amand montrond", Some("saint amand")),
            ("l isle d abeau", Some("l isle")),
            ("saint jean de luz", Some("saint jean")),
            // Never an article, "saint" or a word of three letters.
            ("les abymes", None),
            ("sainte anne", None),
            ("vic le comte", None),
            ("blois", None),
        ] {
            assert_eq!(short_name(full).as_deref(), short, "{full}");
        }
    }
}
