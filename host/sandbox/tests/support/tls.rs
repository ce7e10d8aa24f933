//! Mutual TLS for the remote-engine tests: certificates made at test time with the `openssl` CLI
//! (nothing secret is checked in, nothing expires between runs), and a relay that stands in for a
//! daemon started with `--tlsverify`, in front of the local socket.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

const OPENSSL: &str = "/usr/bin/openssl";
/// P-256 keys: fast to make, and what both rustls and the docker CLI accept.
const NEW_KEY: [&str; 8] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-x509",
];

fn openssl(args: &[&str]) {
    let out = Command::new(OPENSSL)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("the TLS tests need {OPENSSL}: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// A certificate authority in `dir`.
pub struct Authority {
    pub cert: PathBuf,
    key: PathBuf,
}

pub enum Role {
    /// SAN IP:127.0.0.1 and DNS:localhost, so the client can check it by the address it dials.
    Server,
    Client,
}

impl Authority {
    /// Every authority gets the same subject on purpose: a certificate from another authority
    /// then names the right issuer, so only the signature check can turn it away.
    pub fn new(dir: &Path, name: &str) -> Self {
        let cert = dir.join(format!("{name}-ca.pem"));
        let key = dir.join(format!("{name}-ca-key.pem"));
        let mut args = vec!["req"];
        args.extend(NEW_KEY);
        args.extend([
            "-keyout",
            path_str(&key),
            "-out",
            path_str(&cert),
            "-subj",
            "/CN=openclaw test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&args);
        Self { cert, key }
    }

    /// Writes `<stem>-cert.pem` and `<stem>-key.pem` (PKCS#8) into `dir`, signed by this
    /// authority, and returns their paths.
    pub fn issue(&self, dir: &Path, stem: &str, role: Role) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{stem}-cert.pem"));
        let key = dir.join(format!("{stem}-key.pem"));
        let (subject, extensions): (&str, &[&str]) = match role {
            Role::Server => (
                "/CN=localhost",
                &[
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "extendedKeyUsage=serverAuth",
                ],
            ),
            Role::Client => ("/CN=openclaw test client", &["extendedKeyUsage=clientAuth"]),
        };
        let mut args = vec!["req"];
        args.extend(NEW_KEY);
        args.extend([
            "-CA",
            path_str(&self.cert),
            "-CAkey",
            path_str(&self.key),
            "-keyout",
            path_str(&key),
            "-out",
            path_str(&cert),
            "-subj",
            subject,
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ]);
        for ext in extensions {
            args.extend(["-addext", ext]);
        }
        openssl(&args);
        (cert, key)
    }

    /// A `DOCKER_CERT_PATH` directory as the docker CLI lays it out: `ca.pem` is this authority
    /// (what the client trusts the engine by), `cert.pem`/`key.pem` a client identity issued by
    /// `client_issuer`.
    pub fn cert_path(&self, dir: &Path, name: &str, client_issuer: &Authority) -> PathBuf {
        let out = dir.join(name);
        std::fs::create_dir_all(&out).unwrap();
        std::fs::copy(&self.cert, out.join("ca.pem")).unwrap();
        let (cert, key) = client_issuer.issue(dir, &format!("{name}-client"), Role::Client);
        std::fs::rename(cert, out.join("cert.pem")).unwrap();
        std::fs::rename(key, out.join("key.pem")).unwrap();
        out
    }
}

/// A listener on 127.0.0.1 that only lets through clients whose certificate `client_ca` signed,
/// and relays them to the local engine socket. Stops when dropped.
pub struct TlsRelay {
    pub port: u16,
    /// Handshakes that completed, client certificate checked: only these reach the engine.
    pub handshakes: Arc<AtomicUsize>,
    /// Handshakes that failed, by either side. Shows a refused client really got this far.
    pub refused: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsRelay {
    pub async fn start(server_cert: &Path, server_key: &Path, client_ca: &Path) -> Self {
        // Explicit provider: the process default may be unset, or set by another test, and
        // rustls panics rather than guess.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(client_ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        // The builder's default demands a client certificate; anonymous clients are refused.
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .unwrap();
        let chain = CertificateDer::pem_file_iter(server_cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(server_key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let (ok, bad) = (handshakes.clone(), refused.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, ok, bad) = (acceptor.clone(), ok.clone(), bad.clone());
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(tcp).await {
                        Ok(tls) => tls,
                        Err(_) => {
                            bad.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    };
                    ok.fetch_add(1, Ordering::SeqCst);
                    let mut unix = tokio::net::UnixStream::connect(openclaw_sandbox::endpoint::DEFAULT_SOCKET)
                        .await
                        .unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut unix).await;
                });
            }
        });
        Self {
            port,
            handshakes,
            refused,
            task,
        }
    }

    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }

    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

impl Drop for TlsRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
