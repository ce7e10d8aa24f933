//! Logging into the gateway's log (redacted there like every line).

pub use crate::host::Level;

/// Writes one line to the gateway's log.
pub fn log(level: Level, message: &str) {
    crate::host::with(|host| host.log(level, message));
}

/// `log_info!("fetched {} items", n)`
#[macro_export]
macro_rules! log_info {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Info, &::std::format!($($arg)*)) };
}

/// `log_warn!(...)`
#[macro_export]
macro_rules! log_warn {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Warn, &::std::format!($($arg)*)) };
}

/// `log_error!(...)`
#[macro_export]
macro_rules! log_error {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Error, &::std::format!($($arg)*)) };
}

/// `log_debug!(...)`
#[macro_export]
macro_rules! log_debug {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Debug, &::std::format!($($arg)*)) };
}
