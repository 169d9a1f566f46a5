//! Lambda crates: discovery from the workspace's manifests, release builds, reproducible zips.

use crate::model::LambdaCrate;
use anyhow::{bail, Context as _, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Lambda crates of the workspace at `root`: every member package with a
/// `[package.metadata.lambda]` table (function name, handler, memory, timeout), wherever it
/// lives; libraries such as `crates/pricing` have none. Read from the manifests themselves,
/// not with `cargo metadata`: `gen --check` and `validate` build nothing, so they start no
/// process (a test checks that both ways find the same crates).
pub fn discover(dir: &Path) -> Result<Vec<LambdaCrate>> {
    let (root, workspace) = workspace_root(dir)?;
    let root = root.as_path();
    let workspace_manifest = root.join("Cargo.toml");
    let patterns = |key: &str| -> Vec<String> {
        workspace
            .get("workspace")
            .and_then(|w| w.get(key))
            .and_then(toml::Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let excluded: Vec<PathBuf> = patterns("exclude").iter().map(|p| root.join(p)).collect();
    let mut members = vec![PathBuf::new()];
    for pattern in patterns("members") {
        let full = format!(
            "{}/{pattern}",
            glob::Pattern::escape(&root.to_string_lossy())
        );
        let matches = glob::glob(&full).with_context(|| {
            format!(
                "{}: workspace member pattern {pattern:?}",
                workspace_manifest.display()
            )
        })?;
        for dir in matches {
            let dir = dir.with_context(|| format!("listing {full}"))?;
            if dir.join("Cargo.toml").is_file() && !excluded.iter().any(|e| dir.starts_with(e)) {
                members.push(dir.strip_prefix(root).unwrap_or(&dir).to_path_buf());
            }
        }
    }
    let mut crates = Vec::new();
    for member in members {
        let relative = member.join("Cargo.toml");
        let manifest = if member.as_os_str().is_empty() {
            workspace.clone()
        } else {
            read_manifest(&root.join(&relative))?
        };
        let Some(package) = manifest.get("package") else {
            continue;
        };
        let metadata = package.get("metadata").cloned();
        let is_lambda = metadata
            .as_ref()
            .and_then(|m| m.get("lambda"))
            .is_some_and(toml::Value::is_table);
        if !is_lambda {
            continue;
        }
        let name = package
            .get("name")
            .and_then(toml::Value::as_str)
            .with_context(|| format!("{}: package.name is not a string", relative.display()))?;
        crates.push(LambdaCrate {
            name: name.to_owned(),
            manifest: relative.to_string_lossy().replace('\\', "/"),
            metadata: serde_json::to_value(metadata).expect("TOML values are JSON values"),
        });
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    crates.dedup_by(|a, b| a.manifest == b.manifest);
    Ok(crates)
}

/// The workspace `dir` is in, as Cargo finds it: the nearest folder from `dir` upwards whose
/// `Cargo.toml` has a `[workspace]` table, and that manifest.
fn workspace_root(dir: &Path) -> Result<(PathBuf, toml::Table)> {
    let start = dir
        .canonicalize()
        .with_context(|| format!("reading {}", dir.display()))?;
    for folder in start.ancestors() {
        let manifest = folder.join("Cargo.toml");
        if manifest.is_file() {
            let table = read_manifest(&manifest)?;
            if table.contains_key("workspace") {
                return Ok((folder.to_path_buf(), table));
            }
        }
    }
    bail!(
        "{} is not in a Cargo workspace: no Cargo.toml with a [workspace] table there or above",
        dir.display()
    )
}

fn read_manifest(path: &Path) -> Result<toml::Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))
}

/// A built and packaged function.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub crate_name: String,
    pub zip: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// The workspace's Cargo profile for Lambda bootstraps: `release`, optimised for size.
pub const LAMBDA_PROFILE: &str = "lambda";

/// The target every bootstrap is built for, whatever the host: the functions declare
/// `architectures = ["x86_64"]` (module `lambda_function`) and run on `provided.al2023`
/// (glibc 2.34). Without it, `make gen` on an arm64 host would package a binary the functions
/// cannot run.
pub const LAMBDA_TARGET: &str = "x86_64-unknown-linux-gnu";

/// Lambda's name of the architecture of [`LAMBDA_TARGET`], as the HCL declares it.
pub const LAMBDA_ARCHITECTURE: &str = "x86_64";

/// Builds every crate of `crates` in one `cargo build` with [`LAMBDA_PROFILE`] (one freshness
/// check, shared dependencies compiled once, features unified once) and returns each crate's
/// executable by crate name. Paths of the checkout and of Cargo's home are remapped so that
/// they do not end up in the binaries.
pub fn build(root: &Path, crates: &[LambdaCrate]) -> Result<BTreeMap<String, PathBuf>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cargo_home = std::env::var("CARGO_HOME")
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cargo")))
        .unwrap_or_default();
    let (root_abs, _) = workspace_root(root)?;
    let flags = [
        format!("--remap-path-prefix={}=/build", root_abs.display()),
        format!("--remap-path-prefix={cargo_home}=/cargo"),
    ]
    .join("\x1f");
    let names: Vec<&str> = crates.iter().map(|c| c.name.as_str()).collect();
    let output = Command::new(cargo)
        .current_dir(&root_abs)
        .args(build_args(&names))
        .env("CARGO_TARGET_DIR", root_abs.join("target/lambda"))
        .env("CARGO_ENCODED_RUSTFLAGS", flags)
        .env_remove("RUSTFLAGS")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build for the Lambda crates")?;
    if !output.status.success() {
        bail!(
            "cargo build of the Lambda crates {} failed ({})",
            names.join(", "),
            output.status
        );
    }
    let by_manifest: BTreeMap<PathBuf, &str> = crates
        .iter()
        .map(|c| (root_abs.join(&c.manifest), c.name.as_str()))
        .collect();
    let mut executables = BTreeMap::new();
    for message in cargo_metadata::Message::parse_stream(&output.stdout[..]) {
        if let cargo_metadata::Message::CompilerArtifact(a) = message? {
            let name = by_manifest.get(a.manifest_path.as_std_path());
            if let (Some(name), true, Some(exe)) = (name, a.target.is_bin(), a.executable) {
                executables.insert((*name).to_owned(), PathBuf::from(exe));
            }
        }
    }
    for name in names {
        if !executables.contains_key(name) {
            bail!("cargo built no executable for `{name}`");
        }
    }
    Ok(executables)
}

/// `cargo build` arguments for the Lambda crates: the size profile, the Lambda target (never
/// the host's), the lock file as it is.
fn build_args<'a>(crate_names: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "build",
        "--profile",
        LAMBDA_PROFILE,
        "--locked",
        "--target",
        LAMBDA_TARGET,
        "--message-format=json-render-diagnostics",
    ];
    for name in crate_names {
        args.extend(["-p", name]);
    }
    args
}

/// A zip holding `bootstrap` (mode 0755, fixed timestamp): the same binary always gives the
/// same bytes.
pub fn zip_bootstrap(binary: &[u8]) -> Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut buffer);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    writer.finish()?;
    Ok(buffer.into_inner())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Builds every crate and writes `<dir>/<crate>.zip` and `<dir>/<crate>.zip.sha256`, each
/// replaced atomically. A zip whose bootstrap is the one it was made from (its hash, kept in
/// `<dir>/<crate>.bootstrap.sha256`, and the zip's own hash both match) is not compressed
/// again: compressing is most of a warm `make gen`, and the zip is the same bytes anyway.
pub fn package(root: &Path, crates: &[LambdaCrate], dir: &Path) -> Result<Vec<Artifact>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let executables = build(root, crates)?;
    let mut artifacts = Vec::new();
    for krate in crates {
        let executable = &executables[&krate.name];
        let binary = std::fs::read(executable)
            .with_context(|| format!("reading {}", executable.display()))?;
        artifacts.push(package_one(&krate.name, &binary, dir)?);
    }
    Ok(artifacts)
}

/// Writes the zip of `binary` as `<dir>/<name>.zip`, with its hash files, unless the zip
/// there is already the zip of `binary`.
pub fn package_one(name: &str, binary: &[u8], dir: &Path) -> Result<Artifact> {
    let zip_path = dir.join(format!("{name}.zip"));
    let zip_hash_path = dir.join(format!("{name}.zip.sha256"));
    let bootstrap_hash_path = dir.join(format!("{name}.bootstrap.sha256"));
    let bootstrap_hash = sha256_hex(binary);
    let recorded = |path: &Path| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.split_whitespace().next().map(str::to_owned))
    };
    if recorded(&bootstrap_hash_path).as_deref() == Some(bootstrap_hash.as_str()) {
        if let (Ok(zip), Some(zip_hash)) = (std::fs::read(&zip_path), recorded(&zip_hash_path)) {
            let sha256 = sha256_hex(&zip);
            if sha256 == zip_hash {
                return Ok(Artifact {
                    crate_name: name.to_owned(),
                    size: zip.len() as u64,
                    zip: zip_path,
                    sha256,
                });
            }
        }
    }
    let zip = zip_bootstrap(binary)?;
    let sha256 = sha256_hex(&zip);
    // The bootstrap's hash goes last: until it is written, the zip is made again.
    let _ = std::fs::remove_file(&bootstrap_hash_path);
    atomic_write(&zip_path, &zip)?;
    atomic_write(&zip_hash_path, format!("{sha256}  {name}.zip\n").as_bytes())?;
    atomic_write(
        &bootstrap_hash_path,
        format!("{bootstrap_hash}  bootstrap of {name}.zip\n").as_bytes(),
    )?;
    Ok(Artifact {
        crate_name: name.to_owned(),
        size: zip.len() as u64,
        zip: zip_path,
        sha256,
    })
}

fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("a file path has a parent");
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn bootstraps_are_built_for_the_lambda_target_whatever_the_host() {
        let args = build_args(&["billing", "compaction"]);
        assert_eq!(
            args[args.len() - 4..],
            ["-p", "billing", "-p", "compaction"]
        );
        let target = args
            .iter()
            .position(|a| *a == "--target")
            .expect("--target");
        assert_eq!(args[target + 1], LAMBDA_TARGET);
        assert_eq!(LAMBDA_TARGET, "x86_64-unknown-linux-gnu");
        assert_eq!(LAMBDA_ARCHITECTURE, "x86_64");
    }

    #[test]
    fn only_packages_with_a_lambda_metadata_table_are_lambdas() {
        let ws = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = ws.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"lambdas/*\", \"crates/*\"]\n",
        );
        // A function anywhere, a library, and a binary that is a tool, not a function.
        for (dir, name, file, lambda) in [
            ("crates", "function", "src/main.rs", true),
            ("lambdas", "shared", "src/lib.rs", false),
            ("lambdas", "tool", "src/main.rs", false),
        ] {
            let table = if lambda {
                "\n[package.metadata.lambda]\nfunction_name = \"F\"\n"
            } else {
                ""
            };
            write(
                &format!("{dir}/{name}/Cargo.toml"),
                &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{table}"),
            );
            write(&format!("{dir}/{name}/{file}"), "");
        }
        let names: Vec<String> = discover(ws.path())
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["function"]);
    }

    #[test]
    fn zips_are_reproducible_and_hold_an_executable_bootstrap() {
        let binary = b"\x7fELF not really, but bytes".repeat(100);
        let a = zip_bootstrap(&binary).unwrap();
        let b = zip_bootstrap(&binary).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, zip_bootstrap(b"other").unwrap());

        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().unwrap() & 0o777, 0o755);
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(content, binary);
    }

    #[test]
    fn discovery_finds_what_cargo_metadata_finds_in_this_workspace() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let metadata = cargo_metadata::MetadataCommand::new()
            .manifest_path(root.join("Cargo.toml"))
            .no_deps()
            .exec()
            .unwrap();
        let mut expected: Vec<(String, String, serde_json::Value)> = metadata
            .packages
            .iter()
            .filter(|p| p.metadata.get("lambda").is_some_and(|l| l.is_object()))
            .map(|p| {
                let manifest = p
                    .manifest_path
                    .strip_prefix(&metadata.workspace_root)
                    .unwrap();
                (p.name.to_string(), manifest.to_string(), p.metadata.clone())
            })
            .collect();
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        let found: Vec<(String, String, serde_json::Value)> = discover(root)
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.manifest, c.metadata))
            .collect();
        assert_eq!(found, expected);
        assert_eq!(found.len(), 4, "{found:?}");
    }

    #[test]
    fn an_unchanged_bootstrap_keeps_its_zip_which_is_a_fresh_packaging_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("f.zip");
        let binary = b"\x7fELF a bootstrap".repeat(1000);

        let first = package_one("f", &binary, dir.path()).unwrap();
        let written = std::fs::metadata(&zip_path).unwrap().modified().unwrap();
        assert_eq!(
            std::fs::read(&zip_path).unwrap(),
            zip_bootstrap(&binary).unwrap()
        );

        // The same bootstrap: the zip is not written again, and it is a fresh packaging.
        let again = package_one("f", &binary, dir.path()).unwrap();
        assert_eq!(
            (again.sha256.as_str(), again.size),
            (first.sha256.as_str(), first.size)
        );
        assert_eq!(
            std::fs::metadata(&zip_path).unwrap().modified().unwrap(),
            written
        );
        assert_eq!(
            std::fs::read(&zip_path).unwrap(),
            zip_bootstrap(&binary).unwrap()
        );

        // Another bootstrap: a new zip.
        let other = b"\x7fELF another".repeat(1000);
        let changed = package_one("f", &other, dir.path()).unwrap();
        assert_ne!(changed.sha256, first.sha256);
        assert_eq!(
            std::fs::read(&zip_path).unwrap(),
            zip_bootstrap(&other).unwrap()
        );

        // A zip changed or lost since it was made is made again.
        std::fs::write(&zip_path, b"not a zip").unwrap();
        package_one("f", &other, dir.path()).unwrap();
        assert_eq!(
            std::fs::read(&zip_path).unwrap(),
            zip_bootstrap(&other).unwrap()
        );
        std::fs::remove_file(&zip_path).unwrap();
        package_one("f", &other, dir.path()).unwrap();
        assert_eq!(
            std::fs::read(&zip_path).unwrap(),
            zip_bootstrap(&other).unwrap()
        );
        let recorded = std::fs::read_to_string(dir.path().join("f.zip.sha256")).unwrap();
        assert_eq!(recorded, format!("{}  f.zip\n", changed.sha256));
    }

    #[test]
    fn a_folder_inside_a_member_finds_the_workspace_and_one_outside_any_is_refused() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let from_member = discover(&root.join("src")).unwrap();
        let from_root = discover(root.parent().unwrap()).unwrap();
        assert_eq!(
            from_member.iter().map(|c| &c.manifest).collect::<Vec<_>>(),
            from_root.iter().map(|c| &c.manifest).collect::<Vec<_>>()
        );

        let outside = tempfile::tempdir().unwrap();
        let error = discover(outside.path()).unwrap_err().to_string();
        assert!(
            error.ends_with(
                "is not in a Cargo workspace: no Cargo.toml with a [workspace] table there or above"
            ),
            "{error}"
        );
    }

    #[test]
    fn sha256_is_lower_case_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
