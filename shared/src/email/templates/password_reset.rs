//! `password_reset`: a link to choose a new password.

use super::{Branding, Rendered, email, escape_html as h};

pub(super) fn render(b: &Branding, name: &str, link: &str) -> Rendered {
    email(
        b,
        format!("Reset your {} password", b.product_name),
        format!(
            "Hello {name},\n\nReset your password with this link (valid for one hour):\n{link}\n\nIf you did not ask for this, ignore this email; your password is unchanged.\n"
        ),
        &format!(
            "<p>Hello {},</p><p>Reset your password (the link is valid for one hour):</p><p><a href=\"{}\">Reset my password</a></p><p>If you did not ask for this, ignore this email; your password is unchanged.</p>",
            h(name),
            h(link)
        ),
    )
}
