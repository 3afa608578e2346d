//! Whether a committed table (or JSON) is still what its templates produce: the one check
//! behind `Builder::stale_committed_tables`, the build script's warning and
//! `patchjit build --check`.

use std::path::Path;

/// How a file on disk compares with the text generated for it.
#[derive(Debug)]
pub enum Freshness {
    /// Byte for byte what would be generated.
    UpToDate,
    /// The file cannot be read (usually: it does not exist yet).
    Unreadable(std::io::Error),
    /// The file differs; `summary` says from which line, how many lines, and in which stencil.
    Stale {
        /// Human-readable, a few lines.
        summary: String,
    },
}

/// Compares `path`'s contents with `generated`.
pub fn freshness(path: &Path, generated: &str) -> Freshness {
    match std::fs::read(path) {
        Err(error) => Freshness::Unreadable(error),
        Ok(old) if old == generated.as_bytes() => Freshness::UpToDate,
        Ok(old) => Freshness::Stale {
            summary: diff_summary(&String::from_utf8_lossy(&old), generated),
        },
    }
}

/// Where two texts first differ, how many lines differ between their common prefix and
/// suffix, and the stencil group whose entry holds the first difference.
fn diff_summary(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let removed = old.len() - prefix - suffix;
    let added = new.len() - prefix - suffix;
    // The group whose entry holds the first difference (groups are written in order).
    let stencil = new[..new.len().min(prefix + 1)]
        .iter()
        .rev()
        .find_map(|l| l.trim().strip_prefix("name: \"")?.strip_suffix("\","));
    let mut summary = format!(
        "from line {}: {removed} committed line(s) replaced by {added} regenerated line(s)",
        prefix + 1
    );
    if let (Some(was), Some(now)) = (old.get(prefix), new.get(prefix)) {
        summary.push_str(&format!(
            "\n  committed:   {}\n  regenerated: {}",
            was.trim(),
            now.trim()
        ));
    }
    if let Some(stencil) = stencil {
        summary.push_str(&format!("\n  first difference in stencil {stencil}"));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::diff_summary;

    #[test]
    fn summary_names_line_and_stencil() {
        let old = "// header\n        ::patchjit::StencilGroup {\n            name: \"add\",\n                    0x48, 0xb8,\n";
        let new = "// header\n        ::patchjit::StencilGroup {\n            name: \"add\",\n                    0x48, 0xb9,\n";
        let summary = diff_summary(old, new);
        assert!(
            summary
                .starts_with("from line 4: 1 committed line(s) replaced by 1 regenerated line(s)"),
            "{summary}"
        );
        assert!(summary.contains("committed:   0x48, 0xb8,"), "{summary}");
        assert!(summary.contains("regenerated: 0x48, 0xb9,"), "{summary}");
        assert!(
            summary.ends_with("first difference in stencil add"),
            "{summary}"
        );
    }

    #[test]
    fn summary_of_added_lines() {
        let summary = diff_summary("a\nb\n", "a\nx\ny\nb\n");
        assert!(
            summary
                .starts_with("from line 2: 0 committed line(s) replaced by 2 regenerated line(s)"),
            "{summary}"
        );
    }
}
