//! Making JIT code visible to profilers and debuggers (both opt-in per unit):
//! - the perf map: `perf` reads `/tmp/perf-<pid>.map`, one `START SIZE NAME` line (hex) per
//!   symbol, to name samples in anonymous executable memory;
//! - GDB's JIT interface: the debugger breaks on `__jit_debug_register_code` and reads a
//!   linked list rooted at `__jit_debug_descriptor` of in-memory object files; each unit gets a
//!   minimal ELF with a NOBITS `.text` at the code address and one symbol per instruction.
//!   Only with the `gdb-jit` feature, which defines those two symbols.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

/// `(code offset, size, name)` of one symbol.
pub type CodeSymbol = (u32, u32, String);

/// Keeps a unit registered with GDB until dropped.
pub struct Registration {
    #[cfg(feature = "gdb-jit")]
    gdb: Option<Box<gdb::Entry>>,
}

#[cfg(feature = "gdb-jit")]
impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(mut entry) = self.gdb.take() {
            gdb::unregister(&mut entry);
        }
    }
}

static PERF_MAP: Mutex<Option<File>> = Mutex::new(None);

/// Path of this process's perf map.
pub fn perf_map_path() -> String {
    format!("/tmp/perf-{}.map", std::process::id())
}

/// Opens the perf map at `path` for appending. The path is in a world-writable directory and
/// predictable, so another user may have planted something there: the file is created
/// exclusively, and an existing one is used only if it is a regular file of ours with no other
/// links, checked on the opened file itself. A symlink is never followed, nor a FIFO waited on.
#[cfg(unix)]
fn open_perf_map(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    let refuse = |why: &str| {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("refusing perf map {}: {why}", path.display()),
        )
    };
    let created = OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(flags)
        .open(path);
    let file = match created {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => OpenOptions::new()
            .append(true)
            .custom_flags(flags)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => refuse("it is a symbolic link"),
                _ => io::Error::new(e.kind(), format!("perf map {}: {e}", path.display())),
            })?,
        other => other
            .map_err(|e| io::Error::new(e.kind(), format!("perf map {}: {e}", path.display())))?,
    };
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(refuse("it is not a regular file"));
    }
    // SAFETY: geteuid has no preconditions.
    if meta.uid() != unsafe { libc::geteuid() } {
        return Err(refuse(&format!("it belongs to user {}", meta.uid())));
    }
    if meta.nlink() != 1 {
        return Err(refuse("it has other hard links"));
    }
    Ok(file)
}

/// perf exists only on Linux; elsewhere the map is a plain file nobody else reads.
#[cfg(not(unix))]
fn open_perf_map(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).create(true).open(path)
}

/// Appends one line per symbol of the unit at `base`, opening the map on first use.
fn append_perf_map(base: usize, symbols: &[CodeSymbol]) -> io::Result<()> {
    let mut text = String::new();
    for (start, size, name) in symbols {
        text.push_str(&format!("{:x} {:x} {name}\n", base + *start as usize, size));
    }
    let mut file = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
    if file.is_none() {
        *file = Some(open_perf_map(Path::new(&perf_map_path()))?);
    }
    // Profiling aids are best effort once the map is open: a failed write must not fail
    // compilation.
    if let Some(f) = file.as_mut() {
        let _ = f.write_all(text.as_bytes());
    }
    Ok(())
}

/// Records a freshly sealed unit at `base` (`code_len` bytes) with the chosen tools (`gdb` only
/// with the `gdb-jit` feature; the emitter refuses it otherwise).
/// Fails only if the perf map cannot be opened safely.
#[cfg_attr(not(feature = "gdb-jit"), allow(unused_variables))]
pub(crate) fn register(
    base: usize,
    code_len: usize,
    symbols: &[CodeSymbol],
    perf: bool,
    gdb: bool,
) -> io::Result<Registration> {
    if perf {
        append_perf_map(base, symbols)?;
    }
    Ok(Registration {
        #[cfg(feature = "gdb-jit")]
        gdb: gdb.then(|| gdb::register(gdb::symfile(base as u64, code_len as u64, symbols))),
    })
}

#[cfg(feature = "gdb-jit")]
pub mod gdb {
    //! GDB's JIT compilation interface (see GDB manual, "JIT Compilation Interface").

    use super::CodeSymbol;
    use std::sync::Mutex;

    /// One registered unit: a node of the list GDB walks (layout fixed by the interface).
    #[repr(C)]
    pub struct JitCodeEntry {
        next: *mut JitCodeEntry,
        prev: *mut JitCodeEntry,
        symfile_addr: *const u8,
        symfile_size: u64,
    }

    /// The type of [`__jit_debug_descriptor`] (layout fixed by the interface).
    #[repr(C)]
    pub struct JitDescriptor {
        /// Interface version: 1.
        pub version: u32,
        /// What the last call of [`__jit_debug_register_code`] did: nothing, register, unregister.
        pub action_flag: u32,
        /// The entry that call was about.
        pub relevant_entry: *mut JitCodeEntry,
        /// The head of the list of registered units.
        pub first_entry: *mut JitCodeEntry,
    }

    const JIT_NOACTION: u32 = 0;
    const JIT_REGISTER_FN: u32 = 1;
    const JIT_UNREGISTER_FN: u32 = 2;

    /// Read by GDB; the name and layout are fixed by the interface.
    #[no_mangle]
    pub static mut __jit_debug_descriptor: JitDescriptor = JitDescriptor {
        version: 1,
        action_flag: JIT_NOACTION,
        relevant_entry: std::ptr::null_mut(),
        first_entry: std::ptr::null_mut(),
    };

    /// GDB sets a breakpoint here; it must not be inlined or merged away.
    #[no_mangle]
    #[inline(never)]
    pub extern "C" fn __jit_debug_register_code() {
        // SAFETY: reading the descriptor's address has no effect; the volatile read keeps the
        // function body from being folded into another empty function.
        unsafe { std::ptr::read_volatile(&raw const __jit_debug_descriptor.action_flag) };
    }

    static LOCK: Mutex<()> = Mutex::new(());

    /// A registered entry and the symfile it points to.
    pub struct Entry {
        entry: JitCodeEntry,
        symfile: Vec<u8>,
    }

    // SAFETY: the entry's pointers are only read or written while holding LOCK.
    unsafe impl Send for Entry {}
    // SAFETY: as above; shared references expose nothing.
    unsafe impl Sync for Entry {}

    pub(crate) fn register(symfile: Vec<u8>) -> Box<Entry> {
        let mut e = Box::new(Entry {
            entry: JitCodeEntry {
                next: std::ptr::null_mut(),
                prev: std::ptr::null_mut(),
                symfile_addr: std::ptr::null(),
                symfile_size: symfile.len() as u64,
            },
            symfile,
        });
        e.entry.symfile_addr = e.symfile.as_ptr();
        let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let node: *mut JitCodeEntry = &mut e.entry;
        // SAFETY: the descriptor is only mutated under LOCK; `node` lives in a Box that is
        // unlinked before it is freed.
        unsafe {
            let d = &raw mut __jit_debug_descriptor;
            (*node).next = (*d).first_entry;
            if !(*d).first_entry.is_null() {
                (*(*d).first_entry).prev = node;
            }
            (*d).first_entry = node;
            (*d).relevant_entry = node;
            (*d).action_flag = JIT_REGISTER_FN;
            __jit_debug_register_code();
            (*d).action_flag = JIT_NOACTION;
        }
        e
    }

    pub(crate) fn unregister(e: &mut Entry) {
        let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let node: *mut JitCodeEntry = &mut e.entry;
        // SAFETY: as in `register`; `node` is in the list.
        unsafe {
            let d = &raw mut __jit_debug_descriptor;
            if (*node).prev.is_null() {
                (*d).first_entry = (*node).next;
            } else {
                (*(*node).prev).next = (*node).next;
            }
            if !(*node).next.is_null() {
                (*(*node).next).prev = (*node).prev;
            }
            (*d).relevant_entry = node;
            (*d).action_flag = JIT_UNREGISTER_FN;
            __jit_debug_register_code();
            (*d).action_flag = JIT_NOACTION;
        }
    }

    /// Copies of the symfiles currently registered, newest first (for tests and tools). Copies,
    /// because a unit's symfile is freed when the unit drops, which may happen on another thread
    /// right after the registry lock is released.
    pub fn registered_symfiles() -> Vec<Vec<u8>> {
        let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        // SAFETY: walked under LOCK, which `unregister` also takes before an entry is freed, so
        // every linked entry and its symfile are alive while they are copied.
        unsafe {
            let d = &raw const __jit_debug_descriptor;
            let mut node = (*d).first_entry;
            while !node.is_null() {
                out.push(
                    std::slice::from_raw_parts((*node).symfile_addr, (*node).symfile_size as usize)
                        .to_vec(),
                );
                node = (*node).next;
            }
        }
        out
    }

    const EM: u16 = if cfg!(target_arch = "aarch64") {
        183
    } else if cfg!(target_arch = "x86") {
        3
    } else {
        62
    };

    /// A relocatable ELF64 object: sections null, `.text` (NOBITS at `base`), `.symtab`,
    /// `.strtab`, `.shstrtab`; one global FUNC symbol per entry of `symbols`.
    pub fn symfile(base: u64, code_len: u64, symbols: &[CodeSymbol]) -> Vec<u8> {
        let shstrtab = b"\0.text\0.symtab\0.strtab\0.shstrtab\0";
        let mut strtab = vec![0u8];
        let mut symtab = vec![0u8; 24];
        for (start, size, name) in symbols {
            let name_offset = strtab.len() as u32;
            strtab.extend_from_slice(name.as_bytes());
            strtab.push(0);
            symtab.extend_from_slice(&name_offset.to_le_bytes());
            symtab.push(0x12); // STB_GLOBAL, STT_FUNC
            symtab.push(0);
            symtab.extend_from_slice(&1u16.to_le_bytes()); // .text
            symtab.extend_from_slice(&(*start as u64).to_le_bytes());
            symtab.extend_from_slice(&(*size as u64).to_le_bytes());
        }
        let symtab_at = 64u64;
        let strtab_at = symtab_at + symtab.len() as u64;
        let shstrtab_at = strtab_at + strtab.len() as u64;
        let sh_at = (shstrtab_at + shstrtab.len() as u64).next_multiple_of(8);
        let mut f = Vec::with_capacity(sh_at as usize + 5 * 64);
        f.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        f.extend_from_slice(&1u16.to_le_bytes()); // ET_REL
        f.extend_from_slice(&EM.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes()); // entry
        f.extend_from_slice(&0u64.to_le_bytes()); // phoff
        f.extend_from_slice(&sh_at.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes()); // flags
        for v in [64u16, 0, 0, 64, 5, 4] {
            f.extend_from_slice(&v.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
        }
        f.extend_from_slice(&symtab);
        f.extend_from_slice(&strtab);
        f.extend_from_slice(shstrtab);
        f.resize(sh_at as usize, 0);
        let mut section = |name: u32,
                           kind: u32,
                           flags: u64,
                           addr: u64,
                           offset: u64,
                           size: u64,
                           link: u32,
                           info: u32,
                           align: u64,
                           entsize: u64| {
            f.extend_from_slice(&name.to_le_bytes());
            f.extend_from_slice(&kind.to_le_bytes());
            for v in [flags, addr, offset, size] {
                f.extend_from_slice(&v.to_le_bytes());
            }
            f.extend_from_slice(&link.to_le_bytes());
            f.extend_from_slice(&info.to_le_bytes());
            f.extend_from_slice(&align.to_le_bytes());
            f.extend_from_slice(&entsize.to_le_bytes());
        };
        section(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        section(1, 8, 0x6, base, 0, code_len, 0, 0, 16, 0); // .text: NOBITS, ALLOC|EXECINSTR
        section(7, 2, 0, 0, symtab_at, symtab.len() as u64, 3, 1, 8, 24); // .symtab
        section(15, 3, 0, 0, strtab_at, strtab.len() as u64, 0, 0, 1, 0); // .strtab
        section(23, 3, 0, 0, shstrtab_at, shstrtab.len() as u64, 0, 0, 1, 0); // .shstrtab
        f
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// A fresh directory for one test's planted paths.
    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("patchjit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn perf_map_is_created_exclusively_and_reopened_only_if_ours() {
        let dir = scratch("perf-ours");
        let map = dir.join("perf.map");
        let mut f = open_perf_map(&map).unwrap();
        f.write_all(b"1000 10 a\n").unwrap();
        let meta = std::fs::metadata(&map).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o644);
        // SAFETY: geteuid has no preconditions.
        assert_eq!(meta.uid(), unsafe { libc::geteuid() });
        // Reopened (a second emitter in another process with this pid): appended, not truncated.
        open_perf_map(&map)
            .unwrap()
            .write_all(b"2000 10 b\n")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&map).unwrap(),
            "1000 10 a\n2000 10 b\n"
        );
        // Our file with a second name may be someone's way to make us write elsewhere.
        std::fs::hard_link(&map, dir.join("other-name")).unwrap();
        let err = open_perf_map(&map).unwrap_err();
        assert!(err.to_string().contains("other hard links"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn planted_symlinks_fifos_and_directories_are_refused() {
        let dir = scratch("perf-planted");
        let target = dir.join("precious");
        std::fs::write(&target, "precious\n").unwrap();
        let map = dir.join("perf.map");
        std::os::unix::fs::symlink(&target, &map).unwrap();
        let err = open_perf_map(&map).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        assert_eq!(
            err.to_string(),
            format!("refusing perf map {}: it is a symbolic link", map.display())
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
        // A dangling link would otherwise create the file it names.
        let absent = dir.join("absent");
        let dangling = dir.join("dangling.map");
        std::os::unix::fs::symlink(&absent, &dangling).unwrap();
        assert!(open_perf_map(&dangling).is_err());
        assert!(!absent.exists());
        // A FIFO with no reader would block a plain open forever.
        let fifo = dir.join("fifo.map");
        let c_fifo = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o644) }, 0);
        assert!(open_perf_map(&fifo).is_err());
        let subdir = dir.join("dir.map");
        std::fs::create_dir(&subdir).unwrap();
        assert!(open_perf_map(&subdir).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
