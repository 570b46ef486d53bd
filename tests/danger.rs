//! Danger signals: every kind of danger is flagged, whatever the spelling;
//! a message that only names a topic is not.

mod common;

fn signals(text: &str) -> Vec<String> {
    common::classifier()
        .danger(text)
        .into_iter()
        .map(|h| h.signal)
        .collect()
}

/// Fails on the first of `texts` that raises a danger.
fn assert_no_danger(texts: &[&str]) {
    for text in texts {
        assert!(signals(text).is_empty(), "{text}: {:?}", signals(text));
    }
}

/// Fails on the first text that does not raise its signal, or is not urgent.
fn assert_flagged(cases: &[(&str, &str)]) {
    for (text, signal) in cases {
        let found = signals(text);
        assert!(
            found.iter().any(|s| s == signal),
            "{text}: expected {signal}, found {found:?}"
        );
        assert!(common::classifier().classify(text).urgent, "{text}");
    }
}

#[test]
fn every_kind_of_danger_is_flagged_with_its_lines() {
    let cases = [
        ("jveux mourir", "suicide"),
        ("g envie d'en finir ce soir", "suicide"),
        ("je pense a me suicider", "suicide"),
        ("jme scarifie depuis 2 mois", "automutilation"),
        ("je me fais du mal", "automutilation"),
        ("ma pote dit qu'elle va se tuer", "suicide"),
        ("mon pote parle de mourir, il m'inquiète", "ami-en-danger"),
        ("mon père me frappe quand il a bu", "violence-famille"),
        ("j'ai peur de rentrer chez moi", "violence-famille"),
        ("il m'a violée", "violence-sexuelle"),
        (
            "mon beau-père vient dans ma chambre la nuit et me touche",
            "violence-sexuelle",
        ),
        (
            "il menace de publier mes nudes si je paye pas",
            "sextorsion",
        ),
        (
            "mes photos intimes tournent dans tout le lycée",
            "sextorsion",
        ),
        (
            "un homme de 30 ans me demande des photos",
            "sollicitation-adulte",
        ),
        ("je vais fuguer ce soir", "fugue"),
        ("ma fille n'est pas rentrée depuis hier", "fugue"),
        (
            "mes parents veulent me marier au bled cet été",
            "mariage-force",
        ),
        ("jai pris toute la boite de doliprane", "urgence-medicale"),
        (
            "mon pote respire plus bien apres le proto",
            "urgence-medicale",
        ),
        ("je dors dehors ce soir", "sans-abri"),
        ("ma mère m'a mis dehors, je sais pas ou dormir", "sans-abri"),
        (
            "il a un couteau et il menace de me planter",
            "menace-violence",
        ),
    ];
    assert_flagged(&cases);
    let hit = &common::classifier().danger("jveux mourir")[0];
    assert_eq!(hit.lines[0].0, "3114", "suicide shows the 3114 first");
}

#[test]
fn typos_and_sms_spelling_do_not_hide_danger() {
    for text in [
        "je veux me suicder",
        "jpp jveux plus vivre",
        "JE VEUX MOURIR!!!",
        "g envie de mourrir",
    ] {
        assert!(common::classifier().classify(text).urgent, "{text}");
    }
}

/// Situations a blind set found missing (final12), each written here in
/// other words than the set's, with what must stay quiet beside them.
#[test]
fn threats_hate_violence_departures_and_touching_are_flagged() {
    let cases = [
        ("si jparle a la cpe ils me defoncent", "menace-violence"),
        ("il dit que le prof de maths va payer", "menace-violence"),
        ("ils vont tous payer lundi", "menace-violence"),
        ("ils vont casser du migrant ce week-end", "menace-violence"),
        ("ma soeur veut faire sa hijra en secret", "menace-violence"),
        (
            "j'ai été tripotée par mon animateur au centre",
            "violence-sexuelle",
        ),
        (
            "un type se fait passer pour une collégienne sur snap avec ma fille",
            "sollicitation-adulte",
        ),
        (
            "dans le salon j'entends des assiettes qui se cassent",
            "violence-famille",
        ),
        // final14: radicalisation turning to action
        (
            "ils veulent faire la chasse aux migrants ce soir",
            "menace-violence",
        ),
        (
            "son groupe prépare une action samedi contre la mosquée",
            "menace-violence",
        ),
        (
            "une milice lui propose des entraînements au tir",
            "menace-violence",
        ),
        (
            "il regarde des vidéos de daesh et dit qu'il veut les rejoindre",
            "menace-violence",
        ),
        // final15
        ("j'aimerais arrêter d'exister", "suicide"),
        ("ma soeur a pas dormi chez nous depuis 3 jours", "fugue"),
        (
            "il revient du collège avec des bleus tous les jours",
            "violence-famille",
        ),
        (
            "ils ont balancé mon adresse sur un groupe",
            "menace-violence",
        ),
        // final13: thoughts that come back after an attempt
        (
            "depuis ma tentative je recommence à y penser le soir",
            "suicide",
        ),
    ];
    assert_flagged(&cases);
    assert_no_danger(&[
        "qui va payer mon permis, ma mère ou mon père ?",
        "si je rate le bac ma mère me tue mdr",
        "mon téléphone est tombé et l'écran s'est cassé",
        "on prépare une action de prévention samedi au lycée",
        "je fais un stage de tir à l'arc",
        "on a fait la chasse aux oeufs",
        "je veux arrêter de fumer",
        "j'ai publié mon adresse mail pour le stage",
    ]);
}

#[test]
fn naming_a_topic_is_not_danger() {
    assert_no_danger(&[
        "c'est quoi le consentement",
        "comment reconnaître une secte",
        "on a parlé du harcèlement en cours",
        "c'est quoi le 3114 ?",
        "mes parents vont me tuer si j'ai pas mon bac",
        "je me coupe les cheveux demain",
        "je m'ennuie",
        "il fait trop chaud je vais mourir lol",
        "je sais pas par où commencer. je suis en 1ere",
    ]);
}

#[test]
fn numbers_and_places_never_raise_danger() {
    // The danger model reads nothing in a message of small words, a place
    // and a number (it gave 0.88 to "je suis toujours là (12)").
    for i in 0..20 {
        assert_no_danger(&[&format!("je suis toujours là ({i})")]);
    }
    assert_no_danger(&[
        "jsuis de la Martinique 🌴",
        "jsuis du 41 et on me harcèle sur insta",
        "j'ai 15 ans et je cherche un stage dans le 93",
        "41000",
        "on était 18 dans le bus, il faisait 41 degrés dehors mdr",
    ]);
}

/// The learned danger model: it rules out what only shares a danger
/// example's words, and raises a danger that no pattern, word or example
/// foresaw, even behind a topic cue ("c'est quoi le numéro").
#[test]
fn the_learned_model_weighs_closeness_and_reads_what_patterns_miss() {
    // Each is close to a danger example ("ma copine se scarifie et elle veut
    // pas que j'en parle", "je me scarifie depuis 6 mois et j'arrive pas a
    // arreter", "ça se passe mal quand il boit") and said nothing of one.
    assert_no_danger(&[
        "jsuis une meuf et je crois que jaime les filles, jsais pas a qui en parler",
        "jarrive pas a arreter la coc, j'en prends tous les weekends depuis 6 mois",
        "ma mère est en prison et je vis chez ma tante, ca se passe mal",
        "ma meuf veut plus coucher avec moi depuis 1 mois, jfais quoi",
    ]);
    let text = "ce soir jpeux pas rentrer chez moi et jai pas d'argent pour l'hotel, c'est quoi le numero pour dormir quelque part";
    let (reading, hits) = common::classifier().read_with_danger(text);
    assert!(reading.urgent, "{text}");
    assert!(
        hits.iter().any(|h| h.pattern.starts_with("model: ")),
        "{hits:?}"
    );
    assert!(
        hits.iter().all(|h| h.theme.is_none()),
        "a signal the model guessed names no theme: {hits:?}"
    );
}

/// `danger()` (the engine's reading in a hand-off room) skips the theme but
/// reads the same signals as the full classification.
#[test]
fn the_danger_reading_alone_is_the_full_reading_s() {
    for item in common::labelled("final11.jsonl") {
        let (_, full) = common::classifier().read_with_danger(&item.text);
        assert_eq!(
            common::classifier().danger(&item.text),
            full,
            "{}",
            item.text
        );
    }
}

/// Idioms lose their danger words ("mourir de honte"), and a danger told as
/// past and settled is not an alarm; the same words said of now still are.
#[test]
fn idioms_and_settled_past_are_not_alarms() {
    assert_no_danger(&[
        "je veux mourir de honte j'ai trébuché devant toute la classe",
        "je me suis coupée en cuisinant hier",
        "je vais me tuer à la salle demain ptdr",
        "Il y a deux ans j'ai fait une tentative de suicide, aujourd'hui ça va bien. Comment faire un service civique ?",
        "Ma fille a été harcelée et frappée l'an dernier, tout s'est calmé depuis qu'elle a changé de collège",
        "c'est quoi la différence entre jeux d'argent et jeux vidéo avec des loot box",
        "ma proprio menace d'augmenter le loyer",
        "je me drogue pas, c'est juste une question",
    ]);
    assert_flagged(&[
        ("j'ai tellement honte, je veux mourir", "suicide"),
        ("je me suis coupée hier soir exprès", "automutilation"),
        (
            "j'ai fait une TS l'an dernier et là je sens que ça revient",
            "suicide",
        ),
        ("je veux me tuer à la fin de la semaine", "suicide"),
        (
            "je suis en 3e et je vais bien mais mon beau-père me frappe",
            "violence-famille",
        ),
        ("il me menace de tout balancer", "sextorsion"),
        ("ils l'ont menacé avec un couteau", "menace-violence"),
    ]);
    // A danger that has begun is not over, whatever else is going well.
    let text = "il y a deux mois il a commencé à me frapper, sinon ça va bien";
    assert!(common::classifier().classify(text).urgent, "{text}");
}

/// Dangers that blind sets final16 to final19 showed in words no earlier
/// pattern foresaw.
#[test]
fn planned_violence_consent_and_images_are_flagged() {
    assert_flagged(&[
        ("les mecs de mon quartier veulent aller tabasser les gens de la marche des fiertés samedi", "menace-violence"),
        ("mon cousin a emporté les fusils de chasse de mon oncle", "menace-violence"),
        ("il se renseigne sur l'achat d'une arbalète", "menace-violence"),
        ("des mecs lui apprennent à fabriquer des trucs qui explosent", "menace-violence"),
        ("il veut pas arrêter quand jlui dis", "violence-sexuelle"),
        ("ma copine m'a forcé à faire un truc que je voulais pas", "violence-sexuelle"),
        ("le patron de mon stage m'a mis une main aux fesses", "violence-sexuelle"),
        ("des photos de sa copine nue que d'autres garçons font circuler", "sextorsion"),
        ("je vais prendre les médicaments de ma mère cette nuit", "urgence-medicale"),
        ("mon coach m'écrit la nuit et dit qu'il faut garder ça secret", "sollicitation-adulte"),
        ("mon beau père ma cramé avec une cigarette", "violence-famille"),
    ]);
}

/// Dangers that blind sets final20 to final25 showed in words no earlier
/// pattern foresaw, and the jokes and idioms they wrote beside them.
#[test]
fn plans_coercion_forced_engagements_and_stopped_treatments_are_flagged() {
    assert_flagged(&[
        (
            "il a dit qu'il allait faire comme avec Samuel Paty au prof d'histoire",
            "menace-violence",
        ),
        (
            "il parle de guerre raciale pour bientôt et il achète du matériel",
            "menace-violence",
        ),
        ("il veut finir le travail de Breivik", "menace-violence"),
        ("jeudi jfais un massacre au bahut", "menace-violence"),
        (
            "il va faire un truc qui va passer à la télé lundi",
            "menace-violence",
        ),
        (
            "un mec m'a dit qu'il savait où j'habitais",
            "menace-violence",
        ),
        (
            "le tuteur m'a dit que si je couche pas avec lui il me met une mauvaise note",
            "violence-sexuelle",
        ),
        (
            "je suis pas sure d'avoir vraiment voulu",
            "violence-sexuelle",
        ),
        (
            "ma soeur doit partir au Pakistan pour des fiançailles",
            "mariage-force",
        ),
        (
            "un mariage arrangé, ils disent que j'ai pas le choix",
            "mariage-force",
        ),
        (
            "elle veut plus que ma soeur prenne son insuline",
            "urgence-medicale",
        ),
        (
            "mon père conduit ivre ce soir avec nous",
            "violence-famille",
        ),
        (
            "ma mère et mon beau-père se sont battus hier soir",
            "violence-famille",
        ),
        (
            "elle m'a dit que ça sert à rien de vivre comme ça",
            "suicide",
        ),
        ("des montages avec ma tête sur des corps nus", "sextorsion"),
        (
            "il me dit envoie une photo de toi en pyjama",
            "sollicitation-adulte",
        ),
        // final24 and final25
        (
            "ma copine a pris de la md et elle a trop chaud, elle tremble",
            "urgence-medicale",
        ),
        ("il dit qu'il vaut mieux qu'il ne soit plus là", "suicide"),
        (
            "il a posté une photo avec une ceinture bizarre",
            "menace-violence",
        ),
        (
            "nous allons marier notre fille de 17 ans au pays cet été",
            "mariage-force",
        ),
        (
            "elle dormait presque et mon pote l'a quand même touchée",
            "violence-sexuelle",
        ),
        ("an pa lé viv ankò, sa two lou", "suicide"),
        ("manman ka bat mwen chak jou", "violence-famille"),
    ]);
    assert_no_danger(&[
        "on doit écrire une nouvelle sur un perso qui veut mourir",
        "J'AI PAS EU MON BREVET JE VAIS ME FAIRE DÉFONCER PAR MA MÈRE",
        "je vais me faire défoncer par le coach demain j'ai séché",
        "stress pour le brevet, j'ai des crises où j'arrive plus à respirer",
        "jveux mourir tellement la vidéo est drôle",
        "Il se coupe de ses amis. Nous sommes à Dunkerque.",
        "mon frère et moi on se bat tout le temps pour la console",
        "on a massacré le lycée d'en face au match de basket",
        "comment financer le logement de mon fils qui part étudier",
        "si je couche pas chez ma grand-mère ce soir elle va râler",
        "je suis pas sûre d'avoir voulu faire médecine",
        "ça fera sauter tes points de permis",
        "je vais faire un massacre en ranked ce soir",
        "maman solo, mon fils devient violent verbalement avec moi",
        "j'ai fait une overdose de séries ce weekend",
    ]);
    // Self-harm told "des fois" is not someone cutting themselves off.
    assert!(
        common::classifier()
            .classify("je me coupe des fois quand ça va pas")
            .urgent
    );
}
