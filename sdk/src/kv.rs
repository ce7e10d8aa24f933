//! Key-value storage private to this plugin, persisted by the gateway, with a byte quota.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::HostError;

pub fn get(key: &str) -> Result<Option<Vec<u8>>, HostError> {
    crate::host::with(|host| host.kv_get(key))
}

/// Stores `value`; [`HostError::LimitExceeded`] when the quota would be passed.
pub fn set(key: &str, value: &[u8]) -> Result<(), HostError> {
    crate::host::with(|host| host.kv_set(key, value))
}

/// Removes `key`; true when it existed.
pub fn delete(key: &str) -> Result<bool, HostError> {
    crate::host::with(|host| host.kv_delete(key))
}

/// Keys starting with `prefix`, sorted.
pub fn list(prefix: &str) -> Result<Vec<String>, HostError> {
    crate::host::with(|host| host.kv_list(prefix))
}

/// Reads a JSON value stored with [`set_json`].
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, HostError> {
    match get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| HostError::Invalid(format!("value of {key} is not the expected JSON: {e}"))),
    }
}

pub fn set_json<T: Serialize>(key: &str, value: &T) -> Result<(), HostError> {
    let bytes = serde_json::to_vec(value).map_err(|e| HostError::Invalid(e.to_string()))?;
    set(key, &bytes)
}
