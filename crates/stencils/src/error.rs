//! Extraction errors: each names the file and, where there is one, the section, offset and
//! relocation type, so a template author can find the problem without another tool.

use std::fmt;

/// Why an object could not become stencils.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not a readable object (empty, truncated, corrupt tables, bad JSON).
    Malformed {
        /// The file name the caller gave for the bytes.
        file: String,
        /// What is wrong, with the section or offset where one applies.
        message: String,
    },
    /// A format, architecture or section type patchjit does not handle.
    Unsupported {
        /// The file name the caller gave for the bytes.
        file: String,
        /// What is not handled.
        message: String,
    },
    /// A relocation type that has no patch function.
    UnsupportedRelocation {
        /// The file name the caller gave for the bytes.
        file: String,
        /// The section the relocation applies to.
        section: String,
        /// Where in that section the relocation applies.
        offset: u64,
        /// The type: its name where one is known, else its raw number.
        kind: String,
    },
    /// A well-formed object that cannot become a good stencil group.
    Invalid {
        /// The file name the caller gave for the bytes.
        file: String,
        /// The template function (stencil group) at fault, when the problem is inside one.
        group: Option<String>,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed { file, message } => write!(f, "{file}: malformed object: {message}"),
            Error::Unsupported { file, message } => write!(f, "{file}: unsupported: {message}"),
            Error::UnsupportedRelocation {
                file,
                section,
                offset,
                kind,
            } => write!(
                f,
                "{file}: section {section} offset {offset:#x}: unsupported relocation type {kind}"
            ),
            Error::Invalid {
                file,
                group: Some(group),
                message,
            } => write!(f, "{file}: stencil {group}: {message}"),
            Error::Invalid {
                file,
                group: None,
                message,
            } => write!(f, "{file}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// The error for bytes that are not a readable object.
pub(crate) fn malformed(file: &str, message: impl fmt::Display) -> Error {
    Error::Malformed {
        file: file.to_string(),
        message: message.to_string(),
    }
}
