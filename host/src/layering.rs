//! The module layering of this crate, checked on its sources. The command line sits on top and
//! may use everything; the gateway may use everything but the command line; the rest (config,
//! plugins, secrets, logging, context, exit codes, console output) uses neither. A module that
//! reached up would tie the two transports together, so neither could change, or be tested,
//! without the other.

use std::path::{Path, PathBuf};

/// Top-level modules from the top down: a file may use the modules after its own, never those
/// before it. Modules not listed are below all of them.
const LAYERS: &[&str] = &["cli", "gateway"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first segment of every `crate::...` path in `text`, including each member of a
/// `crate::{a, b::c}` group.
fn crate_modules_used(text: &str) -> Vec<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut used = Vec::new();
    for (at, _) in compact.match_indices("crate::") {
        let rest = &compact[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut member_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => member_start = true,
                    _ if member_start => {
                        used.push(ident(&group[i..]));
                        member_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            used.push(ident(rest));
        }
    }
    used
}

/// `(file, module it must not use)` for every file of `src` that reaches up a layer.
fn upward_uses(src: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    sources(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        // The crate root and the binary sit above every layer; this file only names them.
        if ["lib", "main", "layering"].contains(&top.as_str()) {
            continue;
        }
        let own_layer = LAYERS.iter().position(|l| *l == top).unwrap_or(LAYERS.len());
        let text = std::fs::read_to_string(&file).unwrap();
        for module in crate_modules_used(&text) {
            if LAYERS[..own_layer].contains(&module.as_str()) {
                found.push((relative.display().to_string(), module));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn no_module_uses_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let upward = upward_uses(&src);
    assert!(
        upward.is_empty(),
        "these files use a module above their own ({LAYERS:?}, top first); move what they need \
         into a shared module instead: {upward:#?}"
    );
}

#[test]
fn the_scanner_sees_every_spelling_of_a_use() {
    let cases: &[(&str, &[&str])] = &[
        ("use crate::cli::Context;", &["cli"]),
        ("let x = crate::cli::EXIT_OK;", &["cli"]),
        ("use crate::{config, cli::output::print_json};", &["config", "cli"]),
        (
            "use crate :: { gateway :: { run, inbox } , state };",
            &["gateway", "state"],
        ),
        ("use super::cli;", &[]),
        ("use openclaw_core::config;", &[]),
    ];
    for (text, expected) in cases {
        assert_eq!(crate_modules_used(text), *expected, "{text}");
    }
}
