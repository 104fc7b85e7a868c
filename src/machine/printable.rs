//! Text from others (session names, commands, users' registry entries) made safe to show
//! on a terminal: control characters and the bidirectional overrides that reorder what a
//! reader sees are written as escapes (`\n`, `\x1b`, `\u{202e}`), the rest as it is.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every character a terminal would act on, rather than show, escaped.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => shown.push_str("\\n"),
            '\t' => shown.push_str("\\t"),
            '\r' => shown.push_str("\\r"),
            c if acts(c) && u32::from(c) < 0x80 => {
                let _ = write!(shown, "\\x{:02x}", u32::from(c));
            }
            c if acts(c) => {
                let _ = write!(shown, "\\u{{{:x}}}", u32::from(c));
            }
            c => shown.push(c),
        }
    }
    Cow::Owned(shown)
}

/// Whether a terminal acts on `c`: C0 and C1 controls, DEL, and the bidirectional
/// embeddings, overrides and isolates.
pub(crate) fn acts(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether `text` has a character [`printable`] would escape.
pub(crate) fn has_controls(text: &str) -> bool {
    text.chars().any(acts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_the_rest_is_kept() {
        assert_eq!(printable("plain café"), "plain café");
        assert_eq!(printable("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(printable("\x1b[2J\x7f"), "\\x1b[2J\\x7f");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert!(has_controls("x\ny") && !has_controls("xy"));
    }
}
