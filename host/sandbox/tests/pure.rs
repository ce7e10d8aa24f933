//! Decisions that need no daemon: endpoints, env filtering, prune and reuse, the create request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use openclaw_core::config::schema::sandbox::SandboxConfig;
use openclaw_sandbox::env::{EnvRefusal, api_entries, sanitize};
use openclaw_sandbox::manager::container_body;
use openclaw_sandbox::prune::{PruneReason, Reuse, prune_reason, reuse_decision};
use openclaw_sandbox::spec::PrunePolicy;
use openclaw_sandbox::{EngineEndpoint, SandboxContext, SandboxDecision, labels, resolve};
use serde_json::json;

/// Variables, then the endpoint or a piece of the error's fix.
type EndpointCase<'a> = (Vec<(&'a str, &'a str)>, Result<EngineEndpoint, &'a str>);

fn env_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn endpoints_come_from_the_usual_variables() {
    let home = Path::new("/home/op");
    let unix = |p: &str| EngineEndpoint::Unix(PathBuf::from(p));
    let tls = |address: &str, dir: &str| EngineEndpoint::Tls {
        address: address.into(),
        ca: Path::new(dir).join("ca.pem"),
        cert: Path::new(dir).join("cert.pem"),
        key: Path::new(dir).join("key.pem"),
    };
    let cases: Vec<EndpointCase> = vec![
        (vec![], Ok(unix("/var/run/docker.sock"))),
        (vec![("DOCKER_HOST", "")], Ok(unix("/var/run/docker.sock"))),
        (
            vec![("DOCKER_HOST", "unix:///run/user/1000/docker.sock")],
            Ok(unix("/run/user/1000/docker.sock")),
        ),
        (
            vec![("DOCKER_HOST", "tcp://10.0.0.5:2375")],
            Ok(EngineEndpoint::Tcp {
                address: "10.0.0.5:2375".into(),
            }),
        ),
        (
            vec![("DOCKER_HOST", "tcp://10.0.0.5:2376"), ("DOCKER_TLS_VERIFY", "0")],
            Ok(EngineEndpoint::Tcp {
                address: "10.0.0.5:2376".into(),
            }),
        ),
        (
            vec![("DOCKER_HOST", "tcp://box:2376"), ("DOCKER_TLS_VERIFY", "1")],
            Ok(tls("box:2376", "/home/op/.docker")),
        ),
        (
            vec![
                ("DOCKER_HOST", "tcp://box:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/etc/oc/certs"),
            ],
            Ok(tls("box:2376", "/etc/oc/certs")),
        ),
        (vec![("DOCKER_HOST", "ssh://me@box")], Err("ssh:// is not supported")),
        (
            vec![("DOCKER_HOST", "unix://docker.sock")],
            Err("unix:///path/to/docker.sock"),
        ),
        (vec![("DOCKER_HOST", "tcp://box")], Err("tcp://host:2376")),
    ];
    for (env, want) in cases {
        let got = EngineEndpoint::from_env(&env_of(&env), Some(home));
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{env:?}"),
            (Err(e), Err(fix)) => assert!(e.to_string().contains(fix), "{env:?}: {e}"),
            (got, want) => panic!("{env:?}: got {got:?}, want {want:?}"),
        }
    }
    assert_eq!(unix("/var/run/docker.sock").to_string(), "unix:///var/run/docker.sock");
}

#[test]
fn caller_env_drops_credentials_unless_configured() {
    let env = env_of(&[
        ("OPENAI_API_KEY", "x"),
        ("MY_SERVICE_TOKEN", "x"),
        ("db_password", "x"),
        ("GH_TOKEN", "x"),
        ("ALLOWED_SECRET", "x"),
        ("BAD=KEY", "x"),
        ("NUL", "a\0b"),
        ("LANG", "C"),
        ("QUOTE", "$(rm -rf /); `id`"),
    ]);
    let configured = env_of(&[("ALLOWED_SECRET", "configured")]);
    let out = sanitize(&env, &configured);
    assert_eq!(
        out.kept,
        env_of(&[("ALLOWED_SECRET", "x"), ("LANG", "C"), ("QUOTE", "$(rm -rf /); `id`")])
    );
    let dropped: BTreeMap<&str, &EnvRefusal> = out.dropped.iter().map(|(k, r)| (k.as_str(), r)).collect();
    assert_eq!(dropped["OPENAI_API_KEY"].code(), "looks_secret");
    assert_eq!(dropped["db_password"].code(), "looks_secret");
    assert_eq!(dropped["BAD=KEY"].code(), "invalid_key");
    assert_eq!(dropped["NUL"].code(), "contains_nul");
    assert_eq!(dropped.len(), 6);
    assert_eq!(api_entries(&env_of(&[("A", "b=c")])), ["A=b=c"]);
}

#[test]
fn prune_follows_idle_hours_and_max_age() {
    const H: u64 = 3_600_000;
    let policy = PrunePolicy::default();
    assert_eq!(
        policy,
        PrunePolicy {
            idle_hours: 24,
            max_age_days: 7
        }
    );
    let now = 1_000 * 24 * H;
    assert_eq!(prune_reason(policy, now - H, now - H, now), None);
    assert_eq!(
        prune_reason(policy, now - 25 * H, now - 25 * H, now),
        Some(PruneReason::Idle { idle_hours: 24 })
    );
    assert_eq!(
        prune_reason(policy, now - 8 * 24 * H, now - H, now),
        Some(PruneReason::TooOld { max_age_days: 7 })
    );
    let off = PrunePolicy {
        idle_hours: 0,
        max_age_days: 0,
    };
    assert_eq!(prune_reason(off, 0, 0, now), None);
    assert_eq!(
        PruneReason::Idle { idle_hours: 24 }.to_string(),
        "pruned: idle longer than 24 h"
    );
}

#[test]
fn a_changed_container_is_kept_only_while_hot() {
    let window = Duration::from_secs(300);
    let now = 10_000_000;
    assert_eq!(
        reuse_decision(Some("h"), "h", true, None, now, window, "c"),
        Reuse::Reuse
    );
    assert_eq!(
        reuse_decision(Some("old"), "h", true, None, now, window, "c"),
        Reuse::Recreate
    );
    assert_eq!(
        reuse_decision(None, "h", false, Some(now), now, window, "c"),
        Reuse::Recreate
    );
    assert_eq!(
        reuse_decision(Some("old"), "h", true, Some(now - 400_000), now, window, "c"),
        Reuse::Recreate
    );
    assert!(matches!(
        reuse_decision(Some("old"), "h", true, Some(now - 1_000), now, window, "c"),
        Reuse::KeepStale { hint } if hint.starts_with("Sandbox config changed for c (recently used)")
    ));
}

#[test]
fn the_create_request_is_hardened() {
    let config: SandboxConfig = serde_json::from_value(json!({
        "mode": "all",
        "docker": {"pidsLimit": 100, "memory": "256m", "env": {"X": "$(id)"}, "ulimits": {"nofile": 64}, "binds": ["/srv:/srv:ro"]}
    }))
    .unwrap();
    let ctx = SandboxContext {
        agent_id: "main",
        session_key: "s",
        is_main_session: false,
        agent_workspace: Path::new("/ws"),
        home: Path::new("/home/op"),
    };
    let SandboxDecision::Sandboxed(spec) = resolve(Some(&config), None, &ctx).unwrap() else {
        panic!()
    };
    let body = container_body(&spec, 42);
    assert_eq!(
        body.cmd.as_deref(),
        Some(&["sleep".to_string(), "infinity".to_string()][..])
    );
    assert_eq!(body.env, Some(vec!["X=$(id)".to_string()]));
    assert_eq!(body.entrypoint, None);
    let labels_map = body.labels.unwrap();
    assert_eq!(labels_map[labels::SANDBOX], "1");
    assert_eq!(labels_map[labels::SCOPE_KEY], "agent:main");
    assert_eq!(labels_map[labels::CONFIG_HASH], spec.config_hash);
    assert_eq!(labels_map[labels::CREATED_AT_MS], "42");
    let host = body.host_config.unwrap();
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.network_mode.as_deref(), Some("none"));
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
    assert_eq!(host.security_opt, Some(vec!["no-new-privileges".to_string()]));
    assert_eq!(host.pids_limit, Some(100));
    assert_eq!(host.memory, Some(256 << 20));
    assert_eq!(host.init, Some(true));
    assert_eq!(host.privileged, None);
    let mut tmpfs: Vec<String> = host.tmpfs.unwrap().into_keys().collect();
    tmpfs.sort();
    assert_eq!(tmpfs, ["/run", "/tmp", "/var/tmp"]);
    assert_eq!(
        host.binds,
        Some(vec![
            "/home/op/.openclaw/sandboxes/agent-main-f331f052:/workspace:rw".to_string(),
            "/srv:/srv:ro".to_string()
        ])
    );
    let ulimit = &host.ulimits.unwrap()[0];
    assert_eq!(
        (ulimit.name.as_deref(), ulimit.soft, ulimit.hard),
        (Some("nofile"), Some(64), Some(64))
    );
}
