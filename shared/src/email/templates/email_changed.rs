//! `email_changed`: sent to the previous address when the account switched to a new one,
//! with a link that undoes the change.

use super::{Branding, Rendered, email, escape_html as h};

pub(super) fn render(b: &Branding, name: &str, new_email: &str, undo_link: &str) -> Rendered {
    let product = &b.product_name;
    email(
        b,
        format!("The email of your {product} account was changed"),
        format!(
            "Hello {name},\n\nThe email address of your {product} account was just changed to {new_email}; this address no longer signs in.\n\nIf this was not you, undo the change with this link (valid for 72 hours), which also signs out every session, then reset your password:\n{undo_link}\n"
        ),
        &format!(
            "<p>Hello {},</p><p>The email address of your {} account was just changed to {}; this address no longer signs in.</p><p>If this was not you, <a href=\"{}\">undo the change</a> (the link is valid for 72 hours and also signs out every session), then reset your password.</p>",
            h(name),
            h(product),
            h(new_email),
            h(undo_link)
        ),
    )
}
