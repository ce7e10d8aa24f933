//! Plugin packages: what a package contains, packing one, and unpacking one safely.
//!
//! A package is a `.tar.gz` (or `.tgz`, `.tar`) holding one directory named after the plugin id
//! with `openclaw-plugin.toml`, the component the manifest names, and optionally `assets/`,
//! `README.md` and `LICENSE*`. Nothing else is copied or extracted: no symlinks, hard links or
//! device files, no absolute paths or `..`, bounded in size and entry count.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::state::ids::{random_hex, sha256_hex};
use crate::state::{DIR_MODE, FILE_MODE, ensure_private_dir};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use openclaw_core::plugins::manifest::{MANIFEST_FILE, Manifest};

use super::manifest_file::{self, ManifestFileError};

/// Largest package, unpacked.
pub const MAX_PACKAGE_BYTES: u64 = 256 * 1024 * 1024;
/// Most entries in a package.
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Manifest(#[from] ManifestFileError),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Build(String),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> PackageError + 'a {
    move |source| PackageError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Whether a path inside a package is one a package may contain.
fn allowed_in_package(relative: &Path, component: &str) -> bool {
    let Some(first) = relative.components().next() else {
        return false;
    };
    let first = first.as_os_str().to_string_lossy();
    relative == Path::new(MANIFEST_FILE)
        || relative == Path::new(component)
        || first == "assets"
        || (relative.components().count() == 1 && (first == "README.md" || first.starts_with("LICENSE")))
}

fn safe_relative(path: &Path) -> bool {
    !path.as_os_str().is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// A package unpacked into a private staging directory.
#[derive(Debug)]
pub struct Staged {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// SHA-256 of the staged manifest's bytes.
    pub manifest_sha256: String,
    pub sha256: String,
}

impl Staged {
    pub fn component_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.component.file)
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PackageError> {
    if let Some(parent) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(parent)
            .map_err(io_err("creating", parent))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(io_err("creating", path))?;
    file.write_all(bytes).map_err(io_err("writing", path))?;
    file.sync_all().map_err(io_err("syncing", path))
}

/// Copies the package files of plugin directory `source` into `staging` (which must not exist).
pub fn stage_dir(source: &Path, staging: &Path) -> Result<Staged, PackageError> {
    let manifest = manifest_file::read(source)?.manifest;
    let component = manifest.component.file.clone();
    let mut total = 0u64;
    let mut count = 0usize;
    let mut stack = vec![PathBuf::new()];
    fs::DirBuilder::new()
        .mode(DIR_MODE)
        .create(staging)
        .map_err(io_err("creating", staging))?;
    while let Some(relative) = stack.pop() {
        let here = source.join(&relative);
        let entries = fs::read_dir(&here).map_err(io_err("reading", &here))?;
        for entry in entries.flatten() {
            let rel = relative.join(entry.file_name());
            if !allowed_in_package(&rel, &component) && !Path::new(&component).starts_with(&rel) {
                continue;
            }
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(io_err("inspecting", &path))?;
            if meta.file_type().is_symlink() {
                return Err(PackageError::Invalid(format!(
                    "{} is a symlink; packages contain regular files only",
                    path.display()
                )));
            }
            if meta.is_dir() {
                stack.push(rel);
                continue;
            }
            if !meta.is_file() || !allowed_in_package(&rel, &component) {
                continue;
            }
            count += 1;
            total += meta.len();
            if count > MAX_ENTRIES || total > MAX_PACKAGE_BYTES {
                return Err(PackageError::Invalid(format!(
                    "the package is larger than {MAX_ENTRIES} files or {MAX_PACKAGE_BYTES} bytes"
                )));
            }
            let bytes = fs::read(&path).map_err(io_err("reading", &path))?;
            write_file(&staging.join(&rel), &bytes)?;
        }
    }
    finish_staging(staging)
}

fn finish_staging(staging: &Path) -> Result<Staged, PackageError> {
    let manifest_file = manifest_file::read(staging)?;
    let manifest = manifest_file.manifest;
    let component = staging.join(&manifest.component.file);
    let bytes = fs::read(&component).map_err(|e| {
        PackageError::Invalid(format!(
            "the component {} named by the manifest is missing ({e}); build it first (`openclaw plugins pack` builds and packs)",
            manifest.component.file
        ))
    })?;
    Ok(Staged {
        dir: staging.to_path_buf(),
        sha256: sha256_hex(&bytes),
        manifest_sha256: manifest_file.sha256,
        manifest,
    })
}

/// Whether `path` looks like a package archive.
pub fn is_archive(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".tar")
}

/// Unpacks archive `source` into `staging` (which must not exist), refusing anything unsafe.
pub fn stage_archive(source: &Path, staging: &Path) -> Result<Staged, PackageError> {
    let file = File::open(source).map_err(io_err("opening", source))?;
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let reader: Box<dyn Read> = if name.ends_with(".tar") {
        Box::new(file)
    } else {
        Box::new(GzDecoder::new(file))
    };
    // Bound the decompressed stream too, so a compression bomb cannot fill the disk.
    let mut archive = tar::Archive::new(reader.take(MAX_PACKAGE_BYTES + 1024 * 1024));
    fs::DirBuilder::new()
        .mode(DIR_MODE)
        .create(staging)
        .map_err(io_err("creating", staging))?;
    let mut total = 0u64;
    let mut count = 0usize;
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let entries = archive.entries().map_err(io_err("reading", source))?;
    for entry in entries {
        let mut entry = entry.map_err(io_err("reading", source))?;
        let path = entry.path().map_err(io_err("reading", source))?.into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(PackageError::Invalid(format!(
                "{} in the package is a {:?}; packages contain regular files only",
                path.display(),
                kind
            )));
        }
        if !safe_relative(&path) {
            return Err(PackageError::Invalid(format!(
                "{} in the package is not a plain relative path",
                path.display()
            )));
        }
        count += 1;
        total += entry.size();
        if count > MAX_ENTRIES || total > MAX_PACKAGE_BYTES {
            return Err(PackageError::Invalid(format!(
                "the package is larger than {MAX_ENTRIES} files or {MAX_PACKAGE_BYTES} bytes"
            )));
        }
        let mut bytes = Vec::with_capacity(entry.size().min(MAX_PACKAGE_BYTES) as usize);
        entry.read_to_end(&mut bytes).map_err(io_err("reading", source))?;
        files.push((path, bytes));
    }
    // The package is either flat or one top-level directory.
    let manifest_at = files
        .iter()
        .filter(|(p, _)| p.file_name().is_some_and(|n| n == MANIFEST_FILE))
        .map(|(p, _)| p.parent().map(Path::to_path_buf).unwrap_or_default())
        .min_by_key(|p| p.components().count())
        .ok_or_else(|| PackageError::Invalid(format!("{} contains no {MANIFEST_FILE}", source.display())))?;
    if manifest_at.components().count() > 1 {
        return Err(PackageError::Invalid(format!(
            "{MANIFEST_FILE} must be at the top of the package or in its single top-level directory"
        )));
    }
    let manifest_member = manifest_at.join(MANIFEST_FILE);
    let manifest_bytes = files
        .iter()
        .find(|(p, _)| *p == manifest_member)
        .map(|(_, b)| b.as_slice())
        .ok_or_else(|| PackageError::Invalid(format!("{} contains no {MANIFEST_FILE}", source.display())))?;
    let manifest = manifest_file::parse(manifest_bytes, &source.join(&manifest_member))?.manifest;
    // Only package files are installed; anything else an archive carries is left out.
    for (path, bytes) in files {
        let Ok(relative) = path.strip_prefix(&manifest_at) else {
            continue;
        };
        if allowed_in_package(relative, &manifest.component.file) {
            write_file(&staging.join(relative), &bytes)?;
        }
    }
    finish_staging(staging)
}

/// Stages `source` (a plugin directory or a package archive).
pub fn stage(source: &Path, staging: &Path) -> Result<Staged, PackageError> {
    let meta = fs::metadata(source).map_err(io_err("reading", source))?;
    if meta.is_dir() {
        stage_dir(source, staging)
    } else if is_archive(source) {
        stage_archive(source, staging)
    } else {
        Err(PackageError::Invalid(format!(
            "{} is neither a plugin directory nor a package (.tar.gz, .tgz, .tar)",
            source.display()
        )))
    }
}

/// The manifest text with `component.sha256` set to `digest` (comments and layout kept).
pub fn manifest_with_digest(text: &str, digest: &str) -> String {
    let mut out = Vec::new();
    let mut in_component = false;
    let mut written = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if in_component && !written {
                out.push(format!("sha256 = \"{digest}\""));
                written = true;
            }
            in_component = trimmed.starts_with("[component]");
        }
        if in_component && (trimmed.starts_with("sha256 ") || trimmed.starts_with("sha256=")) {
            if !written {
                out.push(format!("sha256 = \"{digest}\""));
                written = true;
            }
            continue;
        }
        out.push(line.to_string());
    }
    if in_component && !written {
        out.push(format!("sha256 = \"{digest}\""));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// What `pack` produced.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Packed {
    pub id: String,
    pub version: String,
    pub api: String,
    pub archive: PathBuf,
    pub sha256: String,
    pub component_bytes: u64,
    pub archive_bytes: u64,
}

/// Builds the guest in `dir` for wasm32-wasip2 (release) and returns the component it produced.
pub fn build_component(dir: &Path) -> Result<PathBuf, PackageError> {
    let cargo_toml = dir.join("Cargo.toml");
    if !cargo_toml.is_file() {
        return Err(PackageError::Build(format!(
            "{} has no Cargo.toml to build; put the built component where the manifest says and pass --no-build",
            dir.display()
        )));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&cargo_toml)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| PackageError::Build(format!("cannot run cargo ({e}); is Rust installed?")))?;
    if !output.status.success() {
        return Err(PackageError::Build(
            "cargo build failed (see above). If the target is missing: rustup target add wasm32-wasip2".into(),
        ));
    }
    let wanted = cargo_toml.canonicalize().unwrap_or(cargo_toml);
    let mut found = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let same_package = message["manifest_path"]
            .as_str()
            .map(|p| Path::new(p).canonicalize().unwrap_or_else(|_| PathBuf::from(p)))
            .is_some_and(|p| p == wanted);
        if !same_package {
            continue;
        }
        if let Some(wasm) = message["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(".wasm"))
        {
            found = Some(PathBuf::from(wasm));
        }
    }
    found.ok_or_else(|| {
        PackageError::Build(format!(
            "cargo built {} but produced no .wasm; is it a `crate-type = [\"cdylib\"]` library?",
            dir.display()
        ))
    })
}

fn append(builder: &mut tar::Builder<GzEncoder<File>>, path: &str, bytes: &[u8]) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    builder.append_data(&mut header, path, bytes)
}

/// Packs plugin directory `dir` into a package archive, building it first unless `build` is
/// false. The archive goes to `out` (default `<dir>/dist/<id>-<version>.tar.gz`).
pub fn pack(dir: &Path, out: Option<&Path>, build: bool) -> Result<Packed, PackageError> {
    let manifest_file = manifest_file::read(dir)?;
    let manifest = manifest_file.manifest;
    let component_path = if build {
        build_component(dir)?
    } else {
        dir.join(&manifest.component.file)
    };
    let component = fs::read(&component_path).map_err(|e| {
        PackageError::Invalid(format!(
            "cannot read the component {} ({e}); build it or drop --no-build",
            component_path.display()
        ))
    })?;
    let digest = sha256_hex(&component);
    let archive = match out {
        Some(out) => out.to_path_buf(),
        None => dir
            .join("dist")
            .join(format!("{}-{}.tar.gz", manifest.id, manifest.version)),
    };
    let packed_manifest = manifest_with_digest(&manifest_file.text, &digest);
    let packed_path = archive.join(&manifest.id).join(MANIFEST_FILE);
    let reparsed = manifest_file::parse(packed_manifest.as_bytes(), &packed_path)?.manifest;
    if reparsed.component.sha256.as_deref() != Some(digest.as_str()) {
        return Err(PackageError::Invalid(
            "could not record the digest in the manifest".into(),
        ));
    }
    if let Some(parent) = archive.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
    }
    let temp = archive.with_extension("partial");
    let file = File::create(&temp).map_err(io_err("creating", &temp))?;
    let mut builder = tar::Builder::new(GzEncoder::new(file, Compression::best()));
    let root = manifest.id.clone();
    let write = |builder: &mut tar::Builder<GzEncoder<File>>| -> io::Result<()> {
        append(builder, &format!("{root}/{MANIFEST_FILE}"), packed_manifest.as_bytes())?;
        append(builder, &format!("{root}/{}", manifest.component.file), &component)?;
        let mut extras: Vec<PathBuf> = Vec::new();
        for name in ["README.md", "LICENSE", "LICENSE-MIT", "LICENSE-APACHE"] {
            if dir.join(name).is_file() {
                extras.push(PathBuf::from(name));
            }
        }
        let mut stack = vec![PathBuf::from("assets")];
        while let Some(relative) = stack.pop() {
            let Ok(entries) = fs::read_dir(dir.join(&relative)) else {
                continue;
            };
            let mut entries: Vec<_> = entries.flatten().collect();
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                let meta = fs::symlink_metadata(entry.path())?;
                let rel = relative.join(entry.file_name());
                if meta.file_type().is_symlink() {
                    return Err(io::Error::other(format!(
                        "{} is a symlink; packages contain regular files only",
                        entry.path().display()
                    )));
                }
                if meta.is_dir() {
                    stack.push(rel);
                } else if meta.is_file() {
                    extras.push(rel);
                }
            }
        }
        for rel in extras {
            let bytes = fs::read(dir.join(&rel))?;
            append(builder, &format!("{root}/{}", rel.display()), &bytes)?;
        }
        builder.finish()?;
        let encoder = builder.get_mut();
        encoder.try_finish()?;
        encoder.get_ref().sync_all()
    };
    if let Err(e) = write(&mut builder) {
        let _ = fs::remove_file(&temp);
        return Err(PackageError::Io {
            action: "writing",
            path: archive,
            source: e,
        });
    }
    drop(builder);
    fs::rename(&temp, &archive).map_err(io_err("writing", &archive))?;
    let archive_bytes = fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    Ok(Packed {
        id: manifest.id,
        version: manifest.version.to_string(),
        api: manifest.api.to_string(),
        archive,
        sha256: digest,
        component_bytes: component.len() as u64,
        archive_bytes,
    })
}

/// A private staging directory beside `target` (same filesystem, so it can be renamed into
/// place), removed on drop unless kept.
pub struct StagingDir {
    pub path: PathBuf,
    keep: bool,
}

impl StagingDir {
    pub fn beside(parent: &Path, id_hint: &str) -> Result<Self, PackageError> {
        ensure_private_dir(parent).map_err(|e| PackageError::Invalid(e.to_string()))?;
        let suffix = random_hex(6).map_err(|e| PackageError::Invalid(format!("no randomness: {e}")))?;
        Ok(Self {
            path: parent.join(format!(".staging-{id_hint}-{suffix}")),
            keep: false,
        })
    }

    pub fn keep(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_goes_into_the_component_section() {
        let text = "# c\nid = \"x\"\n[component]\nfile = \"x.wasm\" # built\n\n[capabilities]\nhttp = []\n";
        let d = "a".repeat(64);
        let out = manifest_with_digest(text, &d);
        assert_eq!(
            out,
            format!(
                "# c\nid = \"x\"\n[component]\nfile = \"x.wasm\" # built\n\nsha256 = \"{d}\"\n[capabilities]\nhttp = []\n"
            )
        );
        let replaced = manifest_with_digest(&out, &"b".repeat(64));
        assert_eq!(replaced.matches("sha256").count(), 1);
        assert!(replaced.contains(&"b".repeat(64)));
        let last = manifest_with_digest("[component]\nfile = \"x.wasm\"", &d);
        assert!(last.ends_with(&format!("sha256 = \"{d}\"\n")));
    }

    #[test]
    fn package_paths() {
        assert!(allowed_in_package(Path::new("openclaw-plugin.toml"), "x.wasm"));
        assert!(allowed_in_package(Path::new("x.wasm"), "x.wasm"));
        assert!(allowed_in_package(Path::new("assets/a/b.txt"), "x.wasm"));
        assert!(allowed_in_package(Path::new("README.md"), "x.wasm"));
        assert!(!allowed_in_package(Path::new("target/debug/x"), "x.wasm"));
        assert!(!allowed_in_package(Path::new(".env"), "x.wasm"));
        assert!(safe_relative(Path::new("a/b")));
        assert!(!safe_relative(Path::new("../a")));
        assert!(!safe_relative(Path::new("/etc/passwd")));
        assert!(!safe_relative(Path::new("a/../../b")));
    }
}
