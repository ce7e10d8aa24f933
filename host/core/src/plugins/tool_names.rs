//! A tool name belongs to one plugin. Installing a plugin whose tool another installed plugin
//! provides is refused, naming both; at gateway start a name two loaded plugins provide is served
//! by neither (serving one would make the answer depend on discovery order) and reported, while
//! every other tool is served.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::schema::common::IdMap;
use crate::config::schema::plugins::InstallRecord;

/// One tool name more than one plugin provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolClash {
    pub tool: String,
    /// The plugins providing it, in the order given.
    pub plugins: Vec<String>,
}

impl ToolClash {
    pub fn message(&self) -> String {
        let named: Vec<String> = self.plugins.iter().map(|p| format!("\"{p}\"")).collect();
        format!(
            "tool `{}` is provided by plugins {}, so neither serves it; disable or uninstall all but one of them \
             (`openclaw plugins disable <id>`)",
            self.tool,
            named.join(" and ")
        )
    }
}

/// Which plugin serves each tool, and the names nobody serves because several provide them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolAssignment {
    pub owners: BTreeMap<String, String>,
    pub clashes: Vec<ToolClash>,
}

/// Assigns tool names to the plugins in `provided` (plugin id, its tools).
pub fn assign<'a>(provided: impl IntoIterator<Item = (&'a str, &'a [String])>) -> ToolAssignment {
    let mut providers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (plugin, tools) in provided {
        for tool in tools {
            let list = providers.entry(tool.as_str()).or_default();
            if !list.contains(&plugin) {
                list.push(plugin);
            }
        }
    }
    let mut assignment = ToolAssignment::default();
    for (tool, plugins) in providers {
        match plugins.as_slice() {
            [only] => {
                assignment.owners.insert(tool.to_string(), only.to_string());
            }
            _ => assignment.clashes.push(ToolClash {
                tool: tool.to_string(),
                plugins: plugins.iter().map(|p| p.to_string()).collect(),
            }),
        }
    }
    assignment
}

/// The first tool of `tools` that another installed plugin (by its install record) provides:
/// `(tool, other plugin)`.
pub fn installed_clash<'a>(
    id: &str,
    tools: &'a [String],
    installs: Option<&'a IdMap<InstallRecord>>,
) -> Option<(&'a str, &'a str)> {
    installs
        .into_iter()
        .flatten()
        .filter(|(other, _)| other.as_str() != id)
        .find_map(|(other, record)| {
            let theirs = record.tools.as_deref().unwrap_or_default();
            tools
                .iter()
                .find(|tool| theirs.contains(tool))
                .map(|tool| (tool.as_str(), other.as_str()))
        })
}

/// The refusal message for installing `id`, whose `tool` `other` already provides.
pub fn install_clash_message(id: &str, tool: &str, other: &str) -> String {
    format!(
        "tool `{tool}` of \"{id}\" is already provided by installed plugin \"{other}\"; tool names must be unique \
         across plugins: uninstall \"{other}\" first, or use a build of \"{id}\" whose tool has another name"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_name_two_plugins_provide_goes_to_neither() {
        let a = names(&["hello", "time"]);
        let b = names(&["hello", "weather"]);
        let c = names(&["calculate"]);
        let assignment = assign([("a", a.as_slice()), ("b", b.as_slice()), ("c", c.as_slice())]);
        assert_eq!(
            assignment.owners,
            BTreeMap::from([
                ("calculate".to_string(), "c".to_string()),
                ("time".to_string(), "a".to_string()),
                ("weather".to_string(), "b".to_string()),
            ])
        );
        assert_eq!(
            assignment.clashes,
            [ToolClash {
                tool: "hello".into(),
                plugins: names(&["a", "b"])
            }]
        );
        let message = assignment.clashes[0].message();
        assert!(
            message.contains("`hello`") && message.contains("\"a\" and \"b\""),
            "{message}"
        );
        // The same plugin listing a name twice is not a clash with itself.
        let twice = names(&["x", "x"]);
        assert!(assign([("a", twice.as_slice())]).clashes.is_empty());
    }

    #[test]
    fn install_compares_with_the_other_records() {
        let installs: IdMap<InstallRecord> = serde_json::from_value(json!({
            "hello-tool": {"source": "path", "tools": ["hello"]},
            "old": {"source": "path"},
        }))
        .unwrap();
        let mine = names(&["greet", "hello"]);
        assert_eq!(
            installed_clash("hello-two", &mine, Some(&installs)),
            Some(("hello", "hello-tool"))
        );
        // Reinstalling the plugin itself is no clash; a record without tools has none to compare.
        assert_eq!(installed_clash("hello-tool", &mine, Some(&installs)), None);
        assert_eq!(installed_clash("x", &names(&["other"]), Some(&installs)), None);
        assert_eq!(installed_clash("x", &mine, None), None);
    }
}
