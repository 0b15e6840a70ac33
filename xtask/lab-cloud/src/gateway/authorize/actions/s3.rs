//! Amazon S3: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html>, and "Required
//! permissions for Amazon S3 API operations" (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html>).
//! S3 is REST: the operation is the method, the path (`/<bucket>` or `/<bucket>/<key>`, path-style, as the local
//! cloud is addressed) and its sub-resource (`?tagging`, `?uploads`, ...). Bucket operations act on
//! `arn:aws:s3:::<bucket>`, object operations on `arn:aws:s3:::<bucket>/<key>`; several API operations share one
//! action (`HeadObject` is `s3:GetObject`, `ListObjectsV2` and `HeadBucket` are `s3:ListBucket`, a multipart upload is
//! `s3:PutObject`).

use super::{Needs, unknown};
use crate::gateway::call::Call;

/// The sub-resources of a bucket the workshop's code and a plausible learner's use, and their actions by method.
const BUCKET_SUBRESOURCES: &[(&str, &str, &str)] = &[
    ("location", "GET", "s3:GetBucketLocation"),
    ("versions", "GET", "s3:ListBucketVersions"),
    ("uploads", "GET", "s3:ListBucketMultipartUploads"),
    ("tagging", "GET", "s3:GetBucketTagging"),
    ("tagging", "PUT", "s3:PutBucketTagging"),
    ("tagging", "DELETE", "s3:PutBucketTagging"),
    ("policy", "GET", "s3:GetBucketPolicy"),
    ("policy", "PUT", "s3:PutBucketPolicy"),
    ("policy", "DELETE", "s3:DeleteBucketPolicy"),
    ("versioning", "GET", "s3:GetBucketVersioning"),
    ("versioning", "PUT", "s3:PutBucketVersioning"),
    ("encryption", "GET", "s3:GetEncryptionConfiguration"),
    ("encryption", "PUT", "s3:PutEncryptionConfiguration"),
    ("publicAccessBlock", "GET", "s3:GetBucketPublicAccessBlock"),
    ("publicAccessBlock", "PUT", "s3:PutBucketPublicAccessBlock"),
    ("lifecycle", "GET", "s3:GetLifecycleConfiguration"),
    ("lifecycle", "PUT", "s3:PutLifecycleConfiguration"),
    ("acl", "GET", "s3:GetBucketAcl"),
    ("acl", "PUT", "s3:PutBucketAcl"),
    ("ownershipControls", "GET", "s3:GetBucketOwnershipControls"),
    ("ownershipControls", "PUT", "s3:PutBucketOwnershipControls"),
    ("notification", "GET", "s3:GetBucketNotification"),
    ("notification", "PUT", "s3:PutBucketNotification"),
];

const OBJECT_SUBRESOURCES: &[(&str, &str, &str)] = &[
    ("tagging", "GET", "s3:GetObjectTagging"),
    ("tagging", "PUT", "s3:PutObjectTagging"),
    ("tagging", "DELETE", "s3:DeleteObjectTagging"),
    ("acl", "GET", "s3:GetObjectAcl"),
    ("acl", "PUT", "s3:PutObjectAcl"),
    ("attributes", "GET", "s3:GetObjectAttributes"),
    ("uploads", "POST", "s3:PutObject"),
    ("uploadId", "POST", "s3:PutObject"),
    ("uploadId", "PUT", "s3:PutObject"),
    ("uploadId", "GET", "s3:ListMultipartUploadParts"),
    ("uploadId", "DELETE", "s3:AbortMultipartUpload"),
];

/// Query parameters that are options of an operation, not sub-resources naming another one.
const OPTIONS: &[&str] = &[
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "encoding-type",
    "fetch-owner",
    "marker",
    "x-id",
    "partNumber",
    "versionId",
    "response-content-type",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "x-amz-checksum-mode",
];

pub fn needs(call: &Call) -> Needs {
    let path = percent_encoding::percent_decode_str(call.path().trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let method = call.method().as_str();
    let (bucket, key) = match path.split_once('/') {
        Some((bucket, key)) if !key.is_empty() => (bucket, Some(key)),
        Some((bucket, _)) => (bucket, None),
        None => (path.as_str(), None),
    };
    let subresources: Vec<String> = call
        .parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split('=').next().unwrap_or("").to_owned())
        .filter(|name| !OPTIONS.contains(&name.as_str()))
        .collect();
    if bucket.is_empty() {
        return match method {
            "GET" => Needs::one("s3:ListAllMyBuckets", "*"),
            _ => unknown(call),
        };
    }
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    match (key, subresources.as_slice()) {
        (None, []) => match method {
            "PUT" => Needs::one("s3:CreateBucket", bucket_arn),
            "DELETE" => Needs::one("s3:DeleteBucket", bucket_arn),
            "GET" | "HEAD" => Needs::one("s3:ListBucket", bucket_arn),
            _ => unknown(call),
        },
        (None, [sub]) if sub == "delete" && method == "POST" => {
            // DeleteObjects: s3:DeleteObject on each key it names.
            let body = String::from_utf8_lossy(&call.body);
            let keys = body
                .split("<Key>")
                .skip(1)
                .filter_map(|rest| rest.split("</Key>").next());
            let requests: Vec<(String, String)> = keys
                .map(|key| {
                    (
                        "s3:DeleteObject".to_owned(),
                        format!("{bucket_arn}/{}", xml_unescape(key)),
                    )
                })
                .collect();
            if requests.is_empty() {
                Needs::one("s3:DeleteObject", format!("{bucket_arn}/*"))
            } else {
                Needs::Requests(requests)
            }
        }
        (None, [sub]) => {
            lookup(BUCKET_SUBRESOURCES, sub, method).map_or_else(|| unknown(call), |a| Needs::one(a, bucket_arn))
        }
        (Some(key), []) => {
            let object = format!("{bucket_arn}/{key}");
            match method {
                "GET" | "HEAD" => Needs::one("s3:GetObject", object),
                "DELETE" => Needs::one("s3:DeleteObject", object),
                "PUT" => match call.header("x-amz-copy-source") {
                    // CopyObject reads the source and writes the target.
                    Some(source) => {
                        let source = percent_encoding::percent_decode_str(source.trim_start_matches('/'))
                            .decode_utf8_lossy()
                            .into_owned();
                        let source = source.split('?').next().unwrap_or(&source).to_owned();
                        Needs::Requests(vec![
                            ("s3:GetObject".to_owned(), format!("arn:aws:s3:::{source}")),
                            ("s3:PutObject".to_owned(), object),
                        ])
                    }
                    None => Needs::one("s3:PutObject", object),
                },
                _ => unknown(call),
            }
        }
        (Some(key), [sub, ..]) => lookup(OBJECT_SUBRESOURCES, sub, method)
            .map_or_else(|| unknown(call), |a| Needs::one(a, format!("{bucket_arn}/{key}"))),
        (None, _) => unknown(call),
    }
}

fn lookup(table: &[(&str, &str, &'static str)], sub: &str, method: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(name, verb, _)| *name == sub && *verb == method)
        .map(|(_, _, action)| *action)
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::call;
    use super::*;

    fn s3(method: &str, uri: &str) -> Needs {
        needs(&call("s3", method, uri, None, ""))
    }

    #[test]
    fn object_and_bucket_operations_name_their_actions_and_arns() {
        assert_eq!(
            s3("PUT", "/b/telemetry/2026/x.json"),
            Needs::one("s3:PutObject", "arn:aws:s3:::b/telemetry/2026/x.json")
        );
        assert_eq!(s3("HEAD", "/b/k"), Needs::one("s3:GetObject", "arn:aws:s3:::b/k"));
        assert_eq!(
            s3("GET", "/b?list-type=2&prefix=telemetry%2F"),
            Needs::one("s3:ListBucket", "arn:aws:s3:::b")
        );
        assert_eq!(s3("HEAD", "/b"), Needs::one("s3:ListBucket", "arn:aws:s3:::b"));
        assert_eq!(
            s3("GET", "/b?location"),
            Needs::one("s3:GetBucketLocation", "arn:aws:s3:::b")
        );
        assert_eq!(s3("PUT", "/b"), Needs::one("s3:CreateBucket", "arn:aws:s3:::b"));
        assert_eq!(s3("GET", "/"), Needs::one("s3:ListAllMyBuckets", "*"));
        assert_eq!(
            s3("POST", "/b/k?uploads"),
            Needs::one("s3:PutObject", "arn:aws:s3:::b/k")
        );
        assert_eq!(
            s3("DELETE", "/b/k?uploadId=1"),
            Needs::one("s3:AbortMultipartUpload", "arn:aws:s3:::b/k")
        );
    }

    #[test]
    fn a_sub_resource_the_table_lacks_is_unknown_not_allowed() {
        assert!(matches!(s3("GET", "/b?replication"), Needs::Unknown(_)));
    }
}
