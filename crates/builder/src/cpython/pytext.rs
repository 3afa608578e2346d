//! Python's text conventions that CPython's build script bakes into its output and command line:
//! `repr(bytes)`, `shlex.join`, `str.splitlines`, `str.expandtabs`, `str.strip`.

/// `repr(b)` without the leading `b`: `'hi\x01'` or `"it's"`.
pub fn bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\'' if quote == '\'' => out.push_str("\\'"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
    out
}

/// `shlex.join`, with the `shlex` crate's quoting: any POSIX shell reads the line back as the
/// same words. It quotes a little more than Python does (`'--cflags='` where `build.py` writes
/// `--cflags=`); the line is the header's command-line comment, which differs from `build.py`'s
/// anyway (it names `patchjit cpython`). No word of a real command line holds a NUL, which no
/// quoting can carry; such a word is written as it is.
pub fn shell_join<S: AsRef<str>>(args: &[S]) -> String {
    let words = || args.iter().map(|a| a.as_ref());
    shlex::try_join(words()).unwrap_or_else(|_| words().collect::<Vec<_>>().join(" "))
}

/// `str.splitlines()`: splits on `\n`, `\r\n`, `\r`, `\v`, `\f`, `\x1c`-`\x1e`, `\x85`,
/// U+2028 and U+2029; no empty last line for a trailing terminator.
pub fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let end_of_break = match c {
            '\r' => match iter.peek() {
                Some(&(j, '\n')) => {
                    iter.next();
                    j + 1
                }
                _ => i + 1,
            },
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => i + c.len_utf8(),
            _ => continue,
        };
        lines.push(&text[start..i]);
        start = end_of_break;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// `str.expandtabs()` (tab stops every 8 columns; `\n` and `\r` reset the column).
pub fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut column = 0;
    for c in line.chars() {
        match c {
            '\t' => {
                let spaces = 8 - column % 8;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
            }
            '\n' | '\r' => {
                out.push(c);
                column = 0;
            }
            c => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

/// `str.strip()`: Python's whitespace is Unicode `White_Space` plus `\x1c`-`\x1f`.
pub fn py_strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_repr_follows_python() {
        assert_eq!(bytes_repr(b"hi\x01'\x00"), "\"hi\\x01'\\x00\"");
        assert_eq!(bytes_repr(b"a'b\"c"), "'a\\'b\"c'");
        assert_eq!(
            bytes_repr(b"./x.c\0\t\\\x7f\xff"),
            "'./x.c\\x00\\t\\\\\\x7f\\xff'"
        );
        assert_eq!(bytes_repr(b""), "''");
    }

    #[test]
    fn shell_join_reads_back_as_the_same_words() {
        let words = [
            "python3",
            "build.py",
            "--cflags=",
            "",
            "a b",
            "it's",
            "$HOME",
            "\"q\"\\",
        ];
        let line = shell_join(&words);
        assert_eq!(shlex::split(&line).unwrap(), words);
        assert!(
            line.starts_with("python3 build.py '--cflags=' '' 'a b' "),
            "{line}"
        );
    }

    #[test]
    fn lines_and_tabs_follow_python() {
        assert_eq!(split_lines("\na\r\nb\rc\x0cd\n"), ["", "a", "b", "c", "d"]);
        assert_eq!(split_lines("a\n\n"), ["a", ""]);
        assert_eq!(
            expand_tabs("/tmp/tmpabcdefgh/_X.o:\tfile"),
            "/tmp/tmpabcdefgh/_X.o:  file"
        );
        assert_eq!(expand_tabs("\t\tx"), "                x");
        assert_eq!(py_strip("  \x1c a b \t"), "a b");
    }
}
