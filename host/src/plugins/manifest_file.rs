//! Reading a plugin's manifest, `openclaw-plugin.toml`: the one reader discovery, packing,
//! staging, installing, `verify` and `plugins run` use, so each refuses the same manifests with
//! the same words. A packed archive's manifest goes through [`parse`], the second half.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use openclaw_core::plugins::manifest::{MANIFEST_FILE, Manifest, ManifestError};

use crate::state::ids::sha256_hex;

/// A manifest as read: what it says, the text it was parsed from and that text's digest.
#[derive(Debug, Clone)]
pub struct ManifestFile {
    pub path: PathBuf,
    pub manifest: Manifest,
    /// The exact text parsed (packing writes its digest into it).
    pub text: String,
    /// SHA-256 of exactly those bytes (what install records and pins hold).
    pub sha256: String,
}

/// Why a manifest cannot be used; the message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ManifestFileError {
    #[error(
        "cannot read {} ({source}); a plugin directory or package holds its manifest, {MANIFEST_FILE}, \
         beside the component",
        path.display()
    )]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not UTF-8 text; save the manifest as UTF-8", path.display())]
    NotUtf8 { path: PathBuf },
    /// The manifest's own error names the file, the key at fault and what is wrong with it.
    #[error(transparent)]
    Invalid(ManifestError),
}

impl ManifestFileError {
    /// The problem without the file's path, for messages that name the file already.
    pub fn problem(&self) -> String {
        match self {
            Self::Unreadable { source, .. } => format!("cannot read it: {source}"),
            Self::NotUtf8 { .. } => "it is not UTF-8 text; save it as UTF-8".into(),
            Self::Invalid(error) => format!("{}: {}", error.field, error.message),
        }
    }
}

/// Reads and parses `<dir>/openclaw-plugin.toml`.
pub fn read(dir: &Path) -> Result<ManifestFile, ManifestFileError> {
    let path = dir.join(MANIFEST_FILE);
    match fs::read(&path) {
        Ok(bytes) => parse(&bytes, &path),
        Err(source) => Err(ManifestFileError::Unreadable { path, source }),
    }
}

/// Parses manifest `bytes` that came from `path` (a file, or a member of an archive).
pub fn parse(bytes: &[u8], path: &Path) -> Result<ManifestFile, ManifestFileError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ManifestFileError::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    let manifest = Manifest::parse(text, &path.display().to_string()).map_err(ManifestFileError::Invalid)?;
    Ok(ManifestFile {
        path: path.to_path_buf(),
        manifest,
        text: text.to_string(),
        sha256: sha256_hex(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str =
        "id = \"x\"\nversion = \"0.1.0\"\napi = \"0.1.0\"\nkind = \"tool\"\n\n[component]\nfile = \"x.wasm\"\n";

    #[test]
    fn a_manifest_is_read_with_its_text_and_digest() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MANIFEST_FILE), VALID).unwrap();
        let file = read(dir.path()).unwrap();
        assert_eq!(file.manifest.id, "x");
        assert_eq!(file.text, VALID);
        assert_eq!(file.sha256, sha256_hex(VALID.as_bytes()));
        assert_eq!(file.path, dir.path().join(MANIFEST_FILE));
    }

    #[test]
    fn every_refusal_names_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        let shown = path.display().to_string();
        // (case, the file's bytes or none, what the message must say)
        type Case<'a> = (&'a str, Option<&'a [u8]>, &'a [&'a str]);
        let cases: &[Case] = &[
            ("missing", None, &["cannot read", MANIFEST_FILE, "plugin directory or package"]),
            ("not UTF-8", Some(b"id = \"\xff\"\n"), &["not UTF-8", "save the manifest as UTF-8"]),
            ("syntax", Some(b"id = \n"), &["line 1, column"]),
            (
                "bad key",
                Some(b"id = \"x\"\nversion = \"0.1.0\"\napi = \"0.1.0\"\nkind = \"tool\"\nsurprise = 1\n[component]\nfile = \"x.wasm\"\n"),
                &["surprise"],
            ),
        ];
        for (name, bytes, expected) in cases {
            match bytes {
                Some(bytes) => fs::write(&path, bytes).unwrap(),
                None => {
                    let _ = fs::remove_file(&path);
                }
            }
            let message = read(dir.path()).unwrap_err().to_string();
            assert!(message.contains(&shown), "{name}: {message}");
            for part in *expected {
                assert!(message.contains(part), "{name}: {message} lacks {part}");
            }
        }
    }

    #[test]
    fn an_archive_member_is_parsed_the_same_way() {
        let inside = Path::new("/tmp/x-0.1.0.tar.gz/x").join(MANIFEST_FILE);
        let file = parse(VALID.as_bytes(), &inside).unwrap();
        assert_eq!(file.manifest.id, "x");
        let error = parse(b"id = 1\n", &inside).unwrap_err();
        assert!(error.to_string().starts_with(&inside.display().to_string()), "{error}");
        assert!(
            !error.problem().contains(&inside.display().to_string()),
            "{}",
            error.problem()
        );
    }
}
