//! A request read once, whole, with what every check needs to know of it: which service it is for, which operation,
//! in which region, signed by which key; its body as JSON or as form fields when the protocol uses them.
//!
//! How each AWS protocol names its operation ("AWS service protocols", smithy's protocol specifications):
//! - AWS JSON 1.0 / 1.1 (Kinesis, Firehose, CloudWatch Logs, ...): `X-Amz-Target: <Service_Version>.<Operation>`;
//! - AWS query (IAM, STS, SNS, CloudWatch): the form field `Action=<Operation>`;
//! - smithy RPC v2 CBOR (CloudWatch from the Rust SDK, aws-sdk-cloudwatch 1.140): the path
//!   `/service/GraniteServiceVersion20100801/operation/<Operation>`, a CBOR body. CloudWatch speaks three protocols
//!   (its model lists `smithy-rpc-v2-cbor`, `json`, `query`: botocore 1.44 sends JSON 1.0 with
//!   `X-Amz-Target: GraniteServiceVersion20100801.<Operation>`, older clients the query form), so its protocol is
//!   read from each request;
//! - REST-JSON (Lambda, EventBridge Scheduler) and REST-XML (S3): the method and the path, which the service's own
//!   module reads (`authorize::actions`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, Uri, request};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::OnceLock;

/// The largest body the gateway reads: S3's largest single `PutObject` is 5 GiB, but nothing the workshop sends comes
/// near this, and a bound keeps a runaway client from filling the machine's memory.
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The services the local cloud answers, by SigV4 signing name (the `<service>` of the credential scope).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Service {
    Kinesis,
    Firehose,
    Lambda,
    S3,
    Iam,
    Sts,
    Logs,
    /// CloudWatch signs as `monitoring`.
    CloudWatch,
    Sns,
    Scheduler,
    Other(String),
}

impl Service {
    pub fn from_signing_name(name: &str) -> Service {
        match name {
            "kinesis" => Service::Kinesis,
            "firehose" => Service::Firehose,
            "lambda" => Service::Lambda,
            "s3" => Service::S3,
            "iam" => Service::Iam,
            "sts" => Service::Sts,
            "logs" => Service::Logs,
            "monitoring" => Service::CloudWatch,
            "sns" => Service::Sns,
            "scheduler" => Service::Scheduler,
            other => Service::Other(other.to_owned()),
        }
    }

    /// The prefix of the service's IAM actions (`kinesis:PutRecords`), from the Service Authorization Reference.
    pub fn action_prefix(&self) -> &str {
        match self {
            Service::Kinesis => "kinesis",
            Service::Firehose => "firehose",
            Service::Lambda => "lambda",
            Service::S3 => "s3",
            Service::Iam => "iam",
            Service::Sts => "sts",
            Service::Logs => "logs",
            Service::CloudWatch => "cloudwatch",
            Service::Sns => "sns",
            Service::Scheduler => "scheduler",
            Service::Other(name) => name,
        }
    }
}

/// How the service's requests and errors are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
    RestJson,
    RestXml,
    /// Smithy RPC v2 CBOR (<https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html>).
    Cbor,
}

impl Protocol {
    pub fn of(service: &Service) -> Protocol {
        match service {
            Service::Kinesis | Service::Firehose | Service::Logs => Protocol::Json,
            Service::Iam | Service::Sts | Service::Sns | Service::CloudWatch => Protocol::Query,
            Service::Lambda | Service::Scheduler => Protocol::RestJson,
            Service::S3 => Protocol::RestXml,
            Service::Other(_) => Protocol::Json,
        }
    }
}

/// The SigV4 credential scope of a signed request: `Credential=<key>/<date>/<region>/<service>/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

impl Scope {
    /// From the `Authorization` header, or from a presigned URL's `X-Amz-Credential`.
    fn of(headers: &HeaderMap, uri: &Uri) -> Option<Scope> {
        let credential = match headers.get("authorization").and_then(|v| v.to_str().ok()) {
            Some(authorization) => authorization
                .split("Credential=")
                .nth(1)?
                .split([',', ' '])
                .next()?
                .to_owned(),
            None => query_pairs(uri.query().unwrap_or(""))
                .find(|(key, _)| key == "X-Amz-Credential")
                .map(|(_, value)| value)?,
        };
        let mut fields = credential.split('/');
        let scope = Scope {
            access_key: fields.next()?.to_owned(),
            date: fields.next()?.to_owned(),
            region: fields.next()?.to_owned(),
            service: fields.next()?.to_owned(),
        };
        (fields.next() == Some("aws4_request")).then_some(scope)
    }
}

/// A request, read whole.
pub struct Call {
    pub parts: request::Parts,
    pub body: Bytes,
    pub service: Service,
    pub protocol: Protocol,
    /// `None` for an unsigned request.
    pub scope: Option<Scope>,
    /// The operation, for the JSON and query protocols; the REST services' modules read theirs from the path.
    pub operation: Option<String>,
    json: OnceLock<Option<Value>>,
}

/// What a client that is not signing as AWS expects, when nothing says which service it is for: the region the
/// SDKs use when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

impl Call {
    /// Reads the request's body (at most [`MAX_BODY_BYTES`]) and what the checks need of its head.
    pub async fn read(request: Request) -> Result<Call, String> {
        let (parts, body) = request.into_parts();
        let body = http_body_util::Limited::new(body, MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|error| format!("reading the request's body: {error}"))?
            .to_bytes();
        Ok(Call::from_parts(parts, body))
    }

    pub fn from_parts(parts: request::Parts, body: Bytes) -> Call {
        let scope = Scope::of(&parts.headers, &parts.uri);
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let target = target.as_deref();
        let service = match (&scope, target) {
            (Some(scope), _) => Service::from_signing_name(&scope.service),
            // Unsigned: only the JSON protocols say their service in the request itself.
            (None, Some(target)) => Service::from_signing_name(&target_service(target)),
            (None, None) => Service::Other(String::new()),
        };
        let protocol = match service {
            Service::CloudWatch if parts.uri.path().starts_with(CLOUDWATCH_RPC_V2) => Protocol::Cbor,
            Service::CloudWatch if target.is_some() => Protocol::Json,
            _ => Protocol::of(&service),
        };
        let mut call = Call {
            parts,
            body,
            service,
            protocol,
            scope,
            operation: None,
            json: OnceLock::new(),
        };
        call.operation = match protocol {
            Protocol::Json => target.and_then(|t| t.rsplit_once('.')).map(|(_, op)| op.to_owned()),
            Protocol::Query => call.form_value("Action"),
            Protocol::Cbor => call.path().rsplit_once("/operation/").map(|(_, op)| op.to_owned()),
            Protocol::RestJson | Protocol::RestXml => None,
        };
        call
    }

    /// The region the request is for: its signature's, else [`DEFAULT_REGION`].
    pub fn region(&self) -> &str {
        self.scope
            .as_ref()
            .map_or(DEFAULT_REGION, |scope| scope.region.as_str())
    }

    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (read once), for the JSON and REST-JSON protocols, and a CBOR body decoded into JSON
    /// (gunzipped first when the client compressed it: the SDKs compress a large `PutMetricData`).
    pub fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| match self.protocol {
                Protocol::Cbor => super::cloudwatch::cbor::to_json(&self.decoded_body().ok()?).ok(),
                _ => serde_json::from_slice(&self.body).ok(),
            })
            .as_ref()
    }

    /// The body as sent, or uncompressed when its `Content-Encoding` is gzip.
    pub fn decoded_body(&self) -> Result<Vec<u8>, String> {
        if !self.header("content-encoding").is_some_and(|e| e.contains("gzip")) {
            return Ok(self.body.to_vec());
        }
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&self.body[..]), &mut plain)
            .map_err(|error| format!("the request's gzip body does not decompress: {error}"))?;
        Ok(plain)
    }

    /// A form field of a query-protocol request (in the body, or the URL's query for a GET).
    pub fn form_value(&self, name: &str) -> Option<String> {
        let body = std::str::from_utf8(&self.body).unwrap_or("");
        query_pairs(body)
            .chain(query_pairs(self.parts.uri.query().unwrap_or("")))
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// A parameter of the URL's query string, decoded.
    pub fn query_value(&self, name: &str) -> Option<String> {
        query_pairs(self.parts.uri.query().unwrap_or(""))
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The request again, as it came, for the emulator.
    pub fn into_request(self) -> (request::Parts, Body) {
        (self.parts, Body::from(self.body))
    }
}

/// Where a smithy RPC v2 CloudWatch request goes: `/service/<service shape>/operation/<operation>`.
pub const CLOUDWATCH_RPC_V2: &str = "/service/GraniteServiceVersion20100801/operation/";

/// `Kinesis_20131202.PutRecords` → `kinesis`; `Firehose_20150804.X` → `firehose`; `Logs_20140328.X` → `logs`;
/// `GraniteServiceVersion20100801.X` → `monitoring` (CloudWatch's signing name).
fn target_service(target: &str) -> String {
    let prefix = target.split('.').next().unwrap_or("");
    if prefix.starts_with("GraniteServiceVersion") {
        return "monitoring".to_owned();
    }
    prefix.split('_').next().unwrap_or("").to_ascii_lowercase()
}

/// `application/x-www-form-urlencoded` pairs, decoded (`+` is a space).
pub fn query_pairs(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.split('&').filter(|pair| !pair.is_empty()).map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(key), form_decode(value))
    })
}

fn form_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Call {
        let mut builder = axum::http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        Call::from_parts(parts, Bytes::from(body.to_owned()))
    }

    const SIGNED_KINESIS: &str = "AWS4-HMAC-SHA256 Credential=testing/20261206/eu-west-1/kinesis/aws4_request, \
                                  SignedHeaders=host;x-amz-date, Signature=00";

    #[test]
    fn a_json_call_names_its_service_region_and_operation() {
        let call = call(
            "POST",
            "/",
            &[
                ("authorization", SIGNED_KINESIS),
                ("x-amz-target", "Kinesis_20131202.PutRecords"),
            ],
            r#"{"StreamName":"s"}"#,
        );
        assert_eq!(call.service, Service::Kinesis);
        assert_eq!(call.protocol, Protocol::Json);
        assert_eq!(call.region(), "eu-west-1");
        assert_eq!(call.operation.as_deref(), Some("PutRecords"));
        assert_eq!(call.json().unwrap()["StreamName"], "s");
        assert_eq!(call.scope.as_ref().unwrap().access_key, "testing");
    }

    #[test]
    fn a_query_call_names_its_operation_in_the_form() {
        let authorization = SIGNED_KINESIS.replace("/kinesis/", "/sts/");
        let body = "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=a+b";
        let call = call("POST", "/", &[("authorization", &authorization)], body);
        assert_eq!(call.service, Service::Sts);
        assert_eq!(call.operation.as_deref(), Some("AssumeRole"));
        assert_eq!(
            call.form_value("RoleArn").as_deref(),
            Some("arn:aws:iam::123456789012:role/r")
        );
        assert_eq!(call.form_value("RoleSessionName").as_deref(), Some("a b"));
    }

    #[test]
    fn cloudwatch_is_read_in_each_of_its_three_protocols() {
        let signed = SIGNED_KINESIS.replace("/kinesis/", "/monitoring/");
        let body = super::super::cloudwatch::cbor::from_json(
            &serde_json::json!({"AlarmNames": ["a"]}),
            &super::super::cloudwatch::SHAPES,
        );
        let mut builder = axum::http::Request::builder()
            .method("POST")
            .uri("/service/GraniteServiceVersion20100801/operation/DescribeAlarms")
            .header("authorization", &signed)
            .header("smithy-protocol", "rpc-v2-cbor");
        builder = builder.header("content-type", "application/cbor");
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        let cbor = Call::from_parts(parts, Bytes::from(body));
        assert_eq!(cbor.service, Service::CloudWatch);
        assert_eq!(cbor.protocol, Protocol::Cbor);
        assert_eq!(cbor.operation.as_deref(), Some("DescribeAlarms"));
        assert_eq!(cbor.json().unwrap()["AlarmNames"][0], "a");
        let target = "GraniteServiceVersion20100801.PutMetricAlarm";
        let json = call(
            "POST",
            "/",
            &[("authorization", &signed), ("x-amz-target", target)],
            "{}",
        );
        assert_eq!(
            (json.protocol, json.operation.as_deref()),
            (Protocol::Json, Some("PutMetricAlarm"))
        );
        let query = call(
            "POST",
            "/",
            &[("authorization", &signed)],
            "Action=SetAlarmState&AlarmName=a",
        );
        assert_eq!(
            (query.protocol, query.operation.as_deref()),
            (Protocol::Query, Some("SetAlarmState"))
        );
        let unsigned = call("POST", "/", &[("x-amz-target", target)], "{}");
        assert_eq!(unsigned.service, Service::CloudWatch);
    }

    #[test]
    fn a_presigned_url_carries_its_scope_in_the_query() {
        let uri = "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=testing%2F20261206%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Signature=00";
        let call = call("GET", uri, &[], "");
        assert_eq!(call.service, Service::S3);
        assert_eq!(call.region(), "us-west-2");
    }

    #[test]
    fn an_unsigned_json_call_is_known_by_its_target_and_an_unsigned_other_is_not() {
        let kinesis = call("POST", "/", &[("x-amz-target", "Kinesis_20131202.ListStreams")], "{}");
        assert_eq!(kinesis.service, Service::Kinesis);
        assert!(kinesis.scope.is_none());
        assert_eq!(kinesis.region(), DEFAULT_REGION);
        let other = call("GET", "/", &[], "");
        assert_eq!(other.service, Service::Other(String::new()));
    }
}
