//! The tiers that can run a store's functions. Everything else (decoding, lowering, the
//! store, linking, traps, the spec runner) is shared, so tiers differ only in how they
//! execute [`crate::code::Code`] and are checked against each other on the same suite.

/// An execution tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The reference interpreter ([`crate::interp`]).
    Interpreter,
}

impl Tier {
    /// Every tier this build has, in the order reports list them.
    pub const ALL: &'static [Tier] = &[Tier::Interpreter];

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interpreter => "interpreter",
        }
    }

    /// The tier called `name` ([`Tier::name`]), if this build has it.
    pub fn from_name(name: &str) -> Option<Tier> {
        Tier::ALL.iter().copied().find(|t| t.name() == name)
    }
}
