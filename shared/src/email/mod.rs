//! Outgoing email: templates and the SMTP mailer (lettre). Only the worker sends; the api
//! enqueues a `send_email` job.

pub mod templates;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::EmailConfig;
pub use templates::{Branding, Email, LegacyError, Rendered};

/// Why sending failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The recipient is not a valid address: retrying cannot help.
    #[error("invalid recipient address")]
    InvalidAddress(String),
    /// The message could not be built.
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
    /// The SMTP server refused or could not be reached (worth a retry).
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// Sends rendered templates over SMTP (`SMTP_URL`).
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    branding: Branding,
}

impl Mailer {
    /// Builds the transport from `SMTP_URL` (checked at startup; it connects lazily).
    pub fn new(cfg: &EmailConfig) -> Result<Self, SendError> {
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(cfg.smtp_url.expose_secret())?
                .timeout(Some(cfg.smtp_timeout))
                .build();
        Ok(Self {
            transport,
            from: cfg.from.clone(),
            branding: Branding {
                product_name: cfg.product_name.clone(),
                frontend_url: cfg.frontend_url.clone(),
            },
        })
    }

    /// Product name and links for templates.
    pub fn branding(&self) -> Branding {
        self.branding.clone()
    }

    /// Sends `message` to `to` with a Message-ID derived from `idempotency_key` (so a
    /// duplicate that slipped through is recognisable downstream). Returns the Message-ID.
    pub async fn send(
        &self,
        to: &str,
        message: &Rendered,
        idempotency_key: &str,
    ) -> Result<String, SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| SendError::InvalidAddress(to.to_owned()))?;
        let message_id = format!(
            "<{}@{}>",
            templates::message_id_part(idempotency_key),
            self.from.email.domain()
        );
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            .message_id(Some(message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                message.html.clone(),
            ))?;
        self.transport.send(email).await?;
        Ok(message_id)
    }
}
