use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// A virtual environment's layout, without an interpreter: nothing here runs it.
struct Layout {
    _dir: tempfile::TempDir,
    venv: PathBuf,
    python: PathBuf,
    site: PathBuf,
    cache: Remembered,
}

fn layout() -> Layout {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let site = venv.join("lib/python3.11/site-packages");
    fs::create_dir_all(site.join("pip-23.2.1.dist-info")).unwrap();
    fs::create_dir_all(site.join("requests-2.32.0.dist-info")).unwrap();
    fs::create_dir_all(venv.join("bin")).unwrap();
    fs::write(venv.join("bin/python"), "not run").unwrap();
    fs::write(
        venv.join("pyvenv.cfg"),
        "home = /usr/bin\nversion = 3.11.7\n",
    )
    .unwrap();
    let cache = Remembered::new(&dir.path().join("cache"));
    Layout {
        python: venv.join("bin/python"),
        venv,
        site,
        cache,
        _dir: dir,
    }
}

/// The probe's JSON line for the layout, with `executable`, `prefix` and `purelib` as given.
fn line(executable: &Path, prefix: &Path, purelib: &Path) -> String {
    serde_json::json!({
        "version": "3.11.7",
        "executable": executable,
        "prefix": prefix,
        "base_prefix": "/",
        "tags": ["cp311-cp311-manylinux_2_17_x86_64", "py3-none-any"],
        "markers": {"sys_platform": "linux"},
        "scheme": {
            "purelib": purelib,
            "platlib": purelib,
            "scripts": prefix.join("bin"),
            "data": prefix,
        },
    })
    .to_string()
}

fn answer(line: &str) -> Answer {
    serde_json::from_str(line).unwrap()
}

impl Layout {
    fn key(&self) -> Key {
        Key::of(&self.python, "script").expect("a venv's interpreter has a key")
    }

    fn remember_own(&self) {
        let line = line(&self.python, &self.venv, &self.site);
        self.cache
            .remember(&self.python, &self.key(), &answer(&line));
    }

    fn tags(&self) -> Option<Vec<String>> {
        self.cache.recall(&self.python, &self.key())?.tags
    }

    /// Rewrites the remembered entry as someone who can write the cache could, checksum
    /// and all, with the answer `line`.
    fn forge(&self, line: &str) {
        let path = self.cache.path(&self.key());
        let text = fs::read_to_string(&path).unwrap();
        let (_, json) = text.split_once('\n').unwrap();
        let mut entry: serde_json::Value = serde_json::from_str(json).unwrap();
        entry["answer"] = serde_json::from_str(line).unwrap();
        let json = entry.to_string();
        fs::write(&path, format!("{}\n{json}", Sha256::of(json.as_bytes()))).unwrap();
    }
}

#[test]
fn an_answer_is_recalled_while_the_environment_is_as_it_was() {
    let layout = layout();
    assert_eq!(layout.tags(), None);
    layout.remember_own();
    let expected = ["cp311-cp311-manylinux_2_17_x86_64", "py3-none-any"];
    assert_eq!(layout.tags().unwrap(), expected);
    // A package that does not decide tags changes nothing.
    fs::create_dir_all(layout.site.join("six-1.17.0.dist-info")).unwrap();
    assert_eq!(layout.tags().unwrap(), expected);
}

#[test]
fn an_upgraded_pip_or_a_manylinux_override_is_a_miss() {
    let layout = layout();
    layout.remember_own();
    fs::rename(
        layout.site.join("pip-23.2.1.dist-info"),
        layout.site.join("pip-26.0.dist-info"),
    )
    .unwrap();
    assert_eq!(layout.tags(), None);
    layout.remember_own();
    assert!(layout.tags().is_some());
    fs::write(
        layout.site.join("_manylinux.py"),
        "manylinux1_compatible = False\n",
    )
    .unwrap();
    assert_eq!(layout.tags(), None);
}

#[test]
fn another_interpreter_file_or_pyvenv_cfg_is_another_key() {
    let layout = layout();
    let before = layout.key();
    assert_eq!(Key::of(&layout.python, "script"), Some(before.clone()));
    assert_ne!(
        Key::of(&layout.python, "another script"),
        Some(before.clone())
    );
    fs::write(layout.venv.join("pyvenv.cfg"), "home = /opt/python/bin\n").unwrap();
    assert_ne!(layout.key(), before);
    let cfg_changed = layout.key();
    fs::write(&layout.python, "another interpreter").unwrap();
    assert_ne!(layout.key(), cfg_changed);
}

#[test]
fn an_interpreter_outside_a_virtual_environment_has_no_key() {
    let layout = layout();
    fs::remove_file(layout.venv.join("pyvenv.cfg")).unwrap();
    assert_eq!(Key::of(&layout.python, "script"), None);
}

#[test]
fn a_damaged_entry_is_a_miss() {
    let layout = layout();
    layout.remember_own();
    let path = layout.cache.path(&layout.key());
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("py3-none-any", "py2-none-any")).unwrap();
    assert_eq!(layout.tags(), None);
}

#[test]
fn a_forged_entry_never_names_another_program_prefix_or_scheme() {
    let layout = layout();
    layout.remember_own();
    let outside = layout.venv.parent().unwrap().join("elsewhere");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("python"), "a program of someone else's").unwrap();
    let forged = [
        // Another program, in another directory.
        line(&outside.join("python"), &layout.venv, &layout.site),
        // Another prefix: the check after an install would look there.
        line(&layout.python, &outside, &layout.site),
        // A scheme outside the environment.
        line(&layout.python, &layout.venv, &outside),
        // A path out of the environment through `..`.
        line(
            &layout.python,
            &layout.venv,
            &layout.venv.join("../elsewhere"),
        ),
    ];
    for forged in forged {
        layout.forge(&forged);
        assert_eq!(layout.tags(), None, "{forged}");
    }
    // The checks hold for the real answer: it is found again once rewritten.
    layout.forge(&line(&layout.python, &layout.venv, &layout.site));
    assert!(layout.tags().is_some());
}

#[test]
fn an_answer_that_is_not_the_environments_is_not_remembered() {
    let layout = layout();
    let line = line(&layout.python, layout.venv.parent().unwrap(), &layout.site);
    layout
        .cache
        .remember(&layout.python, &layout.key(), &answer(&line));
    assert!(!layout.cache.path(&layout.key()).exists());
}

#[test]
fn only_the_newest_answers_are_kept() {
    let layout = layout();
    layout.remember_own();
    let own = layout.cache.path(&layout.key());
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&own)
        .unwrap()
        .set_modified(old)
        .unwrap();
    for n in 0..KEPT {
        let other = layout.cache.dir.join(format!("other-{n}"));
        fs::write(&other, "").unwrap();
        let newer = old + std::time::Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(&other)
            .unwrap()
            .set_modified(newer)
            .unwrap();
    }
    layout.cache.prune(KEPT);
    assert!(!own.exists());
    assert_eq!(fs::read_dir(&layout.cache.dir).unwrap().count(), KEPT);
    layout.remember_own();
    assert_eq!(fs::read_dir(&layout.cache.dir).unwrap().count(), KEPT);
    assert!(layout.tags().is_some());
}
