//! Lambda crates: discovery with `cargo metadata`, release builds, reproducible zips.

use crate::model::LambdaCrate;
use anyhow::{bail, Context as _, Result};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Lambda crates of the workspace at `root`: every package with a
/// `[package.metadata.lambda]` table (function name, handler, memory, timeout), wherever it
/// lives; libraries such as `crates/pricing` have none.
pub fn discover(root: &Path) -> Result<Vec<LambdaCrate>> {
    let manifest = root.join("Cargo.toml");
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .with_context(|| format!("reading the workspace {}", manifest.display()))?;
    let mut crates: Vec<LambdaCrate> = metadata
        .packages
        .iter()
        .filter(|p| p.metadata.get("lambda").is_some_and(|l| l.is_object()))
        .map(|p| LambdaCrate {
            name: p.name.to_string(),
            manifest: p
                .manifest_path
                .strip_prefix(&metadata.workspace_root)
                .map(|rel| rel.as_str().replace('\\', "/"))
                .unwrap_or_else(|_| p.manifest_path.to_string()),
            metadata: p.metadata.clone(),
        })
        .collect();
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
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

/// Builds `crate_name` with [`LAMBDA_PROFILE`] and returns its executable. Paths of the
/// checkout and of Cargo's home are remapped so that they do not end up in the binary.
pub fn build(root: &Path, crate_name: &str) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cargo_home = std::env::var("CARGO_HOME")
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cargo")))
        .unwrap_or_default();
    let root_abs = root.canonicalize()?;
    let flags = [
        format!("--remap-path-prefix={}=/build", root_abs.display()),
        format!("--remap-path-prefix={cargo_home}=/cargo"),
    ]
    .join("\x1f");
    let output = Command::new(cargo)
        .current_dir(root)
        .args(build_args(crate_name))
        .env("CARGO_TARGET_DIR", root_abs.join("target/lambda"))
        .env("CARGO_ENCODED_RUSTFLAGS", flags)
        .env_remove("RUSTFLAGS")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running cargo build for {crate_name}"))?;
    if !output.status.success() {
        bail!(
            "cargo build of the Lambda crate `{crate_name}` failed ({})",
            output.status
        );
    }
    let mut executable = None;
    for message in cargo_metadata::Message::parse_stream(&output.stdout[..]) {
        if let cargo_metadata::Message::CompilerArtifact(a) = message? {
            if a.target.is_bin() {
                executable = a.executable.map(PathBuf::from);
            }
        }
    }
    executable.with_context(|| format!("cargo built no executable for `{crate_name}`"))
}

/// `cargo build` arguments for one Lambda crate: the size profile, the Lambda target (never the
/// host's), the lock file as it is.
fn build_args(crate_name: &str) -> [&str; 9] {
    [
        "build",
        "--profile",
        LAMBDA_PROFILE,
        "--locked",
        "--target",
        LAMBDA_TARGET,
        "--message-format=json-render-diagnostics",
        "-p",
        crate_name,
    ]
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
/// replaced atomically.
pub fn package(root: &Path, crates: &[LambdaCrate], dir: &Path) -> Result<Vec<Artifact>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut artifacts = Vec::new();
    for krate in crates {
        let executable = build(root, &krate.name)?;
        let binary = std::fs::read(&executable)
            .with_context(|| format!("reading {}", executable.display()))?;
        let zip = zip_bootstrap(&binary)?;
        let sha256 = sha256_hex(&zip);
        let zip_path = dir.join(format!("{}.zip", krate.name));
        atomic_write(&zip_path, &zip)?;
        atomic_write(
            &dir.join(format!("{}.zip.sha256", krate.name)),
            format!("{sha256}  {}.zip\n", krate.name).as_bytes(),
        )?;
        artifacts.push(Artifact {
            crate_name: krate.name.clone(),
            size: zip.len() as u64,
            zip: zip_path,
            sha256,
        });
    }
    Ok(artifacts)
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
        let args = build_args("billing");
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
    fn sha256_is_lower_case_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
