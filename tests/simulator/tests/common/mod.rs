//! What the replay tests share: the recordings' place, a raw HTTP/1.1 client that sends a
//! request as the recorder did, and the comparison of JSON shapes.

use std::path::PathBuf;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The recordings of a real Taiga 6.10 kept in the repository (`tests/taiga-api/recordings`).
pub fn recordings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../taiga-api/recordings")
}

pub struct RecordedAnswer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

pub async fn send(base: &str, method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> RecordedAnswer {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("simulator reachable");
    // A request the recording sent chunked goes chunked again (recordings 178-180), others with
    // their length, as the recorder's client sent them.
    let chunked = headers
        .iter()
        .any(|(name, value)| name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked"));
    let mut request = format!("{method} {target} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n");
    if !chunked {
        request.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("request written");
    if chunked {
        for chunk in body.chunks(7) {
            stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await
                .expect("chunk size written");
            stream.write_all(chunk).await.expect("chunk written");
            stream.write_all(b"\r\n").await.expect("chunk end written");
        }
        stream.write_all(b"0\r\n\r\n").await.expect("last chunk written");
    } else {
        stream.write_all(body).await.expect("body written");
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("response read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut content_type = String::new();
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-type" => content_type = value.trim().to_owned(),
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let mut body = raw[split + 4..].to_vec();
    if chunked {
        body = dechunk(&body);
    }
    RecordedAnswer {
        status,
        content_type,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

/// The JSON shape of a value: object keys with their shapes, and the shape of array elements.
pub fn shape_difference(path: &str, recorded: &Value, ours: &Value) -> Option<String> {
    match (recorded, ours) {
        // Maps keyed by data (tag names, role ids): only the value shapes count.
        (Value::Object(a), Value::Object(b))
            if [".tags_colors", ".points", ".attributes_values", ".values.milestone"]
                .iter()
                .any(|keyed| path.ends_with(keyed)) =>
        {
            let sample = |map: &serde_json::Map<String, Value>| map.values().find(|v| !v.is_null()).cloned();
            match (sample(a), sample(b)) {
                (Some(x), Some(y)) => shape_difference(&format!("{path}.*"), &x, &y),
                _ => None,
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            let missing: Vec<&String> = a.keys().filter(|k| !b.contains_key(*k)).collect();
            let extra: Vec<&String> = b.keys().filter(|k| !a.contains_key(*k)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                return Some(format!("{path}: missing keys {missing:?}, extra keys {extra:?}"));
            }
            a.iter()
                .find_map(|(key, value)| shape_difference(&format!("{path}.{key}"), value, &b[key]))
        }
        (Value::Array(a), Value::Array(b)) => match (a.first(), b.first()) {
            (Some(x), Some(y)) => shape_difference(&format!("{path}[0]"), x, y),
            (None, None) => None,
            (Some(_), None) => Some(format!("{path}: recorded a non-empty list, got an empty one")),
            (None, Some(_)) => Some(format!("{path}: recorded an empty list, got a non-empty one")),
        },
        // A null on one side and a value on the other is data, not shape (an unset field).
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => None,
        _ => Some(format!("{path}: recorded {recorded}, got {ours}")),
    }
}
