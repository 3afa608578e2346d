//! The tiers that can run a store's functions. Everything else (decoding, lowering, the
//! store, linking, traps, the spec runner) is shared, so tiers differ only in how they
//! execute [`crate::code::Code`] and are checked against each other on the same suite.
//!
//! A tier gets each function as lowered [`crate::code::Code`] (branch targets and stack
//! heights resolved, one slot per value), the store's tables, memories and globals by
//! address, and reports [`crate::trap::TrapKind`]s with the op's module offset
//! ([`crate::code::Code::offsets`]). [`crate::store::Store::invoke`] is the one place that
//! dispatches on the tier; a store runs all its instances on one tier, so cross-module
//! calls never change tier.

/// An execution tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The reference interpreter ([`crate::interp`]).
    Interpreter,
    /// The copy-and-patch JIT (`jit`): Linux on x86-64 and AArch64, where its stencil tables
    /// are committed. Elsewhere it is not in [`Tier::ALL`], and a store made for it runs on
    /// the interpreter.
    Jit,
}

impl Tier {
    /// Every tier this build has, in the order reports list them.
    #[cfg(wasm_jit)]
    pub const ALL: &'static [Tier] = &[Tier::Interpreter, Tier::Jit];
    /// Every tier this build has, in the order reports list them.
    #[cfg(not(wasm_jit))]
    pub const ALL: &'static [Tier] = &[Tier::Interpreter];

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interpreter => "interpreter",
            Tier::Jit => "jit",
        }
    }

    /// The tier called `name` ([`Tier::name`]), if this build has it.
    pub fn from_name(name: &str) -> Option<Tier> {
        Tier::ALL.iter().copied().find(|t| t.name() == name)
    }
}
