//! Typed identifiers. A `UserId` cannot be passed where a `SessionId` is expected, and a
//! hashed token cannot be confused with the token itself. They are stored as PostgreSQL
//! `uuid` / `bytea` through the `ToSql`/`FromSql` impls here (no I/O: encoding only).

use std::fmt;

use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use uuid::Uuid;

type BoxError = Box<dyn std::error::Error + Sync + Send>;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (UUID v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The UUID inside.
            pub fn as_uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ToSql for $name {
            fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
                self.0.to_sql(ty, out)
            }

            fn accepts(ty: &Type) -> bool {
                <Uuid as ToSql>::accepts(ty)
            }

            to_sql_checked!();
        }

        impl<'a> FromSql<'a> for $name {
            fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
                Uuid::from_sql(ty, raw).map(Self)
            }

            fn accepts(ty: &Type) -> bool {
                <Uuid as FromSql>::accepts(ty)
            }
        }
    };
}

uuid_id!(
    /// A user (`users.id`).
    UserId
);
uuid_id!(
    /// A signed-in session (`sessions.id`), the `sid` claim of its access tokens.
    SessionId
);

/// The SHA-256 of an opaque token (refresh token, email link, MFA token): what the database
/// stores and looks up, never the token itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Wraps a SHA-256 digest.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell hashes apart in a log; the whole hash is not needed.
        write!(
            f,
            "TokenHash({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

impl ToSql for TokenHash {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.0.as_slice().to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <&[u8] as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_round_trip_through_uuid_and_json() {
        let (a, b) = (UserId::new(), UserId::new());
        assert!(a < b, "v7 ids sort by creation");
        assert_eq!(UserId::from(a.as_uuid()), a);
        let json = serde_json::to_string(&a).expect("serialises");
        assert_eq!(json, format!("\"{a}\""));
        assert_eq!(serde_json::from_str::<UserId>(&json).expect("decodes"), a);
    }

    #[test]
    fn a_token_hash_does_not_print_itself() {
        let debug = format!("{:?}", TokenHash::from_digest([0xab; 32]));
        assert!(debug.starts_with("TokenHash(abababab"), "{debug}");
        assert!(debug.len() < 30, "{debug}");
    }
}
