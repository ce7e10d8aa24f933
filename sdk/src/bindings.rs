//! Bindings generated from this crate's own `wit/plugin.wit`, one module per world. It is a copy
//! of the workspace's `wit/plugin.wit`, which a test keeps equal byte for byte, so the crate builds
//! wherever it is used from. Plugin code does not use them directly: the traits in this crate
//! wrap them.

#![allow(missing_docs, clippy::all, unsafe_code)]

pub mod tool_world {
    wit_bindgen::generate!({
        world: "tool-plugin",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "export_tool_world",
        default_bindings_module: "openclaw_plugin_sdk::__private::tool_world",
    });
}

pub mod channel_world {
    wit_bindgen::generate!({
        world: "channel-plugin",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "export_channel_world",
        default_bindings_module: "openclaw_plugin_sdk::__private::channel_world",
    });
}
