//! Plugins' sandbox-exec import. The runtime has already checked the plugin's grant and that the
//! tool policy allows `exec` for the calling agent and session; this runs the command in that
//! session's sandbox. A plugin's command never runs on the gateway host: when the agent's
//! sandbox mode leaves the session on the host, the plugin still gets a container built from the
//! agent's sandbox settings.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openclaw_core::routing::session_key::SessionKey;
use openclaw_runtime::{CallContext, ExecRequest as PluginExecRequest, ExecResult, SandboxBackend};
use openclaw_sandbox::{ExecRequest, SandboxError};

use super::Sandboxes;

/// A plugin's command runs at most this long, whatever it asks for.
pub const PLUGIN_EXEC_MAX: Duration = Duration::from_secs(300);
/// When the plugin names no limit.
pub const PLUGIN_EXEC_DEFAULT: Duration = Duration::from_secs(60);

/// What the plugin runtime holds as its sandbox backend.
pub struct PluginSandbox(pub Arc<Sandboxes>);

impl SandboxBackend for PluginSandbox {
    fn exec(
        &self,
        plugin_id: &str,
        call: Option<&CallContext>,
        request: PluginExecRequest,
    ) -> Pin<Box<dyn Future<Output = Result<ExecResult, openclaw_runtime::SandboxError>> + Send>> {
        let prepared = self.0.prepare_plugin_exec(plugin_id, call, request);
        let sandboxes = self.0.clone();
        Box::pin(async move {
            let (spec, request) = prepared?;
            // On its own task: if the plugin's call is abandoned at its deadline, the command
            // still ends at its own timeout, which kills it, instead of running on unwatched.
            let run = tokio::spawn(async move { sandboxes.exec(&spec, &request).await });
            let output = run
                .await
                .map_err(|e| openclaw_runtime::SandboxError::Failed(format!("the sandbox exec task failed: {e}")))?
                .map_err(plugin_error)?;
            Ok(ExecResult {
                exit_code: output
                    .exit_code
                    .and_then(|c| i32::try_from(c).ok())
                    .unwrap_or(if output.timed_out { 124 } else { -1 }),
                truncated: output.stdout_truncated || output.stderr_truncated,
                stdout: output.stdout,
                stderr: output.stderr,
            })
        })
    }
}

impl Sandboxes {
    fn prepare_plugin_exec(
        &self,
        plugin_id: &str,
        call: Option<&CallContext>,
        request: PluginExecRequest,
    ) -> Result<(openclaw_sandbox::SandboxSpec, ExecRequest), openclaw_runtime::SandboxError> {
        let Some(call) = call else {
            return Err(openclaw_runtime::SandboxError::Denied(format!(
                "plugin \"{plugin_id}\" asked for sandbox exec outside a tool call; there is no agent sandbox to run it in"
            )));
        };
        let default_agent = self
            .config()
            .agents
            .as_ref()
            .map(|a| a.default_agent_id())
            .unwrap_or_else(|| "main".into());
        let key = SessionKey::parse(&call.session_key, &default_agent).map_err(|e| {
            openclaw_runtime::SandboxError::Invalid(format!("the call's session key is not usable: {e}"))
        })?;
        let spec = self.spec_for_plugin(&call.agent_id, &key).map_err(plugin_error)?;
        if request.argv.is_empty() {
            return Err(openclaw_runtime::SandboxError::Invalid(
                "argv is empty: name the program to run".into(),
            ));
        }
        let timeout = request
            .timeout_ms
            .map(|ms| Duration::from_millis(u64::from(ms)))
            .unwrap_or(PLUGIN_EXEC_DEFAULT)
            .min(PLUGIN_EXEC_MAX);
        let mut exec = ExecRequest::new(request.argv).timeout(timeout);
        for (key, value) in request.env {
            exec = exec.env(key, value);
        }
        if let Some(dir) = request.workdir {
            exec = exec.workdir(dir);
        }
        if let Some(stdin) = request.stdin {
            exec = exec.stdin(stdin);
        }
        Ok((spec, exec))
    }
}

fn plugin_error(error: SandboxError) -> openclaw_runtime::SandboxError {
    use openclaw_runtime::SandboxError as Plugin;
    let message = error.to_string();
    match error {
        SandboxError::Unreachable { .. } | SandboxError::ImageMissing { .. } | SandboxError::Endpoint { .. } => {
            Plugin::NotAvailable(message)
        }
        SandboxError::Spec { .. } => Plugin::NotAvailable(message),
        SandboxError::BadRequest(_) => Plugin::Invalid(message),
        _ => Plugin::Failed(message),
    }
}
