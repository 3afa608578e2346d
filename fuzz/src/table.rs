//! An extraction as a runtime [`StencilTable`], owned for the length of one call. Generated
//! tables are `static`; a fuzzer makes a new table per input, and leaking each one (as the
//! runtime's tests do) would grow the fuzzer's memory without bound.

use patchjit::{Hole, PatchKind, Stencil, StencilGroup, StencilTable};
use patchjit_stencils as stencils;
use stencils::{Extraction, Target};

/// One stencil's converted bytes and holes (the table borrows them).
struct OwnedStencil {
    len: u32,
    body: Vec<u8>,
    holes: Vec<Hole>,
}

/// Calls `f` with `extraction` as a runtime table, converted the way `patchjit-build`'s Rust
/// writer does (symbols and custom values interned in first-use order, trampoline ordinals
/// mapped to their symbols, trailing zero bytes left out of the bodies). Nothing `f` is given
/// may outlive the call: the table's `'static` slices point into storage freed on return.
/// `None` when the table cannot represent the extraction: a mutated object may give offsets or
/// counts that fit the extraction's `u64`/`usize` but not the table's `u32`/`u16` fields.
pub(crate) fn with_table<R>(
    extraction: &Extraction,
    target: Target,
    custom_values: &[String],
    f: impl FnOnce(&StencilTable) -> R,
) -> Option<R> {
    let mut symbols: Vec<String> = Vec::new();
    let mut stencils = Vec::with_capacity(extraction.groups.len() * 2);
    for group in &extraction.groups {
        for stencil in [&group.code, &group.data] {
            stencils.push(convert(stencil, extraction, custom_values, &mut symbols)?);
        }
    }
    let groups: Vec<StencilGroup> = extraction
        .groups
        .iter()
        .zip(stencils.chunks_exact(2))
        .map(|(group, pair)| StencilGroup {
            // SAFETY (all `forever` calls here): the storage lives until this function
            // returns, after `f`, which by contract keeps no reference into the table.
            name: unsafe { forever(group.name.as_str()) },
            data_align: group.data_align as u32,
            code: unsafe { borrowed(&pair[0]) },
            data: unsafe { borrowed(&pair[1]) },
        })
        .collect();
    let symbol_names: Vec<&'static str> = symbols
        .iter()
        .map(|s| unsafe { forever(s.as_str()) })
        .collect();
    let custom_names: Vec<&'static str> = custom_values
        .iter()
        .map(|s| unsafe { forever(s.as_str()) })
        .collect();
    let table = StencilTable {
        target: target.triple(),
        groups: unsafe { forever(groups.as_slice()) },
        symbols: unsafe { forever(symbol_names.as_slice()) },
        custom_values: unsafe { forever(custom_names.as_slice()) },
    };
    Some(f(&table))
}

/// Extends a borrow to `'static`.
///
/// # Safety
/// The referent must outlive every use of the returned reference.
unsafe fn forever<T: ?Sized>(r: &T) -> &'static T {
    // SAFETY: the caller's contract.
    unsafe { &*(r as *const T) }
}

/// A runtime stencil over `owned`'s storage.
///
/// # Safety
/// As [`forever`], for `owned`.
unsafe fn borrowed(owned: &OwnedStencil) -> Stencil {
    Stencil {
        len: owned.len,
        // SAFETY: the caller's contract.
        body: unsafe { forever(owned.body.as_slice()) },
        holes: unsafe { forever(owned.holes.as_slice()) },
    }
}

fn convert(
    stencil: &stencils::Stencil,
    extraction: &Extraction,
    custom_values: &[String],
    symbols: &mut Vec<String>,
) -> Option<OwnedStencil> {
    let len = u32::try_from(stencil.body.len()).ok()?;
    let mut holes = Vec::with_capacity(stencil.holes.len());
    for hole in &stencil.holes {
        // Extraction only makes custom values the options declare.
        let value = hole.value.clone().map_custom(|name| {
            custom_values
                .iter()
                .position(|v| *v == name)
                .expect("a declared value") as u16
        });
        let patch = hole.patch;
        let (symbol, addend) = if patch == PatchKind::Aarch64Trampoline {
            let name = usize::try_from(hole.addend)
                .ok()
                .and_then(|i| extraction.trampoline_symbols.get(i))?;
            (Some(intern(symbols, name)?), 0)
        } else {
            let symbol = match &hole.symbol {
                Some(name) => Some(intern(symbols, name)?),
                None => None,
            };
            (symbol, hole.addend)
        };
        holes.push(Hole {
            offset: u32::try_from(hole.offset).ok()?,
            patch,
            value,
            symbol,
            addend,
        });
    }
    let kept = stencil
        .body
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i + 1);
    Some(OwnedStencil {
        len,
        body: stencil.body[..kept].to_vec(),
        holes,
    })
}

fn intern(symbols: &mut Vec<String>, name: &str) -> Option<u16> {
    let index = match symbols.iter().position(|s| s == name) {
        Some(i) => i,
        None => {
            symbols.push(name.to_string());
            symbols.len() - 1
        }
    };
    u16::try_from(index).ok()
}
