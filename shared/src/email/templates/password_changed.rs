//! `password_changed`: the password was changed and other sessions signed out.

use super::{Branding, Rendered, email, escape_html as h, not_you};

pub(super) fn render(b: &Branding, name: &str) -> Rendered {
    let product = &b.product_name;
    let (not_you_text, not_you_html) = not_you(b);
    email(
        b,
        format!("Your {product} password was changed"),
        format!(
            "Hello {name},\n\nThe password of your {product} account was just changed, and every other session was signed out.\n\n{not_you_text}"
        ),
        &format!(
            "<p>Hello {},</p><p>The password of your {} account was just changed, and every other session was signed out.</p>{not_you_html}",
            h(name),
            h(product)
        ),
    )
}
