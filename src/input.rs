//! Inputs: files, every file under a directory, or stdin (`-`), and the output names they get.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where an input's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

/// One input and the stem its outputs are named after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// Where to read.
    pub source: Source,
    /// How messages name it (the path as given, or `-`).
    pub display: String,
    /// Output path without suffix, relative to the output directory: `NAME` for `NAME.EXT`,
    /// `sub/NAME` for a file found under a directory argument at `sub/NAME.EXT`.
    pub stem: PathBuf,
}

fn stem_of(path: &Path) -> PathBuf {
    let name = path
        .file_stem()
        .map(|s| s.to_os_string())
        .unwrap_or_else(|| "input".into());
    PathBuf::from(name)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        paths.push(entry.path());
    }
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, found)?;
        } else if p.is_file() {
            found.push(p);
        }
    }
    Ok(())
}

/// Expands the command-line inputs into a list, in the order given (directories sorted by path).
///
/// Two inputs that would write the same output names are a configuration error.
pub fn discover(args: &[String]) -> Result<Vec<Input>, Error> {
    let mut inputs = Vec::new();
    for arg in args {
        if arg == "-" {
            inputs.push(Input {
                source: Source::Stdin,
                display: "-".into(),
                stem: PathBuf::from("stdin"),
            });
            continue;
        }
        let path = PathBuf::from(arg);
        let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(&path, &mut found)?;
            if found.is_empty() {
                return Err(Error::Config(format!(
                    "{arg}: the directory holds no files"
                )));
            }
            for file in found {
                let rel = file.strip_prefix(&path).unwrap_or(&file);
                let stem = match rel.parent() {
                    Some(parent) => parent.join(stem_of(rel)),
                    None => stem_of(rel),
                };
                inputs.push(Input {
                    display: file.display().to_string(),
                    source: Source::File(file),
                    stem,
                });
            }
        } else {
            inputs.push(Input {
                display: arg.clone(),
                stem: stem_of(&path),
                source: Source::File(path),
            });
        }
    }
    let mut seen: BTreeMap<&Path, &str> = BTreeMap::new();
    for input in &inputs {
        if let Some(other) = seen.insert(&input.stem, &input.display) {
            return Err(Error::Config(format!(
                "{} and {} would write the same outputs ({}.*); give them different names or run them separately",
                other,
                input.display,
                input.stem.display()
            )));
        }
    }
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_walked_in_order_and_collisions_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.x12"), "").unwrap();
        std::fs::write(dir.path().join("a.837"), "").unwrap();
        std::fs::write(dir.path().join("sub/a.837"), "").unwrap();
        std::fs::write(dir.path().join(".hidden"), "").unwrap();
        let arg = dir.path().display().to_string();
        let inputs = discover(std::slice::from_ref(&arg)).unwrap();
        let stems: Vec<_> = inputs.iter().map(|i| i.stem.clone()).collect();
        assert_eq!(stems, [PathBuf::from("a"), "b".into(), "sub/a".into()]);
        let a = dir.path().join("a.837").display().to_string();
        let err = discover(&[a, arg]).unwrap_err();
        assert!(err.to_string().contains("same outputs"), "{err}");
    }
}
