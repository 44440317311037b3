//! `account_exists`: a sign-up was attempted with an address that has an account (sent
//! instead of telling the caller, so registration does not reveal who has an account).

use super::{Branding, Rendered, email, escape_html as h};

pub(super) fn render(b: &Branding) -> Rendered {
    let product = &b.product_name;
    let url = format!("{}/forgot-password", b.frontend_url);
    email(
        b,
        format!("Sign-up attempt on {product}"),
        format!(
            "Hello,\n\nSomeone tried to create a {product} account with this address, which already has one. If it was you, sign in or reset your password: {url}\n\nIf not, you can ignore this email.\n"
        ),
        &format!(
            "<p>Hello,</p><p>Someone tried to create a {} account with this address, which already has one. If it was you, sign in or <a href=\"{}\">reset your password</a>.</p><p>If not, you can ignore this email.</p>",
            h(product),
            h(&url)
        ),
    )
}
