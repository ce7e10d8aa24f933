//! Uses every grant it might have while the host lists its tools: an HTTP request to the URL in
//! `/assets/probe-url`, the same with a secret placeholder, a key-value write and a sandbox
//! command. A host that lists tools under "no grant at all" lets none of them through; the test
//! server and the plugin's data directory show whether any did. The `probe` tool does the same on
//! demand and returns what happened.

use openclaw_plugin_sdk::prelude::*;
use openclaw_plugin_sdk::sandbox;

pub struct GrantProbe;

fn outcome<T, E: std::fmt::Display>(result: Result<T, E>) -> Value {
    match result {
        Ok(_) => json!({"ok": true}),
        Err(error) => json!({"ok": false, "error": error.to_string()}),
    }
}

fn use_every_grant() -> Value {
    let url = std::fs::read_to_string("/assets/probe-url")
        .map(|u| u.trim().to_string())
        .unwrap_or_default();
    json!({
        "assets": !url.is_empty(),
        "http": outcome(Request::get(format!("{url}?plain")).send()),
        "secret": outcome(
            Request::get(format!("{url}?with-secret"))
                .header("authorization", &format!("Bearer {}", secret("PROBE_TOKEN")))
                .send()
        ),
        "kv": outcome(kv::set("probe", b"written while listing tools")),
        "sandbox": outcome(sandbox::exec(&sandbox::ExecRequest {
            argv: vec!["true".into()],
            ..Default::default()
        })),
        "config": config::get_json(),
    })
}

impl Tool for GrantProbe {
    fn tools() -> Vec<ToolSpec> {
        let seen = use_every_grant();
        vec![ToolSpec::new("probe", seen.to_string(), json!({"type": "object"}))]
    }

    fn call(name: &str, _args: Value, _ctx: &CallContext) -> Result<Value, ToolError> {
        match name {
            "probe" => Ok(use_every_grant()),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

export_tool!(GrantProbe);
