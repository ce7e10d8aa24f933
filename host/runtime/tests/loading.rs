//! Loading: digests verified at every load, the compile cache and when it is trusted, components
//! that are not what their manifest says; and the HTTP response caps.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{HELLO_MANIFEST, Harness, context, hostile_manifest};
use openclaw_runtime::LoadError;
use openclaw_runtime::cache::CacheOutcome;
use openclaw_state::ids::sha256_hex;
use openclaw_test_support::{TestServer, build_guest, plugin_dir};
use serde_json::json;

fn hello_allowed() -> serde_json::Value {
    json!({"allow": ["hello-tool"]})
}

#[tokio::test]
async fn digest_is_checked_against_manifest_and_install_record() {
    let harness = Harness::new();
    let wasm = std::fs::read(build_guest("hello-tool")).unwrap();
    let digest = sha256_hex(&wasm);

    let pinned_manifest = HELLO_MANIFEST.replace(
        "file = \"hello_tool.wasm\"",
        &format!("file = \"hello_tool.wasm\"\nsha256 = \"{digest}\""),
    );
    let dir = plugin_dir("hello-tool", &pinned_manifest);
    let plugin = harness
        .load_dir(dir.path(), hello_allowed(), &[], Some(digest.clone()))
        .await
        .unwrap();
    assert_eq!(plugin.sha256, digest);

    // One flipped byte in the component: refused, naming both digests and the way out.
    let component = dir.path().join("hello_tool.wasm");
    let mut tampered = wasm.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    std::fs::write(&component, &tampered).unwrap();
    let err = harness
        .load_dir(dir.path(), hello_allowed(), &[], Some(digest.clone()))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LoadError::DigestMismatch { .. }), "{message}");
    assert!(
        message.contains(&digest) && message.contains(&sha256_hex(&tampered)),
        "{message}"
    );
    assert!(message.contains("install record"), "{message}");

    // Without an install record the manifest's digest still catches it.
    let err = harness
        .load_dir(dir.path(), hello_allowed(), &[], None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the manifest pins"), "{err}");

    // A symlinked component is refused rather than followed.
    std::fs::remove_file(&component).unwrap();
    std::os::unix::fs::symlink(build_guest("hello-tool"), &component).unwrap();
    let err = harness
        .load_dir(dir.path(), hello_allowed(), &[], None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("symlinks are not followed"), "{err}");
}

#[tokio::test]
async fn compiled_components_are_cached_privately_and_only_trusted_files_are_loaded() {
    let harness = Harness::new();
    let (first, _d1) = harness.load("hello-tool", HELLO_MANIFEST, hello_allowed(), &[]).await;
    assert_eq!(first.cache, CacheOutcome::Compiled);
    let cache_dir = harness.runtime.cache().dir().unwrap().to_path_buf();
    assert_eq!(
        std::fs::metadata(&cache_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let files: Vec<_> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&first.sha256), "{name}");
    assert!(
        name.ends_with(&format!("-{}.cwasm", harness.runtime.engine().fingerprint())),
        "{name}"
    );

    let (second, _d2) = harness.load("hello-tool", HELLO_MANIFEST, hello_allowed(), &[]).await;
    assert_eq!(second.cache, CacheOutcome::Hit);
    let out = harness
        .runtime
        .call_tool(&second, "hello", r#"{"name":"cache"}"#, &context())
        .await
        .unwrap();
    assert!(out.contains("cache"), "{out}");

    // A cache file others could have written is not trusted: recompiled and replaced.
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (third, _d3) = harness.load("hello-tool", HELLO_MANIFEST, hello_allowed(), &[]).await;
    assert_eq!(third.cache, CacheOutcome::Compiled);
    assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600);

    // Garbage in the cache is ignored too (wasmtime checks the header), never executed.
    std::fs::write(file, b"not compiled code").unwrap();
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (fourth, _d4) = harness.load("hello-tool", HELLO_MANIFEST, hello_allowed(), &[]).await;
    assert_eq!(fourth.cache, CacheOutcome::Compiled);

    // A cache directory open to others is not used at all.
    std::fs::set_permissions(&cache_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (fifth, _d5) = harness.load("hello-tool", HELLO_MANIFEST, hello_allowed(), &[]).await;
    assert_ne!(fifth.cache, CacheOutcome::Hit);
}

#[tokio::test]
async fn components_that_are_not_what_the_manifest_says_are_refused() {
    let harness = Harness::new();
    // A tool component declared as a channel.
    let as_channel = HELLO_MANIFEST.replace("kind = \"tool\"", "kind = \"channel\"") + "[channel]\nid = \"hello\"\n";
    let (result, _d) = harness.try_load("hello-tool", &as_channel, hello_allowed(), &[]).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, LoadError::WrongKind { .. } | LoadError::Link { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("channel"), "{err}");

    // A channel component declared as a tool: it imports `inbound`, which tools are not given.
    let probe_as_tool = r#"
id = "probe"
version = "0.1.0"
api = "0.1.0"
kind = "tool"
[component]
file = "channel_probe.wasm"
"#;
    let (result, _d) = harness
        .try_load("channel-probe", probe_as_tool, json!({"allow": ["probe"]}), &[])
        .await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, LoadError::Link { .. } | LoadError::WrongKind { .. }),
        "{err}"
    );

    // Not a component at all.
    let dir = plugin_dir("hello-tool", HELLO_MANIFEST);
    std::fs::write(dir.path().join("hello_tool.wasm"), b"\0asm garbage").unwrap();
    let err = harness
        .load_dir(dir.path(), hello_allowed(), &[], None)
        .await
        .unwrap_err();
    assert!(matches!(err, LoadError::Compile { .. }), "{err}");
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_capped_in_size_and_time() {
    let server = TestServer::start().await;
    let harness = Harness::new();
    let capabilities = format!("http = [\"{}\"]\nprivate-network = true", server.host_port());
    let (plugin, _d) = harness
        .load(
            "hostile-tool",
            &hostile_manifest("caps", &capabilities),
            json!({"allow": ["caps"], "entries": {"caps": {
                "http": {"allowPrivateNetwork": ["127.0.0.1"]},
                "limits": {"httpResponseBytes": 4096, "httpTimeoutMs": 300}
            }}}),
            &[],
        )
        .await;
    let call = |url: String| {
        let args = json!({"op": "http", "url": url}).to_string();
        let plugin = plugin.clone();
        let harness = &harness;
        async move {
            let out = harness
                .runtime
                .call_tool(&plugin, "attack", &args, &context())
                .await
                .unwrap();
            serde_json::from_str::<serde_json::Value>(&out).unwrap()
        }
    };
    let small = call(server.url("/big?bytes=4096")).await;
    assert_eq!(small["body"].as_str().unwrap().len(), 4096, "{small}");
    let big = call(server.url("/big?bytes=4097")).await;
    assert!(
        big["error"].as_str().unwrap().starts_with("response too large"),
        "{big}"
    );
    let started = std::time::Instant::now();
    let slow = call(server.url("/slow?ms=3000")).await;
    assert!(slow["error"].as_str().unwrap().starts_with("timed out"), "{slow}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
