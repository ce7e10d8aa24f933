//! The tool-policy pipeline: which tools one agent, in one session, may be offered.
//!
//! The steps run in OpenClaw's order, each filtering what the previous step left, so no step can
//! give back a tool an earlier one removed:
//!
//! 1. profile (`agents.list[].tools.profile`, else `tools.profile`), plus `alsoAllow`;
//! 2. provider profile (`byProvider[...].profile`, the agent's before the global one);
//! 3. `tools.allow` / `tools.deny`;
//! 4. `tools.byProvider[...]` allow/deny;
//! 5. `agents.list[].tools.allow` / `deny`;
//! 6. `agents.list[].tools.byProvider[...]` allow/deny;
//! 7. the group/channel policy the caller looked up;
//! 8. the sandbox tool policy (sandboxed sessions only);
//! 9. the subagent policy (subagent sessions only).
//!
//! Within a step deny wins. All decisions are computed once in [`resolve`], so [`EffectivePolicy::decide`]
//! is a map lookup on the hot path of every tool call.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::path::JsonPath;
use crate::config::schema::Config;
use crate::config::schema::agents::AgentConfig;
use crate::config::schema::channels::CORE_CHANNELS;
use crate::config::schema::common::{IdMap, ToolPolicy, ToolPolicyWithProfile, ToolProfile};

use super::groups::{self, PLUGINS_GROUP};
use super::names::{CORE_TOOLS, canonical};
use super::profiles;

/// What a sandboxed session may use when no `tools.sandbox.tools.allow` is configured.
pub const SANDBOX_DEFAULT_ALLOW: &[&str] = &[
    "exec",
    "process",
    "read",
    "write",
    "edit",
    "apply_patch",
    "image",
    "sessions_list",
    "sessions_history",
    "sessions_send",
    "sessions_spawn",
    "sessions_yield",
    "subagents",
    "session_status",
];

/// What a sandboxed session may not use when no `tools.sandbox.tools.deny` is configured; every
/// built-in channel id ([`CORE_CHANNELS`]) is denied as well, so channel tools stay outside.
pub const SANDBOX_DEFAULT_DENY: &[&str] = &["browser", "canvas", "nodes", "cron", "gateway"];

/// Tools a subagent may not use unless `tools.subagents.tools.allow`/`alsoAllow` names them: the
/// main agent orchestrates sessions, scheduling and memory; subagents get their context in the
/// spawn prompt.
pub const SUBAGENT_DEFAULT_DENY: &[&str] = &[
    "sessions_list",
    "sessions_history",
    "sessions_send",
    "sessions_spawn",
    "gateway",
    "agents_list",
    "whatsapp_login",
    "session_status",
    "cron",
    "memory_search",
    "memory_get",
    "memory_store",
    "memory_recall",
    "memory_index_status",
    "memory_audit",
];

/// A tool a plugin registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginTool {
    pub plugin_id: String,
    pub name: String,
    /// Offered only when some allowlist names the tool, its plugin or `group:plugins`.
    pub optional: bool,
}

impl PluginTool {
    pub fn new(plugin_id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            plugin_id: plugin_id.into(),
            name: name.into(),
            optional: false,
        }
    }

    pub fn optional(plugin_id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            optional: true,
            ..Self::new(plugin_id, name)
        }
    }
}

/// The tools that exist in this gateway: the built-in tools available here and the plugin tools
/// loaded. Names are canonical; a plugin tool that takes the name of a built-in tool this gateway
/// has is dropped.
#[derive(Debug, Clone, Default)]
pub struct ToolCatalog {
    core: BTreeSet<String>,
    plugins: Vec<PluginTool>,
    warnings: Vec<String>,
}

impl ToolCatalog {
    pub fn new(core: impl IntoIterator<Item = String>, plugins: Vec<PluginTool>) -> Self {
        let core: BTreeSet<String> = core
            .into_iter()
            .map(|name| canonical(&name))
            .filter(|name| !name.is_empty())
            .collect();
        let mut warnings = Vec::new();
        let mut kept: Vec<PluginTool> = Vec::new();
        for tool in plugins {
            let name = canonical(&tool.name);
            let plugin_id = tool.plugin_id.trim().to_lowercase();
            if name.is_empty() || plugin_id.is_empty() {
                warnings.push(format!(
                    "tools: plugin `{}` registers a tool without a name or plugin id; skipped",
                    tool.plugin_id
                ));
                continue;
            }
            // A plugin must not be able to stand in for a built-in tool this gateway has:
            // policies and audits reason about built-in names. A core name the gateway does
            // not implement itself (`web_fetch`) may be provided by a plugin; the policy then
            // treats it by that name (`group:web`, profiles) and by its plugin id.
            if core.contains(&name) {
                warnings.push(format!(
                    "tools: plugin `{plugin_id}` tool `{name}` has the name of a built-in tool; skipped \
                     (rename the plugin's tool)"
                ));
                continue;
            }
            if groups::is_group(&name) || name.contains('*') {
                warnings.push(format!(
                    "tools: plugin `{plugin_id}` tool `{name}` is not a valid tool name (`group:` and `*` \
                     are policy syntax); skipped"
                ));
                continue;
            }
            if let Some(first) = kept.iter().find(|t| t.name == name) {
                warnings.push(format!(
                    "tools: tool `{name}` is registered by plugins `{}` and `{plugin_id}`; only `{}`'s is used",
                    first.plugin_id, first.plugin_id
                ));
                continue;
            }
            kept.push(PluginTool {
                plugin_id,
                name,
                optional: tool.optional,
            });
        }
        Self {
            core,
            plugins: kept,
            warnings,
        }
    }

    /// Every OpenClaw built-in tool plus `plugins`.
    pub fn openclaw(plugins: Vec<PluginTool>) -> Self {
        Self::new(CORE_TOOLS.iter().map(|t| t.to_string()), plugins)
    }

    pub fn core(&self) -> impl Iterator<Item = &str> {
        self.core.iter().map(String::as_str)
    }

    pub fn plugins(&self) -> &[PluginTool] {
        &self.plugins
    }

    /// Plugin tools that were dropped, and why.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// A session's circumstances that select policy: who, which model, where, how isolated.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyContext<'a> {
    pub agent_id: &'a str,
    /// Model provider (`anthropic`); when absent, the part of `model` before `/`.
    pub provider: Option<&'a str>,
    /// Model id (`claude-opus-4-6` or `anthropic/claude-opus-4-6`).
    pub model: Option<&'a str>,
    /// The group/channel tool policy (`groups.<id>.tools` or `toolsBySender`) already looked up.
    pub group: Option<&'a ToolPolicy>,
    pub sandboxed: bool,
    pub subagent: bool,
}

/// The step of the pipeline a decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Profile,
    ProviderProfile,
    Global,
    GlobalByProvider,
    Agent,
    AgentByProvider,
    Group,
    Sandbox,
    Subagent,
    /// An optional plugin tool no allowlist names.
    OptionalTool,
    /// Neither a built-in tool nor one a loaded plugin provides.
    Unknown,
}

impl Step {
    /// The nine pipeline steps, in order.
    pub const PIPELINE: [Step; 9] = [
        Step::Profile,
        Step::ProviderProfile,
        Step::Global,
        Step::GlobalByProvider,
        Step::Agent,
        Step::AgentByProvider,
        Step::Group,
        Step::Sandbox,
        Step::Subagent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Profile => "profile",
            Step::ProviderProfile => "provider profile",
            Step::Global => "global allow/deny",
            Step::GlobalByProvider => "global byProvider allow/deny",
            Step::Agent => "agent allow/deny",
            Step::AgentByProvider => "agent byProvider allow/deny",
            Step::Group => "group/channel policy",
            Step::Sandbox => "sandbox tool policy",
            Step::Subagent => "subagent policy",
            Step::OptionalTool => "optional plugin tool",
            Step::Unknown => "unknown tool",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a tool may be offered and called; a denial names the step and config path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "lowercase")]
pub enum ToolDecision {
    Allow,
    Deny { step: Step, reason: String },
}

impl ToolDecision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, ToolDecision::Allow)
    }
}

/// A tool one step removed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removal {
    pub tool: String,
    pub reason: String,
}

/// What one step did: where its lists came from, what they were, what they removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    pub step: Step,
    /// False when nothing is configured for this step (or it does not apply to this session).
    pub applied: bool,
    /// The config paths (or built-in defaults) the lists came from.
    pub sources: Vec<String>,
    /// The allowlist as applied (`None`: no allowlist); entries as written.
    pub allow: Option<Vec<String>>,
    pub deny: Vec<String>,
    pub removed: Vec<Removal>,
    /// Tools left after this step.
    pub remaining: usize,
    /// E.g. why an allowlist was ignored.
    pub note: Option<String>,
}

/// The resolved policy for one context: every tool's decision, computed once.
#[derive(Debug, Clone)]
pub struct EffectivePolicy {
    decisions: HashMap<String, ToolDecision>,
    allowed: Vec<String>,
    warnings: Vec<String>,
    reports: Vec<StepReport>,
}

impl EffectivePolicy {
    /// The decision for `tool` (any spelling).
    pub fn decide(&self, tool: &str) -> ToolDecision {
        if let Some(decision) = self.decisions.get(tool) {
            return decision.clone();
        }
        let name = canonical(tool);
        match self.decisions.get(&name) {
            Some(decision) => decision.clone(),
            None => ToolDecision::Deny {
                step: Step::Unknown,
                reason: format!("unknown tool `{name}`: no built-in tool or loaded plugin provides it"),
            },
        }
    }

    pub fn is_allowed(&self, tool: &str) -> bool {
        self.decide(tool).is_allowed()
    }

    /// The tools offered to the model, sorted.
    pub fn allowed(&self) -> Vec<String> {
        self.allowed.clone()
    }

    /// Config the operator should fix: ignored allowlists, unknown groups, dropped plugin tools.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Per step, what it applied and removed (for `openclaw sandbox explain` and debugging).
    pub fn explain(&self) -> Vec<StepReport> {
        self.reports.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// matching

#[derive(Debug, Clone)]
enum Matcher {
    All,
    Exact(String),
    /// The literal pieces between `*`s; the first and last are anchored.
    Glob(Vec<String>),
}

impl Matcher {
    fn parse(name: &str) -> Self {
        if name == "*" {
            Matcher::All
        } else if name.contains('*') {
            Matcher::Glob(name.split('*').map(str::to_string).collect())
        } else {
            Matcher::Exact(name.to_string())
        }
    }

    fn matches(&self, tool: &str) -> bool {
        match self {
            Matcher::All => true,
            Matcher::Exact(name) => name == tool,
            Matcher::Glob(parts) => glob_matches(parts, tool),
        }
    }
}

fn glob_matches(parts: &[String], name: &str) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return name == first;
    };
    if !name.starts_with(first.as_str()) {
        return false;
    }
    let mut at = first.len();
    for piece in middle {
        match name[at..].find(piece.as_str()) {
            Some(found) => at += found + piece.len(),
            None => return false,
        }
    }
    name.len() - at >= last.len() && name.ends_with(last.as_str())
}

/// One list entry: what it was written as and which config path it came from (for reasons).
#[derive(Debug, Clone)]
struct Entry {
    written: String,
    source: String,
}

/// A compiled list: exact names in a map, patterns in order, each pointing at its entry so a
/// denial can name the first entry that matched.
#[derive(Debug, Default)]
struct CompiledList {
    entries: Vec<Entry>,
    exact: HashMap<String, usize>,
    patterns: Vec<(usize, Matcher)>,
}

impl CompiledList {
    fn new<'a>(entries: impl IntoIterator<Item = &'a Sourced>, expander: &Expander) -> Self {
        let mut list = CompiledList::default();
        for (written, source) in entries {
            let index = list.entries.len();
            for matcher in expander.matchers(written) {
                match matcher {
                    Matcher::Exact(name) => {
                        list.exact.entry(name).or_insert(index);
                    }
                    pattern => list.patterns.push((index, pattern)),
                }
            }
            list.entries.push(Entry {
                written: written.trim().to_string(),
                source: source.clone(),
            });
        }
        list
    }

    fn first_match(&self, tool: &str) -> Option<&Entry> {
        let exact = self.exact.get(tool).copied();
        let pattern = self.patterns.iter().find(|(_, m)| m.matches(tool)).map(|(i, _)| *i);
        let index = match (exact, pattern) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        self.entries.get(index)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Core,
    Plugin,
    UnknownGroup,
    Unknown,
}

/// Expands entries against the loaded plugins.
struct Expander {
    core: BTreeSet<String>,
    plugin_tools: Vec<String>,
    by_plugin: BTreeMap<String, Vec<String>>,
}

impl Expander {
    fn new(catalog: &ToolCatalog, enabled_plugins: &[&PluginTool]) -> Self {
        let mut by_plugin: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for tool in enabled_plugins {
            by_plugin
                .entry(tool.plugin_id.clone())
                .or_default()
                .push(tool.name.clone());
        }
        Self {
            core: catalog.core.clone(),
            plugin_tools: enabled_plugins.iter().map(|t| t.name.clone()).collect(),
            by_plugin,
        }
    }

    /// The names and patterns an entry stands for.
    fn matchers(&self, written: &str) -> Vec<Matcher> {
        let name = canonical(written);
        let mut matchers = Vec::new();
        if name == PLUGINS_GROUP {
            matchers.extend(self.plugin_tools.iter().map(|t| Matcher::Exact(t.clone())));
        } else if groups::is_group(&name) {
            matchers.extend(
                groups::members(&name)
                    .unwrap_or_default()
                    .iter()
                    .map(|t| Matcher::Exact(t.to_string())),
            );
        } else if !name.is_empty() {
            matchers.push(Matcher::parse(&name));
            // A plugin id stands for all of that plugin's tools.
            if let Some(tools) = self.by_plugin.get(&name) {
                matchers.extend(tools.iter().map(|t| Matcher::Exact(t.clone())));
            }
        }
        matchers
    }

    fn is_core_name(&self, name: &str) -> bool {
        self.core.contains(name) || CORE_TOOLS.contains(&name)
    }

    fn classify(&self, written: &str) -> EntryKind {
        let name = canonical(written);
        if name == "*" {
            return EntryKind::Core;
        }
        if name == PLUGINS_GROUP {
            return EntryKind::Plugin;
        }
        if groups::is_group(&name) {
            return match groups::members(&name) {
                Some(_) => EntryKind::Core,
                None => EntryKind::UnknownGroup,
            };
        }
        if name.contains('*') {
            let matcher = Matcher::parse(&name);
            if CORE_TOOLS.iter().any(|t| matcher.matches(t)) || self.core.iter().any(|t| matcher.matches(t)) {
                return EntryKind::Core;
            }
            if self.plugin_tools.iter().any(|t| matcher.matches(t)) {
                return EntryKind::Plugin;
            }
            return EntryKind::Unknown;
        }
        if self.is_core_name(&name) {
            EntryKind::Core
        } else if self.by_plugin.contains_key(&name) || self.plugin_tools.contains(&name) {
            EntryKind::Plugin
        } else {
            EntryKind::Unknown
        }
    }
}

// ---------------------------------------------------------------------------------------------
// step specifications (uncompiled)

/// A list entry as written, with the config path it came from.
type Sourced = (String, String);

#[derive(Debug, Clone)]
struct StepSpec {
    step: Step,
    /// `None`: no allowlist. Entries already include `alsoAllow` where that applies.
    allow: Option<Vec<Sourced>>,
    deny: Vec<Sourced>,
    /// Names the allowlist in a denial: "not in {allow_label}".
    allow_label: String,
    /// Steps 1–7 drop an allowlist that names no built-in tool, as OpenClaw does.
    strip_plugin_only: bool,
    sources: Vec<String>,
    /// Entries that can switch on optional plugin tools (allow and alsoAllow as written).
    naming: Vec<String>,
}

impl StepSpec {
    fn inactive(step: Step) -> Self {
        Self {
            step,
            allow: None,
            deny: Vec::new(),
            allow_label: String::new(),
            strip_plugin_only: false,
            sources: Vec::new(),
            naming: Vec::new(),
        }
    }
}

fn sourced(list: &[String], source: &str) -> Vec<Sourced> {
    list.iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| (e.clone(), source.to_string()))
        .collect()
}

fn non_empty(list: Option<&Vec<String>>) -> Option<&Vec<String>> {
    list.filter(|l| l.iter().any(|e| !e.trim().is_empty()))
}

/// `{allow, alsoAllow, deny}` at `base`, read as OpenClaw does: `alsoAllow` joins a non-empty
/// `allow`; without one it means "everything, and these" (so no allowlist at all).
fn plain_step(
    step: Step,
    base: &str,
    allow: Option<&Vec<String>>,
    also_allow: Option<&Vec<String>>,
    deny: Option<&Vec<String>>,
) -> StepSpec {
    let allow_path = format!("{base}.allow");
    let also_path = format!("{base}.alsoAllow");
    let deny_path = format!("{base}.deny");
    let mut spec = StepSpec::inactive(step);
    spec.allow_label = allow_path.clone();
    spec.strip_plugin_only = true;
    if let Some(allow) = non_empty(allow) {
        let mut entries = sourced(allow, &allow_path);
        spec.sources.push(allow_path.clone());
        if let Some(also) = non_empty(also_allow) {
            entries.extend(sourced(also, &also_path));
            spec.sources.push(also_path.clone());
            spec.allow_label = format!("{allow_path} or {also_path}");
        }
        spec.naming.extend(allow.iter().cloned());
        spec.allow = Some(entries);
    }
    if let Some(also) = non_empty(also_allow) {
        spec.naming.extend(also.iter().cloned());
    }
    if let Some(deny) = non_empty(deny) {
        spec.deny = sourced(deny, &deny_path);
        spec.sources.push(deny_path);
    }
    spec
}

fn profile_step(
    step: Step,
    profile: Option<(ToolProfile, String)>,
    also_allow: Option<(&Vec<String>, String)>,
) -> StepSpec {
    let mut spec = StepSpec::inactive(step);
    let Some((profile, source)) = profile else {
        return spec;
    };
    let Some(list) = profiles::allowlist(profile) else {
        // `full` restricts nothing; alsoAllow adds nothing to "everything".
        return spec;
    };
    let name = profiles::name(profile);
    let mut entries: Vec<Sourced> = list
        .iter()
        .map(|e| (e.to_string(), format!("{source} (`{name}`)")))
        .collect();
    spec.sources.push(source.clone());
    spec.allow_label = format!("profile `{name}` ({source})");
    if let Some((also, also_source)) = also_allow.filter(|(l, _)| non_empty(Some(l)).is_some()) {
        entries.extend(sourced(also, &also_source));
        spec.naming.extend(also.iter().cloned());
        spec.allow_label = format!("profile `{name}` ({source}) nor {also_source}");
        spec.sources.push(also_source);
    }
    spec.allow = Some(entries);
    spec.strip_plugin_only = true;
    spec
}

fn provider_key_path(base: &str, key: &str) -> String {
    // Render the key the way config paths are shown elsewhere (quoted when not plain).
    let rendered = JsonPath::root().key("x").key(key).to_string();
    format!("{base}.byProvider{}", rendered.strip_prefix('x').unwrap_or(&rendered))
}

/// The `byProvider` entry for this model: `provider/model` first, then `provider`, keys compared
/// case-insensitively.
fn provider_entry<'c>(
    map: Option<&'c IdMap<ToolPolicyWithProfile>>,
    ctx: &PolicyContext<'_>,
) -> Option<(&'c str, &'c ToolPolicyWithProfile)> {
    let map = map?;
    let model = ctx.model.map(|m| m.trim().to_lowercase()).filter(|m| !m.is_empty());
    let provider = ctx
        .provider
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .or_else(|| {
            model
                .as_deref()
                .and_then(|m| m.split_once('/'))
                .map(|(p, _)| p.to_string())
        })?;
    let full = model.map(|m| if m.contains('/') { m } else { format!("{provider}/{m}") });
    let candidates = full.into_iter().chain(std::iter::once(provider));
    for candidate in candidates {
        if let Some((key, value)) = map.iter().find(|(k, _)| k.trim().to_lowercase() == candidate) {
            return Some((key.as_str(), value));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// compiled steps

#[derive(Debug)]
struct CompiledStep {
    step: Step,
    allow: Option<CompiledList>,
    deny: CompiledList,
    allow_label: String,
}

impl CompiledStep {
    /// `None` when the tool passes; otherwise why it does not.
    fn check(&self, tool: &str) -> Option<String> {
        if let Some(entry) = self.deny.first_match(tool) {
            return Some(format!("denied by {} (`{}`)", entry.source, entry.written));
        }
        match &self.allow {
            Some(allow) if allow.first_match(tool).is_none() => Some(format!("not in {}", self.allow_label)),
            _ => None,
        }
    }
}

fn unknown_groups(entries: &[Sourced]) -> Vec<String> {
    entries
        .iter()
        .map(|(e, _)| canonical(e))
        .filter(|e| e != PLUGINS_GROUP && groups::is_group(e) && groups::members(e).is_none())
        .collect()
}

fn compile_step(spec: StepSpec, expander: &Expander, warnings: &mut Vec<String>) -> (CompiledStep, StepReport) {
    let mut note = None;
    let mut allow = spec.allow;
    if let Some(entries) = &allow {
        let kinds: Vec<(String, EntryKind)> = entries
            .iter()
            .map(|(e, _)| (e.trim().to_string(), expander.classify(e)))
            .collect();
        let has_core = kinds.iter().any(|(_, k)| *k == EntryKind::Core);
        let bad_groups: Vec<&str> = kinds
            .iter()
            .filter(|(_, k)| *k == EntryKind::UnknownGroup)
            .map(|(e, _)| e.as_str())
            .collect();
        let unknown: Vec<&str> = kinds
            .iter()
            .filter(|(_, k)| *k == EntryKind::Unknown)
            .map(|(e, _)| e.as_str())
            .collect();
        let listed: Vec<&str> = kinds.iter().map(|(e, _)| e.as_str()).collect();
        // An unknown group keeps the allowlist in force: a typo must narrow, never widen.
        if spec.strip_plugin_only && !has_core && bad_groups.is_empty() {
            let mut text = format!(
                "tools: {} allowlist contains no built-in tool ({}). Ignoring allowlist so core tools remain \
                 available; to add plugin tools without restricting core tools, list them in alsoAllow.",
                spec.allow_label,
                listed.join(", ")
            );
            if !unknown.is_empty() {
                text.push_str(&format!(
                    " Unknown entries ({}) match no tool unless their plugin is loaded.",
                    unknown.join(", ")
                ));
            }
            note = Some(text.clone());
            warnings.push(text);
            allow = None;
        } else {
            if !bad_groups.is_empty() {
                warnings.push(format!(
                    "tools: {} names unknown group(s) {}; they match no tool (known groups: {})",
                    spec.allow_label,
                    bad_groups.join(", "),
                    groups::known_names().join(", ")
                ));
            }
            if !unknown.is_empty() {
                warnings.push(format!(
                    "tools: {} allowlist contains unknown entries ({}). These entries won't match any tool unless \
                     their plugin is loaded.",
                    spec.allow_label,
                    unknown.join(", ")
                ));
            }
        }
    }
    let bad_deny_groups = unknown_groups(&spec.deny);
    if !bad_deny_groups.is_empty() {
        let source = spec.deny.first().map(|(_, s)| s.as_str()).unwrap_or_default();
        warnings.push(format!(
            "tools: {source} names unknown group(s) {}; they deny nothing (known groups: {})",
            bad_deny_groups.join(", "),
            groups::known_names().join(", ")
        ));
    }
    let report = StepReport {
        step: spec.step,
        applied: allow.is_some() || !spec.deny.is_empty(),
        sources: spec.sources,
        allow: allow
            .as_ref()
            .map(|a| a.iter().map(|(e, _)| e.trim().to_string()).collect()),
        deny: spec.deny.iter().map(|(e, _)| e.trim().to_string()).collect(),
        removed: Vec::new(),
        remaining: 0,
        note,
    };
    let compiled = CompiledStep {
        step: spec.step,
        allow: allow.map(|entries| CompiledList::new(&entries, expander)),
        deny: CompiledList::new(&spec.deny, expander),
        allow_label: spec.allow_label,
    };
    (compiled, report)
}

// ---------------------------------------------------------------------------------------------
// resolution

/// Resolves the policy for one agent and session over the tools in `catalog`.
pub fn resolve(config: &Config, ctx: &PolicyContext<'_>, catalog: &ToolCatalog) -> EffectivePolicy {
    let mut warnings: Vec<String> = catalog.warnings.clone();
    let specs = step_specs(config, ctx);

    // Optional plugin tools exist only where an allowlist asks for them by name.
    let naming: BTreeSet<String> = specs
        .iter()
        .flat_map(|s| s.naming.iter().chain(s.allow.iter().flatten().map(|(e, _)| e)))
        .map(|e| canonical(e))
        .collect();
    let mut enabled_plugins: Vec<&PluginTool> = Vec::new();
    let mut disabled: Vec<&PluginTool> = Vec::new();
    for tool in &catalog.plugins {
        let named = naming.contains(&tool.name) || naming.contains(&tool.plugin_id) || naming.contains(PLUGINS_GROUP);
        if !tool.optional || named {
            enabled_plugins.push(tool);
        } else {
            disabled.push(tool);
        }
    }
    let expander = Expander::new(catalog, &enabled_plugins);

    let mut decisions: HashMap<String, ToolDecision> = HashMap::new();
    for tool in disabled {
        decisions.insert(
            tool.name.clone(),
            ToolDecision::Deny {
                step: Step::OptionalTool,
                reason: format!(
                    "optional tool of plugin `{}`: offered only when an allowlist names it \
                     (add `{}` or `{}` to tools.alsoAllow or agents.list[].tools.alsoAllow)",
                    tool.plugin_id, tool.name, tool.plugin_id
                ),
            },
        );
    }

    let mut current: Vec<String> = catalog
        .core
        .iter()
        .cloned()
        .chain(enabled_plugins.iter().map(|t| t.name.clone()))
        .collect();
    current.sort();
    current.dedup();

    let mut reports = Vec::with_capacity(specs.len());
    for spec in specs {
        let (step, mut report) = compile_step(spec, &expander, &mut warnings);
        if report.applied {
            let mut kept = Vec::with_capacity(current.len());
            for tool in current {
                match step.check(&tool) {
                    None => kept.push(tool),
                    Some(reason) => {
                        report.removed.push(Removal {
                            tool: tool.clone(),
                            reason: reason.clone(),
                        });
                        decisions.insert(
                            tool,
                            ToolDecision::Deny {
                                step: step.step,
                                reason,
                            },
                        );
                    }
                }
            }
            current = kept;
        }
        report.remaining = current.len();
        reports.push(report);
    }
    for tool in &current {
        decisions.insert(tool.clone(), ToolDecision::Allow);
    }
    let mut seen = BTreeSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    EffectivePolicy {
        decisions,
        allowed: current,
        warnings,
        reports,
    }
}

/// The nine steps for this context, in pipeline order (inactive ones included, for `explain`).
fn step_specs(config: &Config, ctx: &PolicyContext<'_>) -> Vec<StepSpec> {
    let global = config.tools.as_ref();
    let found = super::find_agent(config, ctx.agent_id);
    let agent = found.as_ref().map(|(_, a)| *a);
    let agent_tools = agent.and_then(|a| a.tools.as_ref());
    let agent_path = found.as_ref().map(|(p, _)| format!("{p}.tools")).unwrap_or_default();

    let global_provider = provider_entry(global.and_then(|t| t.by_provider.as_ref()), ctx);
    let agent_provider = provider_entry(agent_tools.and_then(|t| t.by_provider.as_ref()), ctx);

    // 1. profile: the agent's, else the global one; alsoAllow likewise (agent's replaces global's).
    let profile = agent_tools
        .and_then(|t| t.profile)
        .map(|p| (p, format!("{agent_path}.profile")))
        .or_else(|| global.and_then(|t| t.profile).map(|p| (p, "tools.profile".to_string())));
    let also_allow = agent_tools
        .and_then(|t| t.also_allow.as_ref())
        .map(|l| (l, format!("{agent_path}.alsoAllow")))
        .or_else(|| {
            global
                .and_then(|t| t.also_allow.as_ref())
                .map(|l| (l, "tools.alsoAllow".to_string()))
        });
    let profile_spec = profile_step(Step::Profile, profile, also_allow);

    // 2. provider profile: the agent's byProvider entry first.
    let provider_path = |base: &str, key: &str| provider_key_path(base, key);
    let provider_profile = agent_provider
        .and_then(|(k, p)| {
            p.profile
                .map(|pr| (pr, format!("{}.profile", provider_path(&agent_path, k))))
        })
        .or_else(|| {
            global_provider.and_then(|(k, p)| {
                p.profile
                    .map(|pr| (pr, format!("{}.profile", provider_path("tools", k))))
            })
        });
    let provider_also = agent_provider
        .and_then(|(k, p)| {
            p.also_allow
                .as_ref()
                .map(|l| (l, format!("{}.alsoAllow", provider_path(&agent_path, k))))
        })
        .or_else(|| {
            global_provider.and_then(|(k, p)| {
                p.also_allow
                    .as_ref()
                    .map(|l| (l, format!("{}.alsoAllow", provider_path("tools", k))))
            })
        });
    let provider_profile_spec = profile_step(Step::ProviderProfile, provider_profile, provider_also);

    // 3. and 4.: global allow/deny, then the global byProvider entry.
    let global_spec = match global {
        Some(t) => plain_step(
            Step::Global,
            "tools",
            t.allow.as_ref(),
            t.also_allow.as_ref(),
            t.deny.as_ref(),
        ),
        None => StepSpec::inactive(Step::Global),
    };
    let global_provider_spec = match global_provider {
        Some((key, p)) => plain_step(
            Step::GlobalByProvider,
            &provider_path("tools", key),
            p.allow.as_ref(),
            p.also_allow.as_ref(),
            p.deny.as_ref(),
        ),
        None => StepSpec::inactive(Step::GlobalByProvider),
    };

    // 5. and 6.: the agent's own lists, then its byProvider entry.
    let agent_spec = match agent_tools {
        Some(t) => plain_step(
            Step::Agent,
            &agent_path,
            t.allow.as_ref(),
            t.also_allow.as_ref(),
            t.deny.as_ref(),
        ),
        None => StepSpec::inactive(Step::Agent),
    };
    let agent_provider_spec = match agent_provider {
        Some((key, p)) => plain_step(
            Step::AgentByProvider,
            &provider_path(&agent_path, key),
            p.allow.as_ref(),
            p.also_allow.as_ref(),
            p.deny.as_ref(),
        ),
        None => StepSpec::inactive(Step::AgentByProvider),
    };

    // 7. the group/channel policy the caller found for this conversation.
    let group_spec = match ctx.group {
        Some(p) => plain_step(
            Step::Group,
            "group tools",
            p.allow.as_ref(),
            p.also_allow.as_ref(),
            p.deny.as_ref(),
        ),
        None => StepSpec::inactive(Step::Group),
    };

    let sandbox_spec = if ctx.sandboxed {
        sandbox_step(config, agent, &agent_path)
    } else {
        StepSpec::inactive(Step::Sandbox)
    };
    let subagent_spec = if ctx.subagent {
        subagent_step(config)
    } else {
        StepSpec::inactive(Step::Subagent)
    };

    vec![
        profile_spec,
        provider_profile_spec,
        global_spec,
        global_provider_spec,
        agent_spec,
        agent_provider_spec,
        group_spec,
        sandbox_spec,
        subagent_spec,
    ]
}

/// Where a sandbox list may be configured, most specific first. `agents.*.sandbox.tools` means
/// the same as `*.tools.sandbox.tools` at that level (validation refuses both at once).
fn sandbox_levels<'c>(
    config: &'c Config,
    agent: Option<&'c AgentConfig>,
    agent_path: &str,
) -> Vec<(&'c ToolPolicy, String)> {
    let mut levels = Vec::new();
    if let Some(agent) = agent {
        if let Some(p) = agent
            .tools
            .as_ref()
            .and_then(|t| t.sandbox.as_ref())
            .and_then(|s| s.tools.as_ref())
        {
            levels.push((p, format!("{agent_path}.sandbox.tools")));
        }
        if let Some(p) = agent.sandbox.as_ref().and_then(|s| s.tools.as_ref()) {
            let path = agent_path.trim_end_matches(".tools");
            levels.push((p, format!("{path}.sandbox.tools")));
        }
    }
    if let Some(p) = config
        .tools
        .as_ref()
        .and_then(|t| t.sandbox.as_ref())
        .and_then(|s| s.tools.as_ref())
    {
        levels.push((p, "tools.sandbox.tools".to_string()));
    }
    if let Some(p) = config
        .agents()
        .defaults
        .as_ref()
        .and_then(|d| d.sandbox.as_ref())
        .and_then(|s| s.tools.as_ref())
    {
        levels.push((p, "agents.defaults.sandbox.tools".to_string()));
    }
    levels
}

/// Step 8: `allow` and `deny` are each taken from the most specific level that sets them (no
/// merging across levels), else the defaults; `image` is added unless denied.
fn sandbox_step(config: &Config, agent: Option<&AgentConfig>, agent_path: &str) -> StepSpec {
    let levels = sandbox_levels(config, agent, agent_path);
    let mut spec = StepSpec::inactive(Step::Sandbox);
    let (mut allow, allow_source) = match levels.iter().find_map(|(p, path)| p.allow.as_ref().map(|a| (a, path))) {
        Some((list, path)) => {
            let source = format!("{path}.allow");
            (sourced(list, &source), source)
        }
        None => {
            let source = "the sandbox default allowlist".to_string();
            (
                SANDBOX_DEFAULT_ALLOW
                    .iter()
                    .map(|t| (t.to_string(), source.clone()))
                    .collect(),
                source,
            )
        }
    };
    spec.allow_label = allow_source.clone();
    spec.sources.push(allow_source);
    if let Some((list, path)) = levels
        .iter()
        .find_map(|(p, path)| non_empty(p.also_allow.as_ref()).map(|a| (a, path)))
    {
        let source = format!("{path}.alsoAllow");
        allow.extend(sourced(list, &source));
        spec.naming.extend(list.iter().cloned());
        spec.allow_label = format!("{} or {source}", spec.allow_label);
        spec.sources.push(source);
    }
    let deny = match levels.iter().find_map(|(p, path)| p.deny.as_ref().map(|d| (d, path))) {
        Some((list, path)) => {
            let source = format!("{path}.deny");
            spec.sources.push(source.clone());
            sourced(list, &source)
        }
        None => {
            let source = "the sandbox default deny list".to_string();
            spec.sources.push(source.clone());
            SANDBOX_DEFAULT_DENY
                .iter()
                .chain(CORE_CHANNELS)
                .map(|t| (t.to_string(), source.clone()))
                .collect()
        }
    };
    let image_denied = deny.iter().any(|(e, _)| groups_or_name_matches(&canonical(e), "image"));
    let image_listed = allow
        .iter()
        .any(|(e, _)| groups_or_name_matches(&canonical(e), "image"));
    if !image_denied && !image_listed {
        allow.push((
            "image".to_string(),
            "sandbox (image is always allowed unless denied)".to_string(),
        ));
    }
    spec.naming.extend(allow.iter().map(|(e, _)| e.clone()));
    spec.allow = Some(allow);
    spec.deny = deny;
    spec
}

/// Whether a (canonical) entry covers `tool` by name, group or pattern (plugins aside).
fn groups_or_name_matches(entry: &str, tool: &str) -> bool {
    match groups::members(entry) {
        Some(members) => members.contains(&tool),
        None => Matcher::parse(entry).matches(tool),
    }
}

/// Step 9: the default subagent deny list, less what `tools.subagents.tools.allow`/`alsoAllow`
/// name explicitly, plus `tools.subagents.tools.deny`; `allow` restricts, it does not add.
fn subagent_step(config: &Config) -> StepSpec {
    let configured = config
        .tools
        .as_ref()
        .and_then(|t| t.subagents.as_ref())
        .and_then(|s| s.tools.as_ref());
    let mut spec = StepSpec::inactive(Step::Subagent);
    let allow = configured.and_then(|c| non_empty(c.allow.as_ref()));
    let also = configured.and_then(|c| non_empty(c.also_allow.as_ref()));
    let explicit: BTreeSet<String> = allow.into_iter().chain(also).flatten().map(|e| canonical(e)).collect();
    let default_source = "the subagent default deny list".to_string();
    spec.sources.push(default_source.clone());
    spec.deny = SUBAGENT_DEFAULT_DENY
        .iter()
        .filter(|t| !explicit.contains(**t))
        .map(|t| (t.to_string(), default_source.clone()))
        .collect();
    if let Some(deny) = configured.and_then(|c| non_empty(c.deny.as_ref())) {
        spec.deny.extend(sourced(deny, "tools.subagents.tools.deny"));
        spec.sources.push("tools.subagents.tools.deny".into());
    }
    if let Some(allow) = allow {
        let mut entries = sourced(allow, "tools.subagents.tools.allow");
        spec.allow_label = "tools.subagents.tools.allow".into();
        spec.sources.push("tools.subagents.tools.allow".into());
        if let Some(also) = also {
            entries.extend(sourced(also, "tools.subagents.tools.alsoAllow"));
            spec.allow_label = "tools.subagents.tools.allow or tools.subagents.tools.alsoAllow".into();
        }
        spec.allow = Some(entries);
    }
    spec.naming.extend(allow.into_iter().chain(also).flatten().cloned());
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: &str) -> Vec<String> {
        p.split('*').map(str::to_string).collect()
    }

    #[test]
    fn globs_are_anchored() {
        assert!(glob_matches(&parts("web_*"), "web_search"));
        assert!(!glob_matches(&parts("web_*"), "x_web_search"));
        assert!(glob_matches(&parts("*_search"), "memory_search"));
        assert!(!glob_matches(&parts("*_search"), "memory_search_x"));
        assert!(glob_matches(&parts("m*y*t"), "memory_get"));
        assert!(!glob_matches(&parts("a*a"), "a"), "pieces may not overlap");
        assert!(glob_matches(&parts("a*a"), "aa"));
        assert!(glob_matches(&parts("**"), ""));
    }

    #[test]
    fn unknown_context_has_no_sandbox_or_subagent_step() {
        let config = Config::default();
        let specs = step_specs(&config, &PolicyContext::default());
        assert!(specs.iter().all(|s| s.allow.is_none() && s.deny.is_empty()));
    }

    #[test]
    fn a_plugin_may_provide_a_core_tool_the_gateway_lacks_but_never_shadow_one_it_has() {
        let catalog = ToolCatalog::new(
            ["read".to_string(), "exec".to_string()],
            vec![
                PluginTool::new("web-fetch", "web_fetch"),
                PluginTool::new("evil", "exec"),
            ],
        );
        let names: Vec<&str> = catalog.plugins().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["web_fetch"]);
        assert!(catalog.warnings().iter().any(|w| w.contains("evil")));
        let policy = |json: serde_json::Value| {
            let config: Config = serde_json::from_value(json).unwrap();
            resolve(&config, &PolicyContext::default(), &catalog)
        };
        // Covered by its core name (group and profile) and by its plugin id.
        assert!(!policy(serde_json::json!({"tools": {"deny": ["group:web"]}})).is_allowed("web_fetch"));
        assert!(!policy(serde_json::json!({"tools": {"deny": ["web-fetch"]}})).is_allowed("web_fetch"));
        assert!(policy(serde_json::json!({"tools": {"profile": "coding"}})).is_allowed("web_fetch"));
        assert!(!policy(serde_json::json!({"tools": {"profile": "messaging"}})).is_allowed("web_fetch"));
    }
}
