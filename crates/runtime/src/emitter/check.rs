//! Checks that make a table safe to emit from: each group's stencils against the rules the
//! patch functions rely on (on first use), and whether this machine can run the table's code.

use super::{EmitError, Emitter, Section};
use crate::patch::Footprint;
use crate::stencil::{HoleValue, PatchKind, Stencil, StencilTable};

/// Largest [`crate::StencilGroup::data_align`] accepted: the data pages start page-aligned,
/// and 4 KiB is the smallest page of every supported system.
pub(crate) const MAX_DATA_ALIGN: u32 = 4096;

/// Checks one stencil against the rules the patch functions and the emitter rely on: every
/// hole's footprint inside the stencil, symbol and custom-value indices in range, trampolines
/// only in code (the trampoline area is code) and with a symbol.
fn check_stencil(
    group: &'static str,
    section: Section,
    stencil: &Stencil,
    table: &StencilTable,
) -> Result<(), EmitError> {
    let which = match section {
        Section::Code => "code",
        Section::Data => "data",
    };
    let bad = |reason: String| EmitError::BadTable { group, reason };
    if stencil.body.len() > stencil.len as usize {
        return Err(bad(format!(
            "{which} body is longer than its declared length {}",
            stencil.len
        )));
    }
    for hole in stencil.holes {
        let footprint = Footprint::of(hole.patch);
        if hole.offset < footprint.before {
            // The bytes a relaxation reads and rewrites: the stencil's own where it has them
            // and no other hole writes them, a neighbour's (anything) before its start.
            let first = i64::from(hole.offset) - i64::from(footprint.before);
            let known: Vec<Option<u8>> = (first..i64::from(hole.offset))
                .map(|i| {
                    let i = u32::try_from(i).ok()?;
                    let written = stencil.holes.iter().any(|h| {
                        let f = Footprint::of(h.patch);
                        let span =
                            h.offset.saturating_sub(f.before)..h.offset.saturating_add(f.len);
                        !std::ptr::eq(h, hole) && span.contains(&i)
                    });
                    (!written).then(|| stencil.body.get(i as usize).copied().unwrap_or(0))
                })
                .collect();
            if Footprint::may_rewrite_before(hole.patch, &known) {
                return Err(bad(format!(
                    "{which} hole at {:#x} ({:?}) may be relaxed, rewriting the {} bytes \
                     before it, which are outside the stencil",
                    hole.offset, hole.patch, footprint.before
                )));
            }
        }
        if hole
            .offset
            .checked_add(footprint.len)
            .is_none_or(|end| end > stencil.len)
        {
            return Err(bad(format!(
                "{which} hole at {:#x} ({:?}, {} bytes) is outside the {}-byte stencil",
                hole.offset, hole.patch, footprint.len, stencil.len
            )));
        }
        if hole
            .symbol
            .is_some_and(|s| s as usize >= table.symbols.len())
        {
            return Err(bad(format!(
                "{which} hole at {:#x} names symbol index {:?}",
                hole.offset, hole.symbol
            )));
        }
        if let HoleValue::Custom(i) = hole.value {
            if i as usize >= table.custom_values.len() {
                return Err(bad(format!(
                    "{which} hole at {:#x} uses undeclared custom value {i}",
                    hole.offset
                )));
            }
        }
        if hole.patch == PatchKind::Aarch64Trampoline {
            if section == Section::Data {
                return Err(bad(format!(
                    "data hole at {:#x} is a trampoline branch; only code can branch",
                    hole.offset
                )));
            }
            if hole.symbol.is_none() {
                return Err(bad(format!(
                    "code trampoline hole at {:#x} has no symbol",
                    hole.offset
                )));
            }
        }
    }
    Ok(())
}

/// Whether code compiled for `triple` can run here: the same architecture and the same calling
/// convention family (Windows, Apple and other ELF systems differ in ABI details such as
/// argument registers on x86-64 and the platform register on AArch64).
pub(super) fn host_runs(triple: &str) -> bool {
    let arch = triple.split('-').next().unwrap_or("");
    let arch = match arch {
        "i686" | "i386" => "x86",
        "arm64" => "aarch64",
        other => other,
    };
    let family = |os: &str| match os {
        "windows" => "windows",
        "macos" | "ios" => "apple",
        _ => "other",
    };
    let table_os = if triple.contains("windows") {
        "windows"
    } else if triple.contains("apple") || triple.contains("darwin") {
        "macos"
    } else {
        "linux"
    };
    arch == std::env::consts::ARCH && family(table_os) == family(std::env::consts::OS)
}

impl Emitter<'_> {
    /// Checks `group` the first time it is used: it exists, and its stencils are consistent
    /// with the table (holes inside the bodies, symbol indices in range). A table may be
    /// large and an emitter used for a short program, so unused groups cost nothing.
    /// Returns whether this was the first use.
    pub(super) fn check_group(&mut self, group: u16) -> Result<bool, EmitError> {
        if group as usize >= self.table.groups.len() {
            return Err(EmitError::NoSuchGroup { group });
        }
        let checked = self.is_checked(group);
        if !checked {
            let g = self.group_of(group);
            if !g.data_align.is_power_of_two() || g.data_align > MAX_DATA_ALIGN {
                return Err(EmitError::BadTable {
                    group: g.name,
                    reason: format!(
                        "data alignment {} is not a power of two up to {MAX_DATA_ALIGN}",
                        g.data_align
                    ),
                });
            }
            check_stencil(g.name, Section::Code, &g.code, self.table)?;
            check_stencil(g.name, Section::Data, &g.data, self.table)?;
            self.checked[group as usize / 64] |= 1 << (group % 64);
        }
        Ok(!checked)
    }
}
