//! The emulator behind the gateway, reached with the hyper 1 client the SDK itself uses.

use anyhow::{Context, Result, bail};
use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri, request};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Headers that describe one HTTP connection rather than the request (RFC 9110, section 7.6.1), plus `Expect`:
/// the gateway's own server has already answered a client's `100-continue`.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// A response read whole, for the Kinesis operations the gateway looks into.
pub struct Buffered {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct Upstream {
    client: Client<HttpConnector, Body>,
    authority: String,
}

impl Upstream {
    /// `endpoint` is the emulator's `http://127.0.0.1:<port>`; nothing off this machine is accepted.
    pub fn new(endpoint: &str) -> Result<Upstream> {
        let uri: Uri = endpoint
            .parse()
            .with_context(|| format!("the upstream {endpoint:?} is not a URL"))?;
        let authority = uri.authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
        let loopback = uri
            .host()
            .and_then(|host| host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback());
        if uri.scheme_str() != Some("http") || !loopback {
            bail!("the gateway forwards only to an emulator on this machine (http://127.0.0.1:<port>), not {endpoint}");
        }
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(Upstream { client, authority })
    }

    /// The emulator's `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.authority)
    }

    fn request(&self, mut parts: request::Parts, body: Body) -> Result<Request<Body>> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("http://{}{path}", self.authority).parse()?;
        for name in HOP_BY_HOP {
            parts.headers.remove(name);
        }
        Ok(Request::from_parts(parts, body))
    }

    /// Forwards a request as it came (method, path, query, headers including `Host` and the signature, body
    /// streamed) and streams the answer back.
    pub async fn forward(&self, parts: request::Parts, body: Body) -> Response<Body> {
        let answer = match self.request(parts, body) {
            Ok(request) => self.client.request(request).await.map_err(anyhow::Error::from),
            Err(error) => Err(error),
        };
        match answer {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, Body::new(body))
            }
            Err(error) => unreachable_upstream(&error),
        }
    }

    /// Sends a request with the given body (the original, or the gateway's rewrite of it) and reads the answer.
    pub async fn exchange(&self, parts: &request::Parts, body: Bytes) -> Result<Buffered> {
        let mut parts = parts.clone();
        parts.headers.remove(TRANSFER_ENCODING);
        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        let request = self.request(parts, Body::from(body))?;
        let response = self.client.request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        let mut headers = parts.headers;
        strip_hop_by_hop(&mut headers);
        headers.remove(TRANSFER_ENCODING);
        headers.remove(CONTENT_LENGTH);
        Ok(Buffered {
            status: parts.status,
            headers,
            body,
        })
    }

    /// A Kinesis call of the gateway's own (to learn a stream's shards), signed as the client's request was so that
    /// the emulator resolves the same account and region.
    pub async fn kinesis(&self, client_headers: &HeaderMap, operation: &str, body: Vec<u8>) -> Result<Buffered> {
        let target = format!("Kinesis_20131202.{operation}");
        self.json_rpc(client_headers, "application/x-amz-json-1.1", &target, body)
            .await
    }

    /// A call of the gateway's own in an AWS JSON protocol (`content_type`, `X-Amz-Target: target`), signed as the
    /// client's request was.
    pub async fn json_rpc(
        &self,
        client_headers: &HeaderMap,
        content_type: &'static str,
        target: &str,
        body: Vec<u8>,
    ) -> Result<Buffered> {
        let mut request = Request::post("/").body(()).expect("a static request").into_parts().0;
        let headers = &mut request.headers;
        headers.insert(HOST, HeaderValue::from_str(&self.authority)?);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(HeaderName::from_static("x-amz-target"), HeaderValue::from_str(target)?);
        for name in ["authorization", "x-amz-date", "x-amz-security-token"] {
            if let Some(value) = client_headers.get(name) {
                headers.insert(HeaderName::from_static(name), value.clone());
            }
        }
        self.exchange(&request, Bytes::from(body)).await
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// What a client sees when the emulator does not answer: a 502 with the reason, in the body AWS's JSON errors use.
pub fn unreachable_upstream(error: &anyhow::Error) -> Response<Body> {
    let body = serde_json::json!({
        "__type": "ServiceUnavailable",
        "message": format!("the local cloud's gateway could not reach the emulator: {error:#}"),
    });
    Response::builder()
        .status(StatusCode::BAD_GATEWAY)
        .header(CONTENT_TYPE, "application/x-amz-json-1.1")
        .body(Body::from(body.to_string()))
        .expect("a valid response")
}
