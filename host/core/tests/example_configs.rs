//! The example configs shipped in examples/configs/ are valid.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use openclaw_core::config::check::check;
use openclaw_core::config::parse::parse;

#[test]
fn shipped_examples_validate() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = parse(&text, &path.display().to_string()).unwrap();
        let checked = check(parsed.value, &|_: &str| None, &[]);
        let errors: Vec<String> = checked
            .issues
            .iter()
            .filter(|i| i.is_error())
            .map(ToString::to_string)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        count += 1;
    }
    assert!(count >= 3);
}
