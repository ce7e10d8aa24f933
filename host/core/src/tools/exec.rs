//! Exec policy: where a command runs, and whether it runs, asks an operator, or is refused.
//!
//! OpenClaw's defaults changed across releases (early 2026: allowlist + ask on-miss on the host;
//! April 2026: full + ask off, "YOLO by default"). This gateway writes its defaults down as the
//! constants below and takes the stricter, early ones for the host. On the gateway or a node
//! host the effective policy is the stricter of `tools.exec.*` and the host's approvals file.
//!
//! In allowlist mode a command is split on `&&`, `||`, `;` and `|`; every segment must resolve to
//! an allowlisted binary or a safe bin. Anything a shell would interpret beyond that (redirection,
//! `$(...)`, backticks, newlines, subshells, background `&`, inline `VAR=value`) fails the analysis.
//! The argv of each segment is meant to be executed literally, without a shell re-reading it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::config::schema::Config;
pub use crate::config::schema::agents::ElevatedLevel;
pub use crate::config::schema::tools::{ExecAsk, ExecHost, ExecSecurity};
use crate::config::schema::tools::{ExecConfig, ExecMode};

use super::approvals_file::{AllowlistEntry, ExecApprovalsFile};
use super::elevated::elevated_requires_approval;
use super::find_agent;

/// `tools.exec.host` when unset: the sandbox when one is active, else the gateway host.
pub const DEFAULT_HOST: ExecHost = ExecHost::Auto;
/// In a sandbox the container is the boundary (OpenClaw never consults `security` there), so
/// commands run unless `security`/`ask` are set explicitly.
pub const DEFAULT_SANDBOX_SECURITY: ExecSecurity = ExecSecurity::Full;
pub const DEFAULT_SANDBOX_ASK: ExecAsk = ExecAsk::Off;
/// On the gateway or a node: only allowlisted commands run; anything else asks an operator.
pub const DEFAULT_HOST_SECURITY: ExecSecurity = ExecSecurity::Allowlist;
pub const DEFAULT_HOST_ASK: ExecAsk = ExecAsk::OnMiss;
/// What a prompt becomes when no approval UI is reachable.
pub const DEFAULT_ASK_FALLBACK: ExecSecurity = ExecSecurity::Deny;
/// Stdin-only filters allowlist mode runs without an allowlist entry.
pub const DEFAULT_SAFE_BINS: &[&str] = &["cut", "uniq", "head", "tail", "tr", "wc"];
/// Safe bins count only when they resolve inside these directories (plus `safeBinTrustedDirs`).
pub const DEFAULT_TRUSTED_DIRS: &[&str] = &["/bin", "/usr/bin"];
/// How long an approval prompt waits before it counts as denied.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_STRICT_INLINE_EVAL: bool = false;

/// Where a setting of the effective policy came from (a config path, the approvals file, or a
/// default), so a decision can say which key to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sources {
    pub host: String,
    pub security: String,
    pub ask: String,
    pub ask_fallback: String,
}

/// The exec policy for one agent and session, with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecPolicy {
    /// `Sandbox`, `Gateway` or `Node`; never `Auto`.
    pub host: ExecHost,
    /// Why exec cannot run at all (`host: "sandbox"` without an active sandbox).
    pub host_unavailable: Option<String>,
    pub node: Option<String>,
    pub security: ExecSecurity,
    pub ask: ExecAsk,
    pub ask_fallback: ExecSecurity,
    pub safe_bins: Vec<String>,
    pub trusted_dirs: Vec<String>,
    pub approval_timeout: Duration,
    /// Ask before `python -c`, `node -e` and similar, even when the interpreter is allowlisted.
    pub strict_inline_eval: bool,
    /// `tools.exec.requireApproval`: every command asks unless `safe_binaries` covers it.
    pub require_approval: bool,
    /// `tools.exec.safeBinaries`: a binary, or a binary with its leading arguments (`git status`).
    pub safe_binaries: Vec<String>,
    /// `tools.exec.approvals.patterns`: commands containing any of these always ask.
    pub approval_patterns: Vec<String>,
    pub sources: Sources,
}

/// What to do with one command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "lowercase")]
pub enum ExecDecision {
    Run,
    Ask { reason: String },
    Deny { reason: String },
}

fn security_rank(s: ExecSecurity) -> u8 {
    match s {
        ExecSecurity::Deny => 0,
        ExecSecurity::Allowlist => 1,
        ExecSecurity::Full => 2,
    }
}

fn ask_rank(a: ExecAsk) -> u8 {
    match a {
        ExecAsk::Off => 0,
        ExecAsk::OnMiss => 1,
        ExecAsk::Always => 2,
    }
}

pub fn security_name(s: ExecSecurity) -> &'static str {
    match s {
        ExecSecurity::Deny => "deny",
        ExecSecurity::Allowlist => "allowlist",
        ExecSecurity::Full => "full",
    }
}

pub fn ask_name(a: ExecAsk) -> &'static str {
    match a {
        ExecAsk::Off => "off",
        ExecAsk::OnMiss => "on-miss",
        ExecAsk::Always => "always",
    }
}

/// `tools.exec.mode` as the `security` + `ask` pair it stands for (OpenClaw's mapping; `auto`
/// would add an automatic reviewer, which this gateway replaces with the operator).
pub fn mode_policy(mode: ExecMode) -> (ExecSecurity, ExecAsk) {
    match mode {
        ExecMode::Deny => (ExecSecurity::Deny, ExecAsk::Off),
        ExecMode::Allowlist => (ExecSecurity::Allowlist, ExecAsk::Off),
        ExecMode::Ask | ExecMode::Auto => (ExecSecurity::Allowlist, ExecAsk::OnMiss),
        ExecMode::Full => (ExecSecurity::Full, ExecAsk::Off),
    }
}

/// One level's (`tools.exec` or the agent's) security and ask, each with its config path.
struct Level<'c> {
    exec: &'c ExecConfig,
    path: String,
}

impl Level<'_> {
    fn security(&self) -> Option<(ExecSecurity, String)> {
        match self.exec.mode {
            Some(mode) => Some((mode_policy(mode).0, format!("{}.mode", self.path))),
            None => self.exec.security.map(|s| (s, format!("{}.security", self.path))),
        }
    }

    fn ask(&self) -> Option<(ExecAsk, String)> {
        match self.exec.mode {
            Some(mode) => Some((mode_policy(mode).1, format!("{}.mode", self.path))),
            None => self.exec.ask.map(|a| (a, format!("{}.ask", self.path))),
        }
    }
}

/// First of the agent's and the global value.
fn first<'c, T>(levels: &[Level<'c>], field: impl Fn(&'c ExecConfig) -> Option<T>) -> Option<T> {
    levels.iter().find_map(|l| field(l.exec))
}

/// The effective exec policy for `agent_id`. `approvals` is the approvals file of the host the
/// command would run on (the gateway's, or the node's); it is not consulted for the sandbox.
pub fn exec_policy(
    config: &Config,
    agent_id: &str,
    approvals: Option<&ExecApprovalsFile>,
    sandbox_active: bool,
) -> ExecPolicy {
    let levels = levels(config, agent_id);
    let configured_host = levels
        .iter()
        .find_map(|l| l.exec.host.map(|h| (h, format!("{}.host", l.path))));
    let (host, host_source, unavailable) = match configured_host {
        None | Some((ExecHost::Auto, _)) => {
            let source = configured_host
                .map(|(_, s)| s)
                .unwrap_or_else(|| "default host (auto)".to_string());
            let host = if sandbox_active {
                ExecHost::Sandbox
            } else {
                ExecHost::Gateway
            };
            (
                host,
                format!(
                    "{source}: {}",
                    if sandbox_active { "sandbox active" } else { "no sandbox" }
                ),
                None,
            )
        }
        Some((ExecHost::Sandbox, source)) if !sandbox_active => {
            let reason = format!(
                "exec is configured to run only in a sandbox ({source} is \"sandbox\") and this session has none; \
                 enable agents.defaults.sandbox.mode or set {source} to \"auto\""
            );
            (ExecHost::Sandbox, source, Some(reason))
        }
        Some((host, source)) => (host, source, None),
    };
    build(agent_id, &levels, approvals, host, host_source, unavailable)
}

/// The exec policy for a command run at elevated `level` (outside the sandbox). `None` for
/// `off`. `ask` always prompts; `full` skips prompts unless `tools.elevated.requireApproval` is
/// set; neither lifts an explicit `security: deny`.
pub fn elevated_exec_policy(
    config: &Config,
    agent_id: &str,
    approvals: Option<&ExecApprovalsFile>,
    level: ElevatedLevel,
) -> Option<ExecPolicy> {
    if level == ElevatedLevel::Off {
        return None;
    }
    let levels = levels(config, agent_id);
    let configured = levels
        .iter()
        .find_map(|l| l.exec.host.map(|h| (h, format!("{}.host", l.path))));
    let (host, source) = match configured {
        Some((ExecHost::Node, source)) => (ExecHost::Node, source),
        _ => (ExecHost::Gateway, "elevated (runs on the gateway host)".to_string()),
    };
    let mut policy = build(agent_id, &levels, approvals, host, source, None);
    match level {
        ElevatedLevel::Ask => {
            policy.ask = ExecAsk::Always;
            policy.sources.ask = "/elevated ask".into();
        }
        ElevatedLevel::Full if policy.security != ExecSecurity::Deny => {
            policy.security = ExecSecurity::Full;
            policy.ask = ExecAsk::Off;
            policy.sources.security = "/elevated full".into();
            policy.sources.ask = "/elevated full".into();
        }
        _ => {}
    }
    if elevated_requires_approval(config, agent_id) {
        policy.ask = ExecAsk::Always;
        policy.sources.ask = "tools.elevated.requireApproval".into();
    }
    Some(policy)
}

fn levels<'c>(config: &'c Config, agent_id: &str) -> Vec<Level<'c>> {
    let mut levels = Vec::new();
    if let Some((path, agent)) = find_agent(config, agent_id)
        && let Some(exec) = agent.tools.as_ref().and_then(|t| t.exec.as_ref())
    {
        levels.push(Level {
            exec,
            path: format!("{path}.tools.exec"),
        });
    }
    if let Some(exec) = config.tools.as_ref().and_then(|t| t.exec.as_ref()) {
        levels.push(Level {
            exec,
            path: "tools.exec".into(),
        });
    }
    levels
}

fn build(
    agent_id: &str,
    levels: &[Level<'_>],
    approvals: Option<&ExecApprovalsFile>,
    host: ExecHost,
    host_source: String,
    host_unavailable: Option<String>,
) -> ExecPolicy {
    let on_host = host != ExecHost::Sandbox;
    let (default_security, default_ask) = if on_host {
        (DEFAULT_HOST_SECURITY, DEFAULT_HOST_ASK)
    } else {
        (DEFAULT_SANDBOX_SECURITY, DEFAULT_SANDBOX_ASK)
    };
    let host_label = match host {
        ExecHost::Sandbox => "sandbox",
        ExecHost::Node => "node",
        _ => "gateway",
    };
    let (mut security, mut security_source) = levels
        .iter()
        .find_map(Level::security)
        .unwrap_or((default_security, format!("default for the {host_label} host")));
    let (mut ask, mut ask_source) = levels
        .iter()
        .find_map(Level::ask)
        .unwrap_or((default_ask, format!("default for the {host_label} host")));
    let (mut ask_fallback, mut ask_fallback_source) = (DEFAULT_ASK_FALLBACK, "default askFallback".to_string());

    // The approvals file belongs to the host machine: it can tighten, never loosen.
    if on_host && let Some(file) = approvals {
        let resolved = file.resolve(agent_id);
        if let Some((s, source)) = resolved.security
            && security_rank(s) < security_rank(security)
        {
            security = s;
            security_source = source;
        }
        if let Some((a, source)) = resolved.ask
            && ask_rank(a) > ask_rank(ask)
        {
            ask = a;
            ask_source = source;
        }
        if let Some((f, source)) = resolved.ask_fallback {
            ask_fallback = f;
            ask_fallback_source = source;
        }
    }

    let safe_bins = first(levels, |e| e.safe_bins.clone())
        .unwrap_or_else(|| DEFAULT_SAFE_BINS.iter().map(|s| s.to_string()).collect())
        .into_iter()
        .map(|b| b.trim().to_lowercase())
        .filter(|b| !b.is_empty())
        .collect();
    let mut trusted_dirs: Vec<String> = DEFAULT_TRUSTED_DIRS.iter().map(|s| s.to_string()).collect();
    for dir in first(levels, |e| e.safe_bin_trusted_dirs.clone()).unwrap_or_default() {
        let dir = normalize_dir(&dir);
        if dir.starts_with('/') && !trusted_dirs.contains(&dir) {
            trusted_dirs.push(dir);
        }
    }
    let approvals_config = first(levels, |e| e.approvals.as_ref());
    let approval_patterns = approvals_config
        .filter(|a| a.enabled != Some(false))
        .and_then(|a| a.patterns.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let approval_timeout = approvals_config
        .and_then(|a| a.timeout_seconds)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_APPROVAL_TIMEOUT);

    ExecPolicy {
        host,
        host_unavailable,
        node: first(levels, |e| e.node.clone()),
        security,
        ask,
        ask_fallback,
        safe_bins,
        trusted_dirs,
        approval_timeout,
        strict_inline_eval: first(levels, |e| e.strict_inline_eval).unwrap_or(DEFAULT_STRICT_INLINE_EVAL),
        require_approval: first(levels, |e| e.require_approval).unwrap_or(false),
        safe_binaries: first(levels, |e| e.safe_binaries.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
            .collect(),
        approval_patterns,
        sources: Sources {
            host: host_source,
            security: security_source,
            ask: ask_source,
            ask_fallback: ask_fallback_source,
        },
    }
}

fn normalize_dir(dir: &str) -> String {
    let trimmed = dir.trim();
    if trimmed == "/" {
        return trimmed.to_string();
    }
    trimmed.trim_end_matches('/').to_string()
}

// ---------------------------------------------------------------------------------------------
// command analysis

/// How a segment is joined to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Joiner {
    /// `&&`
    And,
    /// `||`
    Or,
    /// `;`
    Seq,
    /// `|`
    Pipe,
}

/// One simple command: its argv with quotes removed, to be executed literally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandSegment {
    pub joined_by: Option<Joiner>,
    pub argv: Vec<String>,
}

/// A command split for allowlist checks. `rejection` says which shell feature made it
/// unanalyzable; the segments are then incomplete and must not be trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandAnalysis {
    pub segments: Vec<CommandSegment>,
    pub rejection: Option<String>,
}

impl CommandAnalysis {
    pub fn is_ok(&self) -> bool {
        self.rejection.is_none()
    }
}

fn is_env_assignment(word: &str) -> bool {
    let Some((name, _)) = word.split_once('=') else {
        return false;
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

struct Splitter {
    segments: Vec<CommandSegment>,
    argv: Vec<String>,
    word: String,
    /// The word has begun (possibly empty, as in `''`).
    in_word: bool,
    /// The word so far has no quoted or escaped part.
    word_plain: bool,
    pending_joiner: Option<Joiner>,
}

impl Splitter {
    fn end_word(&mut self) -> Result<(), String> {
        if !self.in_word {
            return Ok(());
        }
        let word = std::mem::take(&mut self.word);
        if self.word_plain {
            if word == "{" || word == "}" {
                return Err("brace groups (`{ ...; }`) are not allowed".into());
            }
            if self.argv.is_empty() && is_env_assignment(&word) {
                return Err(format!(
                    "inline environment assignment (`{}=...`) is not allowed; pass variables through the tool's env",
                    word.split('=').next().unwrap_or_default()
                ));
            }
        }
        self.argv.push(word);
        self.in_word = false;
        self.word_plain = true;
        Ok(())
    }

    fn separator(&mut self, joiner: Joiner, text: &str) -> Result<(), String> {
        self.end_word()?;
        if self.argv.is_empty() {
            return Err(format!("`{text}` without a command before it"));
        }
        self.segments.push(CommandSegment {
            joined_by: self.pending_joiner.take(),
            argv: std::mem::take(&mut self.argv),
        });
        self.pending_joiner = Some(joiner);
        Ok(())
    }

    fn push(&mut self, c: char) {
        self.in_word = true;
        self.word.push(c);
    }
}

/// Splits `command` into simple commands joined by `&&`, `||`, `;` and `|`, refusing every other
/// shell feature that could run something the allowlist did not see.
pub fn analyze_command(command: &str) -> CommandAnalysis {
    let mut s = Splitter {
        segments: Vec::new(),
        argv: Vec::new(),
        word: String::new(),
        in_word: false,
        word_plain: true,
        pending_joiner: None,
    };
    let rejection = split(command, &mut s).err();
    CommandAnalysis {
        segments: s.segments,
        rejection,
    }
}

fn split(command: &str, s: &mut Splitter) -> Result<(), String> {
    if command.contains(['\n', '\r']) {
        return Err("newlines are not allowed (run one command line)".into());
    }
    if command.contains('\0') {
        return Err("NUL bytes are not allowed".into());
    }
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => s.end_word()?,
            '\'' => {
                s.in_word = true;
                s.word_plain = false;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(other) => s.word.push(other),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                s.in_word = true;
                s.word_plain = false;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(next @ ('$' | '`' | '"' | '\\')) => s.word.push(next),
                            Some(next) => {
                                s.word.push('\\');
                                s.word.push(next);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some('`') => return Err("backtick command substitution is not allowed".into()),
                        Some('$') if chars.peek() == Some(&'(') => {
                            return Err("`$(...)` command substitution is not allowed".into());
                        }
                        Some(other) => s.word.push(other),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(next) => {
                    s.word_plain = false;
                    s.push(next);
                }
                None => return Err("a trailing backslash is not allowed".into()),
            },
            '`' => return Err("backtick command substitution is not allowed".into()),
            '$' if chars.peek() == Some(&'(') => {
                return Err("`$(...)` command substitution is not allowed".into());
            }
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                s.separator(Joiner::And, "&&")?;
            }
            '&' => return Err("background `&` and `&>` redirection are not allowed".into()),
            '|' if chars.peek() == Some(&'|') => {
                chars.next();
                s.separator(Joiner::Or, "||")?;
            }
            '|' if chars.peek() == Some(&'&') => return Err("`|&` redirection is not allowed".into()),
            '|' => s.separator(Joiner::Pipe, "|")?,
            ';' => s.separator(Joiner::Seq, ";")?,
            '>' | '<' => return Err(format!("redirection (`{c}`) is not allowed")),
            '(' | ')' => return Err("subshells and grouping (`(...)`) are not allowed".into()),
            '#' if !s.in_word => return Err("shell comments (`#`) are not allowed".into()),
            other => s.push(other),
        }
    }
    s.end_word()?;
    if s.argv.is_empty() {
        return Err(match s.pending_joiner {
            Some(_) => "the command ends with a separator".into(),
            None => "empty command".into(),
        });
    }
    s.segments.push(CommandSegment {
        joined_by: s.pending_joiner.take(),
        argv: std::mem::take(&mut s.argv),
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// safe bins

/// How a safe bin's arguments are checked: flags taking a value, flags refused, and how many
/// positional (non-flag) arguments it may have. Positionals are never paths.
struct SafeBinProfile {
    value_flags: &'static [&'static str],
    denied_flags: &'static [&'static str],
    max_positional: usize,
}

const UNKNOWN_SAFE_BIN: SafeBinProfile = SafeBinProfile {
    value_flags: &[],
    denied_flags: &[],
    max_positional: 0,
};

fn safe_bin_profile(bin: &str) -> SafeBinProfile {
    match bin {
        "head" | "tail" => SafeBinProfile {
            value_flags: &["-n", "-c", "--lines", "--bytes"],
            denied_flags: &["--files0-from"],
            max_positional: 0,
        },
        "cut" => SafeBinProfile {
            value_flags: &[
                "-b",
                "-c",
                "-d",
                "-f",
                "--bytes",
                "--characters",
                "--delimiter",
                "--fields",
                "--output-delimiter",
            ],
            denied_flags: &[],
            max_positional: 0,
        },
        "uniq" => SafeBinProfile {
            value_flags: &["-f", "-s", "-w", "--skip-fields", "--skip-chars", "--check-chars"],
            denied_flags: &[],
            // `uniq IN OUT` writes OUT: no positionals at all.
            max_positional: 0,
        },
        "tr" => SafeBinProfile {
            value_flags: &[],
            denied_flags: &[],
            max_positional: 2,
        },
        "wc" => SafeBinProfile {
            value_flags: &[],
            denied_flags: &["--files0-from"],
            max_positional: 0,
        },
        "grep" => SafeBinProfile {
            value_flags: &["-e", "-m", "-A", "-B", "-C", "--regexp", "--max-count", "--context"],
            denied_flags: &[
                "-r",
                "-R",
                "-f",
                "-d",
                "-D",
                "--recursive",
                "--dereference-recursive",
                "--file",
                "--directories",
                "--devices",
                "--exclude-from",
            ],
            max_positional: 1,
        },
        "sort" => SafeBinProfile {
            value_flags: &["-k", "-t", "-S", "--key", "--field-separator", "--buffer-size"],
            denied_flags: &[
                "-o",
                "-T",
                "--output",
                "--temporary-directory",
                "--compress-program",
                "--files0-from",
                "--random-source",
            ],
            max_positional: 0,
        },
        "jq" => SafeBinProfile {
            value_flags: &["--indent"],
            denied_flags: &[
                "-f",
                "-L",
                "--from-file",
                "--rawfile",
                "--slurpfile",
                "--library-path",
                "--args",
                "--jsonargs",
            ],
            max_positional: 1,
        },
        _ => UNKNOWN_SAFE_BIN,
    }
}

/// Why `args` are not acceptable for safe bin `bin`, if they are not. Tokens are literal: any
/// character a shell or the program could expand or read as a path disqualifies them.
fn safe_bin_args_problem(bin: &str, args: &[String]) -> Option<String> {
    let profile = safe_bin_profile(bin);
    let mut positional = 0;
    let mut options_ended = false;
    let mut expect_value = false;
    for arg in args {
        if arg.contains(['/', '$', '*', '?', '[', '~', '`']) || arg.starts_with('.') {
            return Some(format!("argument `{arg}` looks like a path or an expansion"));
        }
        if expect_value {
            expect_value = false;
            continue;
        }
        if options_ended || arg == "-" || !arg.starts_with('-') {
            positional += 1;
            if positional > profile.max_positional {
                return Some(format!(
                    "`{bin}` takes {} positional argument(s) here (files are not allowed): `{arg}`",
                    profile.max_positional
                ));
            }
            continue;
        }
        if arg == "--" {
            options_ended = true;
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v)),
                None => (arg.clone(), None),
            };
            if profile.denied_flags.iter().any(|d| *d == name) {
                return Some(format!("`{bin} {name}` is not allowed (it reads or writes files)"));
            }
            if value.is_none() && profile.value_flags.iter().any(|v| *v == name) {
                expect_value = true;
            }
            continue;
        }
        // A short-flag cluster: `-n5`, `-rn`, `-5`.
        let cluster: Vec<char> = arg.chars().skip(1).collect();
        for (i, c) in cluster.iter().enumerate() {
            let flag = format!("-{c}");
            if profile.denied_flags.iter().any(|d| *d == flag) {
                return Some(format!("`{bin} {flag}` is not allowed (it reads or writes files)"));
            }
            if profile.value_flags.iter().any(|v| *v == flag) {
                expect_value = i + 1 == cluster.len();
                break;
            }
        }
    }
    if expect_value {
        return Some(format!("`{bin}`: an option is missing its value"));
    }
    None
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn parent_dir(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

/// Interpreters and the flags that run code given on the command line.
fn inline_eval_flags(bin: &str) -> &'static [&'static str] {
    let name = bin.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match name {
        "python" | "pypy" => &["-c"],
        "node" | "nodejs" | "bun" => &["-e", "--eval", "-p", "--print"],
        "deno" => &["eval"],
        "ruby" | "lua" | "osascript" => &["-e"],
        "perl" => &["-e", "-E"],
        "php" => &["-r"],
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "fish" | "ash" => &["-c"],
        "pwsh" | "powershell" => &["-c", "-command", "-encodedcommand"],
        _ => &[],
    }
}

fn has_inline_eval(argv: &[String]) -> bool {
    let Some(bin) = argv.first() else {
        return false;
    };
    let flags = inline_eval_flags(&basename(bin).to_lowercase());
    argv[1..].iter().any(|arg| {
        let arg = arg.to_lowercase();
        flags.iter().any(|flag| {
            if arg == *flag {
                return true;
            }
            // `-Bc code` clusters a short flag.
            let short = flag.len() == 2 && flag.starts_with('-');
            short && arg.starts_with('-') && !arg.starts_with("--") && arg.contains(&flag[1..])
        })
    })
}

// ---------------------------------------------------------------------------------------------
// decisions

/// Resolves each segment's binary and checks it against the allowlist and safe bins.
fn allowlist_miss(
    policy: &ExecPolicy,
    analysis: &CommandAnalysis,
    resolve: &dyn Fn(&str) -> Option<String>,
    allowlist: &[AllowlistEntry],
) -> Option<String> {
    if let Some(rejection) = &analysis.rejection {
        return Some(format!(
            "the command cannot be checked against the allowlist: {rejection}"
        ));
    }
    for segment in &analysis.segments {
        let Some(bin) = segment.argv.first() else {
            return Some("empty command".into());
        };
        let Some(path) = resolve(bin).filter(|p| p.starts_with('/')) else {
            return Some(format!("`{bin}` does not resolve to an executable"));
        };
        let args = &segment.argv[1..];
        // The operator's safeBinaries count as allowlisted: they run without approval.
        if allowlist.iter().any(|entry| entry.matches(&path, args)) || is_safe_binary(policy, &path, &segment.argv) {
            continue;
        }
        let name = basename(&path).to_lowercase();
        if policy.safe_bins.contains(&name) {
            let dir = parent_dir(&path);
            if !policy.trusted_dirs.iter().any(|d| d == dir) {
                return Some(format!(
                    "safe bin `{name}` resolves to {path}, outside the trusted dirs ({}); add its directory \
                     to tools.exec.safeBinTrustedDirs or allowlist it",
                    policy.trusted_dirs.join(", ")
                ));
            }
            match safe_bin_args_problem(&name, args) {
                None => continue,
                Some(problem) => return Some(format!("safe bin {problem}")),
            }
        }
        return Some(format!("`{bin}` ({path}) is not on the exec allowlist"));
    }
    None
}

/// Whether a resolved segment is one of `tools.exec.safeBinaries` (a binary in a trusted dir,
/// optionally with required leading arguments: `git status`).
fn is_safe_binary(policy: &ExecPolicy, path: &str, argv: &[String]) -> bool {
    if !policy.trusted_dirs.iter().any(|d| d == parent_dir(path)) {
        return false;
    }
    let name = basename(path).to_lowercase();
    policy.safe_binaries.iter().any(|entry| {
        let mut words = entry.split(' ');
        words.next().is_some_and(|first| first.eq_ignore_ascii_case(&name))
            && words
                .enumerate()
                .all(|(i, word)| argv.get(i + 1).is_some_and(|arg| arg == word))
    })
}

/// Whether every segment is one of `tools.exec.safeBinaries`.
fn covered_by_safe_binaries(
    policy: &ExecPolicy,
    analysis: &CommandAnalysis,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> bool {
    analysis.is_ok()
        && !policy.safe_binaries.is_empty()
        && analysis.segments.iter().all(|segment| {
            let Some(path) = segment
                .argv
                .first()
                .and_then(|bin| resolve(bin))
                .filter(|p| p.starts_with('/'))
            else {
                return false;
            };
            is_safe_binary(policy, &path, &segment.argv)
        })
}

/// Run, ask or deny `command` under `policy`. `resolve` maps a binary as written to its absolute
/// path (the caller does the lookup); `allowlist` is the approvals file's list for this agent.
pub fn decide_exec(
    policy: &ExecPolicy,
    command: &str,
    resolve: &dyn Fn(&str) -> Option<String>,
    allowlist: &[AllowlistEntry],
) -> ExecDecision {
    if let Some(reason) = &policy.host_unavailable {
        return ExecDecision::Deny { reason: reason.clone() };
    }
    let analysis = analyze_command(command);
    match policy.security {
        ExecSecurity::Deny => {
            return ExecDecision::Deny {
                reason: format!(
                    "exec is not allowed: security is \"deny\" ({})",
                    policy.sources.security
                ),
            };
        }
        ExecSecurity::Allowlist => {
            if let Some(miss) = allowlist_miss(policy, &analysis, resolve, allowlist) {
                return match policy.ask {
                    ExecAsk::Off => ExecDecision::Deny {
                        reason: format!(
                            "{miss}; security is \"allowlist\" ({}) and ask is \"off\" ({})",
                            policy.sources.security, policy.sources.ask
                        ),
                    },
                    _ => ExecDecision::Ask {
                        reason: format!("{miss} (ask: {}, {})", ask_name(policy.ask), policy.sources.ask),
                    },
                };
            }
        }
        ExecSecurity::Full => {}
    }
    if policy.ask == ExecAsk::Always {
        return ExecDecision::Ask {
            reason: format!("every command asks: ask is \"always\" ({})", policy.sources.ask),
        };
    }
    if policy.require_approval && !covered_by_safe_binaries(policy, &analysis, resolve) {
        return ExecDecision::Ask {
            reason: "tools.exec.requireApproval: the command is not covered by tools.exec.safeBinaries".into(),
        };
    }
    let lower = command.to_lowercase();
    if let Some(pattern) = policy
        .approval_patterns
        .iter()
        .find(|p| lower.contains(&p.to_lowercase()))
    {
        return ExecDecision::Ask {
            reason: format!("the command contains `{pattern}` (tools.exec.approvals.patterns)"),
        };
    }
    if policy.strict_inline_eval {
        let inline = if analysis.is_ok() {
            analysis.segments.iter().any(|s| has_inline_eval(&s.argv))
        } else {
            // Unanalyzable in full mode: inline code cannot be ruled out.
            true
        };
        if inline {
            return ExecDecision::Ask {
                reason: "inline code (`-c`/`-e`) asks first: tools.exec.strictInlineEval is on".into(),
            };
        }
    }
    ExecDecision::Run
}

/// [`decide_exec`] when no approval UI is reachable: a prompt becomes what `askFallback` says
/// (`deny` by default; the host file may choose `allowlist` or `full`). Decisions that would not
/// have prompted are unchanged.
pub fn decide_exec_without_approver(
    policy: &ExecPolicy,
    command: &str,
    resolve: &dyn Fn(&str) -> Option<String>,
    allowlist: &[AllowlistEntry],
) -> ExecDecision {
    let decision = decide_exec(policy, command, resolve, allowlist);
    let ExecDecision::Ask { reason } = &decision else {
        return decision;
    };
    let unanswered = format!(
        "no approval UI is reachable and askFallback is \"{}\" ({})",
        security_name(policy.ask_fallback),
        policy.sources.ask_fallback
    );
    match policy.ask_fallback {
        ExecSecurity::Full => ExecDecision::Run,
        ExecSecurity::Deny => ExecDecision::Deny {
            reason: format!("{reason}; {unanswered}"),
        },
        ExecSecurity::Allowlist => match allowlist_miss(policy, &analyze_command(command), resolve, allowlist) {
            None => ExecDecision::Run,
            Some(miss) => ExecDecision::Deny {
                reason: format!("{miss}; {unanswered}"),
            },
        },
    }
}

/// Host exec refuses environment overrides that change which binary or library runs.
pub fn check_exec_env(env: &BTreeMap<String, String>) -> Result<(), String> {
    let refused: Vec<&str> = env
        .keys()
        .map(String::as_str)
        .filter(|key| {
            let upper = key.trim().to_ascii_uppercase();
            upper == "PATH" || upper.starts_with("LD_") || upper.starts_with("DYLD_")
        })
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "exec env may not set {}: PATH, LD_* and DYLD_* change which program or library runs on the host; \
             call the program by its absolute path instead",
            refused.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn safe_bin_flags() {
        assert_eq!(safe_bin_args_problem("head", &args(&["-n", "5"])), None);
        assert_eq!(safe_bin_args_problem("head", &args(&["-n5"])), None);
        assert_eq!(safe_bin_args_problem("head", &args(&["--lines=5"])), None);
        assert!(safe_bin_args_problem("head", &args(&["notes.txt"])).is_some());
        assert!(safe_bin_args_problem("head", &args(&["-n"])).is_some());
        assert!(safe_bin_args_problem("grep", &args(&["-rn", "x"])).is_some());
        assert_eq!(safe_bin_args_problem("grep", &args(&["-in", "x"])), None);
        assert!(safe_bin_args_problem("sort", &args(&["-o", "out"])).is_some());
        assert!(safe_bin_args_problem("wc", &args(&["--files0-from=list"])).is_some());
        assert_eq!(safe_bin_args_problem("tr", &args(&["a-z", "A-Z"])), None);
        assert!(safe_bin_args_problem("uniq", &args(&["in", "out"])).is_some());
    }

    #[test]
    fn inline_eval() {
        assert!(has_inline_eval(&args(&["python3", "-c", "print(1)"])));
        assert!(has_inline_eval(&args(&["/usr/bin/python3.12", "-Bc", "x"])));
        assert!(has_inline_eval(&args(&["node", "--eval", "x"])));
        assert!(!has_inline_eval(&args(&["python3", "script.py"])));
        assert!(!has_inline_eval(&args(&["git", "-c", "x=y", "status"])));
    }
}
