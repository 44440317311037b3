//! Every handler, one per file, registered in [`configure`] (which also feeds the OpenAPI
//! document: a handler not registered here is neither served nor documented).

pub mod health;
pub mod meta;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz::healthz)
        .service(health::readyz::readyz)
        .service(meta::schema::schema);
}
