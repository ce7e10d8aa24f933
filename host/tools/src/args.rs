use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ToolError;

/// Parses a tool's JSON arguments, naming the tool and the offending field when they are wrong.
pub(crate) fn parse<T: DeserializeOwned>(tool: &'static str, args: &Value) -> Result<T, ToolError> {
    T::deserialize(args).map_err(|e| ToolError::InvalidArguments {
        tool,
        message: e.to_string(),
    })
}
