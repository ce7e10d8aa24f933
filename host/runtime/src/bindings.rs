//! Host-side bindings generated from `wit/plugin.wit`.
//!
//! The two worlds share their host interfaces (log, clock, config, kv): the channel world reuses
//! the tool world's generated modules so each host interface is implemented exactly once.

pub mod tool {
    wasmtime::component::bindgen!({
        world: "tool-plugin",
        path: "../../wit",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

pub mod channel {
    wasmtime::component::bindgen!({
        world: "channel-plugin",
        path: "../../wit",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "openclaw:plugin/types": super::tool::openclaw::plugin::types,
            "openclaw:plugin/log": super::tool::openclaw::plugin::log,
            "openclaw:plugin/clock": super::tool::openclaw::plugin::clock,
            "openclaw:plugin/config": super::tool::openclaw::plugin::config,
            "openclaw:plugin/kv": super::tool::openclaw::plugin::kv,
        },
    });
}

pub use tool::openclaw::plugin::types::HostError;
