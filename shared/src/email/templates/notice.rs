//! `notice`: a free-form message with its own subject.

use super::{Branding, Rendered, email, escape_html as h};

pub(super) fn render(b: &Branding, subject: &str, message: &str) -> Rendered {
    email(
        b,
        subject.to_owned(),
        format!("{message}\n"),
        &format!("<p>{}</p>", h(message)),
    )
}
