//! The whole journey as transcripts, on the example roster (`config/bot.toml`)
//! with a moved clock: hand-off in a permanence, the queue outside one,
//! overseas time, danger at 3 a.m., transfer, time-out, `/oubli`, scope, a
//! restart in the middle of a hand-off, the retention purge.
//!
//! November in Paris is UTC+1; 2026-11-24 is a Tuesday.

mod common;

use common::{person, shows, staff, Transcript};
use promeneur_bot::engine::{Outbound, Stage};
use promeneur_bot::store::{MemoryStore, SqliteStore, Store};

#[test]
fn in_a_permanence_a_young_person_is_handed_to_an_identified_promeneur() {
    // Tuesday 15:00 in Blois: Camille is on duty (mon-fri 14-18), Karim is not.
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-24T14:00:00Z");
    let first = t.young(
        "lina",
        "slt jcherche un apprentissage en cuisine, jsuis a Blois",
    );
    assert!(first[0].starts_with(
        "🤖 bot : Bonjour ! Je suis le bot des Promeneurs du Net : un programme, pas un humain."
    ));
    assert!(
        shows(&first, "/oubli"),
        "the welcome says how to erase: {first:?}"
    );
    assert!(
        shows(&first, "30 jours"),
        "the welcome says how long data is kept"
    );
    assert!(
        shows(&first, "montrer ton premier message"),
        "only the consent is asked: {first:?}"
    );

    let card = t.young("lina", "oui");
    assert!(
        shows(
            &card,
            "Camille — animatrice jeunesse, MJC de Blois — Promeneur du Net, Loir-et-Cher (41)"
        ),
        "{card:?}"
    );
    assert!(shows(
        &card,
        "Photo : https://example.org/promeneurs/camille.jpg"
    ));
    assert!(shows(&card, "c'est encore moi, le bot, qui réponds"));

    let notice = t.screen(&staff("camille-41"));
    assert!(
        shows(&notice, "Nouvelle demande pour toi : Demande n°1"),
        "{notice:?}"
    );
    assert!(shows(&notice, "thème : Orientation, études et emploi"));
    assert!(
        shows(
            &notice,
            "« slt jcherche un apprentissage en cuisine, jsuis a Blois »"
        ),
        "consented first message"
    );
    assert!(shows(&notice, "/prendre 1"));

    let brief = t.promeneur("camille-41", "/prendre 1");
    assert!(shows(&brief, "Tu as pris la conversation n°1"), "{brief:?}");
    let told = t.screen(&person("lina"));
    assert!(shows(&told, "Camille a pris ta demande. À partir de maintenant, c'est Camille, une personne et pas le bot, qui te répond."));

    t.clear();
    t.promeneur("camille-41", "Bonjour Lina ! Quel niveau d'études as-tu ?");
    let seen = t.screen(&person("lina"));
    assert_eq!(
        seen,
        vec!["👤 Camille (animatrice jeunesse, MJC de Blois) — Promeneur du Net, humain : Bonjour Lina ! Quel niveau d'études as-tu ?"]
    );
    t.young("lina", "je suis en 3e");
    assert_eq!(
        t.screen(&staff("camille-41")),
        vec!["💬 personne n°1 : je suis en 3e"]
    );

    let closed = t.promeneur("camille-41", "/fermer 1");
    assert!(shows(&closed, "Conversation n°1 close."));
    assert!(shows(
        &t.screen(&person("lina")),
        "Camille a clos la conversation."
    ));
    let again = t.young("lina", "re");
    assert!(
        shows(&again, "Bonjour !"),
        "a new message after close starts afresh"
    );
}

#[test]
fn a_parent_is_answered_with_vous_and_without_consent_the_message_stays_private() {
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-24T14:00:00Z");
    let first = t.young(
        "parent",
        "Bonjour, ma fille de 15 ans passe ses nuits sur les jeux vidéo, nous habitons dans le Loir-et-Cher. Que faire ?",
    );
    assert!(shows(&first, "Je vous aide"), "vouvoiement: {first:?}");
    assert!(shows(&first, "puis-je montrer votre premier message"));
    let unclear = t.young("parent", "je ne sais pas trop");
    assert!(
        shows(&unclear, "Je n'ai pas compris : répondez « oui »"),
        "{unclear:?}"
    );
    let card = t.young("parent", "non merci");
    assert!(shows(&card, "Je vous présente"), "{card:?}");
    let notice = t.screen(&staff("camille-41"));
    assert!(shows(&notice, "un parent"));
    assert!(
        !shows(&notice, "jeux vidéo"),
        "no consent, no message body: {notice:?}"
    );
}

#[test]
fn only_what_is_missing_is_asked_and_answers_are_remembered() {
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-24T14:00:00Z");
    let first = t.young("zoe", "salut");
    assert!(shows(&first, "de quoi veux-tu parler ?"), "{first:?}");
    assert!(shows(&first, "6. Orientation, études et emploi"));
    let asked = t.young("zoe", "6");
    assert!(
        shows(&asked, "Dans quel département habites-tu ?"),
        "{asked:?}"
    );
    let again = t.young("zoe", "euh");
    assert!(
        shows(&again, "Je n'ai pas reconnu de département"),
        "{again:?}"
    );
    // A bare town is read as the answer to the question.
    let ambiguous = t.young("zoe", "Saint-Denis");
    assert!(
        shows(&ambiguous, "Ce lieu existe dans plusieurs départements"),
        "{ambiguous:?}"
    );
    assert!(shows(&ambiguous, "La Réunion (974)"));
    // Tuesday 15:00 in Paris is 18:00 in La Réunion: Maëva's permanences are over.
    let answer = t.young("zoe", "974");
    assert!(
        shows(
            &answer,
            "Aucun Promeneur du Net de ton département (La Réunion, 974) n'est disponible"
        ),
        "{answer:?}"
    );
    assert!(
        shows(&answer, "demain à 8 h (heure locale)"),
        "next permanence in local time: {answer:?}"
    );
}

#[test]
fn outside_a_permanence_the_request_waits_and_the_first_promeneur_on_duty_gets_it() {
    // Saturday 21 November, 13:00 in Paris: Karim's Saturday slot (10-12) is over.
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-21T12:00:00Z");
    t.young(
        "sam",
        "on se moque de moi tous les jours au college a Vendome, ça devient insupportable",
    );
    let answer = t.young("sam", "oui");
    assert!(
        shows(
            &answer,
            "Aucun Promeneur du Net de ton département (Loir-et-Cher, 41) n'est disponible en ce moment."
        ),
        "{answer:?}"
    );
    assert!(
        shows(&answer, "La prochaine permanence commence lundi à 14 h."),
        "{answer:?}"
    );
    assert!(shows(&answer, "3018"), "the theme's resources: {answer:?}");
    assert!(
        shows(&answer, "(ouvert maintenant"),
        "what is open now is said: {answer:?}"
    );
    let notify = t.young("sam", "/prevenir");
    assert!(shows(
        &notify,
        "je te préviens ici dès qu'un Promeneur est là"
    ));
    let kept = t.young("sam", "c'est surtout dans le bus");
    assert!(
        shows(&kept, "je transmets ce message au Promeneur"),
        "{kept:?}"
    );

    // Queue as seen by Karim, and nothing offered before Monday 14:00.
    assert!(shows(&t.promeneur("karim-41", "/file"), "Demande n°1"));
    t.at("2026-11-23T12:59:00Z");
    t.tick();
    assert!(!shows(&t.screen(&staff("camille-41")), "Nouvelle demande"));

    t.at("2026-11-23T13:00:30Z");
    t.clear();
    t.tick();
    let told = t.screen(&person("sam"));
    assert!(
        shows(&told, "Tu m'avais demandé de te prévenir"),
        "{told:?}"
    );
    assert!(shows(&told, "Camille"));
    let brief = t.promeneur("camille-41", "/prendre 1");
    assert!(
        shows(&brief, "Message en attente : « c'est surtout dans le bus »"),
        "{brief:?}"
    );
    let c = t
        .engine
        .store()
        .conversation(promeneur_bot::engine::ConversationId(1))
        .unwrap()
        .unwrap();
    assert!(
        c.first_message.is_none() && c.waiting_messages.is_empty(),
        "bodies dropped once handed over"
    );
}

#[test]
fn a_manual_duty_switch_overrides_the_permanences_until_midnight() {
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-21T12:00:00Z");
    t.young(
        "sam",
        "je veux arrêter de fumer des joints, je suis à Blois",
    );
    t.young("sam", "non");
    let on = t.promeneur("karim-41", "/permanence on");
    assert!(shows(&on, "Tu es de permanence"), "{on:?}");
    assert!(
        shows(&on, "Nouvelle demande pour toi"),
        "the queue is offered at once: {on:?}"
    );
    let off = t.promeneur("karim-41", "/permanence off");
    assert!(shows(&off, "Tu n'es pas de permanence"));
    // Next day, the switch has expired: the permanences decide again.
    t.at("2026-11-22T09:00:00Z");
    assert!(shows(
        &t.promeneur("karim-41", "/permanence"),
        "Tu n'es pas de permanence"
    ));
}

#[test]
fn danger_at_3am_gets_the_emergency_lines_first_whoever_is_on_duty() {
    // Sunday 03:00 in Paris: nobody on duty anywhere.
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-22T02:00:00Z");
    let out = t.young(
        "noa",
        "j'en peux plus je veux mourir ce soir, j'habite dans le 41",
    );
    assert!(
        out[0].starts_with("🤖 bot : ⚠️"),
        "the lines come first: {out:?}"
    );
    assert!(out[0].contains("3114"), "{out:?}");
    assert!(out[0].contains("24 h/24"));
    assert!(
        !shows(&out, "Réponds oui ou non"),
        "no question holds up an urgent hand-off"
    );
    assert!(
        shows(
            &out,
            "Aucun Promeneur du Net de ton département (Loir-et-Cher, 41)"
        ),
        "{out:?}"
    );
    assert!(shows(
        &out,
        "les lignes d'urgence ci-dessus répondent maintenant"
    ));

    // Without a département, the lines still come first, then the question.
    let other = t.young("eli", "jveux en finir, personne me comprend");
    assert!(other[0].contains("3114"), "{other:?}");
    assert!(
        shows(&other, "Dans quel département habites-tu ?"),
        "{other:?}"
    );

    // An urgent request jumps the queue when someone comes on duty.
    t.young("tom", "je cherche un stage de 3e à Blois");
    t.young("tom", "oui");
    t.at("2026-11-23T13:00:30Z");
    t.tick();
    let camille = t.screen(&staff("camille-41"));
    let first_offer = camille
        .iter()
        .find(|l| l.contains("Nouvelle demande"))
        .unwrap();
    assert!(first_offer.contains("URGENT"), "{camille:?}");
}

#[test]
fn an_offer_not_taken_in_time_goes_to_the_next_promeneur_and_the_coordinator_is_told() {
    // Tuesday 17:30 in Blois: Camille and Karim are both on duty.
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-24T16:30:00Z");
    t.young("ines", "mes parents se disputent tout le temps et je supporte plus l'ambiance à la maison, jsuis dans le 41");
    let card = t.young("ines", "oui");
    assert!(shows(&card, "Camille"), "{card:?}");
    t.at("2026-11-24T16:39:00Z");
    t.clear();
    t.tick();
    assert!(t.screen(&person("ines")).is_empty(), "not before the delay");
    t.at("2026-11-24T16:41:00Z");
    t.tick();
    let told = t.screen(&person("ines"));
    assert!(
        shows(&told, "Camille n'est pas disponible tout de suite"),
        "{told:?}"
    );
    assert!(shows(&told, "Karim — éducateur spécialisé"));
    assert!(shows(
        &t.screen(&staff("sophie-41")),
        "n'a pas été prise par Camille en 10 min : proposée à Karim"
    ));
    assert!(shows(&t.screen(&staff("karim-41")), "/prendre 1"));
}

#[test]
fn a_promeneur_transfers_with_a_note_to_a_colleague_or_a_departement() {
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-24T16:30:00Z");
    t.young(
        "ines",
        "je me suis fait voler mon compte insta et ils insultent mes potes, jsuis a Blois",
    );
    t.young("ines", "oui");
    t.promeneur("camille-41", "/prendre 1");
    t.clear();
    let done = t.promeneur(
        "camille-41",
        "/transferer 1 karim-41 elle a besoin d'un suivi régulier",
    );
    assert!(shows(&done, "transférée à Karim"), "{done:?}");
    assert!(shows(
        &t.screen(&person("ines")),
        "Ta demande est transmise à Karim"
    ));
    let karim = t.screen(&staff("karim-41"));
    assert!(
        shows(
            &karim,
            "Note de Camille : elle a besoin d'un suivi régulier"
        ),
        "{karim:?}"
    );
    assert!(shows(
        &t.promeneur("karim-41", "/prendre 1"),
        "Tu as pris la conversation n°1"
    ));

    // To another département: its staff room is told.
    t.clear();
    let moved = t.promeneur("karim-41", "/transferer 1 62 elle déménage à Arras");
    assert!(
        shows(&moved, "transférée à Pas-de-Calais (62)"),
        "{moved:?}"
    );
    let staff_room = t.sent.iter().any(|o| matches!(o, Outbound::Staff { departement, text, .. } if departement.as_str() == "62" && text.contains("elle déménage à Arras")));
    assert!(staff_room);
    let log = t.engine.store().audit_log().unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["take", "transfer", "take", "transfer"]);
}

#[test]
fn a_promeneur_acting_outside_their_scope_is_refused() {
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-24T14:00:00Z");
    t.young(
        "lina",
        "slt jcherche un apprentissage en cuisine, jsuis a Blois",
    );
    t.young("lina", "oui");
    for command in [
        "/prendre 1",
        "/fermer 1",
        "/note 1 test",
        "/transferer 1 62",
    ] {
        let refused = t.promeneur("thomas-62", command);
        assert!(
            shows(&refused, "Tu ne peux pas agir sur la conversation n°1"),
            "{command}: {refused:?}"
        );
    }
    // Someone not in the roster cannot run a Promeneur command at all.
    let stranger = t.young("intrus", "/prendre 1");
    assert_eq!(
        stranger,
        vec!["🤖 bot : Cette commande est réservée aux Promeneurs du Net inscrits sur ce service."]
    );
    let c = t
        .engine
        .store()
        .conversation(promeneur_bot::engine::ConversationId(1))
        .unwrap()
        .unwrap();
    assert_eq!(c.stage, Stage::Offered, "nothing changed");
    // Thomas cannot even see the 41 queue.
    assert_eq!(
        t.promeneur("thomas-62", "/file"),
        vec!["🤖 bot : La file est vide."]
    );
}

#[test]
fn oubli_erases_everything_after_a_confirmation() {
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-21T12:00:00Z");
    t.young(
        "sam",
        "mes parents divorcent et je sais pas chez qui aller, je suis a Blois",
    );
    t.young("sam", "oui");
    let asked = t.young("sam", "/oubli");
    assert!(shows(&asked, "Réponds OUI pour confirmer"), "{asked:?}");
    let cancelled = t.young("sam", "attends non");
    assert!(shows(&cancelled, "je n'efface rien"));
    assert_eq!(t.engine.store().count().unwrap(), 1);
    t.young("sam", "/oubli");
    let erased = t.young("sam", "oui");
    assert!(
        shows(&erased, "tout ce que j'avais gardé sur toi est effacé"),
        "{erased:?}"
    );
    assert_eq!(t.engine.store().count().unwrap(), 0);
    t.young("sam", "/oubli");
    assert!(shows(&t.young("sam", "oui"), "Je n'ai rien gardé sur toi"));
}

#[test]
fn stop_ends_the_conversation_and_tells_the_promeneur() {
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-24T14:00:00Z");
    t.young(
        "lina",
        "slt jcherche un apprentissage en cuisine, jsuis a Blois",
    );
    t.young("lina", "oui");
    t.promeneur("camille-41", "/prendre 1");
    let stopped = t.young("lina", "/stop");
    assert!(shows(&stopped, "Conversation terminée"));
    assert!(shows(
        &t.screen(&staff("camille-41")),
        "La conversation n°1 est terminée par la personne."
    ));
}

#[test]
fn a_departement_without_promeneurs_goes_to_its_fallback_or_to_national_lines() {
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-24T14:00:00Z");
    let tours = t.young(
        "yan",
        "je cherche une formation en alternance, j'habite à Tours",
    );
    assert!(shows(&tours, "montrer ton premier message"), "{tours:?}");
    let routed = t.young("yan", "oui");
    assert!(
        shows(
            &routed,
            "je transmets ta demande au réseau voisin (Loir-et-Cher, 41)"
        ),
        "{routed:?}"
    );
    assert!(shows(&routed, "Camille"), "{routed:?}");

    let lyon = t.young(
        "eva",
        "je cherche une formation en alternance, j'habite à Lyon",
    );
    assert!(shows(&lyon, "montrer ton premier message"));
    let national = t.young("eva", "oui");
    assert!(
        shows(
            &national,
            "Il n'y a pas encore de Promeneurs du Net de ton département (Rhône, 69)"
        ),
        "{national:?}"
    );
    assert!(shows(&national, "Tu peux aussi joindre dès maintenant"));
    let other = t.young("eva", "en fait je suis souvent dans le 62");
    assert!(
        !shows(&other, "Il n'y a pas encore"),
        "another département is tried: {other:?}"
    );
}

#[test]
fn a_restart_in_the_middle_of_a_hand_off_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bot.sqlite3");
    {
        let mut t = Transcript::new(SqliteStore::open(&file).unwrap(), "2026-11-24T14:00:00Z");
        t.young(
            "lina",
            "jcherche un apprentissage en cuisine, jsuis a Blois",
        );
        t.young("lina", "oui");
        t.young("lina", "je suis dispo le mercredi");
    }
    // A new process on the same file.
    let mut t = Transcript::new(SqliteStore::open(&file).unwrap(), "2026-11-24T14:05:00Z");
    let brief = t.promeneur("camille-41", "/prendre 1");
    assert!(
        shows(
            &brief,
            "« jcherche un apprentissage en cuisine, jsuis a Blois »"
        ),
        "{brief:?}"
    );
    assert!(shows(
        &brief,
        "Message en attente : « je suis dispo le mercredi »"
    ));
    t.promeneur("camille-41", "Salut !");
    assert!(shows(
        &t.screen(&person("lina")),
        "Camille (animatrice jeunesse, MJC de Blois) — Promeneur du Net, humain : Salut !"
    ));
    // The duty switch and the audit log survive too.
    t.promeneur("karim-41", "/permanence on");
    drop(t);
    let mut store = SqliteStore::open(&file).unwrap();
    assert!(store
        .duty_switch(&promeneur_bot::config::PromeneurId("karim-41".into()))
        .unwrap()
        .is_some());
    assert_eq!(store.audit_log().unwrap().len(), 2);
}

#[test]
fn the_retention_purge_deletes_what_is_older_than_the_period() {
    let mut t = Transcript::new(MemoryStore::new(), "2026-11-24T14:00:00Z");
    t.young(
        "lina",
        "jcherche un apprentissage en cuisine, jsuis a Blois",
    );
    t.young("lina", "oui");
    t.promeneur("camille-41", "/prendre 1");
    t.at("2026-12-20T14:00:00Z");
    t.young("mia", "jcherche un stage, jsuis a Blois");
    t.tick();
    assert_eq!(
        t.engine.store().count().unwrap(),
        2,
        "30 days have not passed"
    );
    t.at("2026-12-25T14:00:00Z");
    t.tick();
    assert_eq!(
        t.engine.store().count().unwrap(),
        1,
        "only the recent one stays"
    );
    assert!(
        t.engine.store().audit_log().unwrap().is_empty(),
        "old audit entries go too"
    );
}
