//! `two_factor_disabled`: two-factor authentication was turned off.

use super::{Branding, Rendered, email, escape_html as h, not_you};

pub(super) fn render(b: &Branding, name: &str) -> Rendered {
    let product = &b.product_name;
    let (not_you_text, not_you_html) = not_you(b);
    email(
        b,
        format!("Two-factor authentication is off for {product}"),
        format!(
            "Hello {name},\n\nTwo-factor authentication was turned off for your {product} account.\n\n{not_you_text}"
        ),
        &format!(
            "<p>Hello {},</p><p>Two-factor authentication was turned off for your {} account.</p>{not_you_html}",
            h(name),
            h(product)
        ),
    )
}
