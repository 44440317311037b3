//! What never leaves the process in a Sentry event: the `Authorization` header, cookies and
//! `Set-Cookie`, request bodies and query strings, any field named like a password, token,
//! secret, code, TOTP or recovery code (in headers, extra data, contexts, breadcrumbs), values
//! written `name=value` with such a name in messages, bearer tokens, and everything about the
//! user but the id. The raw URL path is replaced by the route template when known.

use sentry::protocol::{Breadcrumb, Context, Event, Map, Value};

/// Substrings of a field name that mark its value as secret (matched case-insensitively).
const SECRET_NAMES: &[&str] = &[
    "authorization",
    "cookie",
    "password",
    "passwd",
    "token",
    "secret",
    "code",
    "totp",
    "recovery",
    "api_key",
    "apikey",
    "dsn",
];

/// Replaces what was removed.
pub const FILTERED: &str = "[Filtered]";

/// Whether a field called `name` holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| name.contains(s))
}

/// `event` with every secret removed.
pub fn event(mut event: Event<'static>) -> Event<'static> {
    let route = event.tags.get("route").cloned();
    if let Some(request) = event.request.as_mut() {
        request.cookies = None;
        request.data = None;
        request.query_string = None;
        request.env.clear();
        request.headers.retain(|name, _| !is_secret_name(name));
        if let Some(url) = request.url.as_mut() {
            url.set_query(None);
            if let Some(route) = &route {
                url.set_path(route);
            }
        }
    }
    if let Some(user) = event.user.as_mut() {
        user.email = None;
        user.username = None;
        user.ip_address = None;
        user.other.clear();
    }
    scrub_map(&mut event.extra);
    event.tags.retain(|name, _| !is_secret_name(name));
    for context in event.contexts.values_mut() {
        if let Context::Other(map) = context {
            scrub_map(map);
        }
    }
    if let Some(message) = event.message.as_mut() {
        *message = text(message);
    }
    if let Some(entry) = event.logentry.as_mut() {
        entry.message = text(&entry.message);
        entry.params.clear();
    }
    for exception in &mut event.exception.values {
        if let Some(value) = exception.value.as_mut() {
            *value = text(value);
        }
    }
    for crumb in &mut event.breadcrumbs.values {
        scrub_breadcrumb(crumb);
    }
    event
}

/// `crumb` with every secret removed.
pub fn breadcrumb(mut crumb: Breadcrumb) -> Breadcrumb {
    scrub_breadcrumb(&mut crumb);
    crumb
}

fn scrub_breadcrumb(crumb: &mut Breadcrumb) {
    if let Some(message) = crumb.message.as_mut() {
        *message = text(message);
    }
    scrub_map(&mut crumb.data);
}

fn scrub_map(map: &mut Map<String, Value>) {
    for (name, value) in map.iter_mut() {
        if is_secret_name(name) {
            *value = Value::String(FILTERED.to_owned());
        } else {
            scrub_value(value);
        }
    }
}

fn scrub_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, v) in map.iter_mut() {
                if is_secret_name(name) {
                    *v = Value::String(FILTERED.to_owned());
                } else {
                    scrub_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_value),
        Value::String(s) => *s = text(s),
        _ => {}
    }
}

/// `s` with the value of every `name=value` / `name: value` whose name is secret, and every
/// bearer token, replaced by [`FILTERED`].
pub fn text(s: &str) -> String {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
    let ends_value = |c: char| c.is_whitespace() || ",;&\"'".contains(c);
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(['=', ':', ' ']) {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let separator = &tail[..1];
        let after = &tail[1..];
        let name_start = head
            .char_indices()
            .rev()
            .find(|(_, c)| !is_name_char(*c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let name = &head[name_start..];
        let secret = match separator {
            " " => name.eq_ignore_ascii_case("bearer"),
            _ => is_secret_name(name),
        };
        out.push_str(separator);
        if secret {
            let value = after.trim_start_matches(' ');
            out.push_str(&after[..after.len() - value.len()]);
            let mut end = value.find(ends_value).unwrap_or(value.len());
            // `Authorization: Bearer <token>`: the scheme and the credentials go together.
            if ["bearer", "basic"].contains(&value[..end].to_ascii_lowercase().as_str()) {
                let credentials = value[end..].trim_start_matches(' ');
                end = value.len() - credentials.len()
                    + credentials.find(ends_value).unwrap_or(credentials.len());
            }
            if end > 0 {
                out.push_str(FILTERED);
            }
            rest = &value[end..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised_in_any_case() {
        for name in [
            "Authorization",
            "cookie",
            "Set-Cookie",
            "new_password",
            "refresh_token",
            "client_secret",
            "code",
            "totp_code",
            "recovery_codes",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["user.id", "job.name", "request_id", "route", "queue"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn secret_values_in_text_are_filtered_and_the_rest_kept() {
        assert_eq!(
            text("internal error: password=hunter2 in a query"),
            "internal error: password=[Filtered] in a query"
        );
        assert_eq!(
            text("refresh_token: abc.def, user=42"),
            "refresh_token: [Filtered], user=42"
        );
        assert_eq!(
            text("Authorization: Bearer eyJhbGciOi.x.y"),
            "Authorization: [Filtered]"
        );
        assert_eq!(text("sent Bearer eyJ.x.y to"), "sent Bearer [Filtered] to");
        assert_eq!(
            text("queue: default, at: 12:00"),
            "queue: default, at: 12:00"
        );
    }

    #[test]
    fn nested_fields_are_filtered_by_name() {
        let mut map = Map::new();
        map.insert(
            "body".to_owned(),
            serde_json::json!({"email": "a@b.c", "password": "hunter2", "list": [{"totp": "123456"}]}),
        );
        map.insert("token".to_owned(), Value::String("t".to_owned()));
        scrub_map(&mut map);
        assert_eq!(
            serde_json::to_value(&map).expect("serialises"),
            serde_json::json!({
                "body": {"email": "a@b.c", "password": FILTERED, "list": [{"totp": FILTERED}]},
                "token": FILTERED,
            })
        );
    }
}
