//! `make bench`: how long rendering takes, and the whole in-process pipeline.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn main() {
    divan::main();
}

/// Model → Tree for the default context (the part `gen` runs after validation).
#[divan::bench]
fn render_default_context(bencher: divan::Bencher) {
    let root = workspace();
    let (model, _) = metering_gen::load(&root.join("examples/cdk.context.json"), &root).unwrap();
    bencher.bench(|| {
        metering_gen::render::render(divan::black_box(&model), "cdk.context.json").unwrap()
    });
}

/// Parse and validate the context (without the `cargo metadata` call that discovers the crates).
#[divan::bench]
fn parse_and_validate_context(bencher: divan::Bencher) {
    let root = workspace();
    let crates = metering_gen::artifacts::discover(&root).unwrap();
    let text = std::fs::read_to_string(root.join("examples/cdk.context.json")).unwrap();
    bencher.bench(|| {
        let ctx =
            metering_gen::context::parse("cdk.context.json", divan::black_box(&text)).unwrap();
        metering_gen::model::Model::build(&ctx, &crates).unwrap()
    });
}

/// Everything `gen --no-build --check` does in process, `cargo metadata` included.
#[divan::bench(sample_count = 20)]
fn load_and_render_with_cargo_metadata() {
    let root = workspace();
    metering_gen::generate(&root.join("examples/cdk.context.json"), &root).unwrap();
}
