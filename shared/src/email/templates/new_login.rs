//! `new_login`: the account was signed in to, from where and with what.

use super::{Branding, Rendered, email, escape_html as h, not_you};

pub(super) fn render(b: &Branding, name: &str, ip: &str, user_agent: &str) -> Rendered {
    let product = &b.product_name;
    let (not_you_text, not_you_html) = not_you(b);
    email(
        b,
        format!("New sign-in to {product}"),
        format!(
            "Hello {name},\n\nYour {product} account was just signed in to from {ip} ({user_agent}).\n\n{not_you_text}"
        ),
        &format!(
            "<p>Hello {},</p><p>Your {} account was just signed in to from {} ({}).</p>{not_you_html}",
            h(name),
            h(product),
            h(ip),
            h(user_agent)
        ),
    )
}
