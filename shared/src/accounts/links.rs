//! Emailed single-use links: verify an address, reset a password, undo an email change.
//!
//! A request only queues a [`SendEmailLink`] job (purpose, address, user when known) in its
//! transaction. The token is made by [`issue`], which the worker runs in the transaction that
//! sends the email: only its hash is stored, and the token itself exists only in the email —
//! never in the outbox, the queue or the dead set. Because the request does the same work
//! whether or not an address has an account (it does not even look), its timing reveals
//! nothing either.

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::{RESET_TTL, StoreError, UNDO_EMAIL_CHANGE_TTL, VERIFY_TTL};
use crate::auth::tokens;
use crate::db::user_tokens::{self, Purpose};
use crate::db::users;
use crate::domain::UserId;
use crate::email::Email;
use crate::jobs::outbox::enqueue_in_tx;
use crate::jobs::payloads::{LinkPurpose, SendEmailLink};

/// Queues a link email of `purpose` to `to` in the caller's transaction.
pub(super) async fn queue(
    tx: &impl GenericClient,
    purpose: LinkPurpose,
    to: &str,
    user: Option<UserId>,
) -> Result<(), StoreError> {
    enqueue_in_tx(
        tx,
        &SendEmailLink {
            idempotency_key: format!("link:{}", Uuid::now_v7()),
            purpose,
            to: to.to_owned(),
            user,
        },
    )
    .await?;
    Ok(())
}

/// The template name a link email of `purpose` is sent with.
pub fn template(purpose: LinkPurpose) -> &'static str {
    match purpose {
        LinkPurpose::VerifyEmail => "verify_email",
        LinkPurpose::ResetPassword => "password_reset",
        LinkPurpose::UndoEmailChange => "email_changed",
    }
}

/// Makes the link of `job` (in the sender's transaction): a new token whose hash is stored
/// (earlier links of the same purpose stop working), and the email carrying it. `None` when
/// there is nothing to send: no account has the address, or (for a resend) it is verified
/// already.
pub async fn issue(
    c: &impl GenericClient,
    frontend_url: &str,
    job: &SendEmailLink,
) -> Result<Option<Email>, tokio_postgres::Error> {
    let user = match job.user {
        Some(id) => users::by_id(c, id).await?,
        None => users::by_email(c, &job.to).await?,
    };
    let Some(user) = user else {
        return Ok(None);
    };
    let resend_to_verified = job.purpose == LinkPurpose::VerifyEmail
        && job.user.is_none()
        && user.email_verified_at.is_some();
    if resend_to_verified {
        return Ok(None);
    }
    let (purpose, ttl, path) = match job.purpose {
        LinkPurpose::VerifyEmail => (Purpose::VerifyEmail, VERIFY_TTL, "verify-email"),
        LinkPurpose::ResetPassword => (Purpose::ResetPassword, RESET_TTL, "reset-password"),
        LinkPurpose::UndoEmailChange => (
            Purpose::UndoEmailChange,
            UNDO_EMAIL_CHANGE_TTL,
            "undo-email-change",
        ),
    };
    let token = tokens::generate();
    if job.purpose != LinkPurpose::UndoEmailChange {
        user_tokens::revoke_all(c, user.id, purpose).await?;
    }
    // The address the token stands for: the one being verified, the account's for a reset,
    // the previous one for an undo.
    let address = match job.purpose {
        LinkPurpose::ResetPassword => &user.email,
        LinkPurpose::VerifyEmail | LinkPurpose::UndoEmailChange => &job.to,
    };
    user_tokens::insert(c, &tokens::hash(&token), user.id, purpose, address, ttl).await?;
    let link = format!("{frontend_url}/{path}?token={token}");
    Ok(Some(match job.purpose {
        LinkPurpose::VerifyEmail => Email::VerifyEmail {
            name: user.name,
            link,
        },
        LinkPurpose::ResetPassword => Email::PasswordReset {
            name: user.name,
            link,
        },
        LinkPurpose::UndoEmailChange => Email::EmailChanged {
            name: user.name,
            new_email: user.email,
            undo_link: link,
        },
    }))
}
