//! What the bot says, in French: "tu" to a young person, "vous" to a parent.
//! Every sentence a person reads comes from here, so the voice stays one.
//! Nothing here decides anything.

use super::IdentityCard;
use crate::classify::Audience;
use crate::knowledge::{ChannelKind, Knowledge, Resource, ResourceId, ThemeId};
use chrono::{DateTime, Datelike, Timelike, Utc};

/// Picks the "tu" or the "vous" form of a sentence.
#[derive(Debug, Clone, Copy)]
pub struct Voice(pub Audience);

impl Voice {
    pub fn pick<'a>(self, tu: &'a str, vous: &'a str) -> &'a str {
        match self.0 {
            Audience::Jeune => tu,
            Audience::Parent => vous,
        }
    }
}

pub fn welcome(v: Voice, retention_days: i64) -> String {
    format!(
        "Bonjour ! Je suis le bot des Promeneurs du Net : un programme, pas un humain. {} \
         Les Promeneurs du Net sont des professionnels de la jeunesse (animateurs, éducateurs) de {}, \
         qui répondent eux-mêmes, à visage découvert. \
         Je garde seulement ce qu'il faut pour {} mettre en relation (thème, département, et {} premier message si {} d'accord), \
         {} jours au plus. Pour tout effacer maintenant : /oubli. Pour l'aide : /aide.",
        v.pick(
            "Je t'aide à trouver un Promeneur du Net qui peut t'écouter et t'orienter.",
            "Je vous aide à trouver un Promeneur du Net qui peut vous écouter et vous orienter."
        ),
        v.pick("ton département", "votre département"),
        v.pick("te", "vous"),
        v.pick("ton", "votre"),
        v.pick("tu es", "vous êtes"),
        retention_days
    )
}

pub fn help(v: Voice) -> String {
    format!(
        "Je suis un bot (pas un humain). {} \
         Commandes : /aide (ce message), /oubli (effacer toutes {} données), /stop (terminer la conversation). \
         En cas de danger immédiat : 112, ou 3114 si {} des idées de suicide, jour et nuit.",
        v.pick(
            "Écris ta question avec tes mots : je trouve le thème et ton département, et je te passe à un Promeneur du Net de ton département.",
            "Écrivez votre question avec vos mots : je trouve le thème et votre département, et je vous passe à un Promeneur du Net de votre département."
        ),
        v.pick("tes", "vos"),
        v.pick("tu as", "vous avez"),
    )
}

pub fn ask_departement(v: Voice) -> String {
    v.pick(
        "Dans quel département habites-tu ? Tu peux écrire son nom, son numéro, ton code postal ou ta ville.",
        "Dans quel département habitez-vous ? Vous pouvez écrire son nom, son numéro, votre code postal ou votre ville.",
    )
    .to_string()
}

pub fn ask_departement_again(v: Voice) -> String {
    v.pick(
        "Je n'ai pas reconnu de département. Écris par exemple « Loir-et-Cher », « 41 », « 41000 » ou « Blois ».",
        "Je n'ai pas reconnu de département. Écrivez par exemple « Loir-et-Cher », « 41 », « 41000 » ou « Blois ».",
    )
    .to_string()
}

pub fn ask_candidates(v: Voice, choices: &[(String, String)]) -> String {
    let list: Vec<String> = choices
        .iter()
        .enumerate()
        .map(|(i, (code, name))| format!("{}. {name} ({code})", i + 1))
        .collect();
    format!(
        "{}\n{}\n{}",
        v.pick(
            "Ce lieu existe dans plusieurs départements. Lequel est le tien ?",
            "Ce lieu existe dans plusieurs départements. Lequel est le vôtre ?"
        ),
        list.join("\n"),
        v.pick(
            "Réponds par le numéro de la liste ou le nom du département.",
            "Répondez par le numéro de la liste ou le nom du département."
        )
    )
}

pub fn ask_theme(v: Voice, themes: &[(ThemeId, String)]) -> String {
    let list: Vec<String> = themes
        .iter()
        .enumerate()
        .map(|(i, (_, label))| format!("{}. {label}", i + 1))
        .collect();
    format!(
        "{}\n{}\n{}",
        v.pick(
            "Pour te passer à la bonne personne : de quoi veux-tu parler ?",
            "Pour vous passer à la bonne personne : de quoi souhaitez-vous parler ?"
        ),
        list.join("\n"),
        v.pick(
            "Réponds par un numéro, ou explique avec tes mots.",
            "Répondez par un numéro, ou expliquez avec vos mots."
        )
    )
}

pub fn ask_consent(v: Voice) -> String {
    v.pick(
        "Dernière question : est-ce que je peux montrer ton premier message au Promeneur, pour qu'il sache déjà de quoi tu veux parler ? Réponds oui ou non.",
        "Dernière question : puis-je montrer votre premier message au Promeneur, pour qu'il sache déjà de quoi vous voulez parler ? Répondez oui ou non.",
    )
    .to_string()
}

pub fn ask_consent_again(v: Voice) -> String {
    v.pick(
        "Je n'ai pas compris : réponds « oui » (je montre ton premier message au Promeneur) ou « non » (il verra seulement le thème).",
        "Je n'ai pas compris : répondez « oui » (je montre votre premier message au Promeneur) ou « non » (il verra seulement le thème).",
    )
    .to_string()
}

pub fn danger(v: Voice, lines: &[&Resource], now: DateTime<Utc>) -> String {
    let mut text = v
        .pick(
            "⚠️ Ce que tu écris m'inquiète, et tu n'es pas seul·e. Tout de suite, à toute heure, tu peux joindre :",
            "⚠️ Ce que vous écrivez m'inquiète. Tout de suite, à toute heure, vous pouvez joindre :",
        )
        .to_string();
    for line in lines {
        text.push_str("\n• ");
        text.push_str(&resource_line(line, now));
    }
    text.push_str(v.pick(
        "\nSi tu es en danger immédiat, appelle le 112 (ou le 114 par SMS).",
        "\nEn cas de danger immédiat, appelez le 112 (ou le 114 par SMS).",
    ));
    text
}

pub fn danger_then_routing(v: Voice) -> String {
    v.pick(
        "Je cherche aussi un Promeneur du Net de ton département, en priorité.",
        "Je cherche aussi un Promeneur du Net de votre département, en priorité.",
    )
    .to_string()
}

pub fn offered(v: Voice, card: &IdentityCard) -> String {
    format!(
        "{}\n{}\n{}",
        v.pick(
            "Je te présente la personne qui va prendre ta demande :",
            "Je vous présente la personne qui va prendre votre demande :"
        ),
        card.text(),
        v.pick(
            &format!("{} va te répondre ici dès que possible. D'ici là, c'est encore moi, le bot, qui réponds.", card.first_name),
            &format!("{} va vous répondre ici dès que possible. D'ici là, c'est encore moi, le bot, qui réponds.", card.first_name),
        )
    )
}

pub fn reoffered(v: Voice, previous: &str, card: &IdentityCard) -> String {
    format!(
        "{previous} n'est pas disponible tout de suite. {}",
        offered(v, card)
    )
}

pub fn taken(v: Voice, card: &IdentityCard) -> String {
    format!(
        "{} a pris {} demande. À partir de maintenant, c'est {}, une personne et pas le bot, qui {} répond.\n{}",
        card.first_name,
        v.pick("ta", "votre"),
        card.first_name,
        v.pick("te", "vous"),
        card.text()
    )
}

pub fn nobody_on_duty(v: Voice, departement: &str, next: Option<String>, urgent: bool) -> String {
    // Département names take different articles ("du Rhône", "de La
    // Réunion"): they are given in brackets, never after "de".
    let mut text = format!(
        "Aucun Promeneur du Net de {} département ({departement}) n'est disponible en ce moment. ",
        v.pick("ton", "votre")
    );
    match next {
        Some(next) => text.push_str(&format!("La prochaine permanence commence {next}. ")),
        None => text.push_str("Je ne connais pas encore la date de la prochaine permanence. "),
    }
    text.push_str(v.pick(
        "Ta demande est gardée : le premier Promeneur qui arrive la reçoit. Écris /prevenir pour que je te prévienne dès que quelqu'un est là.",
        "Votre demande est gardée : le premier Promeneur qui arrive la reçoit. Écrivez /prevenir pour que je vous prévienne dès que quelqu'un est là.",
    ));
    if urgent {
        text.push_str(" En attendant, les lignes d'urgence ci-dessus répondent maintenant.");
    }
    text
}

pub fn resources(v: Voice, resources: &[&Resource], now: DateTime<Utc>) -> String {
    let mut text = v
        .pick(
            "Tu peux aussi joindre dès maintenant :",
            "Vous pouvez aussi joindre dès maintenant :",
        )
        .to_string();
    for resource in resources {
        text.push_str("\n• ");
        text.push_str(&resource_line(resource, now));
    }
    text
}

pub fn unserved(v: Voice, departement: &str) -> String {
    format!(
        "Il n'y a pas encore de Promeneurs du Net de {} département ({departement}) joignables par ce service. {}",
        v.pick("ton", "votre"),
        v.pick(
            "Voici des lignes nationales, gratuites, qui peuvent t'aider. Si tu veux essayer un autre département, écris-le moi.",
            "Voici des lignes nationales, gratuites, qui peuvent vous aider. Si vous voulez essayer un autre département, écrivez-le moi."
        )
    )
}

pub fn fallback(v: Voice, departement: &str, fallback: &str) -> String {
    format!(
        "Il n'y a pas de Promeneur du Net de {} département ({departement}) sur ce service : je transmets {} demande au réseau voisin ({fallback}).",
        v.pick("ton", "votre"),
        v.pick("ta", "votre")
    )
}

pub fn waiting_kept(v: Voice, first_name: Option<&str>) -> String {
    match first_name {
        Some(name) => format!(
            "C'est noté : je transmets ce message à {name} dès que {name} prend la conversation."
        ),
        None => v
            .pick(
                "C'est noté : je transmets ce message au Promeneur qui prendra ta demande.",
                "C'est noté : je transmets ce message au Promeneur qui prendra votre demande.",
            )
            .to_string(),
    }
}

pub fn notify_set(v: Voice) -> String {
    v.pick(
        "D'accord, je te préviens ici dès qu'un Promeneur est là.",
        "D'accord, je vous préviens ici dès qu'un Promeneur est là.",
    )
    .to_string()
}

pub fn notify_now(v: Voice) -> String {
    v.pick(
        "Tu m'avais demandé de te prévenir : un Promeneur du Net est là.",
        "Vous m'aviez demandé de vous prévenir : un Promeneur du Net est là.",
    )
    .to_string()
}

pub fn confirm_erase(v: Voice) -> String {
    v.pick(
        "Tu veux effacer tout ce que j'ai gardé sur toi (demandes, départements, messages en attente) ? C'est définitif. Réponds OUI pour confirmer, ou autre chose pour annuler.",
        "Vous voulez effacer tout ce que j'ai gardé sur vous (demandes, départements, messages en attente) ? C'est définitif. Répondez OUI pour confirmer, ou autre chose pour annuler.",
    )
    .to_string()
}

pub fn erased(v: Voice) -> String {
    v.pick(
        "C'est fait : tout ce que j'avais gardé sur toi est effacé. Tu peux réécrire quand tu veux.",
        "C'est fait : tout ce que j'avais gardé sur vous est effacé. Vous pouvez réécrire quand vous voulez.",
    )
    .to_string()
}

pub fn nothing_to_erase(v: Voice) -> String {
    v.pick(
        "Je n'ai rien gardé sur toi : il n'y a rien à effacer.",
        "Je n'ai rien gardé sur vous : il n'y a rien à effacer.",
    )
    .to_string()
}

pub fn erase_cancelled(v: Voice) -> String {
    v.pick(
        "D'accord, je n'efface rien. On continue.",
        "D'accord, je n'efface rien. Nous continuons.",
    )
    .to_string()
}

pub fn stopped(v: Voice, retention_days: i64) -> String {
    format!(
        "{} Ce que j'ai gardé sera effacé au plus tard dans {retention_days} jours, ou tout de suite avec /oubli.",
        v.pick(
            "Conversation terminée. Tu peux réécrire quand tu veux.",
            "Conversation terminée. Vous pouvez réécrire quand vous voulez."
        )
    )
}

pub fn closed_by(v: Voice, first_name: &str) -> String {
    format!(
        "{first_name} a clos la conversation. {}",
        v.pick(
            "Merci d'avoir écrit : tu peux revenir quand tu veux.",
            "Merci d'avoir écrit : vous pouvez revenir quand vous voulez."
        )
    )
}

pub fn transferred(v: Voice, to: &str) -> String {
    match v.0 {
        Audience::Jeune => format!("Ta demande est transmise à {to}, qui pourra mieux t'aider."),
        Audience::Parent => {
            format!("Votre demande est transmise à {to}, qui pourra mieux vous aider.")
        }
    }
}

pub fn unknown_command(v: Voice) -> String {
    v.pick(
        "Je ne connais pas cette commande. Tape /aide pour voir ce que je sais faire.",
        "Je ne connais pas cette commande. Tapez /aide pour voir ce que je sais faire.",
    )
    .to_string()
}

pub fn staff_only() -> String {
    "Cette commande est réservée aux Promeneurs du Net inscrits sur ce service.".to_string()
}

pub fn technical_problem(v: Voice) -> String {
    v.pick(
        "Désolé, j'ai un souci technique et je n'ai pas pu enregistrer ton message. Réessaie dans un instant. En cas de danger : 112, ou 3114 jour et nuit.",
        "Désolé, j'ai un souci technique et je n'ai pas pu enregistrer votre message. Réessayez dans un instant. En cas de danger : 112, ou 3114 jour et nuit.",
    )
    .to_string()
}

/// "3114, numéro national… : ☎ 3114 · https://3114.fr (ouvert maintenant, 24 h/24)".
pub fn resource_line(resource: &Resource, now: DateTime<Utc>) -> String {
    let mut channels: Vec<String> = Vec::new();
    for channel in &resource.channels {
        let shown = match channel.kind {
            ChannelKind::Phone => format!("☎ {}", channel.value),
            ChannelKind::Sms => format!("SMS {}", channel.value),
            ChannelKind::Chat => format!("tchat {}", channel.value),
            ChannelKind::App => format!("appli {}", channel.value),
            ChannelKind::Web | ChannelKind::Form => channel.value.clone(),
        };
        // The chat and the site are often the same address.
        if !channels.iter().any(|c| c.ends_with(&channel.value)) {
            channels.push(shown);
        }
    }
    let open = match resource.availability {
        crate::knowledge::Availability::Always => "24 h/24, 7 j/7",
        crate::knowledge::Availability::Web => "en ligne",
        crate::knowledge::Availability::Local => "horaires selon le lieu",
        crate::knowledge::Availability::Unknown => "horaires à vérifier",
        crate::knowledge::Availability::Scheduled => {
            if open_now(resource, now) {
                "ouvert maintenant"
            } else {
                "fermé en ce moment"
            }
        }
    };
    let mut line = if channels.is_empty() {
        format!("{} ({open}", resource.name)
    } else {
        format!("{} : {} ({open}", resource.name, channels.join(" · "))
    };
    if !resource.cost.is_empty() {
        line.push_str(", ");
        line.push_str(&resource.cost);
    }
    line.push(')');
    line
}

/// National lines keep Paris hours.
pub fn open_now(resource: &Resource, now: DateTime<Utc>) -> bool {
    let paris = now.with_timezone(&chrono_tz::Europe::Paris);
    resource.is_open(
        paris.weekday().num_days_from_monday() as u8,
        (paris.hour() * 60 + paris.minute()) as u16,
    )
}

/// The resources of a theme for this audience, the ones open now first.
pub fn theme_resources<'k>(
    knowledge: &'k Knowledge,
    theme: Option<&ThemeId>,
    audience: Audience,
    now: DateTime<Utc>,
) -> Vec<&'k Resource> {
    let ids: Vec<ResourceId> = match theme.and_then(|t| knowledge.theme(t.as_str())) {
        Some(theme) => theme.resources.clone(),
        None => knowledge
            .resources
            .iter()
            .filter(|r| r.emergency)
            .map(|r| r.id.clone())
            .collect(),
    };
    let mut found: Vec<&Resource> = ids
        .iter()
        .filter_map(|id| knowledge.resource(id))
        .filter(|r| {
            !matches!(
                (audience, r.audience),
                (Audience::Parent, crate::knowledge::ResourceAudience::Jeune)
                    | (Audience::Jeune, crate::knowledge::ResourceAudience::Parent)
            )
        })
        .collect();
    // Stable: the knowledge base's order stays within "open" and "closed".
    found.sort_by_key(|r| !open_now(r, now));
    found.truncate(4);
    found
}
