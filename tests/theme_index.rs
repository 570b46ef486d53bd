//! The conformance tests every [`ThemeIndex`] implementation passes: the
//! tantivy matcher the bot uses and the plain keyword matcher it is measured
//! against.

mod common;

use promeneur_bot::classify::keyword::KeywordThemeIndex;
use promeneur_bot::classify::theme::TantivyThemeIndex;
use promeneur_bot::classify::ThemeIndex;
use promeneur_bot::text::{normalize, Slang};

fn slang() -> Slang {
    Slang::new(
        common::knowledge()
            .slang
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str())),
    )
}

fn implementations() -> Vec<(&'static str, Box<dyn ThemeIndex>)> {
    let slang = slang();
    vec![
        (
            "tantivy",
            Box::new(TantivyThemeIndex::build(common::knowledge(), &slang).unwrap()),
        ),
        (
            "keyword",
            Box::new(KeywordThemeIndex::build(common::knowledge(), &slang)),
        ),
    ]
}

fn theme(index: &dyn ThemeIndex, text: &str) -> Option<String> {
    index
        .match_theme(&normalize(text, &slang()), true)
        .theme
        .map(|t| t.0)
}

#[test]
fn each_theme_is_found_from_its_plainest_word() {
    for (name, index) in implementations() {
        for (text, expected) in [
            ("parcoursup", "orientation"),
            ("harcèlement", "harcelement"),
            ("contraception", "sexualite"),
            ("complotisme", "fake-news"),
            ("radicalisation", "radicalisation"),
            ("dépression", "sante-mentale"),
            ("cannabis", "addictions"),
            ("divorce", "famille"),
            ("APL", "droits"),
        ] {
            assert_eq!(
                theme(index.as_ref(), text).as_deref(),
                Some(expected),
                "{name}: {text}"
            );
        }
    }
}

#[test]
fn nothing_to_route_gives_no_theme() {
    for (name, index) in implementations() {
        // "cava" is "ça va", not a typo for Canva (a CV tool).
        for text in ["", "   ", "😂😂😂", "?", "ok", "cava ?", "sava"] {
            let found = index.match_theme(&normalize(text, &slang()), true);
            assert_eq!(found.theme, None, "{name}: {text:?}");
            assert_eq!(found.confidence, 0.0, "{name}: {text:?}");
        }
    }
}

#[test]
fn any_text_is_read_without_error() {
    let emoji = "😭".repeat(10_000);
    let long = "parcoursup ".repeat(5_000);
    let nasty = [
        "\"AND (",
        "-",
        "+",
        "title:foo",
        "*",
        "~2",
        "\\",
        "\0",
        "((((((",
        "NOT OR AND",
        &emoji,
        &long,
    ];
    for (name, index) in implementations() {
        for text in nasty {
            let found = index.match_theme(&normalize(text, &slang()), true);
            assert!((0.0..=1.0).contains(&found.confidence), "{name}");
        }
    }
}

#[test]
fn confidence_is_higher_for_a_clear_message() {
    for (name, index) in implementations() {
        let clear = index.match_theme(
            &normalize(
                "je cherche un stage et une alternance après mon BTS",
                &slang(),
            ),
            false,
        );
        assert_eq!(
            clear.theme.as_ref().map(|t| t.as_str()),
            Some("orientation"),
            "{name}"
        );
        assert!(clear.confidence > 0.0 && clear.confidence <= 1.0, "{name}");
    }
}
