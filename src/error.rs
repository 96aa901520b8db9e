//! Fatal errors: the ones that stop a file or a run (I/O, configuration), as opposed to
//! problems in the data, which are findings.

use std::path::PathBuf;

/// A fatal error, with the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading an input or writing an output failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The command line or a setting is unusable.
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
