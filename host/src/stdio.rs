//! MCP over stdio, with replies to what is not a message. rmcp ignores a line that is not JSON and
//! drops a line over its 16 MiB cap without a word, so a client that sent one waits for an answer
//! that never comes. Here every line from the client passes a check first: one that is not JSON
//! gets JSON-RPC's -32700 (parse error), one over the cap -32600 (invalid request), both with a
//! null id as JSON-RPC 2.0 has it; the rest go to rmcp unchanged. Replies and rmcp's own messages
//! reach stdout whole, one per line, through one writer.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;

/// The longest line read from the client, as rmcp caps it.
pub const MAX_LINE_BYTES: usize = rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH;

/// Buffer between the checks and rmcp, each way.
const PIPE_BYTES: usize = 64 * 1024;

/// A line as the checks found it.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A JSON value, for rmcp.
    Json,
    /// Blank: nothing to do.
    Blank,
    /// Not JSON.
    Malformed,
    /// Over [`MAX_LINE_BYTES`]: dropped unread.
    Oversized,
}

fn classify(line: &[u8]) -> Line {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Line::Blank;
    }
    // `IgnoredAny` skips string contents unchecked: UTF-8 is checked apart.
    if std::str::from_utf8(line).is_err() {
        return Line::Malformed;
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        Ok(_) => Line::Json,
        Err(_) => Line::Malformed,
    }
}

fn error_reply(code: i64, message: &str) -> Vec<u8> {
    let mut reply = serde_json::to_vec(&serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": code, "message": message},
    }))
    .unwrap_or_default();
    reply.push(b'\n');
    reply
}

/// Reads one line of at most `max` bytes into `line`; a longer one is consumed and reported as
/// [`Line::Oversized`] without being kept. `None` at the end of input.
async fn read_line<R: AsyncRead + Unpin>(input: &mut BufReader<R>, line: &mut Vec<u8>, max: usize) -> Option<Line> {
    line.clear();
    let mut oversized = false;
    loop {
        let available = input.fill_buf().await.ok()?;
        if available.is_empty() {
            return None;
        }
        let end = available.iter().position(|byte| *byte == b'\n');
        let take = end.map_or(available.len(), |index| index + 1);
        if !oversized && line.len() + take > max {
            oversized = true;
            line.clear();
            line.shrink_to_fit();
        }
        if !oversized {
            line.extend_from_slice(&available[..take]);
        }
        input.consume(take);
        if end.is_some() {
            return Some(if oversized { Line::Oversized } else { classify(line) });
        }
    }
}

/// Feeds rmcp the client's lines that are JSON, and answers the others.
async fn check_input<R: AsyncRead + Unpin>(
    input: R,
    mut to_rmcp: DuplexStream,
    replies: mpsc::Sender<Vec<u8>>,
    max: usize,
) {
    let mut input = BufReader::new(input);
    let mut line = Vec::new();
    while let Some(kind) = read_line(&mut input, &mut line, max).await {
        let reply = match kind {
            Line::Json => {
                if to_rmcp.write_all(&line).await.is_err() {
                    return;
                }
                continue;
            }
            Line::Blank => continue,
            Line::Malformed => error_reply(-32700, "Parse error: the line is not JSON"),
            Line::Oversized => error_reply(
                -32600,
                &format!("Invalid Request: a message may have at most {max} bytes; this one was dropped unread"),
            ),
        };
        tracing::debug!("answered a line from the client that is not a message");
        if replies.send(reply).await.is_err() {
            return;
        }
    }
    // End of input: rmcp sees it too, and stops.
    let _ = to_rmcp.shutdown().await;
}

/// Writes rmcp's messages and the replies to stdout, each whole.
async fn write_output<W: AsyncWrite + Unpin>(
    from_rmcp: DuplexStream,
    mut replies: mpsc::Receiver<Vec<u8>>,
    mut output: W,
) {
    let mut from_rmcp = BufReader::new(from_rmcp);
    let mut message = Vec::new();
    loop {
        let bytes = tokio::select! {
            read = from_rmcp.read_until(b'\n', &mut message) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => std::mem::take(&mut message),
            },
            Some(reply) = replies.recv() => reply,
        };
        if output.write_all(&bytes).await.is_err() || output.flush().await.is_err() {
            return;
        }
    }
    while let Ok(reply) = replies.try_recv() {
        let _ = output.write_all(&reply).await;
    }
    let _ = output.flush().await;
}

/// The transport rmcp serves on: its ends of the two pipes, with the checking and writing tasks
/// running between them and `input` and `output`.
pub fn checked<R, W>(input: R, output: W) -> (DuplexStream, DuplexStream)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (rmcp_reads, checked_lines) = tokio::io::duplex(PIPE_BYTES);
    let (rmcp_writes, messages) = tokio::io::duplex(PIPE_BYTES);
    let (replies, pending) = mpsc::channel(16);
    tokio::spawn(check_input(input, checked_lines, replies, MAX_LINE_BYTES));
    tokio::spawn(write_output(messages, pending, output));
    (rmcp_reads, rmcp_writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn lines_are_classified() {
        assert_eq!(classify(b"{\"jsonrpc\":\"2.0\"}\r\n"), Line::Json);
        assert_eq!(classify(b"[1,2]\n"), Line::Json, "a batch is rmcp's to refuse");
        assert_eq!(classify(b"  \r\n"), Line::Blank);
        assert_eq!(classify(b"{\"jsonrpc\":\n"), Line::Malformed);
        assert_eq!(classify(b"\"\xff\"\n"), Line::Malformed, "not UTF-8");
    }

    #[tokio::test]
    async fn each_bad_line_gets_one_reply_and_good_lines_go_on() {
        let input: &[u8] = b"not json\n{\"a\":1}\n0123456789ABCDEF-too-long\n{\"b\":2}\n";
        let (mut rmcp_reads, rmcp_writes) = tokio::io::duplex(1024);
        let (replies, mut pending) = mpsc::channel(16);
        check_input(input, rmcp_writes, replies, 20).await;
        let mut forwarded = String::new();
        rmcp_reads.read_to_string(&mut forwarded).await.unwrap();
        assert_eq!(forwarded, "{\"a\":1}\n{\"b\":2}\n");
        let first: serde_json::Value = serde_json::from_slice(&pending.recv().await.unwrap()).unwrap();
        assert_eq!(first["error"]["code"], -32700);
        assert_eq!(first["id"], serde_json::Value::Null);
        let second: serde_json::Value = serde_json::from_slice(&pending.recv().await.unwrap()).unwrap();
        assert_eq!(second["error"]["code"], -32600);
        assert!(pending.recv().await.is_none());
    }

    #[tokio::test]
    async fn output_keeps_messages_whole() {
        let (mut rmcp_side, messages) = tokio::io::duplex(8);
        let (replies, pending) = mpsc::channel(16);
        let (output, mut stdout) = tokio::io::duplex(1024);
        let writer = tokio::spawn(write_output(messages, pending, output));
        rmcp_side.write_all(b"{\"first\":").await.unwrap();
        replies.send(b"{\"reply\":1}\n".to_vec()).await.unwrap();
        rmcp_side.write_all(b"true}\n").await.unwrap();
        drop(rmcp_side);
        drop(replies);
        writer.await.unwrap();
        let mut written = String::new();
        stdout.read_to_string(&mut written).await.unwrap();
        let mut lines: Vec<&str> = written.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines, ["{\"first\":true}", "{\"reply\":1}"]);
    }
}
