//! The document's parts that come from configuration: contact, license, servers and the
//! external-docs link (`KEEL_API_CONTACT_*`, `KEEL_API_LICENSE`, `KEEL_PUBLIC_URL`,
//! `KEEL_API_EXTRA_SERVERS`, `KEEL_API_GUIDE_URL`).

use keel_shared::config::DocsConfig;
use utoipa::openapi::OpenApi;
use utoipa::openapi::external_docs::ExternalDocsBuilder;
use utoipa::openapi::info::{ContactBuilder, LicenseBuilder};
use utoipa::openapi::server::ServerBuilder;

/// Writes the configured parts into `doc`.
pub fn apply(doc: &mut OpenApi, docs: &DocsConfig) {
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.info.contact = Some(
        ContactBuilder::new()
            .name(Some(docs.contact_name.as_str()))
            .email(Some(docs.contact_email.as_str()))
            .build(),
    );
    doc.info.license = Some(
        LicenseBuilder::new()
            .name(docs.license.as_str())
            .identifier(Some(docs.license.as_str()))
            .build(),
    );
    let mut servers = vec![
        ServerBuilder::new()
            .url(docs.public_url.as_str())
            .description(Some("This deployment (`KEEL_PUBLIC_URL`)."))
            .build(),
    ];
    servers.extend(docs.extra_servers.iter().map(|url| {
        ServerBuilder::new()
            .url(url.as_str())
            .description(Some("Also configured (`KEEL_API_EXTRA_SERVERS`)."))
            .build()
    }));
    doc.servers = Some(servers);
    doc.external_docs = Some(
        ExternalDocsBuilder::new()
            .url(docs.guide_url.as_str())
            .description(Some(
                "The API guide: authentication flow, errors, conventions, client SDKs.",
            ))
            .build(),
    );
}
