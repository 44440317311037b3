//! `account_locked`: sign-in is paused after too many failed passwords; a reset unlocks it.

use super::{Branding, Rendered, email, escape_html as h};

pub(super) fn render(b: &Branding, name: &str, minutes: u64) -> Rendered {
    let product = &b.product_name;
    let url = format!("{}/forgot-password", b.frontend_url);
    email(
        b,
        format!("Sign-in to your {product} account is paused"),
        format!(
            "Hello {name},\n\nThere were too many failed sign-in attempts on your {product} account, so signing in with a password is paused for up to {minutes} minutes.\n\nIf this was you, wait, or reset your password to sign in now: {url}\nIf it was not you, someone may be guessing your password: reset it now.\n"
        ),
        &format!(
            "<p>Hello {},</p><p>There were too many failed sign-in attempts on your {} account, so signing in with a password is paused for up to {minutes} minutes.</p><p>If this was you, wait, or <a href=\"{}\">reset your password</a> to sign in now. If it was not you, someone may be guessing your password: reset it now.</p>",
            h(name),
            h(product),
            h(&url)
        ),
    )
}
