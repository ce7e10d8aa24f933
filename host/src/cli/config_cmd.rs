//! `openclaw config validate | get | set | unset | schema | path`.

use clap::{Args, Subcommand};
use openclaw_core::config::issue::Issue;
use openclaw_core::config::path::JsonPath;
use openclaw_core::config::schema::root_schema;
use openclaw_core::config::sensitive::secret_literals;
use openclaw_core::config::validate::{closest, keys_at, schema_at};
use openclaw_core::security::redact::mask_value;
use serde_json::{Value, json};

use crate::config::edit::{self, EditError};
use crate::config::{self, LoadFailure, Loaded, Origin};
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK};
use crate::logging::setup::{init_logging, init_logging_with};
use crate::output::{fail, failure_json, issues_json, plural, print_issues, print_json};
use crate::secrets;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the config: schema, cross-key rules, `$include`s and `${VAR}`s. Exit 1 when invalid.
    Validate(ValidateArgs),
    /// Print the value at a path (e.g. `gateway.auth.mode`, `agents.list[0].id`).
    Get(GetArgs),
    /// Set the value at a path. The change is validated first; the old file is kept as `.bak`.
    Set(SetArgs),
    /// Remove the value at a path (validated like `set`).
    Unset(UnsetArgs),
    /// Print the JSON Schema of the config (for editors: `"$schema"`).
    Schema,
    /// Print the config file's path (with `--json`, also the state directories).
    File(JsonFlag),
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Also show notes (lenient reads, settings accepted for compatibility).
    #[arg(long, short)]
    verbose: bool,
    /// Also resolve every SecretRef (runs exec resolvers) and report failures.
    #[arg(long)]
    resolve_secrets: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Config path, e.g. `gateway.port` or `channels.whatsapp.groups["*"]`.
    path: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Show secret values in full instead of masked.
    #[arg(long)]
    reveal: bool,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// Config path, e.g. `gateway.bind`.
    path: String,
    /// The value: JSON5 (`18789`, `true`, `["a","b"]`, `{mode: "token"}`) or plain text (`lan`).
    value: String,
    /// Store the value as a string even if it looks like a number or boolean.
    #[arg(long, conflicts_with = "strict_json")]
    string: bool,
    /// The value must be valid JSON5 (no fallback to a plain string).
    #[arg(long)]
    strict_json: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct UnsetArgs {
    path: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, command: ConfigCommand) -> u8 {
    match command {
        ConfigCommand::Validate(args) => validate(ctx, args),
        ConfigCommand::Get(args) => get(ctx, args),
        ConfigCommand::Set(args) => set(ctx, args),
        ConfigCommand::Unset(args) => unset(ctx, args),
        ConfigCommand::Schema => {
            print_json(root_schema());
            EXIT_OK
        }
        ConfigCommand::File(JsonFlag { json }) => {
            let paths = &ctx.paths;
            if json {
                print_json(&json!({
                    "path": paths.config_path,
                    "exists": paths.config_path.exists(),
                    "stateDir": paths.state_dir,
                    "credentialsDir": paths.credentials_dir,
                    "extensionsDir": paths.extensions_dir(),
                }));
            } else {
                println!("{}", paths.config_path.display());
            }
            EXIT_OK
        }
    }
}

fn parse_path(text: &str, json_mode: bool) -> Result<JsonPath, u8> {
    JsonPath::parse(text).map_err(|e| {
        fail(
            json_mode,
            &e.to_string(),
            Some("paths look like gateway.auth.token, agents.list[0].id or channels.whatsapp.groups[\"*\"]"),
        );
        super::EXIT_USAGE
    })
}

fn invalid_headline(path: &std::path::Path) -> String {
    format!("OpenClaw config is invalid: {}", path.display())
}

fn report_load_failure(failure: &LoadFailure, json_mode: bool) -> u8 {
    if json_mode {
        let (issues, _, _) = issues_json(std::iter::once(failure.issue.as_ref()));
        let mut report = failure_json(&invalid_headline(&failure.path));
        report["valid"] = json!(false);
        report["path"] = json!(failure.path);
        report["issues"] = json!(issues);
        report["warnings"] = json!([]);
        print_json(&report);
    } else {
        eprintln!("{}", invalid_headline(&failure.path));
        print_issues(std::iter::once(failure.issue.as_ref()), false, true);
    }
    EXIT_FAILED
}

fn validate(ctx: &Context, args: ValidateArgs) -> u8 {
    let loaded = match config::load(&ctx.paths, &ctx.env) {
        Ok(loaded) => loaded,
        Err(failure) => {
            init_logging(ctx, None);
            return report_load_failure(&failure, args.json);
        }
    };

    let mut secret_report = None;
    let mut secret_errors = Vec::new();
    let mut resolved_values = secrets::ResolvedSecrets::default();
    if args.resolve_secrets
        && let Some(config) = loaded.config()
    {
        let (resolved, errors) = secrets::resolve_all(config, &loaded.checked.resolved, &ctx.env);
        secret_report = Some(resolved.len());
        secret_errors = errors;
        resolved_values = resolved;
    }
    let extra: Vec<&str> = resolved_values.exposed_values().collect();
    let redactor = init_logging_with(ctx, Some(&loaded), &extra);
    tracing::info!(path = %loaded.path().display(), valid = loaded.is_valid(), "config validated");
    for error in &mut secret_errors {
        error.message = redactor.redact(&error.message).into_owned();
        tracing::warn!(path = %error.path, provider = %error.provider, "secret not resolved: {}", error.message);
    }

    let valid = loaded.is_valid() && secret_errors.is_empty();
    let exists = matches!(loaded.origin, Origin::File(_));
    if !exists {
        let message = "file not found";
        let hint = "create one with `openclaw config set gateway.mode local`, or `openclaw doctor --generate-gateway-token` (it writes a private config with a token)";
        if args.json {
            let mut report = failure_json(message);
            report["valid"] = json!(false);
            report["path"] = json!(loaded.path());
            report["hint"] = json!(hint);
            print_json(&report);
        } else {
            eprintln!("Config file not found: {}", loaded.path().display());
            eprintln!("  {hint}");
        }
        return EXIT_FAILED;
    }
    if args.json {
        let (issues, warnings, notes) = issues_json(loaded.issues());
        let mut report = if valid {
            json!({"valid": true})
        } else {
            let mut failure = failure_json(&invalid_headline(loaded.path()));
            failure["valid"] = json!(false);
            failure
        };
        report["path"] = json!(loaded.path());
        if !loaded.is_valid() {
            report["issues"] = json!(issues);
        }
        report["warnings"] = json!(warnings);
        report["notes"] = json!(notes);
        report["includes"] = json!(loaded.includes);
        if let Some(count) = secret_report {
            report["secrets"] = json!({
                "resolved": count,
                "errors": secret_errors.iter().map(|e| json!({
                    "path": e.path, "provider": e.provider, "message": e.message, "hint": e.hint,
                })).collect::<Vec<_>>(),
            });
        }
        print_json(&report);
    } else {
        let to_stderr = !loaded.is_valid();
        if loaded.is_valid() {
            println!("Config valid: {}", loaded.path().display());
        } else {
            eprintln!("{}", invalid_headline(loaded.path()));
        }
        let (errors, warnings, notes) = print_issues(loaded.issues(), args.verbose, to_stderr);
        let mut lines: Vec<String> = Vec::new();
        if let Some(count) = secret_report {
            lines.push(format!("Secrets: {} resolved, {} failed.", count, secret_errors.len()));
            for error in &secret_errors {
                lines.push(format!("  × {error}"));
                if let Some(hint) = &error.hint {
                    lines.push(format!("    {hint}"));
                }
            }
        }
        let mut summary = vec![plural(errors, "error"), plural(warnings, "warning")];
        if notes > 0 && !args.verbose {
            summary.push(format!("{} (show with --verbose)", plural(notes, "note")));
        } else if notes > 0 {
            summary.push(plural(notes, "note"));
        }
        lines.push(format!("{}.", summary.join(", ")));
        if !loaded.is_valid() {
            lines.push("Fix the keys above, then run `openclaw config validate` again.".into());
        }
        for line in lines {
            if to_stderr || !secret_errors.is_empty() {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        }
    }
    if valid { EXIT_OK } else { EXIT_FAILED }
}

/// Loads the config for get/set, reporting a file that cannot even be parsed.
fn load_for_edit(ctx: &Context, json_mode: bool) -> Result<Loaded, u8> {
    match config::load(&ctx.paths, &ctx.env) {
        Ok(loaded) => {
            init_logging(ctx, Some(&loaded));
            Ok(loaded)
        }
        Err(failure) => {
            init_logging(ctx, None);
            Err(report_load_failure(&failure, json_mode))
        }
    }
}

/// Masks every secret under `path` in `value` (a value taken from `doc` at `path`).
fn mask_secrets(doc: &Value, path: &JsonPath, value: &mut Value) {
    for (secret_path, secret) in secret_literals(root_schema(), doc) {
        let Some(relative) = secret_path.segments().strip_prefix(path.segments()) else {
            continue;
        };
        let relative = JsonPath::root().join(relative);
        if let Some(target) = edit::value_at_mut(value, &relative) {
            *target = Value::String(mask_value(&secret));
        }
    }
}

fn unknown_path_hint(path: &JsonPath) -> Option<String> {
    let parent = path.parent()?;
    let key = path.last_key()?;
    let keys = keys_at(root_schema(), &parent);
    let best = closest(key, keys.iter().map(String::as_str))?;
    Some(format!("did you mean {}?", parent.key(best)))
}

fn get(ctx: &Context, args: GetArgs) -> u8 {
    let path = match parse_path(&args.path, args.json) {
        Ok(path) => path,
        Err(code) => return code,
    };
    let loaded = match load_for_edit(ctx, args.json) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let schema = schema_at(root_schema(), &path);
    let Some(value) = edit::get(&loaded.merged, &path) else {
        let (message, hint) = match schema {
            None => (
                format!("Unknown config path: {path}"),
                Some(
                    unknown_path_hint(&path)
                        .map(|h| format!("{h} Run `openclaw config schema` to see every valid path."))
                        .unwrap_or_else(|| "run `openclaw config schema` to see every valid path".into()),
                ),
            ),
            Some(node) => {
                let default = node
                    .get("default")
                    .map(|d| format!("; the default {} applies", compact(d)))
                    .unwrap_or_default();
                (
                    format!("Config path is valid but unset: {path}{default}"),
                    Some(format!("set it with `openclaw config set {path} <value>`")),
                )
            }
        };
        fail(args.json, &message, hint.as_deref());
        return EXIT_FAILED;
    };
    let mut shown = value.clone();
    if !args.reveal {
        mask_secrets(&loaded.merged, &path, &mut shown);
    }
    if args.json {
        // The bare value, as OpenClaw prints it, so `| jq` works the same.
        print_json(&shown);
    } else {
        match &shown {
            Value::String(s) => println!("{s}"),
            Value::Number(_) | Value::Bool(_) => println!("{shown}"),
            other => println!("{}", serde_json::to_string_pretty(other).unwrap_or_default()),
        }
    }
    EXIT_OK
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn report_edit_error(err: EditError, json_mode: bool) -> u8 {
    match err {
        EditError::Unreadable(failure) => {
            let message = format!("cannot edit {}: fix this first", failure.path.display());
            if json_mode {
                let (issues, _, _) = issues_json(std::iter::once(failure.issue.as_ref()));
                let mut report = failure_json(&message);
                report["issues"] = json!(issues);
                print_json(&report);
            } else {
                eprintln!("error: {message}");
                print_issues(std::iter::once(failure.issue.as_ref()), false, true);
            }
            EXIT_FAILED
        }
        EditError::Path(message) => {
            fail(json_mode, &message, None);
            EXIT_FAILED
        }
        EditError::Invalid(loaded) => {
            let errors: Vec<&Issue> = loaded.issues().filter(|i| i.is_error()).collect();
            if json_mode {
                let (issues, warnings, _) = issues_json(loaded.issues());
                let mut report = failure_json("the change would make the config invalid; nothing was written");
                report["issues"] = json!(issues);
                report["warnings"] = json!(warnings);
                print_json(&report);
            } else {
                eprintln!("error: the change would make the config invalid; nothing was written:");
                print_issues(errors.into_iter(), false, true);
            }
            EXIT_FAILED
        }
        EditError::State(err) => {
            fail(json_mode, &err.to_string(), None);
            EXIT_FAILED
        }
    }
}

fn report_written(written: &edit::Written, path: &JsonPath, action: &str, shown: Option<&Value>, json_mode: bool) {
    let warnings: Vec<&Issue> = written
        .loaded
        .issues()
        .filter(|i| i.severity == openclaw_core::config::issue::Severity::Warning)
        .collect();
    if json_mode {
        let (_, warning_json, _) = issues_json(warnings.iter().copied());
        print_json(&json!({
            "ok": true,
            "path": path,
            "value": shown,
            "file": written.path,
            "backup": written.backup,
            "warnings": warning_json,
        }));
        return;
    }
    match shown {
        Some(value) => println!("{action} {path} = {value} in {}", written.path.display()),
        None => println!("{action} {path} in {}", written.path.display()),
    }
    if let Some(backup) = &written.backup {
        println!("Previous version kept in {}.", backup.display());
    }
    if written.lost_formatting {
        println!(
            "note: the file was rewritten as plain JSON; its comments and JSON5 formatting are only in the backup."
        );
    }
    print_issues(warnings.into_iter(), false, false);
}

fn set(ctx: &Context, args: SetArgs) -> u8 {
    let path = match parse_path(&args.path, args.json) {
        Ok(path) => path,
        Err(code) => return code,
    };
    init_logging(ctx, None);
    if schema_at(root_schema(), &path).is_none() {
        let hint = unknown_path_hint(&path);
        fail(args.json, &format!("{path} is not a config key"), hint.as_deref());
        return EXIT_FAILED;
    }
    let value = if args.string {
        Value::String(args.value.clone())
    } else if args.strict_json {
        match openclaw_core::config::parse::parse_value(&args.value) {
            Ok(value) => value,
            Err(e) => {
                fail(
                    args.json,
                    &format!("the value is not valid JSON5: {e}"),
                    Some("quote strings, or drop --strict-json"),
                );
                return super::EXIT_USAGE;
            }
        }
    } else {
        edit::parse_cli_value(&args.value)
    };
    let mut shown = value.clone();
    let written = edit::modify(&ctx.paths, &ctx.env, |doc| {
        edit::set(doc, &path, value)?;
        mask_secrets(doc, &path, &mut shown);
        Ok(true)
    });
    match written {
        Ok(None) => EXIT_OK,
        Ok(Some(written)) => {
            tracing::info!(path = %path, file = %written.path.display(), "config value set");
            report_written(&written, &path, "Set", Some(&shown), args.json);
            EXIT_OK
        }
        Err(err) => report_edit_error(err, args.json),
    }
}

fn unset(ctx: &Context, args: UnsetArgs) -> u8 {
    let path = match parse_path(&args.path, args.json) {
        Ok(path) => path,
        Err(code) => return code,
    };
    init_logging(ctx, None);
    let written = edit::modify(&ctx.paths, &ctx.env, |doc| Ok(edit::unset(doc, &path)));
    match written {
        Ok(Some(written)) => {
            report_written(&written, &path, "Removed", None, args.json);
            EXIT_OK
        }
        Ok(None) => {
            let included = config::load(&ctx.paths, &ctx.env)
                .ok()
                .is_some_and(|loaded| edit::get(&loaded.merged, &path).is_some());
            let hint = included.then_some("it comes from an $include file; edit that file");
            fail(
                args.json,
                &format!("{path} is not set in {}", ctx.paths.config_path.display()),
                hint,
            );
            EXIT_FAILED
        }
        Err(err) => report_edit_error(err, args.json),
    }
}
