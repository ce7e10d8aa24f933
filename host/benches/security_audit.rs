//! `openclaw security audit --json` on the seeds' hardened baseline, through the real binary.
//!
//! OpenClaw 2026.9.6 takes about 5.6 s for the same command on these machines; the target is
//! 50 ms. Measured, in one run:
//! - **audit**: the whole process (start, config load and validation, the state tree's modes,
//!   plugin discovery, the checks, JSON out) on the hardened baseline with a populated state
//!   directory (three agents' sessions and transcripts, credentials, an extension);
//! - **floor**: `openclaw --version`, the cost of starting the binary at all, as the baseline;
//! - **audit --fix**: the same with the fix pass (nothing left to fix after the first run).
//!
//! Run: `cargo bench -p openclaw --bench security_audit` (`-- quick` for fewer runs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BASELINE: &str = r#"{
  gateway: {
    mode: "local",
    bind: "loopback",
    auth: { mode: "token", token: "0123456789abcdef0123456789abcdef0123456789abcdef" },
  },
  session: { dmScope: "per-channel-peer" },
  tools: {
    profile: "messaging",
    deny: ["group:automation", "group:runtime", "group:fs", "sessions_spawn", "sessions_send"],
    fs: { workspaceOnly: true },
    exec: { security: "deny", ask: "always" },
    elevated: { enabled: false },
  },
  channels: {
    whatsapp: { dmPolicy: "pairing", groups: { "*": { requireMention: true } } },
  },
  agents: { list: [{ id: "main" }, { id: "work" }, { id: "family" }] },
}"#;

fn private(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn populate(state: &Path) {
    std::fs::create_dir_all(state).unwrap();
    private(state, 0o700);
    std::fs::write(state.join("openclaw.json"), BASELINE).unwrap();
    private(&state.join("openclaw.json"), 0o600);
    let creds = state.join("credentials");
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::write(
        creds.join("whatsapp-allowFrom.json"),
        r#"{"version":1,"allowFrom":["+15550001"]}"#,
    )
    .unwrap();
    for agent in ["main", "work", "family"] {
        let sessions = state.join("agents").join(agent).join("sessions");
        std::fs::create_dir_all(&sessions).unwrap();
        std::fs::write(sessions.join("sessions.json"), "{}").unwrap();
        for i in 0..20 {
            std::fs::write(sessions.join(format!("s{i}.jsonl")), "{}\n").unwrap();
        }
    }
    let ext = state.join("extensions/calc");
    std::fs::create_dir_all(&ext).unwrap();
    std::fs::write(
        ext.join("openclaw-plugin.toml"),
        "id = \"calc\"\nversion = \"0.1.0\"\napi = \"0.1.0\"\nkind = \"tool\"\n\n[component]\nfile = \"calc.wasm\"\n",
    )
    .unwrap();
    std::fs::write(ext.join("calc.wasm"), vec![0u8; 200_000]).unwrap();
}

fn time(home: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_openclaw"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    elapsed
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(samples[0]), ms(samples[samples.len() / 2]))
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let runs = if quick { 15 } else { 60 };
    let home = tempfile::tempdir().unwrap();
    populate(&home.path().join(".openclaw"));
    // Warm the page cache and check the report once.
    let out = Command::new(env!("CARGO_BIN_EXE_openclaw"))
        .args(["security", "audit", "--json"])
        .env_clear()
        .env("HOME", home.path())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["critical"], 0, "{report}");
    let (mut floor, mut audit, mut fix) = (Vec::new(), Vec::new(), Vec::new());
    // Interleaved so a slow phase of the machine hits every series alike.
    for _ in 0..runs {
        floor.push(time(home.path(), &["--version"]));
        audit.push(time(home.path(), &["security", "audit", "--json"]));
        fix.push(time(home.path(), &["security", "audit", "--fix", "--json"]));
    }
    println!("security audit on the hardened baseline, {runs} runs each (min / median, ms):");
    for (name, samples) in [
        ("openclaw --version (floor)", floor),
        ("security audit --json", audit),
        ("security audit --fix --json", fix),
    ] {
        let (min, median) = stats(samples);
        println!("  {name:<30} {min:>7.2} / {median:>7.2}");
    }
}
