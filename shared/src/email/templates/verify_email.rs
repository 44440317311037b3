//! `verify_email`: confirm an address.

use super::{Branding, Rendered, email, escape_html as h};

pub(super) fn render(b: &Branding, name: &str, link: &str) -> Rendered {
    let product = &b.product_name;
    email(
        b,
        format!("Confirm your email for {product}"),
        format!(
            "Hello {name},\n\nConfirm your email address by opening this link:\n{link}\n\nIf you did not sign up for {product}, ignore this email.\n"
        ),
        &format!(
            "<p>Hello {},</p><p>Confirm your email address:</p><p><a href=\"{}\">Confirm my email</a></p><p>If you did not sign up for {}, ignore this email.</p>",
            h(name),
            h(link),
            h(product)
        ),
    )
}
