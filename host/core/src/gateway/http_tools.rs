//! Which tools `POST /tools/invoke` may run. HTTP callers hold only the shared credential, so
//! tools that act on the host, spawn agents or reconfigure the gateway are refused over HTTP
//! unless the operator lists them in `gateway.tools.allow` (the audit flags that).

use crate::config::schema::gateway::GatewayToolsConfig;

/// OpenClaw's default HTTP deny list (`src/security/dangerous-tools.ts`).
pub const DEFAULT_HTTP_DENY: &[&str] = &[
    "exec",
    "spawn",
    "shell",
    "fs_write",
    "fs_delete",
    "fs_move",
    "apply_patch",
    "sessions_spawn",
    "sessions_send",
    "cron",
    "gateway",
    "nodes",
    "whatsapp_login",
];

/// Why a tool is refused over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpToolRefusal {
    /// On the built-in deny list and not re-enabled.
    Dangerous,
    /// In `gateway.tools.deny`.
    Denied,
}

fn listed(list: Option<&Vec<String>>, name: &str) -> bool {
    list.is_some_and(|l| l.iter().any(|t| t.trim().eq_ignore_ascii_case(name)))
}

/// Whether HTTP may invoke `tool`. `gateway.tools.deny` always wins.
pub fn http_tool_allowed(tool: &str, config: Option<&GatewayToolsConfig>) -> Result<(), HttpToolRefusal> {
    let name = tool.trim().to_ascii_lowercase();
    let allow = config.and_then(|c| c.allow.as_ref());
    let deny = config.and_then(|c| c.deny.as_ref());
    if listed(deny, &name) {
        return Err(HttpToolRefusal::Denied);
    }
    if DEFAULT_HTTP_DENY.contains(&name.as_str()) && !listed(allow, &name) {
        return Err(HttpToolRefusal::Dangerous);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_list_allow_and_deny() {
        assert_eq!(http_tool_allowed("exec", None), Err(HttpToolRefusal::Dangerous));
        assert_eq!(
            http_tool_allowed("Sessions_Spawn", None),
            Err(HttpToolRefusal::Dangerous)
        );
        assert_eq!(http_tool_allowed("web_fetch", None), Ok(()));
        let config = GatewayToolsConfig {
            allow: Some(vec!["exec".into()]),
            deny: Some(vec!["web_fetch".into(), "cron".into()]),
        };
        assert_eq!(http_tool_allowed("exec", Some(&config)), Ok(()));
        assert_eq!(
            http_tool_allowed("web_fetch", Some(&config)),
            Err(HttpToolRefusal::Denied)
        );
        // Deny wins over allow.
        let both = GatewayToolsConfig {
            allow: Some(vec!["cron".into()]),
            deny: Some(vec!["cron".into()]),
        };
        assert_eq!(http_tool_allowed("cron", Some(&both)), Err(HttpToolRefusal::Denied));
        for tool in DEFAULT_HTTP_DENY {
            assert!(http_tool_allowed(tool, None).is_err(), "{tool}");
        }
    }
}
