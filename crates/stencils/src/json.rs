//! The stable JSON form of an extraction, shared by `patchjit dump --format json` and the build
//! driver's `stencils.json`. Other tools parse it, so keys and their order never change:
//!
//! ```text
//! {"target": "...", "trampoline_symbols": [...], "groups": [{"name": "...",
//!   "code": {"size": N, "bytes": "<hex>", "holes": [H, ...]}, "data": {...}, "trampolines": [...]}]}
//! H = {"offset": N, "kind": "R_X86_64_64", "value": "OPARG", "symbol": null | "name",
//!      "addend": N, "func": "patch_64"}
//! ```
//!
//! Written by hand rather than through a generic serializer so that key order and formatting are
//! fixed and output is byte-identical for the same extraction.

use std::fmt::Write;

use serde_json::Value;

use patchjit_vocab::{PatchKind, RelocKind, Target};

use crate::hole::{Extraction, Hole, HoleValue, Stencil, StencilGroup};
use crate::Error;

/// Writes `extraction` (made for `target`) in the stable schema, one group per line.
pub fn to_json(extraction: &Extraction, target: Target) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{{\"target\": {}, \"trampoline_symbols\": [{}], \"groups\": [",
        string(target.triple()),
        extraction
            .trampoline_symbols
            .iter()
            .map(|s| string(s))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (i, group) in extraction.groups.iter().enumerate() {
        out.push_str(if i == 0 { "\n  " } else { ",\n  " });
        write_group(&mut out, group);
    }
    out.push_str("\n]}\n");
    out
}

fn write_group(out: &mut String, group: &StencilGroup) {
    let trampolines: Vec<String> = group.trampolines.iter().map(u32::to_string).collect();
    let _ = write!(out, "{{\"name\": {}, \"code\": ", string(&group.name));
    write_stencil(out, &group.code);
    out.push_str(", \"data\": ");
    write_stencil(out, &group.data);
    let _ = write!(out, ", \"trampolines\": [{}]}}", trampolines.join(", "));
}

fn write_stencil(out: &mut String, stencil: &Stencil) {
    let _ = write!(out, "{{\"size\": {}, \"bytes\": \"", stencil.body.len());
    for byte in &stencil.body {
        let _ = write!(out, "{byte:02x}");
    }
    out.push_str("\", \"holes\": [");
    for (i, hole) in stencil.holes.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let symbol = hole.symbol.as_deref().map_or("null".to_string(), string);
        let _ = write!(
            out,
            "{{\"offset\": {}, \"kind\": \"{}\", \"value\": {}, \"symbol\": {}, \"addend\": {}, \"func\": \"{}\"}}",
            hole.offset,
            hole.kind.name(),
            string(hole.value.name()),
            symbol,
            hole.addend,
            hole.patch.func_name()
        );
    }
    out.push_str("]}");
}

fn string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// Reads the schema back (for tools and round-trip tests). Values that are not built-in names
/// become [`HoleValue::Custom`]; `data_section_len` and `got_offset`, which the schema does not
/// carry, are set to the data length.
pub fn from_json(file: &str, json: &str) -> Result<(Target, Extraction), Error> {
    let bad = |message: String| Error::Malformed {
        file: file.to_string(),
        message,
    };
    let root: Value = serde_json::from_str(json).map_err(|e| bad(format!("JSON: {e}")))?;
    let triple = field(&root, "target", file)?
        .as_str()
        .ok_or_else(|| bad("\"target\" is not a string".into()))?;
    let target =
        Target::from_triple(triple).ok_or_else(|| bad(format!("unknown target {triple:?}")))?;
    let trampoline_symbols = array(field(&root, "trampoline_symbols", file)?, file)?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad("trampoline symbol is not a string".into()))
        })
        .collect::<Result<_, _>>()?;
    let mut groups = Vec::new();
    for group in array(field(&root, "groups", file)?, file)? {
        let name = field(group, "name", file)?
            .as_str()
            .ok_or_else(|| bad("group name is not a string".into()))?
            .to_string();
        let code = read_stencil(field(group, "code", file)?, file)?;
        let data = read_stencil(field(group, "data", file)?, file)?;
        let trampolines = array(field(group, "trampolines", file)?, file)?
            .iter()
            .map(|t| {
                t.as_u64()
                    .and_then(|t| u32::try_from(t).ok())
                    .ok_or_else(|| bad(format!("group {name}: bad trampoline ordinal {t}")))
            })
            .collect::<Result<_, _>>()?;
        // The GOT layout is not part of the schema: treat the whole data body as section bytes.
        let got_offset = data.body.len();
        groups.push(StencilGroup {
            name,
            data_section_len: got_offset,
            got_offset,
            code,
            data,
            trampolines,
        });
    }
    Ok((
        target,
        Extraction {
            groups,
            trampoline_symbols,
        },
    ))
}

fn field<'a>(value: &'a Value, key: &str, file: &str) -> Result<&'a Value, Error> {
    value.get(key).ok_or_else(|| Error::Malformed {
        file: file.to_string(),
        message: format!("missing key {key:?}"),
    })
}

fn array<'a>(value: &'a Value, file: &str) -> Result<&'a Vec<Value>, Error> {
    value.as_array().ok_or_else(|| Error::Malformed {
        file: file.to_string(),
        message: format!("expected an array, found {value}"),
    })
}

fn read_stencil(value: &Value, file: &str) -> Result<Stencil, Error> {
    let bad = |message: String| Error::Malformed {
        file: file.to_string(),
        message,
    };
    let hex = field(value, "bytes", file)?
        .as_str()
        .ok_or_else(|| bad("\"bytes\" is not a string".into()))?;
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("\"bytes\" is not an even-length hex string".into()));
    }
    let body: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0))
        .collect();
    let size = field(value, "size", file)?.as_u64();
    if size != Some(body.len() as u64) {
        return Err(bad(format!(
            "\"size\" {size:?} does not match {} bytes",
            body.len()
        )));
    }
    let mut holes = Vec::new();
    for hole in array(field(value, "holes", file)?, file)? {
        let text = |key: &str| -> Result<&str, Error> {
            field(hole, key, file)?
                .as_str()
                .ok_or_else(|| bad(format!("hole {key:?} is not a string")))
        };
        let kind = RelocKind::from_name(text("kind")?).ok_or_else(|| {
            bad(format!(
                "unknown relocation kind {:?}",
                text("kind").unwrap_or("")
            ))
        })?;
        let patch = PatchKind::from_func_name(text("func")?).ok_or_else(|| {
            bad(format!(
                "unknown patch function {:?}",
                text("func").unwrap_or("")
            ))
        })?;
        let value_name = text("value")?;
        let value = HoleValue::from_builtin_name(value_name)
            .unwrap_or_else(|| HoleValue::Custom(value_name.to_string()));
        let symbol = match field(hole, "symbol", file)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => {
                return Err(bad(format!(
                    "hole symbol {other} is neither null nor a string"
                )))
            }
        };
        let offset = field(hole, "offset", file)?
            .as_u64()
            .ok_or_else(|| bad("hole offset is not an unsigned integer".into()))?;
        let addend = field(hole, "addend", file)?
            .as_i64()
            .ok_or_else(|| bad("hole addend is not a 64-bit integer".into()))?;
        holes.push(Hole {
            offset,
            kind,
            value,
            symbol,
            addend,
            patch,
        });
    }
    Ok(Stencil { body, holes })
}
