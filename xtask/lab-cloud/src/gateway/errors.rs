//! Errors in the shape each AWS protocol gives them, so that every SDK (the Rust SDK, botocore, the AWS CLI) reads
//! the error's code and message as it would from AWS:
//! - AWS JSON 1.0/1.1: the code in `__type` and the `x-amzn-ErrorType` header, the text in `message`;
//! - REST-JSON (Lambda): the same header, the text in `Message`;
//! - AWS query (IAM, STS, SNS, CloudWatch): `<ErrorResponse><Error><Type/><Code/><Message/></Error>...`;
//! - REST-XML (S3): `<Error><Code/><Message/><RequestId/></Error>`;
//! - smithy RPC v2 CBOR (CloudWatch): a CBOR map with `__type` and `message`, and, CloudWatch being
//!   `@awsQueryCompatible`, its query error code in the `x-amzn-query-error` header (`Code;Sender`).
//!
//! (Smithy's protocol specifications: "AWS JSON 1.1 protocol", "AWS restJson1 protocol", "AWS query protocol",
//! "AWS restXml protocol", each under "Operation error serialization".)

use super::call::Protocol;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Response, StatusCode};
use serde_json::json;

/// An error the gateway answers with, instead of passing the request on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> AwsError {
        AwsError {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// HTTP 400 with this code: the shape of most validation errors.
    pub fn bad_request(code: &str, message: impl Into<String>) -> AwsError {
        AwsError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A denial, named as the protocol's services name it: `AccessDeniedException` (JSON, REST-JSON) or
    /// `AccessDenied` (query, REST-XML), HTTP 400 for the JSON protocols (Kinesis and Firehose answer 400) and 403
    /// for the others.
    pub fn access_denied(protocol: Protocol, message: impl Into<String>) -> AwsError {
        match protocol {
            Protocol::Json => AwsError::new(StatusCode::BAD_REQUEST, "AccessDeniedException", message),
            Protocol::RestJson => AwsError::new(StatusCode::FORBIDDEN, "AccessDeniedException", message),
            Protocol::Query | Protocol::RestXml | Protocol::Cbor => {
                AwsError::new(StatusCode::FORBIDDEN, "AccessDenied", message)
            }
        }
    }

    /// The response a client of `protocol` reads this error from.
    pub fn response(&self, protocol: Protocol) -> Response<Body> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (content_type, body) = match protocol {
            Protocol::Json => (
                "application/x-amz-json-1.1",
                json!({ "__type": self.code, "message": self.message })
                    .to_string()
                    .into_bytes(),
            ),
            Protocol::Cbor => (
                "application/cbor",
                super::cloudwatch::cbor::from_json(
                    &json!({ "__type": self.code, "message": self.message }),
                    &super::cloudwatch::SHAPES,
                ),
            ),
            Protocol::RestJson => (
                "application/json",
                json!({ "Type": "User", "Message": self.message })
                    .to_string()
                    .into_bytes(),
            ),
            Protocol::Query => (
                "text/xml",
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error>\
                     <RequestId>{request_id}</RequestId></ErrorResponse>",
                    xml_text(&self.code),
                    xml_text(&self.message)
                )
                .into_bytes(),
            ),
            Protocol::RestXml => (
                "application/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
                     <RequestId>{request_id}</RequestId></Error>",
                    xml_text(&self.code),
                    xml_text(&self.message)
                )
                .into_bytes(),
            ),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amzn-requestid", value.clone());
            headers.insert("x-amz-request-id", value);
        }
        if matches!(protocol, Protocol::Json | Protocol::RestJson)
            && let Ok(value) = HeaderValue::from_str(&self.code)
        {
            headers.insert("x-amzn-errortype", value);
        }
        if protocol == Protocol::Cbor {
            headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
            if let Ok(value) = HeaderValue::from_str(&format!("{};Sender", self.code)) {
                headers.insert("x-amzn-query-error", value);
            }
        }
        response
    }
}

/// Text escaped for an XML element.
pub fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(response: Response<Body>) -> String {
        String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn each_protocol_gets_its_own_error_shape() {
        let error = AwsError::access_denied(Protocol::Json, "no <way> & no");
        let json = error.response(Protocol::Json);
        assert_eq!(json.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json.headers()["x-amzn-errortype"], "AccessDeniedException");
        let text: serde_json::Value = serde_json::from_str(&body(json).await).unwrap();
        assert_eq!(text["__type"], "AccessDeniedException");
        assert_eq!(text["message"], "no <way> & no");

        let xml = AwsError::access_denied(Protocol::Query, "no <way> & no").response(Protocol::Query);
        assert_eq!(xml.status(), StatusCode::FORBIDDEN);
        let text = body(xml).await;
        assert!(text.contains("<Code>AccessDenied</Code>"), "{text}");
        assert!(text.contains("<Message>no &lt;way&gt; &amp; no</Message>"), "{text}");

        let s3 = AwsError::access_denied(Protocol::RestXml, "x").response(Protocol::RestXml);
        assert!(body(s3).await.contains("<Error><Code>AccessDenied</Code>"));
    }
}
