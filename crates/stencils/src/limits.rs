//! Caps on what one object may make extraction produce, so a small corrupt or hostile object (a
//! mutated BSS size, a 256 MiB array) is refused in milliseconds instead of costing gigabytes of
//! memory and output. Real stencils are far below them: CPython's are a few KiB of code and
//! data each, and every emitted instruction copies its whole stencil.

use crate::error::Error;

/// Zero-filled (BSS) bytes accepted across all sections of one object.
pub(crate) const MAX_ZERO_FILL: u64 = 16 << 20;

/// Code and data bytes accepted across all stencil groups extracted from one object (data a
/// group references is copied into each group, so several groups can exceed the object).
pub(crate) const MAX_STENCIL_BYTES: u64 = 16 << 20;

/// Largest zero-filled gap accepted between Mach-O sections (alignment gaps are a few bytes).
pub(crate) const MAX_MACHO_GAP: u64 = 1 << 20;

/// Largest data section alignment honoured: data lands on pages of their own, so a page's
/// 4 KiB is what every platform's mapping can guarantee.
pub(crate) const MAX_DATA_ALIGN: u64 = 4096;

/// Refuses group `group` of `file` when adding `section` brings the object's stencils to `total`
/// bytes, over [`MAX_STENCIL_BYTES`].
pub(crate) fn check_stencil_bytes(
    file: &str,
    group: &str,
    section: &str,
    total: u64,
) -> Result<(), Error> {
    if total > MAX_STENCIL_BYTES {
        return Err(Error::Invalid {
            file: file.to_string(),
            group: Some(group.to_string()),
            message: format!(
                "section {section} brings the object's stencils to {total:#x} bytes, over the \
                 limit of {MAX_STENCIL_BYTES:#x}"
            ),
        });
    }
    Ok(())
}

/// The zero-fill still allowed in one object; each reader draws every BSS section from it.
pub(crate) struct ZeroFill<'a> {
    file: &'a str,
    used: u64,
}

impl<'a> ZeroFill<'a> {
    pub fn new(file: &'a str) -> ZeroFill<'a> {
        ZeroFill { file, used: 0 }
    }

    /// `size` zero bytes for `section`, or an error naming it once the object's total would
    /// exceed [`MAX_ZERO_FILL`] (checked before anything is allocated).
    pub fn take(&mut self, section: &str, size: u64) -> Result<Vec<u8>, Error> {
        let total = self.used.saturating_add(size);
        if total > MAX_ZERO_FILL {
            return Err(Error::Invalid {
                file: self.file.to_string(),
                group: None,
                message: format!(
                    "section {section}: zero-fill size {size:#x} brings the object's zero-filled \
                     bytes to {total:#x}, over the limit of {MAX_ZERO_FILL:#x}"
                ),
            });
        }
        self.used = total;
        Ok(vec![0; size as usize])
    }
}
