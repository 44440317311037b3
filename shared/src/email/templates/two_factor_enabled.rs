//! `two_factor_enabled`: two-factor authentication was turned on.

use super::{Branding, Rendered, email, escape_html as h, not_you};

pub(super) fn render(b: &Branding, name: &str) -> Rendered {
    let product = &b.product_name;
    let (not_you_text, not_you_html) = not_you(b);
    email(
        b,
        format!("Two-factor authentication is on for {product}"),
        format!(
            "Hello {name},\n\nTwo-factor authentication was turned on for your {product} account. Keep your recovery codes somewhere safe.\n\n{not_you_text}"
        ),
        &format!(
            "<p>Hello {},</p><p>Two-factor authentication was turned on for your {} account. Keep your recovery codes somewhere safe.</p>{not_you_html}",
            h(name),
            h(product)
        ),
    )
}
