//! `openclaw plugins ...` as the real binary: pack, install, upgrade with rollback, tamper and API
//! refusals, discovery order, enable/disable, verify, uninstall, and running a plugin.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::Sandbox;
use openclaw_test_support::{build_guest, guest_target_dir, hostile_tool_manifest, plugin_dir, workspace_root};
use serde_json::{Value, json};

const HELLO: &str = r#"id = "hello-tool"
name = "Hello"
version = "0.1.0"
api = "0.1.0"
kind = "tool"

[component]
file = "hello_tool.wasm"

[capabilities]
kv-quota-bytes = 65536

[config.schema]
type = "object"
additionalProperties = false

[config.schema.properties.greeting]
type = "string"
"#;

/// A sandbox whose cargo (for `pack`) works and reuses the guest build directory.
fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    for key in ["RUSTUP_HOME", "CARGO_HOME", "RUSTUP_TOOLCHAIN"] {
        if let Ok(value) = std::env::var(key) {
            sandbox = sandbox.env(key, &value);
        }
    }
    let home = std::env::var("HOME").unwrap_or_default();
    if std::env::var("RUSTUP_HOME").is_err() {
        sandbox = sandbox.env("RUSTUP_HOME", &format!("{home}/.rustup"));
    }
    if std::env::var("CARGO_HOME").is_err() {
        sandbox = sandbox.env("CARGO_HOME", &format!("{home}/.cargo"));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    sandbox
        .env("PATH", &path)
        .env("CARGO_TARGET_DIR", &guest_target_dir().display().to_string())
}

/// Packs `dir` (already holding its component) without building; returns the archive.
fn pack(sandbox: &Sandbox, dir: &Path, name: &str) -> PathBuf {
    let out = sandbox.dir.path().join(name);
    let run = sandbox.run(&[
        "plugins",
        "pack",
        dir.to_str().unwrap(),
        "--no-build",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    out
}

fn hello_package(sandbox: &Sandbox, version: &str) -> PathBuf {
    let dir = plugin_dir(
        "hello-tool",
        &HELLO.replace("0.1.0\"\napi", &format!("{version}\"\napi")),
    );
    pack(sandbox, dir.path(), &format!("hello-{version}.tar.gz"))
}

fn install(sandbox: &Sandbox, source: &Path, extra: &[&str]) -> common::Run {
    let mut args = vec!["plugins", "install", source.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    sandbox.run(&args)
}

fn list(sandbox: &Sandbox) -> Vec<Value> {
    let run = sandbox.run(&["plugins", "list", "--json", "--verbose"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    run.json()["plugins"].as_array().unwrap().clone()
}

fn config(sandbox: &Sandbox) -> Value {
    serde_json::from_str(&sandbox.read_config()).unwrap()
}

#[test]
fn pack_builds_and_records_the_digest() {
    let sandbox = sandbox();
    let out = sandbox.dir.path().join("calc.tar.gz");
    let dir = workspace_root().join("plugins/calc");
    let run = sandbox.run(&[
        "plugins",
        "pack",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let packed = run.json();
    let wasm = std::fs::read(build_guest("calc")).unwrap();
    assert_eq!(packed["sha256"], openclaw_state::ids::sha256_hex(&wasm));
    assert_eq!(packed["id"], "calc");
    // The archive holds the manifest with the digest filled in, and nothing but package files.
    let file = std::fs::File::open(&out).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        if name.ends_with("openclaw-plugin.toml") {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            assert!(
                text.contains(&format!("sha256 = \"{}\"", packed["sha256"].as_str().unwrap())),
                "{text}"
            );
            assert!(text.contains("# calculate: evaluates"), "comments are kept: {text}");
        }
        names.push(name);
    }
    names.sort();
    assert_eq!(names, ["calc/calc.wasm", "calc/openclaw-plugin.toml"]);
}

#[test]
fn install_list_info_enable_verify_uninstall() {
    let sandbox = sandbox();
    let package = hello_package(&sandbox, "0.1.0");
    let run = install(&sandbox, &package, &["--pin"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let installed = run.json();
    assert_eq!(installed["tools"], json!(["hello"]));
    assert_eq!(installed["needsAllow"], true);
    let install_dir = sandbox.state_dir().join("extensions/hello-tool");
    assert_eq!(common::mode(&install_dir), 0o700);
    assert_eq!(common::mode(&install_dir.join("hello_tool.wasm")), 0o600);

    let record = &config(&sandbox)["plugins"]["installs"]["hello-tool"];
    assert_eq!(record["source"], "archive");
    assert_eq!(record["version"], "0.1.0");
    assert_eq!(record["pinned"], true);
    assert_eq!(record["sha256"], installed["sha256"]);
    assert_eq!(record["tools"], json!(["hello"]));
    assert_eq!(
        record["manifestSha256"],
        sha256_of(&install_dir.join("openclaw-plugin.toml"))
    );
    assert_eq!(
        record["installPath"],
        install_dir.canonicalize().unwrap().display().to_string()
    );
    assert!(record["installedAt"].as_str().unwrap().ends_with('Z'));

    // Installed is not allowed: nothing loads until the operator says so.
    let plugins = list(&sandbox);
    assert_eq!(plugins[0]["status"], "not-allowed");
    let info = sandbox.run(&["plugins", "info", "hello-tool", "--json"]).json();
    assert_eq!(info["effectiveGrant"], Value::Null);
    assert_eq!(info["grantIfAllowed"]["kvQuotaBytes"], 65536);
    assert_eq!(info["install"]["pinned"], true);

    let run = sandbox.run(&["plugins", "enable", "hello-tool", "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let info = sandbox.run(&["plugins", "info", "hello-tool", "--json"]).json();
    assert_eq!(info["status"], "loads");
    assert_eq!(info["effectiveGrant"]["kvQuotaBytes"], 65536);
    assert_eq!(info["effectiveGrant"]["limits"]["timeoutMs"], 10000);
    let human = sandbox.run(&["plugins", "info", "hello-tool"]);
    assert!(human.stdout.contains("effective grant:"), "{}", human.stdout);

    let verify = sandbox.run(&["plugins", "verify", "--json"]);
    assert_eq!(verify.code, Some(0), "{}", verify.stdout);
    assert_eq!(verify.json()["ok"], true);

    let run = sandbox.run(&["plugins", "disable", "hello-tool", "--json"]);
    assert_eq!(run.code, Some(0));
    assert_eq!(list(&sandbox)[0]["status"], "disabled");

    let dry = sandbox
        .run(&["plugins", "uninstall", "hello-tool", "--dry-run", "--json"])
        .json();
    assert_eq!(dry["dryRun"], true);
    assert!(install_dir.exists());
    let data_dir = sandbox.state_dir().join("plugins/data/hello-tool");
    assert!(!data_dir.exists(), "the install check ran it without storage");
    let run = sandbox.run(&[
        "plugins",
        "run",
        install_dir.to_str().unwrap(),
        "--tool",
        "hello",
        "--args",
        r#"{"name":"Ada"}"#,
    ]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        data_dir.is_dir(),
        "running it with its grant opened its key-value store"
    );
    let cache_dir = sandbox.state_dir().join("plugins/cache");
    let sha = installed["sha256"].as_str().unwrap().to_string();
    let cached = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(&sha))
            .count()
    };
    assert_eq!(cached(&cache_dir), 1);
    let run = sandbox.run(&["plugins", "uninstall", "hello-tool", "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!install_dir.exists());
    assert!(!data_dir.exists(), "its key-value data goes too");
    assert_eq!(cached(&cache_dir), 0, "and its compiled copies");
    let after = config(&sandbox);
    assert_eq!(after["plugins"]["installs"], json!({}));
    assert_eq!(after["plugins"]["allow"], json!([]));
    assert!(list(&sandbox).is_empty());
}

#[test]
fn tampered_packages_and_components_are_refused() {
    let sandbox = sandbox();
    // Repack with a modified component but the original manifest (with its digest).
    let good = hello_package(&sandbox, "0.1.0");
    let unpacked = sandbox.dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(&good).unwrap()));
    archive.unpack(&unpacked).unwrap();
    let wasm = unpacked.join("hello-tool/hello_tool.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&wasm, &bytes).unwrap();
    let evil = sandbox.dir.path().join("evil.tar.gz");
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&evil).unwrap(),
        flate2::Compression::fast(),
    ));
    builder
        .append_dir_all("hello-tool", unpacked.join("hello-tool"))
        .unwrap();
    builder.into_inner().unwrap().finish().unwrap();

    let run = install(&sandbox, &evil, &[]);
    assert_eq!(run.code, Some(1));
    let message = run.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("modified after it was packed"), "{message}");
    assert!(!sandbox.state_dir().join("extensions/hello-tool").exists());

    // An archive with a symlink or a path escape is refused outright.
    let sneaky = sandbox.dir.path().join("sneaky.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&sneaky).unwrap());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    builder
        .append_link(&mut header, "hello-tool/hello_tool.wasm", "/etc/passwd")
        .unwrap();
    builder.finish().unwrap();
    let run = install(&sandbox, &sneaky, &[]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.contains("regular files only"), "{}", run.stdout);

    // A good install whose component is modified afterwards fails verification and stops loading.
    assert_eq!(install(&sandbox, &good, &[]).code, Some(0));
    assert_eq!(sandbox.run(&["plugins", "enable", "hello-tool"]).code, Some(0));
    let installed = sandbox.state_dir().join("extensions/hello-tool/hello_tool.wasm");
    std::fs::write(&installed, &bytes).unwrap();
    let verify = sandbox.run(&["plugins", "verify", "--json"]);
    assert_eq!(verify.code, Some(1));
    assert!(
        verify.stdout.contains("changed since it was installed"),
        "{}",
        verify.stdout
    );
}

#[test]
fn incompatible_api_is_refused_naming_both_versions() {
    let sandbox = sandbox();
    let dir = plugin_dir("hello-tool", &HELLO.replace("api = \"0.1.0\"", "api = \"0.2.0\""));
    let run = install(&sandbox, dir.path(), &[]);
    assert_eq!(run.code, Some(1));
    let message = run.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("plugin API 0.2.0") && message.contains("plugin API 0.1.0"),
        "{message}"
    );
    let major = plugin_dir("hello-tool", &HELLO.replace("api = \"0.1.0\"", "api = \"1.0.0\""));
    let run = install(&sandbox, major.path(), &[]);
    assert!(
        run.stdout.contains("1.0.0") && run.stdout.contains("0.1.0"),
        "{}",
        run.stdout
    );
}

#[test]
fn upgrades_keep_the_old_version_until_the_new_one_loads() {
    let sandbox = sandbox();
    let v1 = hello_package(&sandbox, "0.1.0");
    assert_eq!(install(&sandbox, &v1, &[]).code, Some(0));
    sandbox.run(&["plugins", "enable", "hello-tool"]);
    sandbox.run(&["config", "set", "plugins.entries[\"hello-tool\"].config.greeting", "Hi"]);
    let record_v1 = config(&sandbox)["plugins"]["installs"]["hello-tool"].clone();

    // v2's component is not a valid component at all.
    let broken = plugin_dir("hello-tool", &HELLO.replace("0.1.0\"\napi", "0.2.0\"\napi"));
    std::fs::write(broken.path().join("hello_tool.wasm"), b"\0asm\x0d\0\x01\0 not really").unwrap();
    let broken_pkg = pack(&sandbox, broken.path(), "broken.tar.gz");
    let run = install(&sandbox, &broken_pkg, &["--replace"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.stdout.contains("version 0.1.0 stays installed"), "{}", run.stdout);

    // v2 is a different plugin's component (a channel) under the same id: does not link.
    let wrong = plugin_dir(
        "channel-probe",
        &HELLO
            .replace("0.1.0\"\napi", "0.2.0\"\napi")
            .replace("hello_tool.wasm", "channel_probe.wasm"),
    );
    let wrong_pkg = pack(&sandbox, wrong.path(), "wrong.tar.gz");
    assert_eq!(install(&sandbox, &wrong_pkg, &["--replace"]).code, Some(1));

    // v2's config schema rejects the operator's existing config.
    let strict = plugin_dir(
        "hello-tool",
        &HELLO.replace("0.1.0\"\napi", "0.2.0\"\napi").replace(
            "[config.schema.properties.greeting]\ntype = \"string\"",
            "[config.schema.properties.greeting]\ntype = \"integer\"",
        ),
    );
    let strict_pkg = pack(&sandbox, strict.path(), "strict.tar.gz");
    let run = install(&sandbox, &strict_pkg, &["--replace"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.stdout.contains("greeting"), "{}", run.stdout);

    // After every failed upgrade: v1 is what is installed, recorded and loading.
    assert_eq!(config(&sandbox)["plugins"]["installs"]["hello-tool"], record_v1);
    let plugins = list(&sandbox);
    assert_eq!(
        (plugins[0]["version"].as_str(), plugins[0]["status"].as_str()),
        (Some("0.1.0"), Some("loads"))
    );
    assert_eq!(sandbox.run(&["plugins", "verify"]).code, Some(0));
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.state_dir().join("extensions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    assert_eq!(leftovers, ["hello-tool"]);

    // A good v2 replaces v1.
    let v2 = hello_package(&sandbox, "0.2.0");
    let run = install(&sandbox, &v2, &["--replace"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(run.json()["previousVersion"], "0.1.0");
    assert_eq!(
        config(&sandbox)["plugins"]["installs"]["hello-tool"]["version"],
        "0.2.0"
    );
    assert_eq!(list(&sandbox)[0]["version"], "0.2.0");
}

#[test]
fn an_interrupted_upgrade_is_repaired() {
    let sandbox = sandbox();
    let v1 = hello_package(&sandbox, "0.1.0");
    assert_eq!(install(&sandbox, &v1, &[]).code, Some(0));
    // As if the process died between moving v1 aside and moving v2 in.
    let ext = sandbox.state_dir().join("extensions");
    std::fs::rename(ext.join("hello-tool"), ext.join(".hello-tool.previous-deadbeef")).unwrap();
    std::fs::create_dir(ext.join(".staging-new-0123")).unwrap();
    // The next plugins command puts v1 back (and clears the stale staging directory).
    let run = sandbox.run(&["plugins", "verify", "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert!(run.stderr.contains("restored hello-tool"), "{}", run.stderr);
    assert!(ext.join("hello-tool/hello_tool.wasm").exists());
    assert!(!ext.join(".staging-new-0123").exists());
    assert!(!ext.join(".hello-tool.previous-deadbeef").exists());
    assert_eq!(list(&sandbox)[0]["id"], "hello-tool");
}

fn sha256_of(path: &Path) -> String {
    openclaw_state::ids::sha256_hex(&std::fs::read(path).unwrap())
}

fn canonical(path: &Path) -> String {
    path.canonicalize().unwrap().display().to_string()
}

/// `manifest` with its `id` replaced.
fn with_id(manifest: &str, id: &str) -> String {
    let (first, rest) = manifest.split_once('\n').unwrap();
    assert!(first.starts_with("id = "), "{first}");
    format!("id = \"{id}\"\n{rest}")
}

/// The `plugins list` entry of `id`.
fn entry(sandbox: &Sandbox, id: &str) -> Value {
    list(sandbox)
        .into_iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not listed"))
}

/// The message of a `--json` failure.
fn error_of(run: &common::Run) -> String {
    run.json()["error"]["message"].as_str().unwrap_or_default().to_string()
}

/// Copies the built `package` and `manifest` into `dir` (created).
fn place(dir: &Path, package: &str, manifest: &str, file: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(build_guest(package), dir.join(file)).unwrap();
    std::fs::write(dir.join("openclaw-plugin.toml"), manifest).unwrap();
}

fn workspace_extensions(sandbox: &Sandbox) -> PathBuf {
    sandbox.home().join(".openclaw/workspace/.openclaw/extensions")
}

#[test]
fn two_plugins_with_one_id_are_refused_naming_both() {
    let sandbox = sandbox();
    let first = plugin_dir("hello-tool", HELLO);
    let second = plugin_dir("hello-tool", HELLO);
    sandbox.write_config(
        &json!({"plugins": {"allow": ["hello-tool"], "load": {"paths": [first.path(), second.path()]}}}).to_string(),
    );
    let listed = list(&sandbox);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let hello = &listed[0];
    assert_eq!(
        (hello["status"].as_str(), hello["loads"].as_bool()),
        (Some("duplicate-id"), Some(false))
    );
    let reason = hello["reason"].as_str().unwrap();
    for dir in [first.path(), second.path()] {
        assert!(reason.contains(&canonical(dir)), "{reason}");
    }
    assert_eq!(hello["duplicates"][0]["dir"], canonical(second.path()));
    let human = sandbox.run(&["plugins", "list", "--verbose"]);
    assert!(human.stdout.contains(&canonical(second.path())), "{}", human.stdout);
}

#[test]
fn a_copy_beside_an_installed_plugin_stops_both() {
    let sandbox = sandbox();
    let package = hello_package(&sandbox, "0.1.0");
    assert_eq!(install(&sandbox, &package, &[]).code, Some(0));
    sandbox.run(&["plugins", "enable", "hello-tool"]);
    assert_eq!(entry(&sandbox, "hello-tool")["status"], "loads");
    let installed = canonical(&sandbox.state_dir().join("extensions/hello-tool"));

    // The same directory reached twice (a load path naming the install directory) is one plugin.
    sandbox.run(&["config", "set", "plugins.load.paths", &json!([installed]).to_string()]);
    let listed = list(&sandbox);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "loads");
    sandbox.run(&["config", "set", "plugins.load.paths", "[]"]);

    // A copy in the workspace (say, a cloned repository) comes earlier in discovery: neither
    // loads, and the refusal names both and which one is installed.
    let copy = workspace_extensions(&sandbox).join("hello-tool");
    place(&copy, "hello-tool", HELLO, "hello_tool.wasm");
    let hello = entry(&sandbox, "hello-tool");
    assert_eq!(hello["status"], "duplicate-id", "{hello}");
    let reason = hello["reason"].as_str().unwrap();
    assert!(
        reason.contains(&installed) && reason.contains(&canonical(&copy)),
        "{reason}"
    );
    assert!(hello["fix"].as_str().unwrap().contains(&canonical(&copy)), "{hello}");
    // Installing again says so rather than pretending the plugin will load.
    let run = install(&sandbox, &package, &[]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert!(
        run.json()["warnings"][0].as_str().unwrap().contains(&canonical(&copy)),
        "{}",
        run.stdout
    );
    // It cannot be pinned into place either.
    let run = sandbox.run(&["plugins", "pin", "hello-tool", "--json"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(error_of(&run).contains(&canonical(&copy)), "{}", run.stdout);

    std::fs::remove_dir_all(&copy).unwrap();
    assert_eq!(entry(&sandbox, "hello-tool")["status"], "loads");

    // A group-writable plugin directory is refused.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&installed, std::fs::Permissions::from_mode(0o775)).unwrap();
    assert_eq!(entry(&sandbox, "hello-tool")["status"], "unsafe-path");
}

#[test]
fn workspace_plugins_load_only_with_a_pinned_digest() {
    let sandbox = sandbox();
    let calc = workspace_extensions(&sandbox).join("calc");
    let manifest = std::fs::read_to_string(workspace_root().join("plugins/calc/openclaw-plugin.toml")).unwrap();
    place(&calc, "calc", &manifest, "calc.wasm");
    // Allowed and enabled is not enough for code the agent could have written.
    assert_eq!(sandbox.run(&["plugins", "enable", "calc"]).code, Some(0));
    let listed = entry(&sandbox, "calc");
    assert_eq!(listed["status"], "workspace-not-pinned", "{listed}");
    assert!(
        listed["fix"].as_str().unwrap().contains("openclaw plugins pin calc"),
        "{listed}"
    );

    // A digest that is not the component's pins nothing.
    let run = sandbox.run(&["plugins", "pin", "calc", "--sha256", &"0".repeat(64), "--json"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        error_of(&run).contains(&sha256_of(&calc.join("calc.wasm"))),
        "{}",
        run.stdout
    );
    assert_eq!(config(&sandbox)["plugins"]["installs"]["calc"], Value::Null);

    let run = sandbox.run(&["plugins", "pin", "calc", "--json"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let record = &config(&sandbox)["plugins"]["installs"]["calc"];
    assert_eq!(record["sha256"], sha256_of(&calc.join("calc.wasm")));
    assert_eq!(record["manifestSha256"], sha256_of(&calc.join("openclaw-plugin.toml")));
    assert_eq!(record["installPath"], canonical(&calc));
    assert_eq!(record["pinned"], true);
    assert_eq!(record["tools"], json!(["calculate"]));
    assert_eq!(entry(&sandbox, "calc")["status"], "loads");

    // The agent edits the manifest to ask for more: refused until the operator pins again.
    std::fs::write(
        calc.join("openclaw-plugin.toml"),
        format!("{manifest}\n[capabilities]\nhttp = [\"collector.example\"]\n"),
    )
    .unwrap();
    let listed = entry(&sandbox, "calc");
    assert_eq!(listed["status"], "manifest-changed", "{listed}");
    std::fs::write(calc.join("openclaw-plugin.toml"), &manifest).unwrap();
    assert_eq!(entry(&sandbox, "calc")["status"], "loads");

    // Unpinning lets install and update replace it; the digests stay and still gate loading.
    let run = sandbox.run(&["plugins", "unpin", "calc", "--json"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let record = &config(&sandbox)["plugins"]["installs"]["calc"];
    assert_eq!(record["pinned"], Value::Null);
    assert_eq!(record["sha256"], sha256_of(&calc.join("calc.wasm")));

    // The component is swapped: verification says so (loading refuses it: tests/gateway_plugins.rs).
    std::fs::copy(build_guest("hello-tool"), calc.join("calc.wasm")).unwrap();
    let verify = sandbox.run(&["plugins", "verify", "calc", "--json"]);
    assert_eq!(verify.code, Some(1), "{}", verify.stdout);
    assert!(verify.stdout.contains("changed since"), "{}", verify.stdout);
}

#[test]
fn install_never_replaces_another_source_or_a_pinned_plugin() {
    let sandbox = sandbox();
    let source = plugin_dir("hello-tool", HELLO);
    assert_eq!(install(&sandbox, source.path(), &[]).code, Some(0));

    // The same id from another source is refused, naming both, unless --replace.
    let package = hello_package(&sandbox, "0.2.0");
    let run = install(&sandbox, &package, &[]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let message = error_of(&run);
    assert!(
        message.contains(&canonical(source.path()))
            && message.contains(&canonical(&package))
            && message.contains("--replace"),
        "{message}"
    );
    assert_eq!(
        config(&sandbox)["plugins"]["installs"]["hello-tool"]["version"],
        "0.1.0"
    );
    let run = install(&sandbox, &package, &["--replace"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(
        config(&sandbox)["plugins"]["installs"]["hello-tool"]["sourcePath"],
        canonical(&package)
    );
    // From the recorded source it is an upgrade.
    assert_eq!(install(&sandbox, &package, &[]).code, Some(0));

    // A pinned plugin is replaced by nothing, --replace included.
    assert_eq!(install(&sandbox, source.path(), &["--replace", "--pin"]).code, Some(0));
    for extra in [&[][..], &["--replace"][..]] {
        let run = install(&sandbox, source.path(), extra);
        assert_eq!(run.code, Some(1), "{}", run.stdout);
        assert!(
            error_of(&run).contains("openclaw plugins unpin hello-tool"),
            "{}",
            run.stdout
        );
    }
    std::fs::copy(build_guest("calc"), source.path().join("hello_tool.wasm")).unwrap();
    let run = sandbox.run(&["plugins", "update", "hello-tool", "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let outcome = &run.json()["updates"][0];
    assert_eq!(outcome["status"], "pinned", "{outcome}");
    assert!(outcome["message"].as_str().unwrap().contains("unpin"), "{outcome}");
    let forced = sandbox.run(&["plugins", "update", "hello-tool", "--force"]);
    assert_eq!(forced.code, Some(2), "there is no --force: {}", forced.stderr);
    let recorded = config(&sandbox)["plugins"]["installs"]["hello-tool"].clone();
    assert_eq!(recorded["sha256"], sha256_of(&build_guest("hello-tool")));

    // Unpinned, update re-installs from the recorded source, but only under the recorded id.
    assert_eq!(sandbox.run(&["plugins", "unpin", "hello-tool"]).code, Some(0));
    std::fs::copy(build_guest("hello-tool"), source.path().join("hello_tool.wasm")).unwrap();
    std::fs::write(source.path().join("openclaw-plugin.toml"), with_id(HELLO, "hello-two")).unwrap();
    let run = sandbox.run(&["plugins", "update", "hello-tool", "--json"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let outcome = &run.json()["updates"][0];
    let message = outcome["message"].as_str().unwrap();
    assert!(
        message.contains("hello-two") && message.contains("hello-tool"),
        "{outcome}"
    );
    assert!(!sandbox.state_dir().join("extensions/hello-two").exists());
    let plugins = &config(&sandbox)["plugins"];
    assert_eq!(plugins["installs"]["hello-two"], Value::Null);
    assert_eq!(plugins["installs"]["hello-tool"]["sha256"], recorded["sha256"]);
}

#[test]
fn a_tool_another_installed_plugin_provides_is_refused_at_install() {
    let sandbox = sandbox();
    let package = hello_package(&sandbox, "0.1.0");
    assert_eq!(install(&sandbox, &package, &[]).code, Some(0));
    let twin = plugin_dir("hello-tool", &with_id(HELLO, "hello-two"));
    let run = install(&sandbox, twin.path(), &[]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let message = error_of(&run);
    assert!(
        message.contains("`hello`") && message.contains("\"hello-tool\"") && message.contains("\"hello-two\""),
        "{message}"
    );
    assert!(!sandbox.state_dir().join("extensions/hello-two").exists());
    assert_eq!(config(&sandbox)["plugins"]["installs"]["hello-two"], Value::Null);
}

#[test]
fn the_install_check_runs_nothing_denied_and_grants_nothing() {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let server = tokio.block_on(openclaw_test_support::TestServer::start());
    let host = server.host_port();
    let manifest = format!(
        "id = \"grant-probe\"\nversion = \"0.1.0\"\napi = \"0.1.0\"\nkind = \"tool\"\n[component]\nfile = \"grant_probe.wasm\"\n\
         [capabilities]\nhttp = [\"{host}\"]\nprivate-network = true\nkv-quota-bytes = 4096\nsandbox-exec = true\n\
         [[capabilities.secrets]]\nname = \"PROBE_TOKEN\"\nhosts = [\"{host}\"]\nslots = [{{ header = \"Authorization\", template = \"Bearer {{}}\" }}]\n"
    );
    let dir = plugin_dir("grant-probe", &manifest);
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/probe-url"), server.url("/echo")).unwrap();
    let sandbox = sandbox();
    let settings = |deny: Value| {
        json!({"plugins": {
            "deny": deny,
            "entries": {"grant-probe": {
                "http": {"allowPrivateNetwork": ["127.0.0.1"]},
                "sandboxExec": true,
                "secrets": {"PROBE_TOKEN": "probe-secret-0123456789"},
                "config": {"from": "the operator"},
            }},
        }})
        .to_string()
    };
    let data = sandbox.state_dir().join("plugins/data/grant-probe");

    // Denied: refused before any of its code runs.
    sandbox.write_config(&settings(json!(["grant-probe"])));
    let run = install(&sandbox, dir.path(), &[]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(error_of(&run).contains("plugins.deny"), "{}", run.stdout);
    assert_eq!(server.hits(), Vec::<String>::new());
    assert!(!sandbox.state_dir().join("extensions/grant-probe").exists());

    // Not denied: its tools are listed with no grant at all.
    sandbox.write_config(&settings(json!([])));
    let run = install(&sandbox, dir.path(), &[]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["tools"], json!(["probe"]));
    assert_eq!(server.hits(), Vec::<String>::new(), "the check sent a request");
    assert!(!data.exists(), "the check opened its storage");

    // Control: the same component under its grant does reach the server and its storage.
    let run = sandbox.run(&[
        "plugins",
        "run",
        sandbox.state_dir().join("extensions/grant-probe").to_str().unwrap(),
        "--tool",
        "probe",
    ]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let seen = &run.json()["result"];
    assert_eq!(
        (seen["http"]["ok"].as_bool(), seen["kv"]["ok"].as_bool()),
        (Some(true), Some(true)),
        "{seen}"
    );
    assert_eq!(seen["config"]["from"], "the operator");
    assert!(!server.hits().is_empty());
    assert!(data.is_dir());
    drop(tokio);
}

#[test]
fn run_honours_deny_and_binds_secrets_only_when_asked() {
    const TOKEN: &str = "run-token-0a1b2c3d4e5f";
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let server = tokio.block_on(openclaw_test_support::TestServer::start());
    let host = server.host_port();
    let manifest = hostile_tool_manifest(&host, "");
    let dir = plugin_dir("hostile-tool", &manifest);
    let sandbox = sandbox();
    let settings = |deny: Value| {
        json!({"plugins": {"deny": deny, "entries": {"hostile": {"secrets": {"API_TOKEN": TOKEN}}}}}).to_string()
    };
    let args = json!({
        "op": "http",
        "url": server.url("/echo"),
        "headers": {"authorization": "Bearer {{secret:API_TOKEN}}"},
    })
    .to_string();
    let run_it = |extra: &[&str]| {
        let mut argv = vec![
            "plugins",
            "run",
            dir.path().to_str().unwrap(),
            "--tool",
            "attack",
            "--args",
            &args,
            "--allow-private",
            "127.0.0.1",
            "--json",
        ];
        argv.extend_from_slice(extra);
        sandbox.run(&argv)
    };

    sandbox.write_config(&settings(json!(["hostile"])));
    let run = run_it(&[]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(error_of(&run).contains("plugins.deny"), "{}", run.stdout);

    // Without --with-secrets the operator's value is not bound: the placeholder is refused and
    // nothing is sent.
    sandbox.write_config(&settings(json!([])));
    let run = run_it(&[]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let result = &run.json()["result"];
    assert_eq!(result["ok"], false, "{result}");
    assert!(
        run.stderr.contains("API_TOKEN"),
        "the refusal is logged naming the secret: {}",
        run.stderr
    );
    assert!(run.stderr.contains("--with-secrets"), "{}", run.stderr);
    assert_eq!(server.hits(), Vec::<String>::new());
    let run = run_it(&["--with-secrets"]);
    assert_eq!(run.json()["result"]["status"], 200, "{}", run.stdout);
    drop(tokio);
}

#[test]
fn javascript_plugins_and_unknown_ids_are_reported() {
    let sandbox = sandbox();
    let js = sandbox.state_dir().join("extensions/voice-call");
    std::fs::create_dir_all(&js).unwrap();
    std::fs::write(
        js.join("openclaw.plugin.json"),
        r#"{ id: "voice-call", name: "Voice call", configSchema: {} }"#,
    )
    .unwrap();
    std::fs::write(js.join("index.ts"), "export default {};\n").unwrap();
    sandbox.write_config(
        &json!({"plugins": {"allow": ["voice-call", "ghost"], "entries": {"phantom": {"enabled": true}}}}).to_string(),
    );

    let run = sandbox.run(&["plugins", "list", "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = run.json();
    let voice = report["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "voice-call")
        .unwrap_or_else(|| panic!("the JavaScript plugin is not listed: {report}"));
    assert_eq!(voice["loads"], false);
    assert_eq!(voice["status"], "not-webassembly");
    assert_eq!(voice["format"], "openclaw-js");
    assert!(voice["reason"].as_str().unwrap().contains("WebAssembly"), "{voice}");
    assert!(voice["fix"].as_str().unwrap().contains("OpenClaw"), "{voice}");
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("ghost") && warnings.contains("plugins.allow") && warnings.contains("phantom"),
        "{report}"
    );
    assert!(
        !warnings.contains("voice-call"),
        "a present plugin is not unknown: {report}"
    );
    let human = sandbox.run(&["plugins", "list"]);
    let shown = format!("{}{}", human.stdout, human.stderr);
    assert!(
        shown.contains("voice-call") && shown.contains("ghost") && shown.contains("phantom"),
        "{shown}"
    );

    let doctor = sandbox.run(&["doctor", "--json"]).json();
    let checks = doctor["checks"].to_string();
    assert!(
        checks.contains("voice-call")
            && checks.contains("WebAssembly")
            && checks.contains("ghost")
            && checks.contains("phantom"),
        "{doctor}"
    );
    let human = sandbox.run(&["doctor"]);
    assert!(!human.stdout.contains("issue"), "{}", human.stdout);
}

#[test]
fn run_calls_a_plugin_under_the_real_host() {
    let sandbox = sandbox();
    let dir = plugin_dir("hello-tool", HELLO);
    let run = sandbox.run(&[
        "plugins",
        "run",
        dir.path().to_str().unwrap(),
        "--tool",
        "hello",
        "--args",
        r#"{"name":"Ada"}"#,
        "--config",
        r#"{"greeting":"Hi"}"#,
    ]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["result"], json!({"message": "Hi, Ada!", "times": 1}));
    // The plugin's config is validated against its schema before it runs.
    let run = sandbox.run(&[
        "plugins",
        "run",
        dir.path().to_str().unwrap(),
        "--tool",
        "hello",
        "--config",
        r#"{"greeting": 5}"#,
        "--json",
    ]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.contains("greeting"), "{}", run.stdout);
}

#[test]
fn pooling_falls_back_to_on_demand_under_an_address_space_limit() {
    let sandbox = sandbox();
    let dir = plugin_dir("hello-tool", HELLO);
    let list_tools = |limit: Option<u64>| {
        let mut cmd = sandbox.command(&[]);
        let script = match limit {
            Some(kib) => format!("ulimit -v {kib} && exec \"$0\" \"$@\""),
            None => "exec \"$0\" \"$@\"".to_string(),
        };
        let program = cmd.get_program().to_owned();
        let mut shell = std::process::Command::new("/bin/sh");
        shell.arg("-c").arg(script).arg(program);
        shell.args(["plugins", "run", dir.path().to_str().unwrap(), "--json"]);
        shell.env_clear();
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                shell.env(k, v);
            }
        }
        let out: common::Run = shell.output().unwrap().into();
        assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
        cmd.arg("unused");
        out.json()
    };
    assert_eq!(list_tools(None)["allocator"], "pooling");
    let limited = list_tools(Some(6 * 1024 * 1024));
    assert_eq!(limited["allocator"], "on-demand");
    assert_eq!(limited["tools"][0]["name"], "hello");
}

#[test]
fn run_substitutes_secret_refs_for_their_bound_host_only() {
    const TOKEN: &str = "ref-token-5f1e2d3c4b5a69788796";
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let server = tokio.block_on(openclaw_test_support::TestServer::start());
    let sandbox = sandbox()
        .env("HOSTILE_TOKEN", TOKEN)
        .env("SCOPED_TOKEN", "scoped-0000-1111-2222");
    let host = server.host_port();
    let manifest = hostile_tool_manifest(
        &host,
        &format!(
            "[[capabilities.secrets]]\nname = \"SCOPED\"\nhosts = [\"{host}\"]\nslots = [{{ header = \"X-Scoped\" }}]\n"
        ),
    );
    let dir = plugin_dir("hostile-tool", &manifest);
    sandbox.write_config(&format!(
        r#"{{
  plugins: {{
    entries: {{
      hostile: {{
        secrets: {{
          API_TOKEN: {{ source: "env", provider: "default", id: "HOSTILE_TOKEN" }},
          SCOPED: {{ value: {{ source: "env", provider: "default", id: "SCOPED_TOKEN" }}, hosts: ["{host}"] }},
        }},
      }},
    }},
  }},
}}"#
    ));
    let args = json!({
        "op": "http",
        "url": server.url("/echo"),
        "headers": {"authorization": "Bearer {{secret:API_TOKEN}}", "x-scoped": "{{secret:SCOPED}}"},
        "needles": [TOKEN, "scoped-0000-1111-2222"],
    })
    .to_string();
    let run = sandbox.run(&[
        "plugins",
        "run",
        dir.path().to_str().unwrap(),
        "--tool",
        "attack",
        "--args",
        &args,
        "--allow-private",
        "127.0.0.1",
        "--with-secrets",
    ]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let result = &run.json()["result"];
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["saw_needle"], false, "{result}");
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
    let body: Value = serde_json::from_str(result["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["headers"]["authorization"], "Bearer [redacted:API_TOKEN]");
    assert_eq!(body["headers"]["x-scoped"], "[redacted:SCOPED]");
    drop(tokio);
}

#[test]
fn run_build_compiles_and_calls_the_plugin() {
    let sandbox = sandbox();
    let dir = workspace_root().join("plugins/calc");
    let run = sandbox.run(&[
        "plugins",
        "run",
        dir.to_str().unwrap(),
        "--build",
        "--tool",
        "calculate",
        "--args",
        r#"{"expression": "6 * 7"}"#,
    ]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["result"]["result"], 42.0);
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    use std::io::Read;
    let sandbox = sandbox();
    let mut child = sandbox
        .command(&["config", "schema"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.as_mut().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(141), "{stderr}");
}

#[test]
fn linked_plugins_load_from_their_directory_first_and_are_never_deleted() {
    let sandbox = sandbox();
    let dir = plugin_dir("hello-tool", HELLO);
    let run = install(&sandbox, dir.path(), &["--link"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let canonical = dir.path().canonicalize().unwrap().display().to_string();
    let plugins = &config(&sandbox)["plugins"];
    assert_eq!(plugins["load"]["paths"], json!([canonical]));
    assert_eq!(plugins["installs"]["hello-tool"]["installPath"], canonical);
    assert!(
        !sandbox.state_dir().join("extensions/hello-tool").exists(),
        "nothing was copied"
    );
    sandbox.run(&["plugins", "enable", "hello-tool"]);
    let listed = list(&sandbox);
    assert_eq!(
        (listed[0]["origin"].as_str(), listed[0]["status"].as_str()),
        (Some("config"), Some("loads"))
    );

    let run = sandbox.run(&["plugins", "uninstall", "hello-tool", "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        dir.path().join("hello_tool.wasm").exists(),
        "a linked directory is the operator's"
    );
    assert_eq!(config(&sandbox)["plugins"]["load"]["paths"], json!([]));
}
