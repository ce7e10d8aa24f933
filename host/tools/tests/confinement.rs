//! Path confinement: tools.fs.workspaceOnly (by directory handle, never by string) and the
//! protected gateway state (by identity, in every mode).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{read_args, snapshot, write_file};
use openclaw_tools::{Resolution, ToolError, Workspace, apply_patch, edit, read, write};
use serde_json::json;
use tempfile::TempDir;

const RESOLUTIONS: [Resolution; 2] = [Resolution::Kernel, Resolution::Walk];

struct Fixture {
    _dir: TempDir,
    base: PathBuf,
    root: PathBuf,
    outside: PathBuf,
}

/// base/outside/secret.txt ("OUTSIDE") and a workspace base/ws with links of every kind.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let root = base.join("ws");
    let outside = base.join("outside");
    write_file(&outside.join("secret.txt"), "OUTSIDE");
    write_file(&root.join("inside.txt"), "INSIDE");
    write_file(&root.join("sub/file.txt"), "SUB");
    symlink("/etc", root.join("link_etc")).unwrap();
    symlink("../outside", root.join("link_out")).unwrap();
    // Two hops, each harmless-looking on its own.
    symlink("sub/hop", root.join("chain")).unwrap();
    symlink("../../outside", root.join("sub/hop")).unwrap();
    symlink("sub", root.join("link_in")).unwrap();
    symlink("sub/file.txt", root.join("link_in_file")).unwrap();
    symlink("..", root.join("sub/up")).unwrap();
    symlink(outside.join("secret.txt"), root.join("link_abs_out")).unwrap();
    symlink("../outside/secret.txt", root.join("link_rel_out_file")).unwrap();
    Fixture {
        _dir: dir,
        base,
        root,
        outside,
    }
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    Content(&'static str),
    Outside,
}

#[test]
fn workspace_only_read_table() {
    let f = fixture();
    let root = f.root.display().to_string();
    let cases: Vec<(&str, String, Expect)> = vec![
        ("plain relative", "inside.txt".into(), Expect::Content("INSIDE")),
        ("dot-dot escape", "../outside/secret.txt".into(), Expect::Outside),
        ("absolute outside", "/etc/passwd".into(), Expect::Outside),
        (
            "down then up and out",
            "sub/../../outside/secret.txt".into(),
            Expect::Outside,
        ),
        (
            "down then up, staying inside",
            "sub/../inside.txt".into(),
            Expect::Content("INSIDE"),
        ),
        ("symlink to /etc", "link_etc/passwd".into(), Expect::Outside),
        (
            "relative symlink escaping",
            "link_out/secret.txt".into(),
            Expect::Outside,
        ),
        ("symlink chain escaping", "chain/secret.txt".into(), Expect::Outside),
        (
            "final symlink escaping (relative)",
            "link_rel_out_file".into(),
            Expect::Outside,
        ),
        (
            "final symlink escaping (absolute)",
            "link_abs_out".into(),
            Expect::Outside,
        ),
        (
            "symlink inside to inside (dir)",
            "link_in/file.txt".into(),
            Expect::Content("SUB"),
        ),
        (
            "symlink inside to inside (file)",
            "link_in_file".into(),
            Expect::Content("SUB"),
        ),
        (
            "symlink to the root itself",
            "sub/up/inside.txt".into(),
            Expect::Content("INSIDE"),
        ),
        (
            "absolute path inside the root",
            format!("{root}/sub/file.txt"),
            Expect::Content("SUB"),
        ),
        (
            "absolute path with doubled slashes",
            format!("/{root}//sub/./file.txt"),
            Expect::Content("SUB"),
        ),
        (
            "absolute inside then out",
            format!("{root}/../outside/secret.txt"),
            Expect::Outside,
        ),
        (
            "proc magic root",
            format!("/proc/self/root{}", f.outside.join("secret.txt").display()),
            Expect::Outside,
        ),
        (
            "home: the find ~ incident",
            "~/.openclaw/openclaw.json".into(),
            Expect::Outside,
        ),
    ];
    for resolution in RESOLUTIONS {
        let ws = Workspace::open(&f.root, true, Vec::new())
            .unwrap()
            .with_resolution(resolution);
        for (name, path, expect) in &cases {
            let result = read(&ws, &read_args(path));
            match (expect, &result) {
                (Expect::Content(want), Ok(text)) if text == want => {}
                (Expect::Outside, Err(ToolError::OutsideWorkspace { .. })) => {}
                _ => panic!("{resolution:?} / {name} ({path}): expected {expect:?}, got {result:?}"),
            }
        }
    }
}

#[test]
fn outside_error_names_the_setting_and_the_path() {
    let f = fixture();
    let ws = Workspace::open(&f.root, true, Vec::new()).unwrap();
    let message = read(&ws, &read_args("../outside/secret.txt")).unwrap_err().to_string();
    assert!(message.contains("../outside/secret.txt"), "{message}");
    assert!(message.contains("outside the workspace"), "{message}");
    assert!(message.contains("tools.fs.workspaceOnly"), "{message}");
}

#[test]
fn workspace_only_writes_never_land_outside() {
    let f = fixture();
    let root = f.root.display().to_string();
    let escaping = [
        "../outside/new.txt".to_owned(),
        "sub/../../outside/new.txt".into(),
        "link_out/new.txt".into(),
        "chain/new.txt".into(),
        "link_rel_out_file".into(),
        "link_abs_out".into(),
        "link_out/deeper/new.txt".into(),
        // The missing directory would be created, then `..` climbs out of it.
        "newdir/../../outside/new.txt".into(),
        format!("{root}/../outside/new.txt"),
        f.outside.join("new.txt").display().to_string(),
    ];
    for resolution in RESOLUTIONS {
        let ws = Workspace::open(&f.root, true, Vec::new())
            .unwrap()
            .with_resolution(resolution);
        let before = snapshot(&f.base);
        for path in &escaping {
            let result = write(&ws, &json!({ "path": path, "content": "PWNED" }));
            assert!(result.is_err(), "{resolution:?} {path}: write succeeded");
            let edited = edit(&ws, &json!({ "path": path, "oldText": "OUTSIDE", "newText": "PWNED" }));
            assert!(edited.is_err(), "{resolution:?} {path}: edit succeeded");
        }
        assert_eq!(snapshot(&f.base), before, "{resolution:?}: something changed");
    }
    assert_eq!(
        std::fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
        "OUTSIDE"
    );
}

#[test]
fn writes_through_links_that_stay_inside_work() {
    let f = fixture();
    for resolution in RESOLUTIONS {
        let ws = Workspace::open(&f.root, true, Vec::new())
            .unwrap()
            .with_resolution(resolution);
        write(
            &ws,
            &json!({ "path": "link_in/new.txt", "content": format!("{resolution:?}") }),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(f.root.join("sub/new.txt")).unwrap(),
            format!("{resolution:?}")
        );
        // A link at the final name is followed, not replaced.
        write(&ws, &json!({ "path": "link_in_file", "content": "REPLACED" })).unwrap();
        assert!(
            std::fs::symlink_metadata(f.root.join("link_in_file"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(f.root.join("sub/file.txt")).unwrap(),
            "REPLACED"
        );
    }
}

#[test]
fn patch_paths_are_confined_like_every_other_file_tool() {
    let f = fixture();
    let ws = Workspace::open(&f.root, true, Vec::new()).unwrap();
    let patches = [
        "*** Begin Patch\n*** Add File: ../outside/added.txt\n+x\n*** End Patch",
        "*** Begin Patch\n*** Add File: link_out/added.txt\n+x\n*** End Patch",
        "*** Begin Patch\n*** Delete File: ../outside/secret.txt\n*** End Patch",
        "*** Begin Patch\n*** Update File: link_out/secret.txt\n@@\n-OUTSIDE\n+PWNED\n*** End Patch",
        "*** Begin Patch\n*** Update File: inside.txt\n*** Move to: ../outside/moved.txt\n@@\n-INSIDE\n+MOVED\n*** End Patch",
        // A legitimate section first: it must not be written either.
        "*** Begin Patch\n*** Add File: fine.txt\n+fine\n*** Update File: chain/secret.txt\n@@\n-OUTSIDE\n+PWNED\n*** End Patch",
    ];
    let before = snapshot(&f.base);
    for patch in patches {
        let result = apply_patch(&ws, &json!({ "input": patch }));
        assert!(
            matches!(result, Err(ToolError::OutsideWorkspace { .. })),
            "{patch}: {result:?}"
        );
    }
    assert_eq!(snapshot(&f.base), before);
}

/// A thread swaps a directory symlink between a directory inside and one outside while reads go
/// through it. Every read must see inside content or be refused; the test also requires both to
/// have happened, so it cannot pass without actually racing.
fn race_reads(f: &Fixture, ws: Workspace, path: &str, refused: fn(&ToolError) -> bool) {
    let ws = Arc::new(ws);
    let stop = Arc::new(AtomicBool::new(false));
    let link = f.root.join("flip");
    let staging = f.root.join("flip.next");
    let targets: Vec<PathBuf> = vec![
        "inside_dir".into(),
        "../outside".into(),
        "inside_dir".into(),
        f.outside.clone(),
    ];
    let flipper = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let _ = std::fs::remove_file(&staging);
                symlink(&targets[i % targets.len()], &staging).unwrap();
                std::fs::rename(&staging, &link).unwrap();
                i += 1;
            }
        })
    };
    let (mut inside, mut refusals) = (0usize, 0usize);
    for _ in 0..200_000 {
        match read(&ws, &read_args(path)) {
            Ok(text) => {
                assert_eq!(text, "INSIDE", "read escaped the workspace through {path}");
                inside += 1;
            }
            Err(e) if refused(&e) => refusals += 1,
            Err(ToolError::NotFound { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
        if inside >= 300 && refusals >= 300 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    assert!(
        inside >= 300 && refusals >= 300,
        "the race did not happen enough: {inside} inside, {refusals} refused"
    );
}

fn race_fixture() -> Fixture {
    let f = fixture();
    write_file(&f.root.join("inside_dir/secret.txt"), "INSIDE");
    symlink("inside_dir", f.root.join("flip")).unwrap();
    f
}

#[test]
fn swapping_a_directory_symlink_during_reads_never_leaks_outside_content() {
    for resolution in RESOLUTIONS {
        let f = race_fixture();
        let ws = Workspace::open(&f.root, true, Vec::new())
            .unwrap()
            .with_resolution(resolution);
        race_reads(&f, ws, "flip/secret.txt", |e| {
            matches!(e, ToolError::OutsideWorkspace { .. })
        });
    }
}

#[test]
fn swapping_toward_a_protected_directory_never_leaks_it_without_workspace_only() {
    let f = race_fixture();
    let ws = Workspace::open(&f.root, false, vec![f.outside.clone()]).unwrap();
    race_reads(&f, ws, "flip/secret.txt", |e| matches!(e, ToolError::Protected { .. }));
}

struct StateFixture {
    _dir: TempDir,
    state: PathBuf,
    root: PathBuf,
    elsewhere: PathBuf,
}

/// OpenClaw's layout: the workspace lives inside the state directory the gateway protects.
fn state_fixture() -> StateFixture {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let state = base.join("state");
    let root = state.join("workspace");
    let elsewhere = base.join("elsewhere");
    write_file(&state.join("openclaw.json"), "CONFIG");
    write_file(&state.join("credentials/telegram-allowFrom.json"), "CREDS");
    write_file(&root.join("notes.md"), "NOTES");
    write_file(&elsewhere.join("ok.txt"), "OK");
    symlink("../openclaw.json", root.join("cfg_rel")).unwrap();
    symlink(state.join("openclaw.json"), root.join("cfg_abs")).unwrap();
    symlink(&state, root.join("state_link")).unwrap();
    std::fs::hard_link(state.join("openclaw.json"), root.join("hardlink.json")).unwrap();
    StateFixture {
        _dir: dir,
        state,
        root,
        elsewhere,
    }
}

#[test]
fn protected_state_is_refused_under_any_spelling_without_workspace_only() {
    let f = state_fixture();
    let state = f.state.display().to_string();
    let refused = vec![
        format!("{state}/openclaw.json"),
        format!("/{state}/openclaw.json"),
        format!("{state}/workspace/../openclaw.json"),
        format!("/{state}//./workspace/..//openclaw.json"),
        "../openclaw.json".into(),
        "cfg_rel".into(),
        "cfg_abs".into(),
        "state_link/openclaw.json".into(),
        "state_link/workspace/../credentials/telegram-allowFrom.json".into(),
        "hardlink.json".into(),
        format!("/proc/self/root{state}/openclaw.json"),
        format!("{state}/credentials/telegram-allowFrom.json"),
        format!("{state}/credentials/not-yet-there.json"),
    ];
    for resolution in RESOLUTIONS {
        // The gateway lists its config file as well as the state directory: a hard link shares
        // the file's identity, not its directory's.
        let protected = vec![f.state.clone(), f.state.join("openclaw.json")];
        let ws = Workspace::open(&f.root, false, protected)
            .unwrap()
            .with_resolution(resolution);
        for path in &refused {
            let result = read(&ws, &read_args(path));
            assert!(
                matches!(result, Err(ToolError::Protected { .. })),
                "{resolution:?} read {path}: {result:?}"
            );
        }
        let before = snapshot(&f.state);
        for path in &refused {
            let result = write(&ws, &json!({ "path": path, "content": "PWNED" }));
            assert!(
                matches!(result, Err(ToolError::Protected { .. })),
                "{resolution:?} write {path}: {result:?}"
            );
            let result = edit(&ws, &json!({ "path": path, "oldText": "CONFIG", "newText": "PWNED" }));
            assert!(result.is_err(), "{resolution:?} edit {path}: {result:?}");
        }
        let patch =
            format!("*** Begin Patch\n*** Update File: {state}/openclaw.json\n@@\n-CONFIG\n+PWNED\n*** End Patch");
        assert!(matches!(
            apply_patch(&ws, &json!({ "input": patch })),
            Err(ToolError::Protected { .. })
        ));
        let patch = format!("*** Begin Patch\n*** Add File: {state}/credentials/new.json\n+x\n*** End Patch");
        assert!(matches!(
            apply_patch(&ws, &json!({ "input": patch })),
            Err(ToolError::Protected { .. })
        ));
        assert_eq!(snapshot(&f.state), before);

        // The workspace inside the state directory, and the rest of the disk, stay usable.
        assert_eq!(read(&ws, &read_args("notes.md")).unwrap(), "NOTES");
        assert_eq!(
            read(&ws, &read_args(&f.elsewhere.join("ok.txt").display().to_string())).unwrap(),
            "OK"
        );
    }
}

#[test]
fn protection_applies_inside_the_workspace_too() {
    let f = state_fixture();
    // A workspace that contains the state directory (say, the home directory).
    let ws = Workspace::open(f.state.parent().unwrap(), true, vec![f.state.clone()]).unwrap();
    let result = read(&ws, &read_args("state/openclaw.json"));
    assert!(matches!(result, Err(ToolError::Protected { .. })), "{result:?}");
    assert!(matches!(
        write(&ws, &json!({ "path": "state/credentials/x.json", "content": "x" })),
        Err(ToolError::Protected { .. })
    ));
    assert_eq!(read(&ws, &read_args("elsewhere/ok.txt")).unwrap(), "OK");
}

#[test]
fn a_protected_file_replaced_atomically_stays_protected() {
    let f = state_fixture();
    let config = f.state.join("openclaw.json");
    let ws = Workspace::open(&f.elsewhere, false, vec![config.clone()]).unwrap();
    // The gateway rewrites its config with rename: a new inode each time.
    std::fs::write(f.state.join("openclaw.json.tmp"), "CONFIG2").unwrap();
    std::fs::rename(f.state.join("openclaw.json.tmp"), &config).unwrap();
    let result = read(&ws, &read_args(&config.display().to_string()));
    assert!(matches!(result, Err(ToolError::Protected { .. })), "{result:?}");
    // The protected object is the file only: its siblings are not protected.
    assert_eq!(
        read(
            &ws,
            &read_args(
                &f.state
                    .join("credentials/telegram-allowFrom.json")
                    .display()
                    .to_string()
            )
        )
        .unwrap(),
        "CREDS"
    );
}

#[test]
fn home_expansion_leads_to_the_process_home() {
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from).filter(|h| h.is_dir()) else {
        return;
    };
    let f = fixture();
    if f.root.starts_with(&home) || home == Path::new("/") {
        return;
    }
    let ws = Workspace::open(&f.root, false, vec![home.clone()]).unwrap();
    let result = read(&ws, &read_args("~/.openclaw/openclaw.json"));
    assert!(
        matches!(result, Err(ToolError::Protected { .. } | ToolError::NotFound { .. })),
        "{result:?}"
    );
    let result = read(&ws, &read_args("~/openclaw-tools-test-no-such-file"));
    assert!(matches!(result, Err(ToolError::Protected { .. })), "{result:?}");
}

/// The name is swapped between a plain file and a hard link to the protected config while reads
/// go on: the check must be made on the object actually opened, not on what the name was a
/// moment before.
#[test]
fn swapping_a_name_to_a_hard_link_of_protected_state_never_leaks_it() {
    let f = state_fixture();
    let config = f.state.join("openclaw.json");
    let ws = Arc::new(Workspace::open(&f.elsewhere, true, vec![config.clone()]).unwrap());
    let target = f.elsewhere.join("target");
    write_file(&target, "INSIDE");
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let stop = Arc::clone(&stop);
        let dir = f.elsewhere.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = std::fs::remove_file(dir.join("next"));
                std::fs::hard_link(&config, dir.join("next")).unwrap();
                std::fs::rename(dir.join("next"), &target).unwrap();
                std::fs::write(dir.join("next"), "INSIDE").unwrap();
                std::fs::rename(dir.join("next"), &target).unwrap();
            }
        })
    };
    let (mut inside, mut refusals) = (0usize, 0usize);
    for _ in 0..200_000 {
        match read(&ws, &read_args("target")) {
            Ok(text) => {
                assert_eq!(text, "INSIDE", "protected content leaked through a swapped name");
                inside += 1;
            }
            Err(ToolError::Protected { .. }) => refusals += 1,
            Err(ToolError::NotFound { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
        if inside >= 300 && refusals >= 300 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    assert!(
        inside >= 300 && refusals >= 300,
        "the race did not happen enough: {inside} inside, {refusals} refused"
    );
}
