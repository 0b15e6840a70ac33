//! Signature Version 4, checked as AWS checks it: the gateway computes the signature the client should have sent,
//! from the request as it arrived and the secret key of the access key it names, and compares.
//!
//! "Create a signed AWS API request": <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>
//! (the canonical request, the string to sign, the signing key); "Authenticating requests: using query parameters"
//! for S3's presigned URLs: <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.

use super::super::call::Call;
use sha2::{Digest, Sha256};

/// How far a request's time may be from the gateway's: "the request must reach AWS within five minutes of the time
/// stamp" says the signing guide, and the services accept 15 minutes of clock skew.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// What was wrong with a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// Not an `AWS4-HMAC-SHA256` signature the gateway can read.
    Malformed(String),
    /// The signature is not the one the secret key gives.
    Signature,
    /// The request's time stamp is too far from now, or a presigned URL has expired.
    Expired(String),
}

/// The parts of a SigV4 signature, from the `Authorization` header or a presigned URL's query.
#[derive(Debug)]
struct Signed {
    /// `<key>/<date>/<region>/<service>/aws4_request`, as sent.
    credential: String,
    signed_headers: Vec<String>,
    signature: String,
    /// `YYYYMMDD'T'HHMMSS'Z'`.
    timestamp: String,
    presigned_expires: Option<i64>,
}

/// Checks the request's signature with `secret`, at `now` (seconds since the epoch).
pub fn verify(call: &Call, secret: &str, now: i64) -> Result<(), Mismatch> {
    let signed = signed_parts(call)?;
    let when = parse_timestamp(&signed.timestamp)
        .ok_or_else(|| Mismatch::Malformed(format!("the time stamp {:?} is not ISO 8601 basic", signed.timestamp)))?;
    match signed.presigned_expires {
        Some(expires) if now > when + expires => {
            return Err(Mismatch::Expired(format!(
                "Request has expired (it was signed at {})",
                signed.timestamp
            )));
        }
        Some(_) => {}
        None if (now - when).abs() > MAX_SKEW_SECONDS => {
            return Err(Mismatch::Expired(format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                signed.timestamp,
                format_timestamp(now - MAX_SKEW_SECONDS),
                format_timestamp(now)
            )));
        }
        None => {}
    }
    let scope = signed.credential.split_once('/').map_or("", |(_, scope)| scope);
    let mut fields = scope.split('/');
    let (date, region, service) = (
        fields.next().unwrap_or(""),
        fields.next().unwrap_or(""),
        fields.next().unwrap_or(""),
    );
    let canonical = canonical_request(call, &signed, service == "s3");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        signed.timestamp,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, date, region, service);
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if expected == signed.signature.to_ascii_lowercase() {
        Ok(())
    } else {
        Err(Mismatch::Signature)
    }
}

fn signed_parts(call: &Call) -> Result<Signed, Mismatch> {
    if let Some(authorization) = call.header("authorization") {
        let rest = authorization
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .ok_or_else(|| Mismatch::Malformed("the Authorization header is not AWS4-HMAC-SHA256".to_owned()))?;
        let field = |name: &str| {
            rest.split(',')
                .map(str::trim)
                .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_owned)
                .ok_or_else(|| Mismatch::Malformed(format!("the Authorization header has no {name}")))
        };
        let timestamp = call
            .header("x-amz-date")
            .map(str::to_owned)
            .ok_or_else(|| Mismatch::Malformed("the request has no X-Amz-Date header".to_owned()))?;
        return Ok(Signed {
            credential: field("Credential")?,
            signed_headers: field("SignedHeaders")?.split(';').map(str::to_owned).collect(),
            signature: field("Signature")?,
            timestamp,
            presigned_expires: None,
        });
    }
    let query = |name: &str| {
        call.query_value(name)
            .ok_or_else(|| Mismatch::Malformed(format!("the presigned URL has no {name}")))
    };
    Ok(Signed {
        credential: query("X-Amz-Credential")?,
        signed_headers: query("X-Amz-SignedHeaders")?.split(';').map(str::to_owned).collect(),
        signature: query("X-Amz-Signature")?,
        timestamp: query("X-Amz-Date")?,
        presigned_expires: Some(query("X-Amz-Expires")?.parse().unwrap_or(0)),
    })
}

/// The canonical request: method, URI, query, headers, signed headers, payload hash, one per line.
fn canonical_request(call: &Call, signed: &Signed, s3: bool) -> String {
    let raw_path = call.parts.uri.path();
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    // "Each path segment must be URI-encoded twice (except for Amazon S3 which only gets URI-encoded once)": the
    // path arrived encoded once, so it is encoded once more, except for S3.
    let uri = if s3 { path.to_owned() } else { encode(path, false) };
    let headers: String = signed
        .signed_headers
        .iter()
        .map(|name| {
            let values: Vec<String> = call
                .parts
                .headers
                .get_all(name.as_str())
                .iter()
                .map(|value| collapse_spaces(&String::from_utf8_lossy(value.as_bytes())))
                .collect();
            format!("{name}:{}\n", values.join(","))
        })
        .collect();
    let payload = match (call.header("x-amz-content-sha256"), signed.presigned_expires) {
        (Some(declared), _) => declared.to_owned(),
        (None, Some(_)) if s3 => "UNSIGNED-PAYLOAD".to_owned(),
        (None, _) => hex(&Sha256::digest(&call.body)),
    };
    format!(
        "{}\n{uri}\n{}\n{headers}\n{}\n{payload}",
        call.parts.method,
        canonical_query(call.parts.uri.query().unwrap_or("")),
        signed.signed_headers.join(";")
    )
}

/// Every parameter but the signature, decoded and encoded again as SigV4 encodes, sorted by name then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (encode(&decode(key), true), encode(&decode(value), true))
        })
        .filter(|(key, _)| key != "X-Amz-Signature")
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header value as the canonical request takes it: trimmed, runs of spaces made one.
fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// SigV4's URI encoding: every byte but `A-Za-z0-9-_.~` as `%XX` (upper case); `/` kept unless `slash`.
fn encode(text: &str, slash: bool) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => encoded.push(byte as char),
            b'/' if !slash => encoded.push('/'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// Percent-decoding only (a `+` in a signed query is a plus, not a space).
fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let date_key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let region_key = hmac(&date_key, region.as_bytes());
    let service_key = hmac(&region_key, service.as_bytes());
    hmac(&service_key, b"aws4_request")
}

/// HMAC-SHA256 (RFC 2104), with SHA-256's 64-byte block.
fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `20261206T113000Z` as seconds since the epoch.
fn parse_timestamp(text: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|time| time.and_utc().timestamp())
}

fn format_timestamp(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|time| time.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// RFC 4231, test case 2.
    #[test]
    fn hmac_sha256_is_rfc_4231s() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// The worked example of AWS's SigV4 test suite ("get-vanilla"): secret
    /// `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, `GET /` to `example.amazonaws.com` at 20150830T123600Z.
    fn vanilla(signature: &str) -> Call {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature={signature}"
        );
        let (parts, ()) = axum::http::Request::builder()
            .method("GET")
            .uri("/")
            .header("host", "example.amazonaws.com")
            .header("x-amz-date", "20150830T123600Z")
            .header("authorization", authorization)
            .body(())
            .unwrap()
            .into_parts();
        Call::from_parts(parts, Bytes::new())
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const VANILLA_SIGNATURE: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    const SIGNED_AT: i64 = 1_440_938_160;

    #[test]
    fn aws_test_suites_vanilla_get_verifies() {
        assert_eq!(verify(&vanilla(VANILLA_SIGNATURE), SECRET, SIGNED_AT), Ok(()));
    }

    #[test]
    fn another_secret_or_signature_does_not() {
        assert_eq!(
            verify(&vanilla(VANILLA_SIGNATURE), "other", SIGNED_AT),
            Err(Mismatch::Signature)
        );
        let wrong = VANILLA_SIGNATURE.replace('5', "6");
        assert_eq!(verify(&vanilla(&wrong), SECRET, SIGNED_AT), Err(Mismatch::Signature));
    }

    #[test]
    fn a_signature_from_more_than_15_minutes_away_has_expired() {
        let later = SIGNED_AT + MAX_SKEW_SECONDS + 1;
        assert!(matches!(
            verify(&vanilla(VANILLA_SIGNATURE), SECRET, later),
            Err(Mismatch::Expired(_))
        ));
        assert_eq!(
            verify(&vanilla(VANILLA_SIGNATURE), SECRET, SIGNED_AT + MAX_SKEW_SECONDS),
            Ok(())
        );
    }

    #[test]
    fn the_query_is_sorted_and_encoded_as_sigv4_says() {
        assert_eq!(canonical_query("b=2&a=%7E+x&a=1"), "a=1&a=~%2Bx&b=2");
        assert_eq!(encode("/a b/c", false), "/a%20b/c");
        assert_eq!(encode("a/b", true), "a%2Fb");
    }
}
