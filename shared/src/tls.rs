//! TLS for connections Keel opens itself (PostgreSQL, Redis): rustls with the ring provider
//! only, trusted roots from a PEM file or the system, and the certificate checks of libpq's
//! `sslmode`s.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{VerifierBuilderError, WebPkiServerVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// Installs ring as the process's rustls provider. Every binary calls this first; the pool
/// builders call it too (for tests). Later calls change nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The provider in use (ring unless a process installed another one first).
fn provider() -> Arc<CryptoProvider> {
    install_crypto_provider();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// Why trusted roots could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    /// The PEM file could not be read or holds no certificate.
    #[error("cannot read CA certificates from {path}: {problem}")]
    File {
        /// The file named in the configuration.
        path: String,
        /// What went wrong.
        problem: String,
    },
    /// None of the system's roots could be loaded.
    #[error("no system CA certificates could be loaded")]
    System,
    /// The crypto provider supports no safe protocol version.
    #[error("the TLS provider cannot be used: {0}")]
    Provider(#[source] Error),
    /// The roots could not make a verifier.
    #[error("cannot build the certificate verifier: {0}")]
    Verifier(#[from] VerifierBuilderError),
}

/// The CAs in the PEM file `path`, or the system's when `None`.
pub fn root_store(path: Option<&Path>) -> Result<RootCertStore, RootsError> {
    let mut store = RootCertStore::empty();
    match path {
        Some(path) => {
            let file_error = |problem: String| RootsError::File {
                path: path.display().to_string(),
                problem,
            };
            for cert in
                CertificateDer::pem_file_iter(path).map_err(|e| file_error(e.to_string()))?
            {
                let cert = cert.map_err(|e| file_error(e.to_string()))?;
                store.add(cert).map_err(|e| file_error(e.to_string()))?;
            }
            if store.is_empty() {
                return Err(file_error("no certificate in it".to_owned()));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(RootsError::System);
            }
        }
    }
    Ok(store)
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Nothing but the handshake signatures: encryption without authentication (libpq's
    /// `require`).
    Nothing,
    /// The chain up to a trusted CA, whatever host name it names (libpq's `verify-ca`).
    Chain,
    /// The chain and the host name (libpq's `verify-full`).
    Full,
}

/// A client configuration checking the server as `verify` says, trusting `roots` (unused for
/// [`Verify::Nothing`]).
pub fn client_config(
    verify: Verify,
    roots: Option<RootCertStore>,
) -> Result<rustls::ClientConfig, RootsError> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = if verify == Verify::Nothing {
        Arc::new(AnyCertificate(Arc::clone(&provider)))
    } else {
        let roots = match roots {
            Some(r) => r,
            None => root_store(None)?,
        };
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()?;
        if verify == Verify::Chain {
            Arc::new(AnyHostName(webpki))
        } else {
            webpki
        }
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(RootsError::Provider)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// Accepts any certificate, still checking that the server holds its key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The web PKI checks except the host name.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
