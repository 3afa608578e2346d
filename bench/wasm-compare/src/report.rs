//! The tables of docs/performance.md, from criterion's estimates
//! (`<criterion dir>/<group>/<workload>/<engine>/new/estimates.json`, median point
//! estimates): per workload and engine the time and its ratio to Winch's, the geometric mean
//! of the ratios, and the compile throughput on the generated module.

use std::fmt::Write;
use std::path::Path;

use crate::engine::Engine;
use crate::workload::NAMES;

/// The engine every ratio is taken against.
const BASELINE: Engine = Engine::Winch;

/// The benchmark groups, as the bench names them, with a heading for each table.
const GROUPS: [(&str, &str); 2] = [
    (
        "compile",
        "Compile: decode + validate + compile to ready-to-run",
    ),
    ("run", "Run: one call of `run`, instance made beforehand"),
];

/// The median time in nanoseconds criterion estimated for `group/workload/engine`, or
/// `None` if that benchmark has not run.
fn median_ns(
    dir: &Path,
    group: &str,
    workload: &str,
    engine: Engine,
) -> Result<Option<f64>, String> {
    let path = dir
        .join(group)
        .join(workload)
        .join(engine.name())
        .join("new/estimates.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .map(Some)
        .ok_or_else(|| format!("{}: no median.point_estimate", path.display()))
}

/// `ns` with a unit that keeps three or four significant digits.
fn duration(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.1} ns"),
        ns if ns < 1e6 => format!("{:.1} µs", ns / 1e3),
        ns if ns < 1e9 => format!("{:.2} ms", ns / 1e6),
        ns => format!("{:.2} s", ns / 1e9),
    }
}

/// The tables in markdown; `generated_code_bytes` is the generated module's code section
/// size, for its compile throughput row.
pub fn tables(dir: &Path, generated_code_bytes: u64) -> Result<String, String> {
    let engines = Engine::all();
    let mut out = String::new();
    for (group, heading) in GROUPS {
        let _ = writeln!(out, "{heading}; median, and ratio to Winch's\n");
        let _ = writeln!(
            out,
            "| workload | {} |",
            engines
                .iter()
                .map(|e| e.name())
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(out, "|---|{}", "---|".repeat(engines.len()));
        // Per engine: the sum of the logarithms of its ratios and how many there are.
        let mut logs = vec![(0.0, 0); engines.len()];
        let mut generated = Vec::new();
        for workload in NAMES {
            let base = median_ns(dir, group, workload, BASELINE)?;
            let mut cells = Vec::new();
            for (e, log) in engines.iter().zip(&mut logs) {
                let ns = median_ns(dir, group, workload, *e)?;
                cells.push(match (ns, base) {
                    (Some(ns), Some(base)) => {
                        let ratio = ns / base;
                        log.0 += ratio.ln();
                        log.1 += 1;
                        format!("{} ({ratio:.2}×)", duration(ns))
                    }
                    (Some(ns), None) => duration(ns),
                    (None, _) => "–".into(),
                });
                if workload == "generated" {
                    generated.push(ns);
                }
            }
            if cells.iter().any(|c| c != "–") {
                let _ = writeln!(out, "| {workload} | {} |", cells.join(" | "));
            }
        }
        let means: Vec<String> = logs
            .iter()
            .map(|&(sum, n)| match n {
                0 => "–".into(),
                n => format!("**{:.2}×**", (sum / n as f64).exp()),
            })
            .collect();
        let _ = writeln!(out, "| geometric mean | {} |", means.join(" | "));
        if group == "compile" && generated.iter().any(Option::is_some) {
            let rates: Vec<String> = generated
                .iter()
                .map(|ns| match ns {
                    Some(ns) => format!("{:.1} MB/s", generated_code_bytes as f64 / ns * 1e3),
                    None => "–".into(),
                })
                .collect();
            let _ = writeln!(
                out,
                "| generated: code section ({:.2} MB) per second | {} |",
                generated_code_bytes as f64 / 1e6,
                rates.join(" | ")
            );
        }
        out.push('\n');
    }
    Ok(out)
}
