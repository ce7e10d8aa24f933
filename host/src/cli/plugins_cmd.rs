//! `openclaw plugins ...`: pack, install, list, inspect, enable, disable, update, uninstall,
//! verify, and run a plugin under the real host while developing it.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::plugins::PluginsConfig;
use openclaw_core::plugins::grants::{Decision, decide};
use openclaw_core::plugins::manifest::{MANIFEST_FILE, Manifest, PluginKind};
use openclaw_core::plugins::selection::{ForeignPlugin, Selected, Warning};
use openclaw_runtime::{CallContext, ChannelInstance, PluginSource};
use serde_json::{Value, json};

use crate::config::{self, Loaded};
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::logging::setup::{init_logging, init_logging_with};
use crate::output::{fail, print_json};
use crate::plugins::discover::discover;
use crate::plugins::install::{self, InstallRequest};
use crate::plugins::listing::{foreign_json, selected_json, status_of, warning_json};
use crate::plugins::{manifest_file, package};
use crate::secrets;
use crate::state::ids::random_hex;

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List discovered plugins and whether each loads.
    List(ListArgs),
    /// Show one plugin: where it is, its manifest, and its effective grant.
    #[command(alias = "inspect")]
    Info(InfoArgs),
    /// Install (or upgrade) a plugin from a directory or a package archive.
    Install(InstallArgs),
    /// Remove a plugin, its config entry, install record and files.
    Uninstall(UninstallArgs),
    /// Re-install plugins from their recorded source when it changed.
    Update(UpdateArgs),
    /// Allow a plugin to load (adds it to plugins.allow and sets entries.<id>.enabled).
    Enable(IdArgs),
    /// Stop a plugin from loading (sets plugins.entries.<id>.enabled to false).
    Disable(IdArgs),
    /// Record the SHA-256 of a discovered plugin's component and manifest as the only ones that
    /// load, and protect it from install and update (how a workspace plugin is allowed to load).
    Pin(PinArgs),
    /// Let install and update replace a pinned plugin again (its digests stay recorded).
    Unpin(IdArgs),
    /// Check installed plugins' components and manifests against their recorded sha256.
    Verify(VerifyArgs),
    /// Build a plugin for wasm32-wasip2 and write a package archive with its digest.
    Pack(PackArgs),
    /// Run a plugin directory under the real host (for plugin authors).
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only plugins that load.
    #[arg(long)]
    enabled: bool,
    /// Show directories and reasons.
    #[arg(long)]
    verbose: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    id: String,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// A plugin directory or a package (.tar.gz, .tgz, .tar).
    source: PathBuf,
    /// Record it as pinned: install and update do not replace it until `plugins unpin`.
    #[arg(long)]
    pin: bool,
    /// Use the directory in place (added to plugins.load.paths) instead of copying it.
    #[arg(long, short = 'l')]
    link: bool,
    /// Replace a plugin with the same id that was installed from another source.
    #[arg(long)]
    replace: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    id: String,
    /// Show what would be removed.
    #[arg(long)]
    dry_run: bool,
    /// Keep the plugin's directory.
    #[arg(long)]
    keep_files: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Plugins to update.
    ids: Vec<String>,
    /// Update every installed plugin.
    #[arg(long)]
    all: bool,
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    id: String,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct PinArgs {
    id: String,
    /// The component's SHA-256 as you reviewed it; refused if the file no longer has it.
    #[arg(long)]
    sha256: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Plugins to verify (default: every installed plugin).
    ids: Vec<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The plugin directory (with openclaw-plugin.toml and, to build, Cargo.toml).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Where to write the archive (default: <dir>/dist/<id>-<version>.tar.gz).
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Package the component already at the manifest's `component.file` instead of building.
    #[arg(long)]
    no_build: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plugin directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Tool to call (tool plugins); without it the tools are listed.
    #[arg(long)]
    tool: Option<String>,
    /// Tool arguments, a JSON object.
    #[arg(long, default_value = "{}")]
    args: String,
    /// Build the component first (cargo build --release --target wasm32-wasip2).
    #[arg(long)]
    build: bool,
    /// The plugin's configuration (JSON), instead of plugins.entries.<id>.config.
    #[arg(long)]
    config: Option<String>,
    /// Grant a private network (IP or CIDR) for local test servers; repeatable.
    #[arg(long = "allow-private")]
    allow_private: Vec<String>,
    /// Bind the secrets of plugins.entries.<id>.secrets (without it no operator secret is bound,
    /// and a request with a secret placeholder is refused).
    #[arg(long)]
    with_secrets: bool,
    /// Channel plugins: how many polls to run.
    #[arg(long, default_value_t = 1)]
    polls: u32,
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, command: PluginsCommand) -> u8 {
    if matches!(
        command,
        PluginsCommand::List(_) | PluginsCommand::Info(_) | PluginsCommand::Verify(_)
    ) {
        for note in install::recover_if_needed(&ctx.paths) {
            eprintln!("note: {note}");
        }
    }
    match command {
        PluginsCommand::List(args) => list(ctx, args),
        PluginsCommand::Info(args) => info(ctx, args),
        PluginsCommand::Install(args) => install_cmd(ctx, args),
        PluginsCommand::Uninstall(args) => uninstall_cmd(ctx, args),
        PluginsCommand::Update(args) => update_cmd(ctx, args),
        PluginsCommand::Enable(args) => enable_cmd(ctx, args, true),
        PluginsCommand::Disable(args) => enable_cmd(ctx, args, false),
        PluginsCommand::Pin(args) => pin_cmd(ctx, args),
        PluginsCommand::Unpin(args) => unpin_cmd(ctx, args),
        PluginsCommand::Verify(args) => verify_cmd(ctx, args),
        PluginsCommand::Pack(args) => pack_cmd(args),
        PluginsCommand::Run(args) => run_cmd(ctx, args),
    }
}

/// Loads a valid config (a missing file means defaults) or reports why not, and starts logging.
pub(super) fn valid_config(ctx: &Context, json_mode: bool) -> Result<(Loaded, Config), u8> {
    let (loaded, config) = config_only(ctx, json_mode)?;
    init_logging(ctx, Some(&loaded));
    Ok((loaded, config))
}

/// Like [`valid_config`] without starting logging (for commands that first resolve secrets the
/// log must scrub).
fn config_only(ctx: &Context, json_mode: bool) -> Result<(Loaded, Config), u8> {
    let loaded = match config::load(&ctx.paths, &ctx.env) {
        Ok(loaded) => loaded,
        Err(failure) => {
            init_logging(ctx, None);
            fail(
                json_mode,
                &format!("{}: {}", failure.path.display(), failure.issue.message),
                Some("fix the config first (`openclaw config validate`)"),
            );
            return Err(EXIT_FAILED);
        }
    };
    let Some(config) = loaded.config().cloned() else {
        init_logging(ctx, Some(&loaded));
        let problems: Vec<String> = loaded
            .issues()
            .filter(|i| i.severity == openclaw_core::config::issue::Severity::Error)
            .map(|i| format!("{}: {}", i.path, i.message))
            .collect();
        fail(
            json_mode,
            &format!(
                "the config {} is invalid: {}",
                loaded.path().display(),
                problems.join("; ")
            ),
            Some("`openclaw config validate` shows every problem"),
        );
        return Err(EXIT_FAILED);
    };
    Ok((loaded, config))
}

/// Warnings on stderr, so they reach the operator without disturbing the table on stdout.
fn print_warnings(warnings: &[Warning]) {
    for warning in warnings {
        eprintln!("warning: {}", warning.message);
        eprintln!("  {}", warning.fix);
    }
}

fn list(ctx: &Context, args: ListArgs) -> u8 {
    let Ok((_, config)) = valid_config(ctx, args.json) else {
        return EXIT_FAILED;
    };
    let plugins_config = config.plugins.clone().unwrap_or_default();
    let found = discover(Some(&config), &ctx.paths, &ctx.env);
    let selected: Vec<&Selected> = found
        .plugins
        .iter()
        .filter(|s| !args.enabled || s.grant().is_some())
        .collect();
    let foreign: Vec<&ForeignPlugin> = found.foreign.iter().filter(|_| !args.enabled).collect();
    if args.json {
        print_json(&json!({
            "plugins": selected
                .iter()
                .map(|s| selected_json(s))
                .chain(foreign.iter().map(|f| foreign_json(f, &plugins_config)))
                .collect::<Vec<_>>(),
            "warnings": found.warnings.iter().map(warning_json).collect::<Vec<_>>(),
            "extensionsDir": ctx.paths.extensions_dir(),
        }));
        return EXIT_OK;
    }
    if selected.is_empty() && foreign.is_empty() {
        println!("No plugins found. Install one with `openclaw plugins install <dir|package>`.");
        print_warnings(&found.warnings);
        return EXIT_OK;
    }
    println!("{:<24} {:<10} {:<8} {:<10} STATUS", "ID", "VERSION", "KIND", "ORIGIN");
    for s in &selected {
        let (status, reason, _) = status_of(s);
        let manifest = s.candidate.manifest.as_ref().ok();
        println!(
            "{:<24} {:<10} {:<8} {:<10} {}",
            s.candidate.id,
            manifest.map(|m| m.version.to_string()).unwrap_or_else(|| "?".into()),
            manifest.map(|m| m.kind.as_str()).unwrap_or("?"),
            s.candidate.origin.as_str(),
            status
        );
        if args.verbose {
            println!("    {}", s.candidate.dir);
            for duplicate in &s.duplicates {
                println!("    also {} ({})", duplicate.dir, duplicate.origin.as_str());
            }
            if let Some(reason) = reason {
                println!("    {reason}");
            }
        }
    }
    for f in &foreign {
        let refusal = f.refusal(&plugins_config);
        println!(
            "{:<24} {:<10} {:<8} {:<10} {}",
            f.id,
            f.version.as_deref().unwrap_or("?"),
            "js",
            f.origin.as_str(),
            refusal.code
        );
        if args.verbose {
            println!("    {}", f.dir);
            println!("    {}", refusal.reason);
            println!("    {}", refusal.fix);
        }
    }
    print_warnings(&found.warnings);
    EXIT_OK
}

fn info(ctx: &Context, args: InfoArgs) -> u8 {
    let Ok((_, config)) = valid_config(ctx, args.json) else {
        return EXIT_FAILED;
    };
    let discovery = discover(Some(&config), &ctx.paths, &ctx.env);
    let Some(found) = discovery.find(&args.id) else {
        let plugins_config = config.plugins.clone().unwrap_or_default();
        if let Some(foreign) = discovery.foreign.iter().find(|f| f.id == args.id) {
            let value = foreign_json(foreign, &plugins_config);
            if args.json {
                print_json(&value);
            } else {
                let refusal = foreign.refusal(&plugins_config);
                println!("{} {}", foreign.id, foreign.version.as_deref().unwrap_or("-"));
                println!("  format:  OpenClaw JavaScript plugin");
                println!("  origin:  {} ({})", foreign.origin.as_str(), foreign.dir);
                println!("  status:  {}", refusal.code);
                println!("  reason:  {}", refusal.reason);
                println!("  fix:     {}", refusal.fix);
            }
            return EXIT_OK;
        }
        fail(
            args.json,
            &format!("no plugin \"{}\" was found", args.id),
            Some("`openclaw plugins list` shows what was discovered"),
        );
        return EXIT_FAILED;
    };
    let record = config
        .plugins
        .as_ref()
        .and_then(|p| p.installs.as_ref())
        .and_then(|i| i.get(&args.id))
        .map(|r| {
            json!({
                "source": format!("{:?}", r.source).to_lowercase(),
                "spec": r.spec, "sourcePath": r.source_path, "installPath": r.install_path,
                "version": r.version, "sha256": r.sha256, "apiVersion": r.api_version,
                "installedAt": r.installed_at, "pinned": r.pinned.unwrap_or(false),
            })
        });
    let manifest = found.candidate.manifest.as_ref().ok();
    let requested = manifest.map(|m| serde_json::to_value(&m.capabilities).unwrap_or(Value::Null));
    let grant = found.grant().map(|g| serde_json::to_value(g).unwrap_or(Value::Null));
    // What the plugin would get once allowed, so an operator can review before allowing it.
    let would_grant = match (manifest, found.grant()) {
        (Some(m), None) => {
            let mut plugins: PluginsConfig = config.plugins.clone().unwrap_or_default();
            plugins.allow = Some(vec![args.id.clone()]);
            plugins.deny = None;
            plugins.enabled = Some(true);
            match decide(m, &plugins) {
                Decision::Load(g) => serde_json::to_value(g).ok(),
                Decision::Refuse(_) => None,
            }
        }
        _ => None,
    };
    let mut value = selected_json(found);
    value["description"] = json!(manifest.and_then(|m| m.description.clone()));
    value["requested"] = json!(requested);
    value["effectiveGrant"] = json!(grant);
    value["grantIfAllowed"] = json!(would_grant);
    value["install"] = json!(record);
    if args.json {
        print_json(&value);
        return EXIT_OK;
    }
    let text = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    println!(
        "{} {}",
        value["id"].as_str().unwrap_or_default(),
        text(&value["version"])
    );
    println!("  kind:    {}", text(&value["kind"]));
    println!("  api:     {}", text(&value["api"]));
    println!("  origin:  {} ({})", text(&value["origin"]), text(&value["dir"]));
    println!("  status:  {}", text(&value["status"]));
    if let Some(reason) = value["reason"].as_str() {
        println!("  reason:  {reason}");
        println!("  fix:     {}", text(&value["fix"]));
    }
    if let Some(record) = value["install"].as_object() {
        println!(
            "  install: {} from {} at {}{}",
            text(&record["version"]),
            text(&record["spec"]),
            text(&record["installedAt"]),
            if record["pinned"] == json!(true) {
                " (pinned)"
            } else {
                ""
            }
        );
        println!("  sha256:  {}", text(&record["sha256"]));
    }
    let shown = if grant.is_some() {
        &value["effectiveGrant"]
    } else {
        &value["grantIfAllowed"]
    };
    if let Some(g) = shown.as_object() {
        println!(
            "  {}:",
            if grant.is_some() {
                "effective grant"
            } else {
                "grant once allowed"
            }
        );
        for key in [
            "http",
            "privateNetworks",
            "secrets",
            "kvQuotaBytes",
            "sandboxExec",
            "limits",
            "withheld",
        ] {
            println!("    {key}: {}", text(&g[key]));
        }
    }
    EXIT_OK
}

fn report<T: serde::Serialize>(json_mode: bool, value: &T, human: impl FnOnce()) {
    if json_mode {
        print_json(&serde_json::to_value(value).unwrap_or(Value::Null));
    } else {
        human();
    }
}

fn install_cmd(ctx: &Context, args: InstallArgs) -> u8 {
    let Ok((_, config)) = valid_config(ctx, args.json) else {
        return EXIT_FAILED;
    };
    let request = InstallRequest {
        source: args.source.clone(),
        spec: args.source.display().to_string(),
        pin: args.pin,
        link: args.link,
        add_load_path: args.link,
        replace: args.replace,
    };
    match install::install(Some(&config), &ctx.paths, &ctx.env, &request) {
        Ok(done) => {
            report(args.json, &done, || {
                match &done.previous_version {
                    Some(previous) => println!("Upgraded {} from {previous} to {}.", done.id, done.version),
                    None => println!("Installed {} {}.", done.id, done.version),
                }
                println!("  path:   {}", done.install_path.display());
                println!("  sha256: {}", done.sha256);
                if !done.tools.is_empty() {
                    println!("  tools:  {}", done.tools.join(", "));
                }
                if done.needs_allow {
                    println!(
                        "It does not run until you allow it: review `openclaw plugins info {id}`, then `openclaw plugins enable {id}`.",
                        id = done.id
                    );
                }
                for warning in &done.warnings {
                    eprintln!("warning: {warning}");
                }
            });
            EXIT_OK
        }
        Err(e) => {
            fail(args.json, &e.to_string(), None);
            EXIT_FAILED
        }
    }
}

fn uninstall_cmd(ctx: &Context, args: UninstallArgs) -> u8 {
    let Ok((_, config)) = valid_config(ctx, args.json) else {
        return EXIT_FAILED;
    };
    match install::uninstall(
        Some(&config),
        &ctx.paths,
        &ctx.env,
        &args.id,
        args.dry_run,
        args.keep_files,
    ) {
        Ok(removal) => {
            report(args.json, &removal, || {
                let verb = if removal.dry_run { "Would" } else { "Did" };
                for change in &removal.config_changes {
                    println!("{verb} {change}");
                }
                for dir in removal.delete_dir.iter().chain(removal.delete_data.iter()) {
                    println!("{verb} delete {}", dir.display());
                }
                if !removal.delete_cached.is_empty() {
                    println!(
                        "{verb} delete {} compiled copies from the cache",
                        removal.delete_cached.len()
                    );
                }
            });
            EXIT_OK
        }
        Err(e) => {
            fail(args.json, &e.to_string(), None);
            EXIT_FAILED
        }
    }
}

fn update_cmd(ctx: &Context, args: UpdateArgs) -> u8 {
    if args.ids.is_empty() && !args.all {
        fail(args.json, "name the plugins to update, or pass --all", None);
        return EXIT_USAGE;
    }
    let Ok((_, config)) = valid_config(ctx, args.json) else {
        return EXIT_FAILED;
    };
    match install::update(Some(&config), &ctx.paths, &ctx.env, &args.ids, args.dry_run) {
        Ok(outcomes) => {
            let failed = outcomes.iter().any(|o| o.status == "failed");
            report(args.json, &json!({"updates": outcomes}), || {
                for o in &outcomes {
                    println!(
                        "{:<24} {:<12} {} -> {}{}",
                        o.id,
                        o.status,
                        o.from_version.as_deref().unwrap_or("?"),
                        o.to_version.as_deref().unwrap_or("?"),
                        o.message.as_deref().map(|m| format!("  ({m})")).unwrap_or_default()
                    );
                }
            });
            if failed { EXIT_FAILED } else { EXIT_OK }
        }
        Err(e) => {
            fail(args.json, &e.to_string(), None);
            EXIT_FAILED
        }
    }
}

fn enable_cmd(ctx: &Context, args: IdArgs, enabled: bool) -> u8 {
    let Ok((_, config)) = valid_config(ctx, args.json) else {
        return EXIT_FAILED;
    };
    match install::set_enabled(&ctx.paths, &ctx.env, Some(&config), &args.id, enabled) {
        Ok(changed) => {
            let verb = if enabled { "enabled" } else { "disabled" };
            report(
                args.json,
                &json!({"id": args.id, "enabled": enabled, "changed": changed}),
                || {
                    if changed {
                        println!("{} {verb}. Restart the gateway to apply it.", args.id);
                    } else {
                        println!("{} was already {verb}.", args.id);
                    }
                },
            );
            EXIT_OK
        }
        Err(e) => {
            fail(args.json, &e.to_string(), None);
            EXIT_FAILED
        }
    }
}

fn pin_cmd(ctx: &Context, args: PinArgs) -> u8 {
    let Ok((_, config)) = valid_config(ctx, args.json) else {
        return EXIT_FAILED;
    };
    match install::pin(Some(&config), &ctx.paths, &ctx.env, &args.id, args.sha256.as_deref()) {
        Ok(pinned) => {
            report(args.json, &pinned, || {
                println!("Pinned {} ({}, {}).", pinned.id, pinned.origin, pinned.dir);
                println!("  sha256:          {}", pinned.sha256);
                println!("  manifest sha256: {}", pinned.manifest_sha256);
                if let Some(previous) = &pinned.previous_sha256 {
                    println!("  (replaces the recorded sha256 {previous})");
                }
                if !pinned.tools.is_empty() {
                    println!("  tools:           {}", pinned.tools.join(", "));
                }
                println!(
                    "It loads only while its files have these digests; install and update leave it alone until `openclaw plugins unpin {}`.",
                    pinned.id
                );
                if pinned.needs_allow {
                    println!(
                        "It does not run until you allow it: `openclaw plugins enable {}`.",
                        pinned.id
                    );
                }
            });
            EXIT_OK
        }
        Err(e) => {
            fail(args.json, &e.to_string(), None);
            EXIT_FAILED
        }
    }
}

fn unpin_cmd(ctx: &Context, args: IdArgs) -> u8 {
    let Ok((_, config)) = valid_config(ctx, args.json) else {
        return EXIT_FAILED;
    };
    match install::unpin(Some(&config), &ctx.paths, &ctx.env, &args.id) {
        Ok(changed) => {
            report(
                args.json,
                &json!({"id": args.id, "pinned": false, "changed": changed}),
                || {
                    if changed {
                        println!(
                            "{} is no longer pinned: install (--replace for another source) and update may replace it. Its recorded digests still gate loading.",
                            args.id
                        );
                    } else {
                        println!("{} was not pinned.", args.id);
                    }
                },
            );
            EXIT_OK
        }
        Err(e) => {
            fail(args.json, &e.to_string(), None);
            EXIT_FAILED
        }
    }
}

fn verify_cmd(ctx: &Context, args: VerifyArgs) -> u8 {
    let Ok((_, config)) = valid_config(ctx, args.json) else {
        return EXIT_FAILED;
    };
    match install::verify(Some(&config), &args.ids) {
        Ok(results) => {
            let ok = results.iter().all(|r| r.ok);
            report(args.json, &json!({"ok": ok, "plugins": results}), || {
                if results.is_empty() {
                    println!("No installed plugins to verify.");
                }
                for r in &results {
                    match &r.problem {
                        None => println!("{:<24} ok  {}", r.id, r.actual_sha256.as_deref().unwrap_or_default()),
                        Some(problem) => println!("{:<24} FAILED  {problem}", r.id),
                    }
                }
            });
            if ok { EXIT_OK } else { EXIT_FAILED }
        }
        Err(e) => {
            fail(args.json, &e.to_string(), None);
            EXIT_FAILED
        }
    }
}

fn pack_cmd(args: PackArgs) -> u8 {
    match package::pack(&args.dir, args.out.as_deref(), !args.no_build) {
        Ok(packed) => {
            report(args.json, &packed, || {
                println!("Packed {} {} (plugin API {})", packed.id, packed.version, packed.api);
                println!(
                    "  archive: {} ({} bytes)",
                    packed.archive.display(),
                    packed.archive_bytes
                );
                println!(
                    "  sha256:  {} (component, {} bytes)",
                    packed.sha256, packed.component_bytes
                );
            });
            EXIT_OK
        }
        Err(e) => {
            fail(args.json, &e.to_string(), None);
            EXIT_FAILED
        }
    }
}

/// The grant a plugin author gets from `plugins run`: what the manifest requests, narrowed by
/// the operator's entry for it when there is one, plus the private networks passed on the
/// command line. `plugins.deny` still applies, and the operator's secrets are bound only with
/// `--with-secrets`: a directory someone hands you must not get your tokens by being run.
fn dev_plugins(config: &Config, manifest: &Manifest, args: &RunArgs) -> Result<PluginsConfig, String> {
    let mut plugins = config.plugins.clone().unwrap_or_default();
    plugins.enabled = Some(true);
    plugins.allow = Some(vec![manifest.id.clone()]);
    let mut entries = plugins.entries.take().unwrap_or_default();
    let mut entry = entries.get(&manifest.id).cloned().unwrap_or_default();
    entry.enabled = None;
    if !args.with_secrets && entry.secrets.take().is_some_and(|bound| !bound.is_empty()) {
        eprintln!(
            "note: plugins.entries.{}.secrets are not bound; pass --with-secrets to bind them",
            manifest.id
        );
    }
    if let Some(text) = &args.config {
        entry.config = Some(serde_json::from_str(text).map_err(|e| format!("--config is not JSON: {e}"))?);
    }
    if !args.allow_private.is_empty() {
        let mut http = entry.http.clone().unwrap_or_default();
        http.allow_private_network = Some(args.allow_private.clone());
        entry.http = Some(http);
    }
    entries.insert(manifest.id.clone(), entry);
    plugins.entries = Some(entries);
    Ok(plugins)
}

fn run_cmd(ctx: &Context, args: RunArgs) -> u8 {
    let Ok((loaded, config)) = config_only(ctx, args.json) else {
        return EXIT_FAILED;
    };
    // Resolve SecretRefs first so the log scrubs their values from the first line on.
    let (resolved, errors) = secrets::resolve_all(&config, &loaded.checked.resolved, &ctx.env);
    let extra: Vec<&str> = resolved.exposed_values().collect();
    init_logging_with(ctx, Some(&loaded), &extra);
    for error in errors {
        tracing::warn!("secret not resolved: {error}");
    }
    let manifest = match manifest_file::read(&args.dir) {
        Ok(file) => file.manifest,
        Err(e) => {
            fail(args.json, &e.to_string(), None);
            return EXIT_FAILED;
        }
    };
    match serde_json::from_str::<Value>(&args.args) {
        Ok(Value::Object(_)) => {}
        Ok(_) => {
            fail(
                args.json,
                "--args must be a JSON object, e.g. '{\"name\": \"Ada\"}'",
                None,
            );
            return EXIT_USAGE;
        }
        Err(e) => {
            fail(args.json, &format!("--args is not JSON: {e}"), None);
            return EXIT_USAGE;
        }
    }
    if !args.build && !args.dir.join(&manifest.component.file).is_file() {
        fail(
            args.json,
            &format!(
                "the component {} does not exist yet",
                args.dir.join(&manifest.component.file).display()
            ),
            Some("pass --build to build it (cargo build --release --target wasm32-wasip2)"),
        );
        return EXIT_FAILED;
    }
    let mut dir = args.dir.clone();
    let mut _run_dir = None;
    if args.build {
        match package::build_component(&args.dir) {
            Ok(built) => {
                // Run exactly what was built, from a private copy laid out like a package.
                let Ok(run_dir) = RunDir::new() else {
                    fail(args.json, "cannot create a temporary directory", None);
                    return EXIT_FAILED;
                };
                let staging = run_dir.0.clone();
                _run_dir = Some(run_dir);
                let copy = || -> std::io::Result<()> {
                    std::fs::copy(args.dir.join(MANIFEST_FILE), staging.join(MANIFEST_FILE))?;
                    let component = staging.join(&manifest.component.file);
                    if let Some(parent) = component.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::copy(&built, component)?;
                    copy_assets(&args.dir.join("assets"), &staging.join("assets"))
                };
                if let Err(e) = copy() {
                    fail(args.json, &format!("preparing the built component: {e}"), None);
                    return EXIT_FAILED;
                }
                dir = staging;
            }
            Err(e) => {
                fail(args.json, &e.to_string(), None);
                return EXIT_FAILED;
            }
        }
    }
    let plugins = match dev_plugins(&config, &manifest, &args) {
        Ok(p) => p,
        Err(e) => {
            fail(args.json, &e, None);
            return EXIT_USAGE;
        }
    };
    let grant = match decide(&manifest, &plugins) {
        Decision::Load(grant) => *grant,
        Decision::Refuse(r) => {
            fail(args.json, &r.reason, Some(&r.fix));
            return EXIT_FAILED;
        }
    };
    let values = crate::plugins::loader::secret_values(&config, &grant, &resolved);
    let runtime = match crate::plugins::loader::runtime(&ctx.paths, None) {
        Ok(r) => r,
        Err(e) => {
            fail(args.json, &e, None);
            return EXIT_FAILED;
        }
    };
    let tokio = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(t) => t,
        Err(e) => {
            fail(args.json, &e.to_string(), None);
            return EXIT_FAILED;
        }
    };
    let source = PluginSource {
        dir: dir.clone(),
        manifest: manifest.clone(),
        pinned_sha256: None,
    };
    let allocator = runtime.engine().allocator();
    tokio.block_on(async {
        let plugin = match runtime.load(&source, grant, values).await {
            Ok(p) => p,
            Err(e) => {
                fail(args.json, &e.to_string(), None);
                return EXIT_FAILED;
            }
        };
        match (manifest.kind, &args.tool) {
            (PluginKind::Tool, None) => {
                let tools: Vec<Value> = plugin
                    .tools
                    .iter()
                    .map(|t| {
                        json!({"name": t.name, "description": t.description,
                               "parameters": serde_json::from_str::<Value>(&t.parameters).unwrap_or(Value::Null)})
                    })
                    .collect();
                print_json(&json!({"id": manifest.id, "tools": tools, "allocator": allocator, "cache": plugin.cache}));
                EXIT_OK
            }
            (PluginKind::Tool, Some(tool)) => {
                let context = CallContext {
                    agent_id: "main".into(),
                    session_key: "agent:main:main".into(),
                    channel: None,
                    call_id: "plugins-run".into(),
                    sandbox_exec: true,
                };
                match runtime.call_tool(&plugin, tool, &args.args, &context).await {
                    Ok(result) => {
                        let value = serde_json::from_str::<Value>(&result).unwrap_or(Value::String(result));
                        print_json(&json!({"ok": true, "tool": tool, "result": value}));
                        EXIT_OK
                    }
                    Err(e) => {
                        fail(args.json, &e.to_string(), None);
                        EXIT_FAILED
                    }
                }
            }
            (PluginKind::Channel, _) => run_channel(plugin, args.polls, args.json).await,
        }
    })
}

/// Copies a package's `assets/` (regular files and directories only) for `plugins run --build`.
fn copy_assets(from: &Path, to: &Path) -> std::io::Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(from) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_assets(&entry.path(), &to.join(entry.file_name()))?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// A private temporary directory for `plugins run --build`, removed when dropped.
struct RunDir(PathBuf);

impl RunDir {
    fn new() -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let name = random_hex(8).map_err(|e| std::io::Error::other(e.to_string()))?;
        let dir = std::env::temp_dir().join(format!("openclaw-run-{name}"));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn run_channel(plugin: std::sync::Arc<openclaw_runtime::LoadedPlugin>, polls: u32, json_mode: bool) -> u8 {
    let (tx, mut rx) = openclaw_runtime::inbound_queue();
    let channel = match ChannelInstance::new(plugin, tx) {
        Ok(c) => c,
        Err(e) => {
            fail(json_mode, &e.to_string(), None);
            return EXIT_FAILED;
        }
    };
    if let Err(e) = channel.start().await {
        fail(json_mode, &e.to_string(), None);
        return EXIT_FAILED;
    }
    let mut delivered = Vec::new();
    for _ in 0..polls {
        if let Err(e) = channel.poll().await {
            fail(json_mode, &e.to_string(), None);
            return EXIT_FAILED;
        }
        while let Some(m) = rx.try_recv() {
            delivered.push(m.to_json());
        }
    }
    print_json(&json!({"ok": true, "polls": polls, "delivered": delivered}));
    EXIT_OK
}
