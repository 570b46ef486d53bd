//! The text commands every adapter exposes: the person's (`/aide`, `/oubli`,
//! `/stop`, `/prevenir`) and the Promeneurs' (`/permanence`, `/file`,
//! `/prendre`, `/transferer`, `/fermer`, `/note`, `/dire`, `/mes`), with
//! English aliases. Parsing only: who may run them is decided by the engine.

use super::ConversationId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonCommand {
    Help,
    Forget,
    Stop,
    Notify,
    /// A Promeneur command typed by someone not in the roster.
    StaffOnly,
    Unknown,
}

impl PersonCommand {
    /// `None` when the text is not a command at all.
    pub fn parse(text: &str) -> Option<PersonCommand> {
        let (name, _) = split_command(text)?;
        Some(match name.as_str() {
            "aide" | "help" | "start" => PersonCommand::Help,
            "oubli" | "oublie" | "forget" | "effacer" => PersonCommand::Forget,
            "stop" | "fin" | "quit" => PersonCommand::Stop,
            "prevenir" | "previens" | "previensmoi" | "notify" => PersonCommand::Notify,
            name if StaffCommand::is_name(name) => PersonCommand::StaffOnly,
            _ => PersonCommand::Unknown,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutySetting {
    On,
    Off,
    /// Back to the weekly permanences.
    Auto,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    Help,
    /// `None`: tell me where I stand.
    Duty(Option<DutySetting>),
    Queue,
    Mine,
    Take(Option<ConversationId>),
    Transfer {
        id: Option<ConversationId>,
        target: String,
        note: Option<String>,
    },
    Close(Option<ConversationId>),
    Note {
        id: Option<ConversationId>,
        text: String,
    },
    Say {
        id: Option<ConversationId>,
        text: String,
    },
    /// Right command, wrong arguments: how to write it.
    Usage(&'static str),
    Unknown,
}

pub const STAFF_HELP: &str = "Commandes des Promeneurs :
/permanence [on|off|auto] — voir ou changer ton état de permanence (alias /duty)
/file — la file d'attente de ton département (alias /queue)
/mes — tes conversations (alias /mine)
/prendre N — prendre la conversation N (alias /take)
/transferer N cible [note] — vers un Promeneur (son id) ou un département (alias /transfer)
/fermer N — clore la conversation N (alias /close)
/note N texte — note interne, jamais montrée à la personne
/dire N texte — écrire à la personne de la conversation N (alias /say) ; sans commande, ton message va à ta seule conversation en cours";

const NAMES: &[&str] = &[
    "permanence",
    "duty",
    "file",
    "queue",
    "mes",
    "mine",
    "prendre",
    "take",
    "transferer",
    "transfer",
    "fermer",
    "close",
    "note",
    "dire",
    "say",
];

impl StaffCommand {
    fn is_name(name: &str) -> bool {
        NAMES.contains(&name)
    }

    pub fn parse(text: &str) -> Option<StaffCommand> {
        let (name, rest) = split_command(text)?;
        let mut words = rest.split_whitespace();
        // A leading number is the conversation: "12", "n°12", "#12".
        let id = |word: Option<&str>| -> Option<ConversationId> {
            let word = word?.trim_start_matches("n°").trim_start_matches('#');
            word.parse::<i64>().ok().map(ConversationId)
        };
        Some(match name.as_str() {
            "aide" | "help" => StaffCommand::Help,
            "permanence" | "duty" => match words.next().map(|w| w.to_lowercase()) {
                None => StaffCommand::Duty(None),
                Some(w) => match w.as_str() {
                    "on" | "oui" | "debut" | "début" | "start" => {
                        StaffCommand::Duty(Some(DutySetting::On))
                    }
                    "off" | "non" | "fin" | "stop" => StaffCommand::Duty(Some(DutySetting::Off)),
                    "auto" => StaffCommand::Duty(Some(DutySetting::Auto)),
                    _ => StaffCommand::Usage(
                        "Écris /permanence on, /permanence off ou /permanence auto.",
                    ),
                },
            },
            "file" | "queue" => StaffCommand::Queue,
            "mes" | "mine" => StaffCommand::Mine,
            "prendre" | "take" => StaffCommand::Take(id(words.next())),
            "fermer" | "close" => StaffCommand::Close(id(words.next())),
            "transferer" | "transfer" => {
                let all: Vec<&str> = rest.split_whitespace().collect();
                let (id, tail) = match all.first().and_then(|w| id(Some(w))) {
                    Some(found) => (Some(found), &all[1..]),
                    None => (None, &all[..]),
                };
                match tail.split_first() {
                    Some((target, note)) => StaffCommand::Transfer {
                        id,
                        target: target.to_string(),
                        note: (!note.is_empty()).then(|| note.join(" ")),
                    },
                    None => StaffCommand::Usage("Écris /transferer N cible [note], la cible étant l'id d'un Promeneur (camille-41) ou un département (41)."),
                }
            }
            "note" | "dire" | "say" => {
                let trimmed = rest.trim_start();
                let first = trimmed.split_whitespace().next();
                let (id, body) = match id(first) {
                    Some(found) => (Some(found), trimmed[first.map_or(0, str::len)..].trim()),
                    None => (None, trimmed.trim()),
                };
                if body.is_empty() {
                    StaffCommand::Usage(if name == "note" {
                        "Écris /note N ton texte."
                    } else {
                        "Écris /dire N ton message."
                    })
                } else if name == "note" {
                    StaffCommand::Note {
                        id,
                        text: body.to_string(),
                    }
                } else {
                    StaffCommand::Say {
                        id,
                        text: body.to_string(),
                    }
                }
            }
            _ => StaffCommand::Unknown,
        })
    }
}

/// "/Prendre 12" → ("prendre", "12"); accents folded, so "/transférer" works.
fn split_command(text: &str) -> Option<(String, &str)> {
    let rest = text.trim_start().strip_prefix('/')?;
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let name = crate::text::fold_phrase(&rest[..end]).replace([' ', '-'], "");
    if name.is_empty() {
        return None;
    }
    Some((name, &rest[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_commands_parse_in_french_and_english() {
        assert_eq!(
            StaffCommand::parse("/prendre 12"),
            Some(StaffCommand::Take(Some(ConversationId(12))))
        );
        assert_eq!(
            StaffCommand::parse("/take #3"),
            Some(StaffCommand::Take(Some(ConversationId(3))))
        );
        assert_eq!(
            StaffCommand::parse("/transférer 4 lea-37 elle connaît bien le sujet"),
            Some(StaffCommand::Transfer {
                id: Some(ConversationId(4)),
                target: "lea-37".into(),
                note: Some("elle connaît bien le sujet".into())
            })
        );
        assert_eq!(
            StaffCommand::parse("/note 4 rappeler jeudi"),
            Some(StaffCommand::Note {
                id: Some(ConversationId(4)),
                text: "rappeler jeudi".into()
            })
        );
        assert_eq!(
            StaffCommand::parse("/permanence off"),
            Some(StaffCommand::Duty(Some(DutySetting::Off)))
        );
        assert_eq!(StaffCommand::parse("bonjour"), None);
        assert!(matches!(
            StaffCommand::parse("/transferer"),
            Some(StaffCommand::Usage(_))
        ));
    }

    #[test]
    fn a_person_typing_a_staff_command_is_told_it_is_for_staff() {
        assert_eq!(
            PersonCommand::parse("/prendre 3"),
            Some(PersonCommand::StaffOnly)
        );
        assert_eq!(PersonCommand::parse("/Oubli"), Some(PersonCommand::Forget));
        assert_eq!(
            PersonCommand::parse("/n'importe"),
            Some(PersonCommand::Unknown)
        );
        assert_eq!(PersonCommand::parse("pas une commande"), None);
    }
}
