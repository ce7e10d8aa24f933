//! Property tests for the pure building blocks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use openclaw_core::config::env_subst::substitute;
use openclaw_core::config::path::{JsonPath, Segment};
use openclaw_core::security::redact::{RedactMode, Redactor};
use proptest::prelude::*;

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_-]{0,12}".prop_map(Segment::Key),
        "[ -~]{0,10}".prop_map(Segment::Key),
        (0usize..50).prop_map(Segment::Index),
    ]
}

proptest! {
    /// Every path prints in a form that parses back to the same path, so paths copied from an
    /// error message always work in `config get` / `config set`.
    #[test]
    fn printed_paths_parse_back(first in "[a-z][a-zA-Z0-9]{0,8}", rest in proptest::collection::vec(segment(), 0..6)) {
        let mut path = JsonPath::root().key(first);
        for s in rest {
            path = match s {
                Segment::Key(k) => path.key(k),
                Segment::Index(i) => path.index(i),
            };
        }
        let printed = path.to_string();
        prop_assert_eq!(JsonPath::parse(&printed).unwrap(), path, "printed as {}", printed);
    }

    /// A secret the gateway knows never survives redaction, whatever surrounds it.
    #[test]
    fn known_secrets_never_survive(
        secret in "[A-Za-z0-9+/=_.-]{8,40}",
        before in "[ -~]{0,40}",
        after in "[ -~]{0,40}",
        mode in prop_oneof![Just(RedactMode::Off), Just(RedactMode::Tools), Just(RedactMode::Full)],
    ) {
        let redactor = Redactor::with_known_secrets(mode, &[], [secret.as_str()]).unwrap();
        let line = format!("{before}{secret}{after}");
        let out = redactor.redact(&line);
        prop_assert!(!out.contains(&secret), "{} -> {}", line, out);
    }

    /// Redacting twice changes nothing more than redacting once (masks are not re-masked).
    #[test]
    fn redaction_is_idempotent(text in "[ -~]{0,80}", token in "[A-Za-z0-9]{20,40}") {
        let redactor = Redactor::new(RedactMode::Tools, &[]).unwrap();
        for line in [text.clone(), format!("{text} sk-{token}"), format!("API_TOKEN={token} {text}"), format!("Bearer {token}")] {
            let once = redactor.redact(&line).into_owned();
            let twice = redactor.redact(&once).into_owned();
            prop_assert_eq!(&once, &twice);
        }
    }

    /// Strings without `${` are never changed by substitution.
    #[test]
    fn substitution_leaves_plain_strings_alone(text in "[^$]{0,60}") {
        let mut value = serde_json::json!({"a": text.clone(), "b": [text.clone()]});
        let expected = value.clone();
        substitute(&mut value, &|_: &str| Some("X".into())).unwrap();
        prop_assert_eq!(value, expected);
    }
}
