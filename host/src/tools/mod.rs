//! Tools: the one gate every tool call crosses ([`dispatch`]), the built-in tools behind it,
//! and exec approvals. Policy itself is pure code in `openclaw_core::tools`.

pub mod approvals;
pub mod builtin;
pub mod dispatch;
pub mod workspace;

#[cfg(test)]
mod tests;

pub use dispatch::{CallOrigin, Dispatcher, ToolOutcome, Transport};
