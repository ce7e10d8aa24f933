//! A tiny sandbox image made with no registry: Debian's `busybox-static` package, unpacked into
//! a root filesystem and imported into the engine. Tests use it; `image/build-test-image.sh` does
//! the same with the docker CLI. Built once per engine and reused by tag.

use std::path::{Path, PathBuf};

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use crate::engine::{Engine, is_not_found};

pub const TEST_IMAGE: &str = "openclaw-sandbox-test:busybox";
/// Uid/gid of the unprivileged user in the test image (`sandbox`).
pub const TEST_USER: &str = "1000:1000";

/// Applets the tests and the exec kill script need.
const APPLETS: &[&str] = &[
    "sh", "ash", "sleep", "id", "cat", "echo", "touch", "ls", "grep", "tr", "kill", "env", "head", "tail", "wc", "sed",
    "seq", "ps", "mkdir", "rm", "wget", "nc", "dd", "true", "false", "test", "[", "stat", "awk", "pwd", "whoami",
    "hostname", "uname", "nproc", "timeout", "yes", "mount", "ip",
];

#[derive(Debug, thiserror::Error)]
#[error("cannot build the test image {image}: {step}: {cause}; {fix}")]
pub struct ImageBuildError {
    pub image: String,
    pub step: &'static str,
    pub cause: String,
    pub fix: &'static str,
}

/// Makes sure `tag` exists on the engine, building it from `busybox-static` if not. The `.deb`
/// is looked for in `cache_dir` and downloaded there with `apt-get download` when absent.
pub async fn ensure_test_image(engine: &Engine, tag: &str, cache_dir: &Path) -> Result<(), ImageBuildError> {
    let fail = |step: &'static str, cause: String, fix: &'static str| ImageBuildError {
        image: tag.to_string(),
        step,
        cause,
        fix,
    };
    match engine.docker().inspect_image(tag).await {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(fail("inspect", e.to_string(), "check that the Docker daemon answers")),
    }
    let deb = busybox_deb(cache_dir).await.map_err(|cause| {
        fail(
            "get busybox-static",
            cause,
            "run `apt-get update` (Debian's package mirror must be reachable) or put busybox-static_*.deb in the cache dir",
        )
    })?;
    let busybox = busybox_binary(&deb)
        .await
        .map_err(|cause| fail("unpack busybox-static", cause, "check that dpkg-deb is installed"))?;
    let rootfs = rootfs_tar(&busybox).map_err(|e| fail("assemble root filesystem", e.to_string(), "report a bug"))?;
    let (repo, version) = tag.rsplit_once(':').unwrap_or((tag, "latest"));
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(version)
        .build();
    let mut progress = engine
        .docker()
        .create_image(Some(options), Some(bollard::body_full(rootfs.into())), None);
    while let Some(step) = progress.next().await {
        let info = step.map_err(|e| fail("docker import", e.to_string(), "check the daemon's log"))?;
        if let Some(error) = info.error_detail.and_then(|d| d.message) {
            return Err(fail("docker import", error, "check the daemon's log"));
        }
    }
    Ok(())
}

async fn busybox_deb(cache_dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(cache_dir).map_err(|e| format!("{}: {e}", cache_dir.display()))?;
    if let Some(found) = find_deb(cache_dir)? {
        return Ok(found);
    }
    let download = || async {
        tokio::process::Command::new("apt-get")
            .args(["download", "busybox-static"])
            .current_dir(cache_dir)
            .output()
            .await
            .map_err(|e| format!("apt-get: {e}"))
    };
    let mut out = download().await?;
    if !out.status.success() {
        // A fresh machine has no package lists yet; fetch them once and try again.
        let update = tokio::process::Command::new("apt-get")
            .args(["update", "-qq"])
            .output()
            .await
            .map_err(|e| format!("apt-get update: {e}"))?;
        if update.status.success() {
            out = download().await?;
        }
    }
    if !out.status.success() {
        return Err(format!(
            "apt-get download failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    find_deb(cache_dir)?.ok_or_else(|| "apt-get download produced no busybox-static .deb".to_string())
}

fn find_deb(dir: &Path) -> Result<Option<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(entries.flatten().map(|e| e.path()).find(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("busybox-static_") && n.ends_with(".deb"))
    }))
}

async fn busybox_binary(deb: &Path) -> Result<Vec<u8>, String> {
    let out = tokio::process::Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .output()
        .await
        .map_err(|e| format!("dpkg-deb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "dpkg-deb failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        if path.as_os_str() == "./bin/busybox" || path.as_os_str() == "bin/busybox" {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(|e| e.to_string())?;
            return Ok(bytes);
        }
    }
    Err(format!("{} holds no bin/busybox", deb.display()))
}

/// A root filesystem: busybox with its applets, the directories the sandbox mounts over, and a
/// passwd with root and an unprivileged `sandbox` user.
pub fn rootfs_tar(busybox: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (dir, mode) in [
        ("bin", 0o755),
        ("etc", 0o755),
        ("tmp", 0o1777),
        ("var", 0o755),
        ("var/tmp", 0o1777),
        ("run", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("dev", 0o755),
        ("root", 0o700),
        ("workspace", 0o777),
        ("agent", 0o755),
        ("usr", 0o755),
        ("usr/bin", 0o755),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(mode);
        header.set_size(0);
        builder.append_data(&mut header, dir, std::io::empty())?;
    }
    let file = |path: &str, mode: u32, data: &[u8], builder: &mut tar::Builder<Vec<u8>>| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, path, data)
    };
    file("bin/busybox", 0o755, busybox, &mut builder)?;
    file(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/workspace:/bin/sh\n",
        &mut builder,
    )?;
    file("etc/group", 0o644, b"root:x:0:\nsandbox:x:1000:\n", &mut builder)?;
    for applet in APPLETS {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        builder.append_link(&mut header, format!("bin/{applet}"), "busybox")?;
    }
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_mode(0o777);
    header.set_size(0);
    builder.append_link(&mut header, "usr/bin/env", "/bin/busybox")?;
    builder.into_inner()
}
