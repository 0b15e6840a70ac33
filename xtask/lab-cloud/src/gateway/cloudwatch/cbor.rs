//! CBOR (RFC 8949) to JSON and back, for CloudWatch's smithy RPC v2 CBOR protocol: the Rust SDK
//! (aws-sdk-cloudwatch 1.140) speaks only that, and the emulator only AWS JSON 1.0 and query
//! (<https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html>, "Shape serialization").
//!
//! CBOR carries types that JSON has not: a timestamp is tag 1 around epoch seconds, a `double` is a float even when
//! it is whole, a blob is a byte string. Going to JSON, a timestamp becomes its epoch seconds and a blob base64 (as
//! AWS JSON 1.0 writes them); coming back, the member names say what a number is ([`Shapes`]).

use base64::Engine;
use serde_json::{Map, Number, Value};

/// Which members of the service's shapes are timestamps and which are doubles (from its service model; the same
/// name is never both).
pub struct Shapes {
    pub timestamps: &'static [&'static str],
    pub doubles: &'static [&'static str],
    /// Members that are maps of doubles (`ExtendedStatistics`).
    pub double_maps: &'static [&'static str],
}

/// Decodes one CBOR data item into JSON.
pub fn to_json(bytes: &[u8]) -> Result<Value, String> {
    let mut reader = Reader { bytes, at: 0 };
    let value = reader.item()?.ok_or("a CBOR break where a value was expected")?;
    if reader.at != bytes.len() {
        return Err(format!("{} bytes after the CBOR value", bytes.len() - reader.at));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or("the CBOR body ends in the middle of a value")?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    /// The argument of a head: its value, or `None` for an indefinite length.
    fn argument(&mut self, info: u8) -> Result<Option<u64>, String> {
        let be = |bytes: &[u8]| bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
        Ok(Some(match info {
            0..=23 => u64::from(info),
            24 => be(self.take(1)?),
            25 => be(self.take(2)?),
            26 => be(self.take(4)?),
            27 => be(self.take(8)?),
            31 => return Ok(None),
            _ => return Err(format!("a CBOR head with reserved additional information {info}")),
        }))
    }

    /// The next item; `None` for a break (the end of an indefinite-length item).
    fn item(&mut self) -> Result<Option<Value>, String> {
        let head = self.take(1)?[0];
        let (major, info) = (head >> 5, head & 0x1f);
        if major == 7 {
            return self.simple(info);
        }
        let argument = self.argument(info)?;
        Ok(Some(match (major, argument) {
            (0, Some(n)) => Value::from(n),
            (1, Some(n)) => i64::try_from(n)
                .map(|n| Value::from(-1 - n))
                .map_err(|_| "a negative integer under -2^63")?,
            (2, _) => {
                let bytes = self.string(2, argument)?;
                Value::from(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            (3, _) => {
                Value::from(String::from_utf8(self.string(3, argument)?).map_err(|_| "a text string not in UTF-8")?)
            }
            (4, _) => Value::Array(self.items(argument)?),
            (5, _) => Value::Object(self.map(argument)?),
            // Tag 1 (epoch-based date/time) and any other tag: the tagged value itself.
            (6, Some(_)) => self.item()?.ok_or("a CBOR tag around nothing")?,
            _ => return Err(format!("a CBOR item of major type {major} with an indefinite length")),
        }))
    }

    fn simple(&mut self, info: u8) -> Result<Option<Value>, String> {
        let float = |value: f64| Number::from_f64(value).map_or(Value::Null, Value::Number);
        Ok(Some(match info {
            20 => Value::Bool(false),
            21 => Value::Bool(true),
            22 | 23 => Value::Null,
            25 => float(half(u16::from_be_bytes(self.take(2)?.try_into().expect("two bytes")))),
            26 => float(f64::from(f32::from_be_bytes(
                self.take(4)?.try_into().expect("four bytes"),
            ))),
            27 => float(f64::from_be_bytes(self.take(8)?.try_into().expect("eight bytes"))),
            31 => return Ok(None),
            _ => return Err(format!("the CBOR simple value {info}")),
        }))
    }

    /// A byte or text string's bytes, its chunks joined when its length is indefinite.
    fn string(&mut self, major: u8, length: Option<u64>) -> Result<Vec<u8>, String> {
        if let Some(length) = length {
            return Ok(self
                .take(usize::try_from(length).map_err(|_| "a string too long")?)?
                .to_vec());
        }
        let mut joined = Vec::new();
        loop {
            let head = self.take(1)?[0];
            if head == 0xff {
                return Ok(joined);
            }
            if head >> 5 != major {
                return Err("a chunk of another type inside an indefinite-length string".to_owned());
            }
            let length = self.argument(head & 0x1f)?.ok_or("a nested indefinite-length string")?;
            joined.extend_from_slice(self.take(usize::try_from(length).map_err(|_| "a string too long")?)?);
        }
    }

    fn items(&mut self, count: Option<u64>) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        loop {
            if count.is_some_and(|count| items.len() as u64 == count) {
                return Ok(items);
            }
            match self.item()? {
                Some(item) => items.push(item),
                None if count.is_none() => return Ok(items),
                None => return Err("a CBOR break inside a definite-length array".to_owned()),
            }
        }
    }

    fn map(&mut self, count: Option<u64>) -> Result<Map<String, Value>, String> {
        let mut map = Map::new();
        let mut read = 0u64;
        loop {
            if count.is_some_and(|count| read == count) {
                return Ok(map);
            }
            let key = match self.item()? {
                Some(Value::String(key)) => key,
                Some(other) => return Err(format!("a CBOR map key that is not text: {other}")),
                None if count.is_none() => return Ok(map),
                None => return Err("a CBOR break inside a definite-length map".to_owned()),
            };
            let value = self.item()?.ok_or("a CBOR map key without a value")?;
            // Smithy RPC v2: a null member is the same as an absent one.
            if !value.is_null() {
                map.insert(key, value);
            }
            read += 1;
        }
    }
}

/// IEEE 754 half precision, as RFC 8949 appendix D decodes it.
fn half(bits: u16) -> f64 {
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f64::from(bits & 0x3ff);
    let magnitude = match exponent {
        0 => mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (mantissa + 1024.0) * 2f64.powi(exponent - 25),
    };
    if bits & 0x8000 != 0 { -magnitude } else { magnitude }
}

/// Encodes JSON (an answer of the emulator's, in AWS JSON 1.0) as CBOR, typing numbers by `shapes`.
pub fn from_json(value: &Value, shapes: &Shapes) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, value, Kind::Plain, shapes);
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Plain,
    Timestamp,
    Double,
    DoubleMap,
}

fn kind_of(key: &str, shapes: &Shapes) -> Kind {
    if shapes.timestamps.contains(&key) {
        Kind::Timestamp
    } else if shapes.doubles.contains(&key) {
        Kind::Double
    } else if shapes.double_maps.contains(&key) {
        Kind::DoubleMap
    } else {
        Kind::Plain
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend([major | 24, n as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend((n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend((n as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

fn double(out: &mut Vec<u8>, value: f64) {
    out.push(0xfb);
    out.extend(value.to_be_bytes());
}

fn write(out: &mut Vec<u8>, value: &Value, kind: Kind, shapes: &Shapes) {
    match value {
        Value::Null => out.push(0xf6),
        Value::Bool(flag) => out.push(if *flag { 0xf5 } else { 0xf4 }),
        Value::Number(number) => match kind {
            Kind::Timestamp => {
                out.push(0xc1);
                double(out, number.as_f64().unwrap_or_default());
            }
            Kind::Double => double(out, number.as_f64().unwrap_or_default()),
            _ if number.is_f64() => double(out, number.as_f64().unwrap_or_default()),
            _ => match (number.as_u64(), number.as_i64()) {
                (Some(n), _) => head(out, 0, n),
                (None, Some(n)) => head(out, 1, (-1 - n) as u64),
                _ => double(out, number.as_f64().unwrap_or_default()),
            },
        },
        Value::String(text) => match kind {
            // A timestamp the emulator wrote as text (ISO 8601).
            Kind::Timestamp => match chrono::DateTime::parse_from_rfc3339(text) {
                Ok(time) => {
                    out.push(0xc1);
                    double(out, time.timestamp_millis() as f64 / 1000.0);
                }
                Err(_) => text_string(out, text),
            },
            _ => text_string(out, text),
        },
        Value::Array(items) => {
            head(out, 4, items.len() as u64);
            for item in items {
                write(out, item, kind, shapes);
            }
        }
        Value::Object(members) => {
            let present: Vec<_> = members.iter().filter(|(_, v)| !v.is_null()).collect();
            head(out, 5, present.len() as u64);
            for (key, member) in present {
                text_string(out, key);
                let member_kind = if kind == Kind::DoubleMap {
                    Kind::Double
                } else {
                    kind_of(key, shapes)
                };
                write(out, member, member_kind, shapes);
            }
        }
    }
}

fn text_string(out: &mut Vec<u8>, text: &str) {
    head(out, 3, text.len() as u64);
    out.extend(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SHAPES: Shapes = Shapes {
        timestamps: &["Timestamp"],
        doubles: &["Sum", "Value"],
        double_maps: &["ExtendedStatistics"],
    };

    #[test]
    fn json_goes_to_cbor_and_back_with_its_types() {
        let answer = json!({
            "Datapoints": [{"Timestamp": 1_780_000_000, "Sum": 5, "Unit": "Count", "ExtendedStatistics": {"p99": 2}}],
            "Label": "IncomingRecords",
            "Dimensions": [{"Name": "StreamName", "Value": "s"}],
            "Count": 3,
            "Negative": -20,
            "Missing": null,
            "Flag": true
        });
        let cbor = from_json(&answer, &SHAPES);
        // Tag 1 then a float64: a timestamp as smithy RPC v2 CBOR writes it.
        let tagged = cbor.windows(2).any(|w| w == [0xc1, 0xfb]);
        assert!(tagged, "{cbor:02x?}");
        let back = to_json(&cbor).unwrap();
        assert_eq!(back["Datapoints"][0]["Timestamp"], 1_780_000_000.0);
        assert_eq!(back["Datapoints"][0]["Sum"], 5.0);
        assert!(back["Datapoints"][0]["Sum"].is_f64(), "a double stays a double");
        assert!(back["Datapoints"][0]["ExtendedStatistics"]["p99"].is_f64());
        assert_eq!(back["Dimensions"][0]["Value"], "s");
        assert_eq!(back["Count"], 3);
        assert_eq!(back["Negative"], -20);
        assert_eq!(back["Flag"], true);
        assert!(back.get("Missing").is_none(), "a null member is left out");
    }

    #[test]
    fn indefinite_lengths_half_floats_and_byte_strings_decode() {
        // {_ "a": [_ 1, 1.5(half)], "b": h'0102', "c": (_ "x", "y") }
        let bytes = [
            0xbf, 0x61, b'a', 0x9f, 0x01, 0xf9, 0x3e, 0x00, 0xff, 0x61, b'b', 0x42, 0x01, 0x02, 0x61, b'c', 0x7f, 0x61,
            b'x', 0x61, b'y', 0xff, 0xff,
        ];
        let value = to_json(&bytes).unwrap();
        assert_eq!(value, json!({"a": [1, 1.5], "b": "AQI=", "c": "xy"}));
    }

    #[test]
    fn a_truncated_body_is_an_error_not_a_guess() {
        let cbor = from_json(&json!({"Namespace": "AWS/Kinesis"}), &SHAPES);
        let error = to_json(&cbor[..cbor.len() - 3]).unwrap_err();
        assert!(error.contains("ends in the middle"), "{error}");
        assert!(to_json(&[0x1c]).unwrap_err().contains("reserved"));
    }
}
