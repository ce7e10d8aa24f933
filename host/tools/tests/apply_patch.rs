//! apply_patch on real files: every kind of section, and all-or-nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{snapshot, write_file};
use openclaw_tools::{ToolError, Workspace, apply_patch};
use serde_json::json;

fn workspace() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path(), true, Vec::new()).unwrap();
    (dir, ws)
}

fn patch(ws: &Workspace, input: &str) -> Result<String, ToolError> {
    apply_patch(ws, &json!({ "input": input }))
}

#[test]
fn adds_updates_deletes_and_moves_in_one_patch() {
    let (dir, ws) = workspace();
    let root = dir.path();
    write_file(
        &root.join("src/lib.rs"),
        "fn one() {}\n\nfn two() {\n    1\n}\n\nfn three() {}\n",
    );
    write_file(&root.join("old.txt"), "stale\n");
    write_file(&root.join("docs/a.md"), "# A\ntext\n");
    let summary = patch(
        &ws,
        "*** Begin Patch
*** Add File: notes/new.md
+# New
+
+body
*** Update File: src/lib.rs
@@ fn two() {
-    1
+    2
@@
 fn three() {}
+fn four() {}
*** Delete File: old.txt
*** Update File: docs/a.md
*** Move to: docs/b.md
@@
 # A
-text
+moved text
*** End Patch
",
    )
    .unwrap();
    assert_eq!(
        summary,
        "Applied patch:\nA notes/new.md\nM src/lib.rs\nR docs/a.md -> docs/b.md\nD old.txt"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("notes/new.md")).unwrap(),
        "# New\n\nbody\n"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("src/lib.rs")).unwrap(),
        "fn one() {}\n\nfn two() {\n    2\n}\n\nfn three() {}\nfn four() {}\n"
    );
    assert!(!root.join("old.txt").exists());
    assert!(!root.join("docs/a.md").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("docs/b.md")).unwrap(),
        "# A\nmoved text\n"
    );
    assert_eq!(
        std::fs::metadata(root.join("notes/new.md"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn a_mismatch_anywhere_changes_nothing() {
    let (dir, ws) = workspace();
    let root = dir.path();
    write_file(&root.join("a.txt"), "alpha\nbeta\n");
    write_file(&root.join("b.txt"), "one\ntwo\n");
    write_file(&root.join("gone.txt"), "keep me\n");
    let before = snapshot(root);
    let error = patch(
        &ws,
        "*** Begin Patch
*** Add File: new/file.txt
+created?
*** Update File: a.txt
@@
-alpha
+ALPHA
*** Delete File: gone.txt
*** Update File: b.txt
@@
 one
-three
+THREE
*** End Patch",
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, ToolError::Patch { .. }), "{error:?}");
    assert!(
        message.contains("b.txt") && message.contains("hunk 1") && message.contains("three"),
        "{message}"
    );
    assert!(message.contains("nothing was changed"), "{message}");
    assert_eq!(snapshot(root), before, "a failed patch left changes behind");
}

#[test]
fn refuses_malformed_and_contradictory_patches_without_writing() {
    let (dir, ws) = workspace();
    let root = dir.path();
    write_file(&root.join("a.txt"), "alpha\n");
    let before = snapshot(root);
    let cases = [
        ("", "empty"),
        (
            "*** Update File: a.txt\n@@\n-alpha\n+b\n*** End Patch",
            "starts with `*** Begin Patch`",
        ),
        (
            "*** Begin Patch\n*** Add File: x.txt\n+x\n",
            "must end with `*** End Patch`",
        ),
        ("*** Begin Patch\n*** End Patch", "no file sections"),
        (
            "*** Begin Patch\n*** Frobnicate: a.txt\n*** End Patch",
            "line 2: expected",
        ),
        (
            "*** Begin Patch\n*** Update File: a.txt\n@@\n?alpha\n*** End Patch",
            "line 4: a hunk line starts with",
        ),
        (
            "*** Begin Patch\n*** Update File: a.txt\n*** End Patch",
            "has no `@@` hunks",
        ),
        (
            "*** Begin Patch\n*** Add File: a.txt\n+x\n*** End Patch",
            "already exists",
        ),
        (
            "*** Begin Patch\n*** Delete File: nope.txt\n*** End Patch",
            "does not exist",
        ),
        (
            "*** Begin Patch\n*** Update File: nope.txt\n@@\n-a\n+b\n*** End Patch",
            "does not exist",
        ),
        (
            "*** Begin Patch\n*** Update File: a.txt\n@@\n-alpha\n+b\n*** Delete File: ./a.txt\n*** End Patch",
            "more than one section",
        ),
        (
            "*** Begin Patch\n*** Update File: a.txt\n@@ fn missing()\n-alpha\n+b\n*** End Patch",
            "fn missing()",
        ),
    ];
    for (input, wanted) in cases {
        let message = patch(&ws, input).unwrap_err().to_string();
        assert!(message.contains(wanted), "{input:?}: {message}");
    }
    assert_eq!(snapshot(root), before);
}

#[test]
fn hunk_matching_details() {
    let (dir, ws) = workspace();
    let root = dir.path();
    // Trailing whitespace in the file, none in the patch; end-of-file anchoring; CRLF kept.
    write_file(&root.join("ws.txt"), "x = 1   \ny = 2\nend\nend\n");
    patch(
        &ws,
        "*** Begin Patch\n*** Update File: ws.txt\n@@\n-x = 1\n+x = 10\n*** End Patch",
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("ws.txt")).unwrap(),
        "x = 10\ny = 2\nend\nend\n"
    );
    patch(
        &ws,
        "*** Begin Patch\n*** Update File: ws.txt\n@@\n-end\n+last\n*** End of File\n*** End Patch",
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("ws.txt")).unwrap(),
        "x = 10\ny = 2\nend\nlast\n"
    );

    write_file(&root.join("dos.txt"), "a\r\nb\r\n");
    patch(
        &ws,
        "*** Begin Patch\n*** Update File: dos.txt\n@@\n a\n-b\n+c\n*** End Patch",
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(root.join("dos.txt")).unwrap(), "a\r\nc\r\n");

    // Hunks apply in order: the second `value` is the one after the first hunk.
    write_file(&root.join("twice.txt"), "value\nvalue\n");
    patch(
        &ws,
        "*** Begin Patch\n*** Update File: twice.txt\n@@\n-value\n+first\n@@\n-value\n+second\n*** End Patch",
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("twice.txt")).unwrap(),
        "first\nsecond\n"
    );

    // A pure move, and a blank line before the end marker is not taken as context.
    patch(
        &ws,
        "*** Begin Patch\n*** Update File: twice.txt\n*** Move to: moved/twice.txt\n\n*** End Patch",
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("moved/twice.txt")).unwrap(),
        "first\nsecond\n"
    );
    assert!(!root.join("twice.txt").exists());
}

#[test]
fn accepts_the_patch_alias_and_names_missing_input() {
    let (dir, ws) = workspace();
    apply_patch(
        &ws,
        &json!({ "patch": "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch" }),
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("a.txt")).unwrap(), "a\n");
    let message = apply_patch(&ws, &json!({})).unwrap_err().to_string();
    assert!(
        message.contains("apply_patch: invalid arguments") && message.contains("input"),
        "{message}"
    );
}
