//! Sandbox posture: settings with no effect, dangerous Docker settings the validator let through
//! behind break-glass flags, and (with `--deep`) a required sandbox whose engine is unreachable.

use super::facts::{AuditInput, DeepFacts};
use super::tools::agent_sandbox_modes;
use super::{Finding, Severity};
use crate::config::rules::bind_source_blocked;
use crate::config::schema::sandbox::{DockerConfig, SandboxMode};

fn docker_blocks<'a>(input: &AuditInput<'a>) -> Vec<(String, &'a DockerConfig)> {
    let agents = input.config.agents();
    let mut out = Vec::new();
    if let Some(d) = agents
        .defaults
        .as_ref()
        .and_then(|d| d.sandbox.as_ref())
        .and_then(|s| s.docker.as_ref())
    {
        out.push(("agents.defaults.sandbox.docker".to_string(), d));
    }
    for (i, agent) in agents.list().iter().enumerate() {
        if let Some(d) = agent.sandbox.as_ref().and_then(|s| s.docker.as_ref()) {
            out.push((format!("agents.list[{i}].sandbox.docker"), d));
        }
    }
    out
}

/// The host side of a `source:target[:mode]` bind.
fn bind_source(bind: &str) -> &str {
    bind.split(':').next().unwrap_or_default().trim()
}

/// The container side of a bind.
fn bind_target(bind: &str) -> Option<&str> {
    bind.split(':').nth(1).map(str::trim)
}

pub fn collect(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let config = input.config;
    let modes = agent_sandbox_modes(config);
    let any_on = modes.iter().any(|(_, m)| *m != SandboxMode::Off);
    let defaults_docker_set = input
        .raw_at(&["agents", "defaults", "sandbox", "docker"])
        .and_then(|d| d.as_object())
        .is_some_and(|d| !d.is_empty());
    let mut idle = Vec::new();
    if defaults_docker_set && !any_on {
        idle.push("agents.defaults.sandbox.docker".to_string());
    }
    let default_mode = super::tools::default_sandbox_mode(config);
    for (i, agent) in config.agents().list().iter().enumerate() {
        let set = agent.sandbox.as_ref().and_then(|s| s.docker.as_ref()).is_some();
        let mode = agent.sandbox.as_ref().and_then(|s| s.mode).unwrap_or(default_mode);
        if set && mode == SandboxMode::Off {
            idle.push(format!("agents.list[{i}].sandbox.docker ({})", agent.id));
        }
    }
    if !idle.is_empty() {
        out.push(
            Finding::new(
                "sandbox.docker_config_mode_off",
                Severity::Warn,
                "Sandbox docker settings configured while sandbox mode is off",
                format!(
                    "these settings have no effect because sandbox mode is off: {}",
                    idle.join(", ")
                ),
            )
            .fix("Enable sandbox mode (\"non-main\" or \"all\") or remove the docker settings."),
        );
    }

    for (path, docker) in docker_blocks(input) {
        for (i, bind) in docker.binds.iter().flatten().enumerate() {
            let source = bind_source(bind);
            if !source.starts_with('/') {
                out.push(
                    Finding::new(
                        "sandbox.bind_mount_non_absolute",
                        Severity::Warn,
                        "Sandbox bind mount uses a non-absolute source path",
                        format!("{path}.binds[{i}] = \"{bind}\": Docker treats a relative source as a named volume."),
                    )
                    .fix("Use an absolute host path."),
                );
            }
            let target_blocked = bind_target(bind).is_some_and(bind_source_blocked);
            if bind_source_blocked(source) || target_blocked {
                out.push(
                    Finding::new(
                        "sandbox.dangerous_bind_mount",
                        Severity::Critical,
                        "Dangerous bind mount in sandbox config",
                        format!(
                            "{path}.binds[{i}] = \"{bind}\" exposes a system, Docker-socket or credentials path to the sandbox."
                        ),
                    )
                    .fix("Remove the bind; mount only project directories."),
                );
            }
        }
        if let Some(network) = docker.network.as_deref() {
            let lower = network.trim().to_ascii_lowercase();
            if lower == "host" || lower.starts_with("container:") {
                out.push(
                    Finding::new(
                        "sandbox.dangerous_network_mode",
                        Severity::Critical,
                        "Dangerous network mode in sandbox config",
                        format!("{path}.network = \"{network}\" shares a network namespace with the host or another container."),
                    )
                    .fix("Use \"none\" (default), \"bridge\" or a custom network; dangerouslyAllowContainerNamespaceJoin only as break-glass."),
                );
            }
        }
        for (field, value, check_id, title) in [
            (
                "seccompProfile",
                &docker.seccomp_profile,
                "sandbox.dangerous_seccomp_profile",
                "Seccomp unconfined in sandbox config",
            ),
            (
                "apparmorProfile",
                &docker.apparmor_profile,
                "sandbox.dangerous_apparmor_profile",
                "AppArmor unconfined in sandbox config",
            ),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("unconfined"))
            {
                out.push(
                    Finding::new(
                        check_id,
                        Severity::Critical,
                        title,
                        format!("{path}.{field} = \"unconfined\""),
                    )
                    .fix("Remove it or name a real profile."),
                );
            }
        }
    }
}

pub fn deep(input: &AuditInput<'_>, deep: &DeepFacts, out: &mut Vec<Finding>) {
    let required: Vec<String> = agent_sandbox_modes(input.config)
        .into_iter()
        .filter(|(_, m)| *m != SandboxMode::Off)
        .map(|(id, _)| id)
        .collect();
    if required.is_empty() {
        return;
    }
    if let Some(Err(reason)) = &deep.docker {
        out.push(
            Finding::new(
                "sandbox.docker_unreachable",
                Severity::Critical,
                "Sandbox required but the Docker engine is unreachable",
                format!(
                    "agents {} run tools in Docker sandboxes, but the engine cannot be used: {reason}. Their exec/process/file tools fail closed until it is back.",
                    required.join(", ")
                ),
            )
            .fix("Start Docker (or fix DOCKER_HOST), then `openclaw sandbox explain` to confirm."),
        );
    }
}
