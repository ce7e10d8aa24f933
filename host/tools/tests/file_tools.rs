//! read, write and edit on real files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{read_args, write_file};
use openclaw_tools::{READ_MAX_BYTES, ToolError, Workspace, edit, read, write};
use serde_json::json;

fn workspace() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path(), true, Vec::new()).unwrap();
    (dir, ws)
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn open_creates_a_private_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a/b/workspace");
    Workspace::open(&root, true, Vec::new()).unwrap();
    assert_eq!(mode_of(&root), 0o700);
}

#[test]
fn read_windows_by_offset_and_limit() {
    let (dir, ws) = workspace();
    let text: String = (1..=10).map(|n| format!("line {n}\n")).collect();
    write_file(&dir.path().join("f.txt"), &text);
    assert_eq!(read(&ws, &read_args("f.txt")).unwrap(), text);
    let window = read(&ws, &json!({ "path": "f.txt", "offset": 3, "limit": 2 })).unwrap();
    assert!(window.starts_with("line 3\nline 4\n"), "{window}");
    assert!(window.contains("Use offset=5 to continue"), "{window}");
    let tail = read(&ws, &json!({ "path": "f.txt", "offset": 9 })).unwrap();
    assert_eq!(tail, "line 9\nline 10\n");
    let past = read(&ws, &json!({ "path": "f.txt", "offset": 12 }))
        .unwrap_err()
        .to_string();
    assert!(past.contains("past the end") && past.contains("10 lines"), "{past}");
    assert!(read(&ws, &json!({ "path": "f.txt", "limit": 0 })).is_err());
}

#[test]
fn read_caps_what_it_returns_and_says_where_to_continue() {
    let (dir, ws) = workspace();
    let line = format!("{}\n", "x".repeat(99));
    let lines = READ_MAX_BYTES / 100 + 500;
    write_file(&dir.path().join("big.txt"), &line.repeat(lines));
    let text = read(&ws, &json!({ "path": "big.txt", "limit": lines })).unwrap();
    let shown = READ_MAX_BYTES / 100;
    assert!(text.len() <= READ_MAX_BYTES + 200, "{}", text.len());
    assert!(
        text.contains(&format!("showing lines 1-{shown}. Use offset={}", shown + 1)),
        "{}",
        &text[text.len() - 200..]
    );

    // One line longer than the cap: its start comes back, and the next offset skips it.
    write_file(
        &dir.path().join("wide.txt"),
        &format!("{}\nnext\n", "y".repeat(READ_MAX_BYTES * 2)),
    );
    let wide = read(&ws, &read_args("wide.txt")).unwrap();
    assert!(wide.contains("was cut. Use offset=2"), "{}", &wide[wide.len() - 200..]);
    assert_eq!(
        read(&ws, &json!({ "path": "wide.txt", "offset": 2 })).unwrap(),
        "next\n"
    );
}

#[test]
fn read_refuses_binary_and_non_files() {
    let (dir, ws) = workspace();
    std::fs::write(dir.path().join("blob.bin"), [0x7f, b'E', b'L', b'F', 0, 0, 1]).unwrap();
    let message = read(&ws, &read_args("blob.bin")).unwrap_err().to_string();
    assert!(message.contains("binary"), "{message}");
    std::fs::create_dir(dir.path().join("d")).unwrap();
    assert!(
        read(&ws, &read_args("d"))
            .unwrap_err()
            .to_string()
            .contains("directory")
    );
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dir.path().join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    // Must return (not block on the FIFO) and refuse.
    assert!(
        read(&ws, &read_args("fifo"))
            .unwrap_err()
            .to_string()
            .contains("not a regular file")
    );
    assert!(matches!(
        read(&ws, &read_args("missing.txt")),
        Err(ToolError::NotFound { .. })
    ));
    std::fs::write(dir.path().join("empty.txt"), "").unwrap();
    assert!(read(&ws, &read_args("empty.txt")).unwrap().contains("is empty"));
}

#[test]
fn read_accepts_file_path_and_rejects_missing_arguments() {
    let (dir, ws) = workspace();
    write_file(&dir.path().join("a.txt"), "A");
    assert_eq!(read(&ws, &json!({ "file_path": "a.txt" })).unwrap(), "A");
    let message = read(&ws, &json!({ "offset": 1 })).unwrap_err().to_string();
    assert!(
        message.contains("read: invalid arguments") && message.contains("path"),
        "{message}"
    );
}

#[test]
fn write_creates_private_files_and_directories_and_keeps_existing_modes() {
    let (dir, ws) = workspace();
    write(&ws, &json!({ "path": "new/deeper/file.txt", "content": "hello" })).unwrap();
    let file = dir.path().join("new/deeper/file.txt");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello");
    assert_eq!(mode_of(&file), 0o600);
    assert_eq!(mode_of(&dir.path().join("new")), 0o700);
    assert_eq!(mode_of(&dir.path().join("new/deeper")), 0o700);

    let script = dir.path().join("run.sh");
    write_file(&script, "old");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    write(&ws, &json!({ "path": "run.sh", "content": "new" })).unwrap();
    assert_eq!(std::fs::read_to_string(&script).unwrap(), "new");
    assert_eq!(mode_of(&script), 0o755);

    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into())
        .collect();
    assert!(names.iter().all(|n| !n.contains("openclaw-write")), "{names:?}");

    assert!(
        write(&ws, &json!({ "path": "new", "content": "x" }))
            .unwrap_err()
            .to_string()
            .contains("directory")
    );
    write_file(&dir.path().join("plain"), "x");
    let through_file = write(&ws, &json!({ "path": "plain/child.txt", "content": "x" }));
    assert!(through_file.is_err(), "{through_file:?}");
}

#[test]
fn write_refuses_a_symlink_planted_in_a_directory_it_creates() {
    let (dir, ws) = workspace();
    symlink("missing-target", dir.path().join("dangling")).unwrap();
    let result = write(&ws, &json!({ "path": "dangling/file.txt", "content": "x" }));
    assert!(result.is_err(), "{result:?}");
    assert!(!dir.path().join("missing-target").exists());
}

/// Readers racing a writer see the old content or the new, never a torn or empty file.
#[test]
fn write_replaces_atomically() {
    let (dir, ws) = workspace();
    let a = "A".repeat(1 << 20);
    let b = "B".repeat(1 << 20);
    write(&ws, &json!({ "path": "f.txt", "content": a })).unwrap();
    let path = dir.path().join("f.txt");
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        let (a, b) = (a.clone(), b.clone());
        std::thread::spawn(move || {
            let mut reads = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let seen = std::fs::read_to_string(&path).unwrap();
                assert!(seen == a || seen == b, "torn read of {} bytes", seen.len());
                reads += 1;
            }
            reads
        })
    };
    for i in 0..100 {
        let content = if i % 2 == 0 { &b } else { &a };
        write(&ws, &json!({ "path": "f.txt", "content": content })).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
}

#[test]
fn edit_replaces_exactly_one_occurrence() {
    let (dir, ws) = workspace();
    let path = dir.path().join("code.rs");
    write_file(&path, "fn a() {}\nfn b() {}\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let result = edit(
        &ws,
        &json!({ "path": "code.rs", "oldText": "fn b() {}", "newText": "fn b() { a() }" }),
    )
    .unwrap();
    assert!(result.contains("line 2"), "{result}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "fn a() {}\nfn b() { a() }\n");
    assert_eq!(mode_of(&path), 0o640);
    // Claude-style argument names.
    edit(
        &ws,
        &json!({ "file_path": "code.rs", "old_string": "fn a() {}", "new_string": "fn a() { }" }),
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "fn a() { }\nfn b() { a() }\n");
}

#[test]
fn edit_refuses_missing_ambiguous_and_empty_text_without_touching_the_file() {
    let (dir, ws) = workspace();
    let path = dir.path().join("f.txt");
    let original = "x = 1\ny = 2\nx = 1\nzzz\n";
    write_file(&path, original);
    let cases = [
        (
            json!({ "path": "f.txt", "oldText": "x = 3", "newText": "" }),
            vec!["not found", "whitespace"],
        ),
        (
            json!({ "path": "f.txt", "oldText": "x = 1", "newText": "x = 2" }),
            vec!["occurs 2 times", "lines 1, 3"],
        ),
        (
            json!({ "path": "f.txt", "oldText": "zz", "newText": "z" }),
            vec!["occurs 2 times"],
        ),
        (
            json!({ "path": "f.txt", "oldText": "", "newText": "z" }),
            vec!["oldText is empty"],
        ),
        (
            json!({ "path": "f.txt", "old": "x", "newText": "z" }),
            vec!["invalid arguments", "oldText"],
        ),
    ];
    for (args, wanted) in cases {
        let message = edit(&ws, &args).unwrap_err().to_string();
        for want in wanted {
            assert!(message.contains(want), "{args}: {message}");
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    }
}

#[test]
fn edit_refuses_binary_files() {
    let (dir, ws) = workspace();
    std::fs::write(dir.path().join("b.bin"), b"abc\0def").unwrap();
    let message = edit(&ws, &json!({ "path": "b.bin", "oldText": "abc", "newText": "x" }))
        .unwrap_err()
        .to_string();
    assert!(message.contains("binary"), "{message}");
    std::fs::write(dir.path().join("latin1.txt"), b"caf\xe9").unwrap();
    let message = edit(&ws, &json!({ "path": "latin1.txt", "oldText": "caf", "newText": "x" }))
        .unwrap_err()
        .to_string();
    assert!(message.contains("UTF-8"), "{message}");
}
