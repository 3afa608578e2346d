//! The numeric semantics of 1.0 where Rust's operators differ from WebAssembly's: trapping
//! division and truncation, NaN-propagating `min`/`max` with signed zeros, ties-to-even
//! `nearest`, and NaN results that are always quiet. Floats go in and out as bits, so a
//! value that only moves (abs, neg, copysign, reinterpret) keeps its exact NaN payload.
//!
//! One definition per operation, used by the interpreter and by any tier that calls out for
//! an operation it does not inline.

use crate::trap::TrapKind;

/// Defines the float operations of one width.
macro_rules! float_ops {
    ($m:ident, $f:ty, $bits:ty, $quiet:expr) => {
        /// Float operations of this width, on bits.
        pub mod $m {
            use super::TrapKind;

            const SIGN: $bits = 1 << (<$bits>::BITS - 1);

            /// A result's bits, with the quiet bit set if it is a NaN: an arithmetic NaN, and
            /// canonical when the operation made it from non-NaN inputs.
            pub fn quiet(r: $f) -> $bits {
                if r.is_nan() {
                    r.to_bits() | $quiet
                } else {
                    r.to_bits()
                }
            }

            fn f(bits: $bits) -> $f {
                <$f>::from_bits(bits)
            }

            /// Addition.
            pub fn add(a: $bits, b: $bits) -> $bits {
                quiet(f(a) + f(b))
            }
            /// Subtraction.
            pub fn sub(a: $bits, b: $bits) -> $bits {
                quiet(f(a) - f(b))
            }
            /// Multiplication.
            pub fn mul(a: $bits, b: $bits) -> $bits {
                quiet(f(a) * f(b))
            }
            /// Division (by zero: an infinity or NaN, never a trap).
            pub fn div(a: $bits, b: $bits) -> $bits {
                quiet(f(a) / f(b))
            }
            /// Square root (correctly rounded).
            pub fn sqrt(a: $bits) -> $bits {
                quiet(f(a).sqrt())
            }
            /// Round up.
            pub fn ceil(a: $bits) -> $bits {
                quiet(f(a).ceil())
            }
            /// Round down.
            pub fn floor(a: $bits) -> $bits {
                quiet(f(a).floor())
            }
            /// Round toward zero.
            pub fn trunc(a: $bits) -> $bits {
                quiet(f(a).trunc())
            }
            /// Round to nearest, ties to even.
            pub fn nearest(a: $bits) -> $bits {
                quiet(f(a).round_ties_even())
            }

            /// The smaller operand; NaN if either is, and -0 below +0.
            pub fn min(a: $bits, b: $bits) -> $bits {
                let (x, y) = (f(a), f(b));
                if x.is_nan() || y.is_nan() {
                    quiet(x + y)
                } else if x == y {
                    // Equal: identical, or zeros of either sign (either negative wins).
                    a | b
                } else if x < y {
                    a
                } else {
                    b
                }
            }

            /// The larger operand; NaN if either is, and +0 above -0.
            pub fn max(a: $bits, b: $bits) -> $bits {
                let (x, y) = (f(a), f(b));
                if x.is_nan() || y.is_nan() {
                    quiet(x + y)
                } else if x == y {
                    a & b
                } else if x > y {
                    a
                } else {
                    b
                }
            }

            /// Clears the sign bit only.
            pub fn abs(a: $bits) -> $bits {
                a & !SIGN
            }
            /// Flips the sign bit only.
            pub fn neg(a: $bits) -> $bits {
                a ^ SIGN
            }
            /// `a`'s magnitude with `b`'s sign bit.
            pub fn copysign(a: $bits, b: $bits) -> $bits {
                (a & !SIGN) | (b & SIGN)
            }

            /// Ordered equality (NaN is unequal to everything).
            pub fn eq(a: $bits, b: $bits) -> bool {
                f(a) == f(b)
            }
            /// Not `eq`: true when either is NaN.
            pub fn ne(a: $bits, b: $bits) -> bool {
                f(a) != f(b)
            }
            /// Less than (false with a NaN).
            pub fn lt(a: $bits, b: $bits) -> bool {
                f(a) < f(b)
            }
            /// Greater than (false with a NaN).
            pub fn gt(a: $bits, b: $bits) -> bool {
                f(a) > f(b)
            }
            /// At most (false with a NaN).
            pub fn le(a: $bits, b: $bits) -> bool {
                f(a) <= f(b)
            }
            /// At least (false with a NaN).
            pub fn ge(a: $bits, b: $bits) -> bool {
                f(a) >= f(b)
            }

            /// The truncation of `a` if it lies in `[lo, hi)`: the target integer's range,
            /// whose bounds (0 or ±2^n) every float width represents exactly.
            fn in_range(a: $bits, lo: $f, hi: $f) -> Result<$f, TrapKind> {
                let x = f(a);
                if x.is_nan() {
                    return Err(TrapKind::InvalidConversion);
                }
                let t = x.trunc();
                if t >= lo && t < hi {
                    Ok(t)
                } else {
                    Err(TrapKind::IntegerOverflow)
                }
            }

            /// `i32.trunc_*_s`: traps on NaN or out of range.
            pub fn trunc_i32(a: $bits) -> Result<i32, TrapKind> {
                in_range(a, -2147483648.0, 2147483648.0).map(|t| t as i32)
            }
            /// `i32.trunc_*_u`: traps on NaN or out of range.
            pub fn trunc_u32(a: $bits) -> Result<u32, TrapKind> {
                in_range(a, 0.0, 4294967296.0).map(|t| t as u32)
            }
            /// `i64.trunc_*_s`: traps on NaN or out of range.
            pub fn trunc_i64(a: $bits) -> Result<i64, TrapKind> {
                in_range(a, -9223372036854775808.0, 9223372036854775808.0).map(|t| t as i64)
            }
            /// `i64.trunc_*_u`: traps on NaN or out of range.
            pub fn trunc_u64(a: $bits) -> Result<u64, TrapKind> {
                in_range(a, 0.0, 18446744073709551616.0).map(|t| t as u64)
            }
        }
    };
}

float_ops!(f32, f32, u32, 0x0040_0000);
float_ops!(f64, f64, u64, 0x0008_0000_0000_0000);

/// Defines the trapping integer operations of one width.
macro_rules! int_ops {
    ($m:ident, $s:ty, $u:ty) => {
        /// Integer operations of this width that can trap.
        pub mod $m {
            use super::TrapKind;

            /// Signed division: traps on zero and on `MIN / -1`.
            pub fn div_s(a: $s, b: $s) -> Result<$s, TrapKind> {
                match b {
                    0 => Err(TrapKind::IntegerDivideByZero),
                    -1 if a == <$s>::MIN => Err(TrapKind::IntegerOverflow),
                    _ => Ok(a / b),
                }
            }
            /// Unsigned division: traps on zero.
            pub fn div_u(a: $u, b: $u) -> Result<$u, TrapKind> {
                a.checked_div(b).ok_or(TrapKind::IntegerDivideByZero)
            }
            /// Remainder with the dividend's sign; `MIN % -1` is 0, not a trap.
            pub fn rem_s(a: $s, b: $s) -> Result<$s, TrapKind> {
                match b {
                    0 => Err(TrapKind::IntegerDivideByZero),
                    _ => Ok(a.wrapping_rem(b)),
                }
            }
            /// Unsigned remainder: traps on zero.
            pub fn rem_u(a: $u, b: $u) -> Result<$u, TrapKind> {
                a.checked_rem(b).ok_or(TrapKind::IntegerDivideByZero)
            }
        }
    };
}

int_ops!(i32, i32, u32);
int_ops!(i64, i64, u64);

#[cfg(test)]
mod tests {
    use super::*;
    // The modules under test shadow the primitive names.
    use core::primitive::{f32 as F32, f64 as F64};

    const F32_CANONICAL: u32 = 0x7fc0_0000;

    fn b32(x: F32) -> u32 {
        x.to_bits()
    }
    fn b64(x: F64) -> u64 {
        x.to_bits()
    }

    #[test]
    fn nearest_rounds_ties_to_even_and_keeps_signed_zero() {
        let cases = [
            (0.5, 0.0),
            (1.5, 2.0),
            (2.5, 2.0),
            (-0.5, -0.0),
            (-1.5, -2.0),
            (4.4, 4.0),
            (-0.0, -0.0),
        ];
        for (x, want) in cases {
            assert_eq!(f32::nearest(b32(x)), b32(want), "nearest({x})");
            assert_eq!(
                f64::nearest(b64(x as F64)),
                b64(want as F64),
                "nearest({x})"
            );
        }
        // 2^23 + 0.5 is not representable; the largest odd f32 below 2^24 stays.
        assert_eq!(f32::nearest(b32(8388609.0)), b32(8388609.0));
    }

    #[test]
    fn min_max_order_signed_zeros_and_propagate_nan() {
        let (pz, nz) = (b32(0.0), b32(-0.0));
        assert_eq!(f32::min(pz, nz), nz);
        assert_eq!(f32::min(nz, pz), nz);
        assert_eq!(f32::max(pz, nz), pz);
        assert_eq!(f32::max(nz, pz), pz);
        assert_eq!(f32::min(b32(1.0), b32(-3.0)), b32(-3.0));
        assert_eq!(f32::max(b32(1.0), b32(-3.0)), b32(1.0));
        // A NaN operand wins (Rust's `f32::min` would return the other operand).
        assert!(F32::from_bits(f32::min(F32_CANONICAL, b32(1.0))).is_nan());
        assert!(F32::from_bits(f32::max(b32(1.0), F32_CANONICAL)).is_nan());
        let (pz, nz) = (b64(0.0), b64(-0.0));
        assert_eq!(f64::min(pz, nz), nz);
        assert_eq!(f64::max(nz, pz), pz);
    }

    #[test]
    fn nan_results_are_quiet_and_moves_keep_payloads() {
        let signalling = 0x7fa0_0000; // exponent all ones, quiet bit clear, payload set
        let r = f32::add(signalling, b32(1.0));
        assert_eq!(r & F32_CANONICAL, F32_CANONICAL, "{r:#x} is not quiet");
        assert_eq!(f32::floor(signalling) & F32_CANONICAL, F32_CANONICAL);
        // Made from non-NaN inputs: the canonical NaN (either sign).
        let r = f32::sub(b32(F32::INFINITY), b32(F32::INFINITY));
        assert_eq!(r & 0x7fff_ffff, F32_CANONICAL);
        // abs/neg/copysign touch the sign bit only.
        assert_eq!(f32::neg(signalling), signalling | 0x8000_0000);
        assert_eq!(f32::abs(signalling | 0x8000_0000), signalling);
        assert_eq!(
            f32::copysign(signalling, b32(-1.0)),
            signalling | 0x8000_0000
        );
    }

    #[test]
    fn truncations_trap_on_nan_and_out_of_range() {
        assert_eq!(f32::trunc_i32(b32(-2147483648.0)), Ok(i32::MIN));
        assert_eq!(
            f32::trunc_i32(b32(2147483648.0)),
            Err(TrapKind::IntegerOverflow)
        );
        assert_eq!(f64::trunc_i32(b64(-2147483648.9)), Ok(i32::MIN));
        assert_eq!(
            f64::trunc_i32(b64(-2147483649.0)),
            Err(TrapKind::IntegerOverflow)
        );
        assert_eq!(f64::trunc_i32(b64(2147483647.9)), Ok(i32::MAX));
        assert_eq!(f32::trunc_u32(b32(-0.9)), Ok(0));
        assert_eq!(f32::trunc_u32(b32(-1.0)), Err(TrapKind::IntegerOverflow));
        assert_eq!(f64::trunc_u32(b64(4294967295.9)), Ok(u32::MAX));
        assert_eq!(
            f64::trunc_u32(b64(4294967296.0)),
            Err(TrapKind::IntegerOverflow)
        );
        assert_eq!(f32::trunc_i64(b32(-9223372036854775808.0)), Ok(i64::MIN));
        assert_eq!(
            f64::trunc_i64(b64(9223372036854775808.0)),
            Err(TrapKind::IntegerOverflow)
        );
        assert_eq!(
            f64::trunc_u64(b64(18446744073709549568.0)),
            Ok(18446744073709549568)
        );
        assert_eq!(
            f64::trunc_u64(b64(18446744073709551616.0)),
            Err(TrapKind::IntegerOverflow)
        );
        assert_eq!(
            f32::trunc_i32(F32_CANONICAL),
            Err(TrapKind::InvalidConversion)
        );
        assert_eq!(
            f64::trunc_u64(b64(F64::NAN)),
            Err(TrapKind::InvalidConversion)
        );
    }

    #[test]
    fn signed_division_traps_on_zero_and_overflow_but_remainder_does_not_overflow() {
        assert_eq!(i32::div_s(i32::MIN, -1), Err(TrapKind::IntegerOverflow));
        assert_eq!(i32::div_s(7, 0), Err(TrapKind::IntegerDivideByZero));
        assert_eq!(i32::div_s(-7, 2), Ok(-3));
        assert_eq!(i32::rem_s(i32::MIN, -1), Ok(0));
        assert_eq!(i32::rem_s(-7, 2), Ok(-1));
        assert_eq!(i64::div_s(i64::MIN, -1), Err(TrapKind::IntegerOverflow));
        assert_eq!(i64::rem_u(7, 0), Err(TrapKind::IntegerDivideByZero));
        assert_eq!(i64::div_u(u64::MAX, 2), Ok(u64::MAX / 2));
    }
}
