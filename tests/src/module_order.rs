//! The import order of obs-runtime's top-level modules: `lib.rs` lists them leaves first (lines
//! `// - name: what it is`), and a module may import only from those listed above it. Imports
//! are read as `crate::name` and `crate::{name, …}` paths in code (comments and doc links are
//! not imports); a name re-exported at the crate root counts as the module it comes from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An import of a module listed after the importer.
#[derive(Debug, PartialEq, Eq)]
pub struct Upward {
    pub file: String,
    pub line: usize,
    pub importer: String,
    pub imported: String,
}

impl std::fmt::Display for Upward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Upward { file, line, importer, imported } = self;
        write!(f, "{file}:{line}: `{importer}` imports `{imported}`, which comes after it")
    }
}

/// The order `lib.rs` declares.
pub fn declared_order(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| l.strip_prefix("// - ")?.split_once(':').map(|(name, _)| name.trim().to_owned()))
        .collect()
}

/// The modules `lib.rs` declares with `mod`.
pub fn declared_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| {
            let rest = l.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
            Some(rest.strip_prefix("mod ")?.trim_end_matches(';').trim().to_owned())
        })
        .filter(|name| !name.contains(' ') && !name.contains('{'))
        .collect()
}

/// Names `lib.rs` re-exports at the root (`pub use module::…::{a, b}`), each with its module.
pub fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let code: String = lib.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    for statement in code.split(';') {
        let Some(path) = statement.trim().rsplit("pub use ").next().filter(|_| statement.contains("pub use ")) else {
            continue;
        };
        let Some((module, rest)) = path.split_once("::") else { continue };
        let leaves = rest.rsplit_once('{').map_or(rest, |(_, inner)| inner);
        for leaf in leaves.split([',', '}']).map(|l| l.trim().rsplit("::").next().unwrap_or_default().trim()) {
            if !leaf.is_empty() {
                names.insert(leaf.to_owned(), module.trim().to_owned());
            }
        }
    }
    names
}

/// The top-level names a line of code imports through `crate::`, in order.
pub fn crate_paths(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(leading_ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.push(leading_ident(&item));
        } else {
            names.push(leading_ident(after));
        }
        rest = after;
    }
    names.retain(|n| !n.is_empty() && n != "self");
    names
}

fn leading_ident(text: &str) -> String {
    text.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// Every import of a later module in these files: `(module, path shown, text)` each.
pub fn upward_imports(lib: &str, files: &[(String, String, String)]) -> Result<Vec<Upward>, String> {
    let order = declared_order(lib);
    let position = |name: &str| order.iter().position(|m| m == name);
    let reexports = root_reexports(lib);
    let mut upward = Vec::new();
    for (importer, file, text) in files {
        let mine = position(importer).ok_or_else(|| format!("`{importer}` is not in lib.rs's order"))?;
        for (index, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") || line.trim_start().starts_with("#[doc") {
                continue;
            }
            for name in crate_paths(line) {
                let module = if position(&name).is_some() {
                    name.clone()
                } else {
                    reexports.get(&name).cloned().ok_or_else(|| {
                        format!("{file}:{}: `crate::{name}` is neither a module nor a root re-export", index + 1)
                    })?
                };
                if module == *importer {
                    continue;
                }
                let theirs = position(&module).ok_or_else(|| format!("`{module}` is not in lib.rs's order"))?;
                if theirs > mine {
                    upward.push(Upward {
                        file: file.clone(),
                        line: index + 1,
                        importer: importer.clone(),
                        imported: module,
                    });
                }
            }
        }
    }
    Ok(upward)
}

/// The `.rs` files of the crate at `src`, each with its top-level module.
pub fn source_files(src: &Path) -> Vec<(String, String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(src).unwrap();
            let first = relative.components().next()?.as_os_str().to_string_lossy().into_owned();
            let module = first.trim_end_matches(".rs").to_owned();
            (module != "lib").then(|| {
                let text = std::fs::read_to_string(&path).unwrap();
                (module, relative.display().to_string(), text)
            })
        })
        .collect()
}
