//! `/api/v1/auth/*`: registration, email verification, login, tokens, passwords, sessions.

pub mod email_change_undo;
pub mod login;
pub mod login_2fa;
pub mod logout;
pub mod oauth_authorize;
pub mod oauth_callback;
pub mod password_change;
pub mod password_forgot;
pub mod password_reset;
pub mod refresh;
pub mod register;
pub mod resend_verification;
pub mod session_delete;
pub mod sessions_list;
pub mod two_factor_disable;
pub mod two_factor_enable;
pub mod two_factor_setup;
pub mod types;
pub mod verify_email;
