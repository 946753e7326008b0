//! Logging: where lines go and how text from outside appears in them.
//!
//! Every line goes to stderr; over stdio, stdout carries MCP messages only. Text a client,
//! a header or a guest chooses is logged through [`Escaped`], so that a line break or a terminal
//! escape in it cannot forge a log line or hide one. JSON lines are escaped by the encoder too.

use crate::config::{Config, LogFormat};

/// Text from outside (a client, a header, a guest) as a log shows it: control characters (line
/// breaks, terminal escapes) and backslashes escaped, so that it cannot forge or hide log lines.
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            if c.is_control()
                || c == '\\'
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Logs to stderr (stdout carries only MCP messages), as text or JSON lines.
pub fn init(config: &Config) {
    // rmcp logs whole protocol messages (login passwords included) below info: never let them out.
    // Its info lines (each stateless HTTP request starts and ends a service) repeat what the audit
    // line of each call says better.
    let filter = tracing_subscriber::EnvFilter::new(format!("{},rmcp=warn", config.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.with_ansi(false).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_cannot_break_or_colour_a_line() {
        let hostile = "ab\ncd\r\u{1b}[31mred\u{202e}\\ \u{85}ok";
        let shown = Escaped(hostile).to_string();
        assert!(!shown.chars().any(|c| c.is_control()), "{shown}");
        assert_eq!(shown, "ab\\u{a}cd\\u{d}\\u{1b}[31mred\\u{202e}\\u{5c} \\u{85}ok");
        assert_eq!(Escaped("plain-session 1.2.3.4").to_string(), "plain-session 1.2.3.4");
    }
}
