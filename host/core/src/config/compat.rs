//! Seed and legacy shapes whose meaning is unambiguous, rewritten to OpenClaw's canonical form
//! before validation. Each rewrite leaves a note so the operator learns the canonical shape.
//!
//! Only rewrites that cannot change meaning belong here; shapes that need interpretation (an
//! agent list in `tools.elevated.allowFrom`, a `logging.file` object) are typed unions instead.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::issue::{Issue, IssueKind};
use super::path::JsonPath;

/// Applies every rewrite to `doc` in place. Returns notes, or errors when the rewrite would
/// contradict another key.
pub fn normalize(doc: &mut Value) -> Vec<Issue> {
    let mut issues = Vec::new();
    if let Some(gateway) = doc.get_mut("gateway").and_then(Value::as_object_mut) {
        normalize_bind(gateway, &mut issues);
    }
    issues
}

/// `gateway.bind: "127.0.0.1"` (an address instead of a mode) becomes the mode it means.
fn normalize_bind(gateway: &mut Map<String, Value>, issues: &mut Vec<Issue>) {
    let path = JsonPath::root().key("gateway").key("bind");
    let Some(bind) = gateway.get("bind").and_then(Value::as_str).map(str::to_string) else {
        return;
    };
    let literal = bind.trim().trim_start_matches('[').trim_end_matches(']').to_string();
    let ip: IpAddr = match literal.as_str() {
        "localhost" => IpAddr::from([127, 0, 0, 1]),
        other => match other.parse() {
            Ok(ip) => ip,
            Err(_) => return,
        },
    };
    let (mode, custom_host) = if ip.is_loopback() {
        ("loopback", None)
    } else if ip.is_unspecified() {
        ("lan", None)
    } else {
        ("custom", Some(ip.to_string()))
    };
    if let Some(host) = &custom_host {
        match gateway.get("customBindHost").and_then(Value::as_str) {
            Some(existing) if existing != host => {
                issues.push(
                    Issue::error(
                        IssueKind::Conflict,
                        path.clone(),
                        format!("bind is the address {host} but gateway.customBindHost is {existing}"),
                    )
                    .with_hint("write bind: \"custom\" and the address once, in gateway.customBindHost"),
                );
                return;
            }
            _ => {
                gateway.insert("customBindHost".into(), Value::String(host.clone()));
            }
        }
    }
    let original = bind;
    gateway.insert("bind".into(), Value::String(mode.into()));
    let canonical = match &custom_host {
        Some(host) => format!("bind: \"custom\", customBindHost: \"{host}\""),
        None => format!("bind: \"{mode}\""),
    };
    issues.push(Issue::note(
        IssueKind::InvalidValue,
        path,
        format!("the address \"{original}\" is read as {canonical}"),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bind_addresses_become_modes() {
        for (bind, mode, host) in [
            ("127.0.0.1", "loopback", None),
            ("::1", "loopback", None),
            ("localhost", "loopback", None),
            ("0.0.0.0", "lan", None),
            ("192.168.1.10", "custom", Some("192.168.1.10")),
        ] {
            let mut doc = json!({"gateway": {"bind": bind}});
            let notes = normalize(&mut doc);
            assert_eq!(doc["gateway"]["bind"], mode, "{bind}");
            assert_eq!(doc["gateway"]["customBindHost"].as_str(), host, "{bind}");
            assert_eq!(notes.len(), 1);
            assert!(!notes[0].is_error());
        }
        let mut doc = json!({"gateway": {"bind": "lan"}});
        assert!(normalize(&mut doc).is_empty());
    }

    #[test]
    fn conflicting_custom_host_is_an_error() {
        let mut doc = json!({"gateway": {"bind": "10.0.0.1", "customBindHost": "10.0.0.2"}});
        let issues = normalize(&mut doc);
        assert!(issues[0].is_error());
        assert_eq!(issues[0].path.to_string(), "gateway.bind");
    }
}
