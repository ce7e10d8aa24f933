//! A tool plugin with one tool, `hello`, that greets someone and remembers how many times it
//! greeted them (in the plugin's own key-value store).

use openclaw_plugin_sdk::prelude::*;

pub struct Hello;

#[derive(Deserialize)]
struct Args {
    name: String,
}

impl Tool for Hello {
    fn tools() -> Vec<ToolSpec> {
        vec![ToolSpec::new(
            "hello",
            "Greets someone by name and says how many times they were greeted.",
            json!({
                "type": "object",
                "properties": { "name": { "type": "string", "description": "Who to greet" } },
                "required": ["name"],
                "additionalProperties": false
            }),
        )]
    }

    fn call(name: &str, args: Value, _ctx: &CallContext) -> Result<Value, ToolError> {
        if name != "hello" {
            return Err(ToolError::unknown_tool(name));
        }
        let args: Args = parse_args(args)?;
        let greeting = config::get_json()["greeting"].as_str().unwrap_or("Hello").to_string();
        let key = format!("greeted:{}", args.name);
        let times: u64 = kv::get_json(&key)?.unwrap_or(0) + 1;
        kv::set_json(&key, &times)?;
        log_info!("greeted {} ({} times)", args.name, times);
        Ok(json!({ "message": format!("{greeting}, {}!", args.name), "times": times }))
    }
}

export_tool!(Hello);

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_plugin_sdk::testing::MockHost;

    #[test]
    fn greets_and_counts() {
        let _host = MockHost::new().config(json!({"greeting": "Hi"})).install();
        let ctx = CallContext::default();
        assert_eq!(
            Hello::call("hello", json!({"name": "Ada"}), &ctx).unwrap(),
            json!({"message": "Hi, Ada!", "times": 1})
        );
        assert_eq!(Hello::call("hello", json!({"name": "Ada"}), &ctx).unwrap()["times"], 2);
        assert!(matches!(
            Hello::call("hello", json!({}), &ctx),
            Err(ToolError::InvalidArgs(_))
        ));
    }
}
