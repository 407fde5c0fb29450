//! pinguard's locks as their consumers read them: `packaging.pylock` (every lock any test
//! writes, see `support::cli`), pip 26.3 and uv installing `pylock.toml` from a local index.

mod support;

use std::fs;
use std::path::Path;

use support::cli::{Pinguard, Run, filter, scratch, write};
use support::consumers::Consumers;
use support::dist::{SdistBuilder, SdistFormat, WheelBuilder};
use support::index::{DistFile, IndexBuilder, TestIndex};
use support::python::Venv;

fn lock(dir: &Path, index: &TestIndex, constraints: &str, extra: &[&str]) -> Run {
    write(dir, "upper-constraints.txt", constraints);
    Pinguard::new(dir)
        .args([
            "lock",
            "upper-constraints.txt",
            "--index-url",
            &index.simple_url(),
        ])
        .args(extra)
        .run()
}

fn filtered(text: &str, index: &TestIndex) -> String {
    filter(text, &[(&index.server().base_url(), "http://[INDEX]")])
}

/// The consumer tools and a fresh venv to install into; `None` when Python tests are skipped.
fn consumers_and_venv(dir: &Path, name: &str) -> Option<(&'static Consumers, Venv)> {
    Some((Consumers::get()?, Venv::fresh(&dir.join(name))?))
}

/// alpha: a wheel; beta: an sdist only, which the installer must build.
fn wheel_and_sdist_index() -> TestIndex {
    IndexBuilder::new()
        .file(DistFile::wheel(
            &WheelBuilder::new("alpha", "1.0").file("alpha.py", b"A = 1\n".to_vec()),
        ))
        .file(DistFile::sdist(
            &SdistBuilder::new("beta", "2.0").file("beta.py", b"B = 2\n".to_vec()),
        ))
        .start()
}

#[test]
fn pip_and_uv_install_the_lock_and_refuse_a_tampered_file() {
    let mut index = wheel_and_sdist_index();
    let dir = scratch();
    let run = lock(dir.path(), &index, "alpha===1.0\nbeta===2.0\n", &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let lock_path = dir.path().join("pylock.toml");
    let Some((tools, pip_venv)) = consumers_and_venv(dir.path(), "pip-venv") else {
        return;
    };
    let uv_venv = Venv::fresh(&dir.path().join("uv-venv")).expect("python3 makes venvs");
    let uv_cache = dir.path().join("uv-cache");

    tools
        .pip_install_pylock(&pip_venv.python(), &lock_path)
        .assert_success();
    assert_eq!(pip_venv.installed(), ["alpha 1.0", "beta 2.0"]);
    tools
        .uv_install_pylock(&uv_venv.python(), &lock_path, &uv_cache)
        .assert_success();
    assert_eq!(uv_venv.installed(), ["alpha 1.0", "beta 2.0"]);

    // The attack: other bytes, well-formed, under the locked name.
    let others = [
        (
            "alpha-1.0-py3-none-any.whl",
            WheelBuilder::new("alpha", "1.0")
                .file("alpha.py", b"A = 666\n".to_vec())
                .build(),
        ),
        (
            "beta-2.0.tar.gz",
            SdistBuilder::new("beta", "2.0")
                .file("beta.py", b"B = 666\n".to_vec())
                .build(),
        ),
    ];
    for (file, bad) in others {
        let good = index.file(file).bytes().to_vec();
        index.tamper(file, bad);
        let target = Venv::fresh(&dir.path().join(format!("tampered-{file}"))).unwrap();
        let pip = tools.pip_install_pylock(&target.python(), &lock_path);
        pip.assert_failure();
        assert!(
            pip.stderr
                .contains("THESE PACKAGES DO NOT MATCH THE HASHES"),
            "pip, {file}: {pip}"
        );
        let uv = tools.uv_install_pylock(&target.python(), &lock_path, &uv_cache);
        uv.assert_failure();
        // uv compares the locked size first when it differs, then the hash.
        let project = file.split('-').next().unwrap();
        assert!(
            uv.stderr.contains(&format!("mismatch for `{project}==")),
            "uv, {file}: {uv}"
        );
        assert_eq!(target.installed(), Vec::<String>::new());
        index.tamper(file, good);
    }
}

#[test]
fn an_sdist_only_in_tar_bz2_is_locked_as_an_archive_that_consumers_accept() {
    let nss = SdistBuilder::new("python-nss", "1.0.1")
        .format(SdistFormat::TarBz2)
        .file("nss.py", b"N = 1\n".to_vec());
    let index = IndexBuilder::new().file(DistFile::sdist(&nss)).start();
    let dir = scratch();
    // Pinguard::run holds the written lock to packaging.pylock, which refuses a .tar.bz2
    // `sdist` ("Invalid sdist filename 'python-nss-1.0.1.tar.bz2' in 'packages[0].sdist'").
    let run = lock(dir.path(), &index, "python-nss===1.0.1\n", &["-v"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "note: python-nss===1.0.1: the only sdist, python_nss-1.0.1.tar.bz2, is not .tar.gz or \
         .zip, which PEP 751 requires of an sdist: locked as the package's archive, the form the \
         PEP allows for it\n\
         note: dependencies of 1 package: 0 cached, 0 .metadata files (0 absent), 0 range \
         requests, 1 whole file, 2.1 KiB received\n\
         Locked 1 pin (1 file) into pylock.toml: 0 unchanged, 1 project queried\n"
    );
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        filtered(&written, &index).contains(
            "archive = { url = \"http://[INDEX]/files/python_nss-1.0.1.tar.bz2\", size = "
        ),
        "{written}"
    );
    let Some((tools, pip_venv)) = consumers_and_venv(dir.path(), "pip-venv") else {
        return;
    };
    let lock_path = dir.path().join("pylock.toml");
    tools
        .pip_install_pylock(&pip_venv.python(), &lock_path)
        .assert_success();
    assert_eq!(pip_venv.installed(), ["python-nss 1.0.1"]);
    // uv 0.13 unpacks no .tar.bz2 in any form (sdist or archive); README says so.
    let uv_venv = Venv::fresh(&dir.path().join("uv-venv")).unwrap();
    let uv = tools.uv_install_pylock(&uv_venv.python(), &lock_path, &dir.path().join("uv-cache"));
    uv.assert_failure();
    assert!(
        uv.stderr
            .contains("Archive contains a file with an unsupported compression method"),
        "{uv}"
    );
    let pinguard_venv = Venv::fresh(&dir.path().join("pinguard-venv")).unwrap();
    let run = Pinguard::new(dir.path())
        .args(["install", "pylock.toml", "--python"])
        .args([pinguard_venv.python()])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(pinguard_venv.installed(), ["python-nss 1.0.1"]);
}

#[test]
fn a_zip_sdist_is_preferred_over_a_tar_bz2_listed_first() {
    let bz2 = SdistBuilder::new("suds-jurko", "0.6").format(SdistFormat::TarBz2);
    let zip = SdistBuilder::new("suds-jurko", "0.6").format(SdistFormat::Zip);
    let index = IndexBuilder::new()
        .file(DistFile::sdist(&bz2))
        .file(DistFile::sdist(&zip))
        .start();
    let dir = scratch();
    let run = lock(dir.path(), &index, "suds-jurko===0.6\n", &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "warning: suds-jurko===0.6: several sdists; locked suds_jurko-0.6.zip (.tar.gz \
         preferred, then .zip, as pip and uv pick) and left out suds_jurko-0.6.tar.bz2\n\
         Locked 1 pin (1 file) into pylock.toml: 0 unchanged, 1 project queried\n"
    );
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(
        written.contains("sdist = { name = \"suds_jurko-0.6.zip\""),
        "{written}"
    );
}

#[test]
fn dependencies_are_read_from_tar_bz2_and_tar_xz_sdists() {
    let bz2 = SdistBuilder::new("old-bz", "1.0")
        .format(SdistFormat::TarBz2)
        .requires_dist(["six>=1.0"]);
    let xz = SdistBuilder::new("old-xz", "1.0")
        .format(SdistFormat::TarXz)
        .requires_dist(["six>=1.0"]);
    let index = IndexBuilder::new()
        .file(DistFile::sdist(&bz2))
        .file(DistFile::sdist(&xz))
        .file(DistFile::wheel(&WheelBuilder::new("six", "1.17.0")))
        .start();
    let dir = scratch();
    let run = lock(
        dir.path(),
        &index,
        "old-bz===1.0\nold-xz===1.0\nsix===1.17.0\n",
        &["--dependencies"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let written = fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    for name in ["old_bz-1.0.tar.bz2", "old_xz-1.0.tar.xz"] {
        assert!(
            written.contains(&format!(
                "requires-dist = [\n    \"six>=1.0\",\n]\ndependencies-from = \"sdist-dynamic\"\n\
                 dependencies-file = \"{name}\"\n"
            )),
            "{name}: {written}"
        );
    }
}
