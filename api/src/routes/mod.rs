//! Every handler, one per file, registered in [`configure`] (which also feeds the OpenAPI
//! document: a handler not registered here is neither served nor documented).

pub mod auth;
pub mod health;
pub mod media;
pub mod meta;
pub mod users;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz::healthz)
        .service(health::readyz::readyz)
        .service(meta::schema::schema)
        .service(auth::register::register)
        .service(auth::verify_email::verify_email)
        .service(auth::email_change_undo::email_change_undo)
        .service(auth::resend_verification::resend_verification)
        .service(auth::login::login)
        .service(auth::login_2fa::login_2fa)
        .service(auth::oauth_authorize::oauth_authorize)
        .service(auth::oauth_callback::oauth_callback)
        .service(auth::two_factor_setup::two_factor_setup)
        .service(auth::two_factor_enable::two_factor_enable)
        .service(auth::two_factor_disable::two_factor_disable)
        .service(auth::refresh::refresh)
        .service(auth::logout::logout)
        .service(auth::password_forgot::password_forgot)
        .service(auth::password_reset::password_reset)
        .service(auth::password_change::password_change)
        .service(auth::sessions_list::sessions_list)
        .service(auth::session_delete::session_delete)
        .service(users::me_get::me_get)
        .service(users::me_patch::me_patch)
        .service(users::me_delete::me_delete)
        .service(users::avatar_put::avatar_put)
        .service(users::avatar_delete::avatar_delete)
        .service(media::avatar_get::avatar_get);
}
