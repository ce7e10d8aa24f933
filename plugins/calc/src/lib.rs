//! `calculate`: evaluates arithmetic so the model does not have to. Pure computation: the plugin
//! requests no capability, so it runs with an empty grant.

mod expr;

use openclaw_plugin_sdk::prelude::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    expression: String,
}

pub struct Calc;

impl Tool for Calc {
    fn tools() -> Vec<ToolSpec> {
        vec![ToolSpec::new(
            "calculate",
            "Evaluate an arithmetic expression (64-bit floating point): + - * / % ^, parentheses, pi, e, and functions \
             such as sqrt, abs, ln, log10, sin, cos, floor, ceil, round, min, max, pow, hypot.",
            json!({
                "type": "object",
                "properties": {
                    "expression": { "type": "string", "description": "For example: (1.5e3 + 20) * 4 / sqrt(16)" }
                },
                "required": ["expression"],
                "additionalProperties": false
            }),
        )]
    }

    fn call(name: &str, args: Value, _ctx: &CallContext) -> Result<Value, ToolError> {
        if name != "calculate" {
            return Err(ToolError::unknown_tool(name));
        }
        let args: Args = parse_args(args)?;
        let value = expr::evaluate(&args.expression).map_err(ToolError::InvalidArgs)?;
        Ok(json!({ "expression": args.expression, "result": value }))
    }
}

export_tool!(Calc);
