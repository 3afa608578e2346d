//! What both readers share about a relocation: where it is, the errors that name its place, and
//! the table's rules for its addend and room, so the two readers cannot apply them differently.

use patchjit_vocab::{Format, RelocKind, Target};

use crate::error::{malformed, Error};

/// One relocation's place: the section it applies to and its offset there.
pub(crate) struct RelocSite<'a> {
    pub file: &'a str,
    pub target: Target,
    pub section: &'a str,
    pub bytes: &'a [u8],
    pub offset: u64,
}

impl RelocSite<'_> {
    /// The unsupported-relocation error for this site; `kind` is a name or a number.
    pub fn unsupported(&self, kind: String) -> Error {
        Error::UnsupportedRelocation {
            file: self.file.to_string(),
            section: self.section.to_string(),
            offset: self.offset,
            kind,
        }
    }

    /// The error for a relocation that names neither a symbol nor a section.
    pub fn no_target(&self) -> Error {
        Error::Invalid {
            file: self.file.to_string(),
            group: None,
            message: format!(
                "section {}: relocation at {:#x} refers to no symbol or section",
                self.section, self.offset
            ),
        }
    }

    /// `kind` on this target, or the unsupported-relocation error naming `name`.
    pub fn kind(
        &self,
        kind: Option<RelocKind>,
        name: impl FnOnce() -> String,
    ) -> Result<RelocKind, Error> {
        kind.filter(|k| k.format() == self.target.format() && k.arch() == self.target.arch())
            .ok_or_else(|| self.unsupported(name()))
    }

    /// The addend of a `kind` relocation here by the table's rule; `given` is what the
    /// relocation entries supply (RELA addend, `ARM64_RELOC_ADDEND` pair) or 0. Also checks that
    /// the bytes the hole's patch rewrites lie inside the section.
    pub fn addend(&self, kind: RelocKind, given: i64) -> Result<i64, Error> {
        let past_end = || {
            malformed(
                self.file,
                format_args!(
                    "section {}: relocation at {:#x} runs past the section end ({:#x} bytes)",
                    self.section,
                    self.offset,
                    self.bytes.len()
                ),
            )
        };
        let field = usize::try_from(self.offset)
            .ok()
            .and_then(|start| self.bytes.get(start..))
            .ok_or_else(past_end)?;
        if field.len() < usize::from(kind.patch_kind().width()) {
            return Err(past_end());
        }
        kind.addend().decode(field, given).ok_or_else(past_end)
    }
}

/// A symbol's name as the format-neutral model spells it: the target's prefix removed (`_foo` →
/// `foo` on Mach-O and i686 COFF), COFF import thunks keeping their `__imp_` marker so grouping
/// can turn them into GOT references (`__imp__foo` on i686 becomes `__imp_foo`).
pub(crate) fn symbol_name(target: Target, raw: &str) -> String {
    let prefix = target.symbol_prefix();
    let strip = |n: &str| n.strip_prefix(prefix).unwrap_or(n).to_string();
    match raw.strip_prefix("__imp_") {
        Some(rest) if target.format() == Format::Coff => format!("__imp_{}", strip(rest)),
        _ => strip(raw),
    }
}
