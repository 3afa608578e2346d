//! The digest on the first line of `jit_stencils-<triple>.h`: SHA-256 over everything the
//! stencils depend on, computed exactly as CPython 3.14.7's `Tools/jit` computes it, so an
//! unchanged tree is detected (by patchjit or by CPython's own script) without compiling.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The inputs of one target's stencils.
pub struct DigestInputs<'a> {
    /// The triple exactly as given on the command line.
    pub triple: &'a str,
    pub debug: bool,
    pub cflags: &'a str,
    /// The CPython source root.
    pub cpython: &'a Path,
    /// The directory holding the configured `pyconfig.h`.
    pub pyconfig_dir: &'a Path,
}

/// Lowercase hex SHA-256 of: triple, a debug byte, the cflags, `Python/executor_cases.c.h`,
/// `pyconfig.h`, then every file under `Tools/jit` (directories in path order, files in name
/// order, `__pycache__` directories skipped).
pub fn digest(inputs: &DigestInputs<'_>) -> io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(inputs.triple.as_bytes());
    hasher.update(&[u8::from(inputs.debug)]);
    hasher.update(inputs.cflags.as_bytes());
    hasher.update(&read(&inputs.cpython.join("Python/executor_cases.c.h"))?);
    hasher.update(&read(&inputs.pyconfig_dir.join("pyconfig.h"))?);
    for (dir, files) in walk(&inputs.cpython.join("Tools/jit"))? {
        if dir.as_os_str().to_string_lossy().ends_with("__pycache__") {
            continue;
        }
        for file in files {
            hasher.update(&read(&dir.join(file))?);
        }
    }
    Ok(hasher.finish().iter().map(|b| format!("{b:02x}")).collect())
}

fn read(path: &Path) -> io::Result<Vec<u8>> {
    fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// `sorted(os.walk(root))` reduced to (directory, sorted file names): top-down, symlinked
/// directories listed but not entered, sorted by directory path.
fn walk(root: &Path) -> io::Result<Vec<(PathBuf, Vec<std::ffi::OsString>)>> {
    let mut result = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let mut files = Vec::new();
        let entries = fs::read_dir(&dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        for entry in entries {
            let entry = entry?;
            let file_type = entry.file_type()?;
            // os.walk classifies a symlink by what it points to but does not descend into it.
            let is_dir = if file_type.is_symlink() {
                entry.path().is_dir()
            } else {
                file_type.is_dir()
            };
            if !is_dir {
                files.push(entry.file_name());
            } else if !file_type.is_symlink() {
                pending.push(entry.path());
            }
        }
        files.sort();
        result.push((dir, files));
    }
    result.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    Ok(result)
}

/// SHA-256 (FIPS 180-4), streaming.
struct Sha256 {
    state: [u32; 8],
    buffer: Vec<u8>,
    length: u64,
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

impl Sha256 {
    fn new() -> Sha256 {
        Sha256 {
            state: [
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                0x5be0cd19,
            ],
            buffer: Vec::with_capacity(64),
            length: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        if !self.buffer.is_empty() {
            let take = (64 - self.buffer.len()).min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buffer.len() < 64 {
                return;
            }
            let block: [u8; 64] = self.buffer[..].try_into().expect("a full block");
            self.compress(&block);
            self.buffer.clear();
        }
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            self.compress(block.try_into().expect("a full block"));
        }
        self.buffer.extend_from_slice(blocks.remainder());
    }

    fn finish(mut self) -> [u8; 32] {
        let bits = self.length.wrapping_mul(8);
        let mut tail = vec![0x80u8];
        let used = (self.buffer.len() + 1) % 64;
        tail.resize(1 + (56 + 64 - used) % 64, 0);
        tail.extend_from_slice(&bits.to_be_bytes());
        let length = self.length;
        self.update(&tail);
        self.length = length;
        debug_assert!(self.buffer.is_empty());
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    fn compress(&mut self, block: &[u8; 64]) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes(word.try_into().expect("4 bytes"));
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = self.state;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (s, v) in self.state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = s.wrapping_add(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(data: &[&[u8]]) -> String {
        let mut h = Sha256::new();
        for d in data {
            h.update(d);
        }
        h.finish().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_known_vectors() {
        assert_eq!(
            hex(&[b""]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&[b"abc"]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&[b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"]),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        // Streaming in uneven pieces must not change the result.
        let million = vec![b'a'; 1_000_000];
        let pieces: Vec<&[u8]> = million.chunks(63).collect();
        assert_eq!(
            hex(&pieces),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }
}
