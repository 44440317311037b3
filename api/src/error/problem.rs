//! The RFC 9457 problem document, and its place in the OpenAPI document.

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::{OpenApi, Ref, RefOr};

use super::Answer;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference identifying the problem type; `about:blank` when `code` says it all.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub problem_type: String,
    /// Short summary of the problem type.
    #[schema(example = "Not Found")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 404)]
    pub status: u16,
    /// Explanation of this occurrence, safe to show to the client.
    #[schema(example = "No resource at /api/v1/nothing.")]
    pub detail: String,
    /// Stable machine-readable error code; clients branch on this, never on `detail`.
    #[schema(example = "not_found")]
    pub code: String,
    /// The request fields at fault, when the problem is in the request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name (a JSON pointer-like path such as `email`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl Problem {
    pub(super) fn from_parts(answer: Answer) -> Self {
        Self {
            problem_type: "about:blank".to_owned(),
            title: answer
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_owned(),
            status: answer.status.as_u16(),
            detail: answer.detail,
            code: answer.code.to_owned(),
            errors: answer.field.into_iter().collect(),
        }
    }
}

/// Handlers document their problem answers as `body = Problem`; this gives every such
/// response the `application/problem+json` media type they are really sent with, so no
/// annotation repeats it (or forgets it).
pub struct ProblemContentType;

impl utoipa::Modify for ProblemContentType {
    fn modify(&self, openapi: &mut OpenApi) {
        let problem = Ref::from_schema_name("Problem");
        for item in openapi.paths.paths.values_mut() {
            for op in crate::openapi::operations(item) {
                for response in op.responses.responses.values_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    let is_problem = response.content.get("application/json").is_some_and(|c| {
                        matches!(c, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(r)) if *r == problem))
                    });
                    if is_problem
                        && let Some(content) = response.content.shift_remove("application/json")
                    {
                        response.content.insert(PROBLEM_JSON.to_owned(), content);
                    }
                }
            }
        }
    }
}
