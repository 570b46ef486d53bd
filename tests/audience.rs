//! Who is writing: a parent (the bot says "vous") or a young person ("tu").

mod common;

use promeneur_bot::classify::Audience;

#[test]
fn parents_are_recognised() {
    for text in [
        "Bonjour, mon fils passe ses nuits sur son téléphone",
        "ma fille de 14 ans ne veut plus aller au collège",
        "je suis maman d'une ado de 15 ans",
        "Notre fils refuse de manger",
        "mon ado me parle plus",
        "en tant que parent je m'inquiète",
        "mes enfants se disputent sans arrêt",
        "papa de deux garçons, je cherche des conseils",
        "je suis assistant familial, le jeune que j'accueille ne dort plus",
        "je suis le parrain de Lina, 13 ans",
    ] {
        assert_eq!(
            common::classifier().classify(text).audience,
            Audience::Parent,
            "{text}"
        );
    }
}

#[test]
fn young_people_speaking_of_their_family_are_young() {
    for text in [
        "mon père me saoule",
        "ma mère veut pas que je sorte",
        "ma petite soeur me pique mes affaires",
        "ma meuf m'a largué",
        "mes parents divorcent",
        "jsuis le fils d'un prof",
        "la mère d'une amie m'a dit de vous écrire",
        "mes parents d'accueil sont gentils",
    ] {
        assert_eq!(
            common::classifier().classify(text).audience,
            Audience::Jeune,
            "{text}"
        );
    }
}
