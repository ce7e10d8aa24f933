//! Events the gateway pushes to operator clients (chat deltas, approval requests). One bus for
//! every transport: the WebSocket forwards them, the CLI and tests subscribe to them.

use serde_json::Value;
use tokio::sync::broadcast;

/// How many events a slow subscriber may fall behind before it starts missing some (it is told
/// how many it missed; nothing else waits for it).
const BACKLOG: usize = 1024;

#[derive(Debug, Clone)]
pub struct Event {
    pub name: &'static str,
    pub payload: Value,
}

#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        Self { sender }
    }

    pub fn publish(&self, name: &'static str, payload: Value) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(Event { name, payload });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}
