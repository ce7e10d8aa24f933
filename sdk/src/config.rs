//! The plugin's configuration (`plugins.entries.<id>.config`), already validated by the gateway
//! against the schema in the plugin's manifest.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::HostError;

/// The configuration as JSON (`{}` when the operator set none).
pub fn get_json() -> Value {
    let text = crate::host::with(|host| host.config_json());
    serde_json::from_str(&text).unwrap_or_else(|_| Value::Object(Default::default()))
}

/// The configuration read into your own type.
pub fn get<T: DeserializeOwned>() -> Result<T, HostError> {
    serde_json::from_value(get_json()).map_err(|e| HostError::Invalid(format!("plugin configuration: {e}")))
}
