//! Tool plugins: the [`Tool`] trait and its types.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A tool the model can call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Lower-case letters, digits, `_` and `-`; unique across the gateway.
    pub name: String,
    /// What the tool does, written for the model.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

impl ToolSpec {
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }
}

/// Who is calling: informational, for scoping state and logs. Authorization already happened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallContext {
    pub agent_id: String,
    pub session_key: String,
    pub channel: Option<String>,
    pub call_id: String,
}

/// Why a tool call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolError {
    /// The arguments are wrong; the model may retry with better ones.
    InvalidArgs(String),
    /// The tool ran and failed.
    Failed(String),
    /// The tool needed something its grant does not allow.
    Denied(String),
}

impl ToolError {
    /// The error for a tool name this plugin does not provide.
    pub fn unknown_tool(name: &str) -> Self {
        Self::InvalidArgs(format!("this plugin has no tool named \"{name}\""))
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidArgs(m) => write!(f, "invalid arguments: {m}"),
            Self::Failed(m) => write!(f, "failed: {m}"),
            Self::Denied(m) => write!(f, "denied: {m}"),
        }
    }
}

impl std::error::Error for ToolError {}

impl From<crate::HostError> for ToolError {
    fn from(e: crate::HostError) -> Self {
        match e {
            crate::HostError::Denied(m) => Self::Denied(m),
            other => Self::Failed(other.to_string()),
        }
    }
}

impl From<crate::http::HttpError> for ToolError {
    fn from(e: crate::http::HttpError) -> Self {
        match e {
            crate::http::HttpError::Denied(m) => Self::Denied(m),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// Reads the arguments into your own type; a mismatch is [`ToolError::InvalidArgs`] with serde's
/// explanation, which the model can act on.
pub fn parse_args<T: DeserializeOwned>(args: Value) -> Result<T, ToolError> {
    serde_json::from_value(args).map_err(|e| ToolError::InvalidArgs(e.to_string()))
}

/// A set of tools. All functions are associated functions: a fresh instance serves each call, so
/// keep state in [`crate::kv`], not in statics.
pub trait Tool {
    /// The tools this plugin provides.
    fn tools() -> Vec<ToolSpec>;

    /// Runs tool `name`. `args` is the JSON object the model sent.
    fn call(name: &str, args: Value, context: &CallContext) -> Result<Value, ToolError>;
}

#[doc(hidden)]
pub mod adapter {
    //! Glue between the generated bindings and [`Tool`] (used by [`crate::export_tool!`]).

    use super::*;
    use crate::bindings::tool_world::exports::openclaw::plugin::tool as wit;

    pub fn list_tools<T: Tool>() -> Vec<wit::ToolSpec> {
        T::tools()
            .into_iter()
            .map(|spec| wit::ToolSpec {
                name: spec.name,
                description: spec.description,
                parameters: spec.parameters.to_string(),
            })
            .collect()
    }

    pub fn call<T: Tool>(name: String, args: String, context: wit::CallContext) -> Result<String, wit::ToolError> {
        let args: Value = serde_json::from_str(&args)
            .map_err(|e| wit::ToolError::InvalidArgs(format!("the arguments are not valid JSON: {e}")))?;
        let context = CallContext {
            agent_id: context.agent_id,
            session_key: context.session_key,
            channel: context.channel,
            call_id: context.call_id,
        };
        match T::call(&name, args, &context) {
            Ok(value) => Ok(value.to_string()),
            Err(ToolError::InvalidArgs(m)) => Err(wit::ToolError::InvalidArgs(m)),
            Err(ToolError::Failed(m)) => Err(wit::ToolError::Failed(m)),
            Err(ToolError::Denied(m)) => Err(wit::ToolError::Denied(m)),
        }
    }
}
