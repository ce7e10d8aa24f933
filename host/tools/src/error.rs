use std::path::PathBuf;

/// Why a built-in tool refused or failed. The text goes back to the model, so each message says
/// what was wrong and what to do instead; variants let the gateway tell refusals from failures.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{tool}: invalid arguments: {message}")]
    InvalidArguments { tool: &'static str, message: String },

    #[error(
        "`{path}` is outside the workspace {root}: {detail}. tools.fs.workspaceOnly is on, which confines \
         read, write, edit and apply_patch to the agent workspace; use a path inside it"
    )]
    OutsideWorkspace {
        path: String,
        root: PathBuf,
        detail: String,
    },

    #[error(
        "`{path}` is protected gateway state (configuration, credentials or sessions): file tools never read \
         or change it, whatever tools.fs.workspaceOnly says"
    )]
    Protected { path: String },

    #[error("`{path}` does not exist")]
    NotFound { path: String },

    /// The path exists but cannot be used the way the tool needs (a directory, a device, a binary
    /// file, a name that changed while it was being used...).
    #[error("`{path}`: {message}")]
    Unusable { path: String, message: String },

    #[error("{op} `{path}` failed: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("edit `{path}`: {message}")]
    Edit { path: String, message: String },

    #[error("apply_patch: {message}; nothing was changed")]
    Patch { message: String },

    /// A patch that validated but whose writes failed part way (disk full, permissions).
    #[error("apply_patch: {message}")]
    PatchPartlyApplied { message: String },

    #[error("exec: {message}")]
    Exec { message: String },

    #[error("exec: the run was cancelled; its process group was killed")]
    Cancelled,

    #[error("process: {message}")]
    Process { message: String },
}

impl ToolError {
    pub(crate) fn io(op: &'static str, path: &str, source: impl Into<std::io::Error>) -> Self {
        Self::Io {
            op,
            path: path.to_owned(),
            source: source.into(),
        }
    }

    pub(crate) fn unusable(path: &str, message: impl Into<String>) -> Self {
        Self::Unusable {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}
