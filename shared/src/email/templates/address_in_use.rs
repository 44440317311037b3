//! `address_in_use`: someone tried to move another account to this address, which already has
//! one (sent instead of telling the caller, so the change does not reveal who has an account).

use super::{Branding, Rendered, email, escape_html as h};

pub(super) fn render(b: &Branding) -> Rendered {
    let product = &b.product_name;
    email(
        b,
        format!("Email change attempt on {product}"),
        format!(
            "Hello,\n\nSomeone signed in to a {product} account tried to change its email to this address, which already has an account. Nothing was changed.\n\nIf this was you, sign in to the account this address belongs to instead.\n"
        ),
        &format!(
            "<p>Hello,</p><p>Someone signed in to a {} account tried to change its email to this address, which already has an account. Nothing was changed.</p><p>If this was you, sign in to the account this address belongs to instead.</p>",
            h(product)
        ),
    )
}
