//! object_store's S3 requests sent with Keel's own HTTP client (reqwest 0.12, rustls with
//! ring), so the S3 backend adds no second HTTP stack and no other crypto provider.

use async_trait::async_trait;
use http_body_util::BodyExt;
use object_store::ClientOptions;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpResponseBody, HttpService,
};

/// Hands object_store a client built on [`reqwest::Client`].
#[derive(Debug, Clone)]
pub(super) struct Connector(pub(super) reqwest::Client);

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(Service(self.0.clone())))
    }
}

#[derive(Debug)]
struct Service(reqwest::Client);

#[async_trait]
impl HttpService for Service {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = req.into_parts();
        // Uploads are at most a few MiB: one buffer is simpler than a stream.
        let body = body.collect().await?.to_bytes();
        let url = reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|e| HttpError::new(HttpErrorKind::Request, e))?;
        let mut request = reqwest::Request::new(parts.method, url);
        *request.headers_mut() = parts.headers;
        *request.body_mut() = Some(body.into());
        let response = self.0.execute(request).await.map_err(classify)?;
        let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
        let body =
            HttpResponseBody::new(body.map_err(|e| HttpError::new(HttpErrorKind::Interrupted, e)));
        Ok(HttpResponse::from_parts(parts, body))
    }
}

/// object_store retries connect, request and timeout errors.
fn classify(e: reqwest::Error) -> HttpError {
    let kind = if e.is_connect() {
        HttpErrorKind::Connect
    } else if e.is_timeout() {
        HttpErrorKind::Timeout
    } else if e.is_decode() || e.is_body() {
        HttpErrorKind::Decode
    } else {
        HttpErrorKind::Request
    };
    HttpError::new(kind, e)
}
