//! The stable JSON form of an extraction, shared by `patchjit dump --format json` and the build
//! driver's `stencils.json`. Other tools parse it, so keys and their order never change:
//!
//! ```text
//! {"target": "...", "trampoline_symbols": [...], "groups": [{"name": "...",
//!   "code": {"size": N, "bytes": "<hex>", "holes": [H, ...]}, "data": {...}, "trampolines": [...],
//!   "data_align": N}]}
//! H = {"offset": N, "kind": "R_X86_64_64", "value": "OPARG", "symbol": null | "name",
//!      "addend": N, "func": "patch_64"}
//! ```
//!
//! `data_align` came last, so readers of the older form see only a new key; [`from_json`] takes
//! its absence as 8, what every group had before.
//!
//! The schema is the serde structs below (keys in field order); the layout — `": "` and `", "`
//! separators, one group per line — is [`Spaced`], so the same extraction always gives the same
//! bytes.

use std::io;

use serde::{Deserialize, Serialize};
use serde_json::ser::Formatter;

use patchjit_vocab::{PatchKind, RelocKind, Target};

use crate::hole::{Extraction, Hole, HoleValue, Stencil, StencilGroup};
use crate::Error;

/// The document minus its groups, which are written one per line.
#[derive(Serialize)]
struct Head<'a> {
    target: &'a str,
    trampoline_symbols: &'a [String],
}

#[derive(Deserialize)]
struct JsonDocument {
    target: String,
    trampoline_symbols: Vec<String>,
    groups: Vec<JsonGroup>,
}

#[derive(Serialize, Deserialize)]
struct JsonGroup {
    name: String,
    code: JsonStencil,
    data: JsonStencil,
    trampolines: Vec<u32>,
    #[serde(default = "eight")]
    data_align: u64,
}

/// `data_align` of a document written before it existed.
fn eight() -> u64 {
    8
}

#[derive(Serialize, Deserialize)]
struct JsonStencil {
    size: u64,
    /// The body as lower-case hex, two digits a byte.
    bytes: String,
    holes: Vec<JsonHole>,
}

#[derive(Serialize, Deserialize)]
struct JsonHole {
    offset: u64,
    kind: String,
    value: String,
    symbol: Option<String>,
    addend: i64,
    func: String,
}

/// serde_json's compact output with a space after every `:` and `,` (Python's `json.dumps`
/// default, which the schema has always used).
struct Spaced;

/// `", "` before every element but the first.
fn separator<W: ?Sized + io::Write>(w: &mut W, first: bool) -> io::Result<()> {
    if first {
        Ok(())
    } else {
        w.write_all(b", ")
    }
}

impl Formatter for Spaced {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separator(w, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separator(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

fn spaced<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    value
        .serialize(&mut serde_json::Serializer::with_formatter(
            &mut out, Spaced,
        ))
        .expect("the schema has only strings, numbers and sequences, which always serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn json_stencil(stencil: &Stencil) -> JsonStencil {
    JsonStencil {
        size: stencil.body.len() as u64,
        bytes: hex::encode(&stencil.body),
        holes: stencil
            .holes
            .iter()
            .map(|h| JsonHole {
                offset: h.offset,
                kind: h.kind.name().to_string(),
                value: h.value.name().to_string(),
                symbol: h.symbol.clone(),
                addend: h.addend,
                func: h.patch.func_name().to_string(),
            })
            .collect(),
    }
}

/// Writes `extraction` (made for `target`) in the stable schema, one group per line.
pub fn to_json(extraction: &Extraction, target: Target) -> String {
    let head = spaced(&Head {
        target: target.triple(),
        trampoline_symbols: &extraction.trampoline_symbols,
    });
    let mut out = format!("{}, \"groups\": [", &head[..head.len() - 1]);
    for (i, group) in extraction.groups.iter().enumerate() {
        out.push_str(if i == 0 { "\n  " } else { ",\n  " });
        out.push_str(&spaced(&JsonGroup {
            name: group.name.clone(),
            code: json_stencil(&group.code),
            data: json_stencil(&group.data),
            trampolines: group.trampolines.clone(),
            data_align: group.data_align,
        }));
    }
    out.push_str("\n]}\n");
    out
}

/// Reads the schema back (for tools and round-trip tests). Values that are not built-in names
/// become [`HoleValue::Custom`]; `data_section_len` and `got_offset`, which the schema does not
/// carry, are set to the data length.
pub fn from_json(file: &str, json: &str) -> Result<(Target, Extraction), Error> {
    let bad = |message: String| Error::Malformed {
        file: file.to_string(),
        message,
    };
    let document: JsonDocument =
        serde_json::from_str(json).map_err(|e| bad(format!("JSON: {e}")))?;
    let target = Target::from_triple(&document.target)
        .ok_or_else(|| bad(format!("unknown target {:?}", document.target)))?;
    let mut groups = Vec::with_capacity(document.groups.len());
    for group in document.groups {
        let code = read_stencil(group.code, &bad)?;
        let data = read_stencil(group.data, &bad)?;
        // The GOT layout is not part of the schema: treat the whole data body as section bytes.
        let got_offset = data.body.len();
        let data_align = group.data_align;
        if !data_align.is_power_of_two() || !(8..=4096).contains(&data_align) {
            return Err(bad(format!(
                "group {:?}: \"data_align\" {data_align} is not a power of two from 8 to 4096",
                group.name
            )));
        }
        groups.push(StencilGroup {
            data_align,
            name: group.name,
            data_section_len: got_offset,
            got_offset,
            code,
            data,
            trampolines: group.trampolines,
        });
    }
    Ok((
        target,
        Extraction {
            groups,
            trampoline_symbols: document.trampoline_symbols,
        },
    ))
}

fn read_stencil(stencil: JsonStencil, bad: &impl Fn(String) -> Error) -> Result<Stencil, Error> {
    let body = hex::decode(&stencil.bytes)
        .map_err(|e| bad(format!("\"bytes\" is not an even-length hex string: {e}")))?;
    if stencil.size != body.len() as u64 {
        return Err(bad(format!(
            "\"size\" {} does not match {} bytes",
            stencil.size,
            body.len()
        )));
    }
    let holes = stencil
        .holes
        .into_iter()
        .map(|hole| {
            let kind = RelocKind::from_name(&hole.kind)
                .ok_or_else(|| bad(format!("unknown relocation kind {:?}", hole.kind)))?;
            let patch = PatchKind::from_func_name(&hole.func)
                .ok_or_else(|| bad(format!("unknown patch function {:?}", hole.func)))?;
            let value =
                HoleValue::from_builtin_name(&hole.value).unwrap_or(HoleValue::Custom(hole.value));
            Ok(Hole {
                offset: hole.offset,
                kind,
                value,
                symbol: hole.symbol,
                addend: hole.addend,
                patch,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Stencil { body, holes })
}
