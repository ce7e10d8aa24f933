//! Resolving SecretRefs: `{source: "env" | "file" | "exec", provider, id}`.
//!
//! Values are read at start-up (and again by `secrets reload`, see [`live`]) into
//! [`SecretLiteral`]s, whose `Debug` never shows them, and
//! are never written back to the config. The providers fail closed:
//! - `file`: the file must be a regular file (not a symlink, FIFO or device), owned by the
//!   gateway's user and private to it (no group or other permission bits);
//! - `exec`: the resolver is an absolute path that nobody else can modify, run without a shell,
//!   with only the variables it was given, in its own process group, killed at its timeout, its
//!   output capped.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use openclaw_core::config::path::JsonPath;
use openclaw_core::config::rules::{FoundRef, find_secret_refs};
use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::common::{SecretInput, SecretLiteral, SecretSource};
use openclaw_core::config::schema::secrets::{
    DEFAULT_EXEC_MAX_OUTPUT_BYTES, DEFAULT_FILE_MAX_BYTES, DEFAULT_PROVIDER_TIMEOUT_MS, FileMode, SecretDefaults,
    SecretProvider,
};
use serde_json::Value;

use crate::state::{Env, current_uid, expand_home};

pub mod live;

/// Largest part of a resolver's stderr quoted in an error.
const STDERR_EXCERPT: usize = 200;

/// A SecretRef that could not be resolved, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SecretError {
    /// Where the reference is in the config.
    pub path: JsonPath,
    pub provider: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Every resolved SecretRef, by the config path it was found at.
#[derive(Default, Clone)]
pub struct ResolvedSecrets {
    values: BTreeMap<JsonPath, SecretLiteral>,
}

impl std::fmt::Debug for ResolvedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.values.keys().map(|k| (k.to_string(), "[redacted]")))
            .finish()
    }
}

impl ResolvedSecrets {
    pub fn get(&self, path: &JsonPath) -> Option<&SecretLiteral> {
        self.values.get(path)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The secret for a config field: its literal value, or the resolved reference at `path`.
    pub fn value_of(&self, input: &SecretInput, path: &JsonPath) -> Option<SecretLiteral> {
        match input {
            SecretInput::Literal(literal) => Some(literal.clone()),
            SecretInput::Ref(_) => self.values.get(path).cloned(),
        }
    }

    /// The paths of every resolved reference.
    pub fn paths(&self) -> impl Iterator<Item = &JsonPath> {
        self.values.keys()
    }

    /// The paths whose value differs from `old`'s (newly resolved ones included). Paths only;
    /// values never leave this type.
    pub fn changed_from(&self, old: &ResolvedSecrets) -> Vec<JsonPath> {
        self.values
            .iter()
            .filter(|(path, value)| old.values.get(*path).is_none_or(|o| o.expose() != value.expose()))
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// Every resolved value, for exact-match scrubbing in logs.
    pub fn exposed_values(&self) -> impl Iterator<Item = &str> {
        self.values.values().map(SecretLiteral::expose)
    }
}

/// Resolves every SecretRef in `doc` (the checked document of `config`).
pub fn resolve_all(config: &Config, doc: &Value, env: &Env) -> (ResolvedSecrets, Vec<SecretError>) {
    let refs = find_secret_refs(doc);
    let secrets = config.secrets.clone().unwrap_or_default();
    let providers = secrets.providers.unwrap_or_default();
    let defaults = secrets.defaults.unwrap_or_default();
    resolve_refs(&refs, &providers, &defaults, env)
}

/// Resolves `refs` against `providers`; each exec provider is run once for all its ids.
pub fn resolve_refs(
    refs: &[FoundRef],
    providers: &BTreeMap<String, SecretProvider>,
    defaults: &SecretDefaults,
    env: &Env,
) -> (ResolvedSecrets, Vec<SecretError>) {
    let mut resolved = ResolvedSecrets::default();
    let mut errors = Vec::new();
    let mut by_provider: BTreeMap<String, Vec<&FoundRef>> = BTreeMap::new();
    for found in refs {
        let alias = found
            .provider
            .clone()
            .unwrap_or_else(|| defaults.alias_for(found.source).to_string());
        by_provider.entry(alias).or_default().push(found);
    }
    let implicit_env = SecretProvider::Env { allowlist: None };
    for (alias, refs) in by_provider {
        let provider = match providers.get(&alias) {
            Some(provider) => provider,
            None if alias == "default" && refs.iter().all(|r| r.source == SecretSource::Env) => &implicit_env,
            None => {
                for found in refs {
                    errors.push(SecretError {
                        path: found.path.clone(),
                        provider: alias.clone(),
                        message: format!("unknown secret provider \"{alias}\""),
                        hint: Some(format!("define secrets.providers.{alias}")),
                    });
                }
                continue;
            }
        };
        let (ok, failed): (Vec<&FoundRef>, Vec<&FoundRef>) =
            refs.into_iter().partition(|r| r.source == provider.source());
        let mut outcomes: Vec<(&FoundRef, Result<SecretLiteral, Failure>)> = failed
            .into_iter()
            .map(|found| {
                let message = format!(
                    "source \"{}\" does not match provider \"{alias}\" ({})",
                    found.source,
                    provider.source()
                );
                (found, Err((message, None)))
            })
            .collect();
        match provider {
            SecretProvider::Env { allowlist } => {
                outcomes.extend(
                    ok.into_iter()
                        .map(|found| (found, resolve_env(found, allowlist.as_deref(), env))),
                );
            }
            SecretProvider::File { .. } => {
                let source = FileSource::open(provider, env);
                outcomes.extend(ok.into_iter().map(|found| {
                    let value = source.as_ref().map_err(Clone::clone).and_then(|s| s.lookup(&found.id));
                    (found, value)
                }));
            }
            SecretProvider::Exec { .. } => {
                let ids: Vec<String> = ok.iter().map(|r| r.id.clone()).collect();
                match run_exec(&alias, provider, &ids, env) {
                    Ok(mut values) => outcomes.extend(ok.into_iter().map(|found| {
                        let value = match values.remove(&found.id) {
                            Some(result) => result.map_err(|message| (message, None)),
                            None => Err((format!("the resolver returned no value for id \"{}\"", found.id), None)),
                        };
                        (found, value)
                    })),
                    Err(failure) => outcomes.extend(ok.into_iter().map(|found| (found, Err(failure.clone())))),
                }
            }
        }
        for (found, outcome) in outcomes {
            match outcome {
                Ok(value) => {
                    resolved.values.insert(found.path.clone(), value);
                }
                Err((message, hint)) => errors.push(SecretError {
                    path: found.path.clone(),
                    provider: alias.clone(),
                    message,
                    hint,
                }),
            }
        }
    }
    (resolved, errors)
}

type Failure = (String, Option<String>);

fn resolve_env(found: &FoundRef, allowlist: Option<&[String]>, env: &Env) -> Result<SecretLiteral, Failure> {
    if let Some(allow) = allowlist
        && !allow.iter().any(|a| a == &found.id)
    {
        return Err((
            format!("environment variable {} is not in this provider's allowlist", found.id),
            Some("add it to the provider's allowlist, or use another provider".into()),
        ));
    }
    match env.get(&found.id) {
        Some(value) => Ok(SecretLiteral::new(value)),
        None => Err((
            format!("environment variable {} is not set (or is empty)", found.id),
            Some(format!("export {}=... in the gateway's environment", found.id)),
        )),
    }
}

/// Refuses files anyone but the gateway's user could read or change.
fn check_private_file(path: &Path, meta: &fs::Metadata, what: &str) -> Result<(), Failure> {
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err((
            format!(
                "{what} {} is readable or writable by group or others (mode {mode:04o})",
                path.display()
            ),
            Some(format!("run `chmod 600 {}`", path.display())),
        ));
    }
    let me = current_uid();
    if meta.uid() != me {
        return Err((
            format!(
                "{what} {} is owned by uid {}, not by the gateway's user (uid {me})",
                path.display(),
                meta.uid()
            ),
            Some(format!("run `chown {me} {}`", path.display())),
        ));
    }
    Ok(())
}

struct FileSource {
    mode: FileMode,
    content: String,
    path: PathBuf,
}

impl FileSource {
    fn open(provider: &SecretProvider, env: &Env) -> Result<Self, Failure> {
        let SecretProvider::File {
            path,
            mode,
            max_bytes,
            allow_insecure_path,
            ..
        } = provider
        else {
            return Err(("not a file provider".into(), None));
        };
        let home = env.get("OPENCLAW_HOME").or_else(|| env.get("HOME")).unwrap_or("/");
        let path = expand_home(path, Path::new(home));
        if !path.is_absolute() {
            return Err((format!("secret file path {} is not absolute", path.display()), None));
        }
        let meta = fs::symlink_metadata(&path)
            .map_err(|e| (format!("cannot read secret file {}: {e}", path.display()), None))?;
        if meta.file_type().is_symlink() {
            return Err((
                format!("secret file {} is a symlink; refusing to follow it", path.display()),
                Some("point the provider at the real file".into()),
            ));
        }
        if !meta.is_file() {
            return Err((format!("secret file {} is not a regular file", path.display()), None));
        }
        if *allow_insecure_path != Some(true) {
            check_private_file(&path, &meta, "secret file")?;
        }
        let cap = max_bytes.unwrap_or(DEFAULT_FILE_MAX_BYTES);
        if meta.len() > cap {
            return Err((
                format!(
                    "secret file {} is {} bytes, over the {cap}-byte limit",
                    path.display(),
                    meta.len()
                ),
                Some("raise maxBytes on the provider if this is expected".into()),
            ));
        }
        let mut content = String::new();
        fs::File::open(&path)
            .and_then(|f| f.take(cap + 1).read_to_string(&mut content))
            .map_err(|e| (format!("cannot read secret file {}: {e}", path.display()), None))?;
        Ok(Self {
            mode: mode.unwrap_or(FileMode::Json),
            content,
            path,
        })
    }

    fn lookup(&self, id: &str) -> Result<SecretLiteral, Failure> {
        match self.mode {
            FileMode::SingleValue => {
                if id != "value" {
                    return Err((
                        format!("single-value secret files take the id \"value\", not \"{id}\""),
                        None,
                    ));
                }
                let value = self.content.strip_suffix('\n').unwrap_or(&self.content);
                let value = value.strip_suffix('\r').unwrap_or(value);
                if value.is_empty() {
                    return Err((format!("secret file {} is empty", self.path.display()), None));
                }
                Ok(SecretLiteral::new(value))
            }
            FileMode::Json => {
                let doc: Value = serde_json::from_str(&self.content).map_err(|e| {
                    (
                        format!("secret file {} is not valid JSON: {e}", self.path.display()),
                        None,
                    )
                })?;
                let pointer = if id == "value" { "" } else { id };
                match doc.pointer(pointer) {
                    Some(Value::String(s)) if !s.is_empty() => Ok(SecretLiteral::new(s.clone())),
                    Some(Value::String(_)) => Err((format!("{id} in {} is empty", self.path.display()), None)),
                    Some(_) => Err((format!("{id} in {} is not a string", self.path.display()), None)),
                    None => Err((format!("{id} not found in {}", self.path.display()), None)),
                }
            }
        }
    }
}

/// Checks the resolver binary before running it.
fn check_command(
    command: &str,
    trusted_dirs: Option<&[String]>,
    allow_insecure: bool,
    allow_symlink: bool,
) -> Result<PathBuf, Failure> {
    let path = PathBuf::from(command);
    if !path.is_absolute() {
        return Err((
            format!("resolver command {command} is not an absolute path"),
            Some("resolvers run without a shell or PATH lookup; write the full path".into()),
        ));
    }
    let link = fs::symlink_metadata(&path).map_err(|e| (format!("cannot use resolver {command}: {e}"), None))?;
    let real = if link.file_type().is_symlink() {
        if !allow_symlink {
            return Err((
                format!("resolver {command} is a symlink"),
                Some("point at the real binary, or set allowSymlinkCommand: true".into()),
            ));
        }
        fs::canonicalize(&path).map_err(|e| (format!("cannot resolve symlink {command}: {e}"), None))?
    } else {
        path.clone()
    };
    let meta = fs::metadata(&real).map_err(|e| (format!("cannot use resolver {}: {e}", real.display()), None))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err((format!("resolver {} is not an executable file", real.display()), None));
    }
    if !allow_insecure {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err((
                format!(
                    "resolver {} can be modified by group or others (mode {mode:04o})",
                    real.display()
                ),
                Some(format!("run `chmod go-w {}`", real.display())),
            ));
        }
        let me = current_uid();
        if meta.uid() != me && meta.uid() != 0 {
            return Err((
                format!(
                    "resolver {} is owned by uid {}, neither you nor root",
                    real.display(),
                    meta.uid()
                ),
                None,
            ));
        }
    }
    if let Some(dirs) = trusted_dirs {
        let inside = dirs
            .iter()
            .any(|dir| fs::canonicalize(dir).map(|d| real.starts_with(d)).unwrap_or(false));
        if !inside {
            return Err((
                format!(
                    "resolver {} is not inside trustedDirs ({})",
                    real.display(),
                    dirs.join(", ")
                ),
                None,
            ));
        }
    }
    Ok(real)
}

enum Chunk {
    Data(Vec<u8>),
    Eof,
    Error(std::io::Error),
}

type ExecValues = BTreeMap<String, Result<SecretLiteral, String>>;

fn run_exec(alias: &str, provider: &SecretProvider, ids: &[String], env: &Env) -> Result<ExecValues, Failure> {
    let SecretProvider::Exec {
        command,
        args,
        timeout_ms,
        no_output_timeout_ms,
        max_output_bytes,
        json_only,
        env: set_env,
        pass_env,
        trusted_dirs,
        allow_insecure_path,
        allow_symlink_command,
    } = provider
    else {
        return Err(("not an exec provider".into(), None));
    };
    let real = check_command(
        command,
        trusted_dirs.as_deref(),
        *allow_insecure_path == Some(true),
        *allow_symlink_command == Some(true),
    )?;
    let timeout = Duration::from_millis(timeout_ms.unwrap_or(DEFAULT_PROVIDER_TIMEOUT_MS));
    let idle_timeout = Duration::from_millis(
        no_output_timeout_ms
            .or(*timeout_ms)
            .unwrap_or(DEFAULT_PROVIDER_TIMEOUT_MS),
    );
    let cap = max_output_bytes.unwrap_or(DEFAULT_EXEC_MAX_OUTPUT_BYTES);

    let mut cmd = Command::new(&real);
    cmd.args(args.iter().flatten())
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills everything it started.
        .process_group(0);
    for name in pass_env.iter().flatten() {
        if let Some(value) = env.get(name) {
            cmd.env(name, value);
        }
    }
    for (name, value) in set_env.iter().flatten() {
        cmd.env(name, value);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| (format!("cannot start resolver {}: {e}", real.display()), None))?;
    let pgid = child.id();
    let kill = |child: &mut std::process::Child| {
        if let Some(pid) = rustix::process::Pid::from_raw(pgid as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = child.kill();
        let _ = child.wait();
    };

    let request = serde_json::json!({"protocolVersion": 1, "provider": alias, "ids": ids});
    if let Some(mut stdin) = child.stdin.take() {
        // A resolver that exits without reading its input is fine; ignore a broken pipe.
        let _ = stdin.write_all(request.to_string().as_bytes());
    }
    let (tx, rx) = mpsc::channel::<Chunk>();
    if let Some(mut stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            loop {
                match stdout.read(&mut buffer) {
                    Ok(0) => {
                        let _ = tx.send(Chunk::Eof);
                        return;
                    }
                    Ok(n) => {
                        if tx.send(Chunk::Data(buffer[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Chunk::Error(e));
                        return;
                    }
                }
            }
        });
    }
    let stderr_reader = child.stderr.take().map(|stderr| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stderr.take(4096).read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    });

    let started = Instant::now();
    let mut last_output = Instant::now();
    let mut output: Vec<u8> = Vec::new();
    loop {
        let total_left = timeout.saturating_sub(started.elapsed());
        let idle_left = idle_timeout.saturating_sub(last_output.elapsed());
        let wait = total_left.min(idle_left);
        if wait.is_zero() {
            kill(&mut child);
            let which = if total_left.is_zero() { timeout } else { idle_timeout };
            return Err((
                format!(
                    "resolver {} timed out after {} ms and was killed",
                    real.display(),
                    which.as_millis()
                ),
                Some("raise timeoutMs on the provider, or fix the resolver".into()),
            ));
        }
        match rx.recv_timeout(wait) {
            Ok(Chunk::Data(data)) => {
                last_output = Instant::now();
                output.extend_from_slice(&data);
                if output.len() as u64 > cap {
                    kill(&mut child);
                    return Err((
                        format!(
                            "resolver {} printed more than {cap} bytes and was killed",
                            real.display()
                        ),
                        Some("raise maxOutputBytes on the provider if this is expected".into()),
                    ));
                }
            }
            Ok(Chunk::Eof) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Ok(Chunk::Error(e)) => {
                kill(&mut child);
                return Err((format!("reading from resolver {}: {e}", real.display()), None));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    // Output is complete; give the process the rest of its time to exit.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                kill(&mut child);
                return Err((
                    format!(
                        "resolver {} did not exit within {} ms and was killed",
                        real.display(),
                        timeout.as_millis()
                    ),
                    None,
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err((format!("waiting for resolver {}: {e}", real.display()), None)),
        }
    };
    let stderr = stderr_reader.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        let excerpt: String = stderr
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(STDERR_EXCERPT)
            .collect();
        return Err((
            format!(
                "resolver {} failed ({status}){}",
                real.display(),
                if excerpt.is_empty() {
                    String::new()
                } else {
                    format!(": {excerpt}")
                }
            ),
            None,
        ));
    }
    let text = String::from_utf8(output)
        .map_err(|_| (format!("resolver {} printed non-UTF-8 output", real.display()), None))?;
    parse_exec_output(&text, ids, *json_only != Some(false), &real)
}

fn parse_exec_output(text: &str, ids: &[String], json_only: bool, command: &Path) -> Result<ExecValues, Failure> {
    let parsed: Option<Value> = serde_json::from_str(text.trim()).ok();
    let protocol = parsed
        .as_ref()
        .filter(|v| v.get("protocolVersion").and_then(Value::as_u64) == Some(1));
    let Some(doc) = protocol else {
        if !json_only && ids.len() == 1 {
            let value = text.strip_suffix('\n').unwrap_or(text);
            if value.is_empty() {
                return Err((format!("resolver {} printed nothing", command.display()), None));
            }
            return Ok(BTreeMap::from([(ids[0].clone(), Ok(SecretLiteral::new(value)))]));
        }
        return Err((
            format!(
                "resolver {} did not answer with the JSON protocol ({{\"protocolVersion\":1,\"values\":{{...}}}})",
                command.display()
            ),
            Some("set jsonOnly: false to accept raw output for a single id".into()),
        ));
    };
    let mut out = BTreeMap::new();
    if let Some(values) = doc.get("values").and_then(Value::as_object) {
        for (id, value) in values {
            let entry = match value {
                Value::String(s) if !s.is_empty() => Ok(SecretLiteral::new(s.clone())),
                _ => Err(format!("the resolver's value for \"{id}\" is not a non-empty string")),
            };
            out.insert(id.clone(), entry);
        }
    }
    if let Some(errors) = doc.get("errors").and_then(Value::as_object) {
        for (id, error) in errors {
            let message = error.get("message").and_then(Value::as_str).unwrap_or("unknown error");
            let message: String = message.chars().take(STDERR_EXCERPT).collect();
            out.insert(id.clone(), Err(format!("the resolver reported: {message}")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn found(source: SecretSource, provider: &str, id: &str) -> FoundRef {
        FoundRef {
            path: JsonPath::parse("gateway.auth.token").unwrap(),
            source,
            provider: Some(provider.into()),
            id: id.into(),
        }
    }

    fn providers(alias: &str, provider: SecretProvider) -> BTreeMap<String, SecretProvider> {
        BTreeMap::from([(alias.to_string(), provider)])
    }

    fn one(refs: &[FoundRef], p: &BTreeMap<String, SecretProvider>, env: &Env) -> Result<String, SecretError> {
        let (resolved, mut errors) = resolve_refs(refs, p, &SecretDefaults::default(), env);
        if let Some(e) = errors.pop() {
            return Err(e);
        }
        Ok(resolved.get(&refs[0].path).unwrap().expose().to_string())
    }

    fn private_file(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn env_provider() {
        let env = Env::from_pairs([("OPENAI_API_KEY", "sk-test-123")]);
        let refs = [found(SecretSource::Env, "default", "OPENAI_API_KEY")];
        assert_eq!(one(&refs, &BTreeMap::new(), &env).unwrap(), "sk-test-123");

        let refs = [found(SecretSource::Env, "default", "MISSING_VAR")];
        let err = one(&refs, &BTreeMap::new(), &env).unwrap_err();
        assert!(err.message.contains("MISSING_VAR is not set"), "{err}");
        assert_eq!(err.path.to_string(), "gateway.auth.token");

        let restricted = providers(
            "locked",
            SecretProvider::Env {
                allowlist: Some(vec!["OTHER".into()]),
            },
        );
        let refs = [found(SecretSource::Env, "locked", "OPENAI_API_KEY")];
        let err = one(&refs, &restricted, &env).unwrap_err();
        assert!(err.message.contains("allowlist"), "{err}");
    }

    fn file_provider(path: &Path, mode: Option<FileMode>) -> SecretProvider {
        SecretProvider::File {
            path: path.display().to_string(),
            mode,
            timeout_ms: None,
            max_bytes: None,
            allow_insecure_path: None,
        }
    }

    #[test]
    fn file_provider_json_and_single_value() {
        let tmp = tempfile::tempdir().unwrap();
        let json = private_file(
            tmp.path(),
            "s.json",
            r#"{"providers": {"openai": {"apiKey": "sk-file"}}, "a/b": "slash"}"#,
            0o600,
        );
        let p = providers("vault", file_provider(&json, None));
        let env = Env::default();
        assert_eq!(
            one(
                &[found(SecretSource::File, "vault", "/providers/openai/apiKey")],
                &p,
                &env
            )
            .unwrap(),
            "sk-file"
        );
        assert_eq!(
            one(&[found(SecretSource::File, "vault", "/a~1b")], &p, &env).unwrap(),
            "slash"
        );
        let err = one(&[found(SecretSource::File, "vault", "/nope")], &p, &env).unwrap_err();
        assert!(err.message.contains("not found"), "{err}");

        let single = private_file(tmp.path(), "token", "tok-123\n", 0o600);
        let p = providers("one", file_provider(&single, Some(FileMode::SingleValue)));
        assert_eq!(
            one(&[found(SecretSource::File, "one", "value")], &p, &env).unwrap(),
            "tok-123"
        );
    }

    #[test]
    fn file_provider_refuses_shared_files_and_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::default();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let path = private_file(tmp.path(), "loose.json", r#"{"k": "v"}"#, mode);
            let p = providers("vault", file_provider(&path, None));
            let err = one(&[found(SecretSource::File, "vault", "/k")], &p, &env).unwrap_err();
            assert!(
                err.message.contains("readable or writable by group or others"),
                "{mode:o}: {err}"
            );
            assert!(err.hint.as_deref().unwrap().contains("chmod 600"));
        }
        let real = private_file(tmp.path(), "real.json", r#"{"k": "v"}"#, 0o600);
        let link = tmp.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let p = providers("vault", file_provider(&link, None));
        let err = one(&[found(SecretSource::File, "vault", "/k")], &p, &env).unwrap_err();
        assert!(err.message.contains("symlink"), "{err}");
    }

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
        path
    }

    fn exec_provider(command: &Path, timeout_ms: Option<u64>, max_output: Option<u64>) -> SecretProvider {
        SecretProvider::Exec {
            command: command.display().to_string(),
            args: None,
            timeout_ms,
            no_output_timeout_ms: None,
            max_output_bytes: max_output,
            json_only: None,
            env: Some(BTreeMap::from([("FROM_CONFIG".to_string(), "yes".to_string())])),
            pass_env: Some(vec!["PASSED".into()]),
            trusted_dirs: None,
            allow_insecure_path: None,
            allow_symlink_command: None,
        }
    }

    #[test]
    fn exec_provider_protocol_and_minimal_environment() {
        let tmp = tempfile::tempdir().unwrap();
        // Answers with the ids it was asked for, and reports which variables it can see.
        let resolver = script(
            tmp.path(),
            "resolve",
            r#"read -r request
vars=$(env | cut -d= -f1 | sort | tr '\n' ',')
printf '{"protocolVersion":1,"values":{"api/key":"sk-exec","vars":"%s"}}' "$vars""#,
        );
        let p = providers("vault", exec_provider(&resolver, Some(5000), None));
        let env = Env::from_pairs([("PASSED", "1"), ("HOME", "/root"), ("SECRET_OF_GATEWAY", "x")]);
        let refs = [
            found(SecretSource::Exec, "vault", "api/key"),
            FoundRef {
                path: JsonPath::parse("x").unwrap(),
                ..found(SecretSource::Exec, "vault", "vars")
            },
        ];
        let (resolved, errors) = resolve_refs(&refs, &p, &SecretDefaults::default(), &env);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(resolved.get(&refs[0].path).unwrap().expose(), "sk-exec");
        let vars = resolved.get(&refs[1].path).unwrap().expose().to_string();
        // Only what the provider passes (plus what sh itself sets, like PWD and SHLVL).
        assert!(vars.contains("FROM_CONFIG,") && vars.contains("PASSED,"), "{vars}");
        assert!(!vars.contains("HOME,") && !vars.contains("SECRET_OF_GATEWAY"), "{vars}");
    }

    #[test]
    fn exec_provider_timeout_kills_the_resolver() {
        let tmp = tempfile::tempdir().unwrap();
        let marker = tmp.path().join("still-running");
        let resolver = script(tmp.path(), "slow", &format!("sleep 5; touch {}", marker.display()));
        let p = providers("vault", exec_provider(&resolver, Some(200), None));
        let started = Instant::now();
        let err = one(&[found(SecretSource::Exec, "vault", "k")], &p, &Env::default()).unwrap_err();
        assert!(err.message.contains("timed out after 200 ms"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(4));
        std::thread::sleep(Duration::from_millis(5200).saturating_sub(started.elapsed()));
        assert!(!marker.exists(), "the whole process group was killed");
    }

    #[test]
    fn exec_provider_output_cap() {
        let tmp = tempfile::tempdir().unwrap();
        let resolver = script(
            tmp.path(),
            "chatty",
            "while :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done",
        );
        let p = providers("vault", exec_provider(&resolver, Some(5000), Some(4096)));
        let err = one(&[found(SecretSource::Exec, "vault", "k")], &p, &Env::default()).unwrap_err();
        assert!(err.message.contains("more than 4096 bytes"), "{err}");
    }

    #[test]
    fn exec_provider_refuses_unsafe_commands() {
        let tmp = tempfile::tempdir().unwrap();
        let p = providers("vault", exec_provider(Path::new("resolver"), None, None));
        let err = one(&[found(SecretSource::Exec, "vault", "k")], &p, &Env::default()).unwrap_err();
        assert!(err.message.contains("not an absolute path"), "{err}");

        let writable = script(tmp.path(), "open", "echo x");
        fs::set_permissions(&writable, fs::Permissions::from_mode(0o777)).unwrap();
        let p = providers("vault", exec_provider(&writable, None, None));
        let err = one(&[found(SecretSource::Exec, "vault", "k")], &p, &Env::default()).unwrap_err();
        assert!(err.message.contains("can be modified by group or others"), "{err}");

        let good = script(
            tmp.path(),
            "good",
            "echo '{\"protocolVersion\":1,\"values\":{\"k\":\"v\"}}'",
        );
        let link = tmp.path().join("linked");
        std::os::unix::fs::symlink(&good, &link).unwrap();
        let p = providers("vault", exec_provider(&link, None, None));
        let err = one(&[found(SecretSource::Exec, "vault", "k")], &p, &Env::default()).unwrap_err();
        assert!(err.message.contains("symlink"), "{err}");
    }

    #[test]
    fn exec_provider_failures_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let failing = script(tmp.path(), "fail", "echo 'vault sealed' >&2; exit 3");
        let p = providers("vault", exec_provider(&failing, None, None));
        let err = one(&[found(SecretSource::Exec, "vault", "k")], &p, &Env::default()).unwrap_err();
        assert!(
            err.message.contains("exit status: 3") && err.message.contains("vault sealed"),
            "{err}"
        );

        let partial = script(
            tmp.path(),
            "partial",
            r#"echo '{"protocolVersion":1,"values":{},"errors":{"k":{"message":"no such secret"}}}'"#,
        );
        let p = providers("vault", exec_provider(&partial, None, None));
        let err = one(&[found(SecretSource::Exec, "vault", "k")], &p, &Env::default()).unwrap_err();
        assert!(err.message.contains("no such secret"), "{err}");
    }

    #[test]
    fn resolved_values_never_appear_in_debug() {
        let env = Env::from_pairs([("TOKEN_VAR", "super-secret-token-value")]);
        let refs = [found(SecretSource::Env, "default", "TOKEN_VAR")];
        let (resolved, _) = resolve_refs(&refs, &BTreeMap::new(), &SecretDefaults::default(), &env);
        let debug = format!("{resolved:?} {:?}", resolved.get(&refs[0].path));
        assert!(!debug.contains("super-secret"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }
}
