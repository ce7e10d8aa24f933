//! Host-side bindings generated from `wit/plugin.wit`, the one source of truth for the ABI. The SDK
//! carries a copy (`sdk/wit/plugin.wit`) so it builds outside this repository; a test below keeps
//! the two equal byte for byte.
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
            "openclaw:plugin/http": super::tool::openclaw::plugin::http,
        },
    });
}

pub use tool::openclaw::plugin::types::HostError;

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn the_sdk_wit_is_the_host_wit_byte_for_byte() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let read = |relative: &str| std::fs::read(root.join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"));
        assert!(
            read("sdk/wit/plugin.wit") == read("wit/plugin.wit"),
            "sdk/wit/plugin.wit differs from wit/plugin.wit; change wit/plugin.wit and copy it: \
             cp wit/plugin.wit sdk/wit/plugin.wit"
        );
    }
}
