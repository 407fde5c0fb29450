use std::collections::HashMap;

use super::*;

/// Serves files from memory, keyed by how the parser resolves them.
struct Files(HashMap<SourceRef, String>);

impl Files {
    fn new(files: &[(&str, &str)]) -> Self {
        Self(
            files
                .iter()
                .map(|(name, content)| (SourceRef::from_arg(name).unwrap(), (*content).to_owned()))
                .collect(),
        )
    }
}

impl Loader for Files {
    fn load(&self, source: &SourceRef) -> Result<Vec<u8>, String> {
        self.0
            .get(source)
            .map(|c| c.as_bytes().to_vec())
            .ok_or_else(|| "No such file or directory (os error 2)".to_owned())
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse_files(files: &[(&str, &str)]) -> Result<Requirements, ParseError> {
    let root = SourceRef::from_arg(files[0].0).unwrap();
    parse(&root, &Files::new(files), &no_env)
}

fn parse_one(content: &str) -> Result<Requirements, ParseError> {
    parse_files(&[("uc.txt", content)])
}

fn diagnostics(content: &str) -> Vec<Diagnostic> {
    match parse_one(content) {
        Err(ParseError::Invalid(d)) => d.0,
        other => panic!("expected diagnostics for {content:?}, got {other:?}"),
    }
}

const HASH_A: &str = "a5bcffb52081ba39df0d5e9a884fc6f819d92e3a42389343ba77cbf809fe1f45";
const HASH_B: &str = "d2b21379479718539dc15fce53b876251a0efe7615352dfe49f6ad1bc507848d";

#[test]
fn every_openstack_file_parses() {
    let cases = [
        (
            include_str!("../../tests/fixtures/openstack/upper-constraints-master.txt"),
            575,
        ),
        (
            include_str!("../../tests/fixtures/openstack/upper-constraints-stable-2025.2.txt"),
            603,
        ),
    ];
    for (content, pins) in cases {
        let parsed = parse_one(content).unwrap();
        assert_eq!(parsed.pins.len(), pins);
        assert_eq!(parsed.source_sha256, Sha256::of(content.as_bytes()));
    }
    let master = parse_one(include_str!(
        "../../tests/fixtures/openstack/upper-constraints-master.txt"
    ))
    .unwrap();
    let paste = master
        .pins
        .iter()
        .find(|p| p.name.as_ref() == "pastedeploy")
        .unwrap();
    assert_eq!(paste.to_string(), "pastedeploy===3.1.0");
    assert_eq!(paste.location.line, 13);
    let chardet = master
        .pins
        .iter()
        .find(|p| p.name.as_ref() == "chardet")
        .unwrap();
    assert_eq!(chardet.version().to_string(), "6.0.0.post1");

    let stable = parse_one(include_str!(
        "../../tests/fixtures/openstack/upper-constraints-stable-2025.2.txt"
    ))
    .unwrap();
    let async_timeout: Vec<String> = stable
        .pins
        .iter()
        .filter(|p| p.name.as_ref() == "async-timeout")
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        async_timeout,
        [
            "async-timeout===5.0.1 ; python_full_version == '3.10.*'",
            "async-timeout===5.0.1 ; python_full_version == '3.9.*'",
        ]
    );
}

#[test]
fn global_requirements_are_refused_line_by_line() {
    let content = include_str!("../../tests/fixtures/openstack/global-requirements-master.txt");
    let found = diagnostics(content);
    // Every requirement line is a range or a bare name: none can be locked.
    assert_eq!(found.len(), 412);
    let first = &found[0];
    assert_eq!(first.message, "`a2wsgi` has no version");
    assert_eq!(first.line, 11);
}

#[test]
fn good_lines() {
    // (line, pin as displayed, number of hashes)
    let cases = [
        ("oslo.config===10.7.0", "oslo-config===10.7.0", 0),
        (
            "numpy===1.24.4;python_version=='3.8'",
            "numpy===1.24.4 ; python_full_version == '3.8.*'",
            0,
        ),
        (
            "numpy===1.24.4:python_version=='3.8'",
            "numpy===1.24.4 ; python_full_version == '3.8.*'",
            0,
        ),
        (
            "Foo_Bar.baz == 1.0 ; sys_platform == \"win32\"",
            "foo-bar-baz==1.0 ; sys_platform == 'win32'",
            0,
        ),
        ("pkg[extra]===2.0a0", "pkg===2.0a0", 0),
        ("six===1.17.0  # trailing comment", "six===1.17.0", 0),
        ("six==1.17.0#not-a-comment-in-a-version", "", 0),
        (
            &format!(
                "six==1.17.0 --hash=sha256:{HASH_A} --hash sha256:{}",
                HASH_B.to_uppercase()
            ),
            "six==1.17.0",
            2,
        ),
        (
            &format!("six==1.17.0 \\\n    --hash=sha256:{HASH_A}"),
            "six==1.17.0",
            1,
        ),
        ("  indented===1.0", "indented===1.0", 0),
    ];
    for (line, shown, hashes) in cases {
        match parse_one(line) {
            Ok(parsed) if !shown.is_empty() => {
                assert_eq!(parsed.pins.len(), 1, "{line}");
                assert_eq!(parsed.pins[0].to_string(), shown, "{line}");
                assert_eq!(parsed.pins[0].hashes.len(), hashes, "{line}");
            }
            Err(_) if shown.is_empty() => {}
            other => panic!("{line}: {other:?}"),
        }
    }
}

#[test]
fn bad_lines_name_what_is_wrong_and_where() {
    // (line, message, label, column)
    let cases: &[(&str, &str, &str, usize)] = &[
        (
            "oslo.config>=10.0",
            "`oslo-config>=10.0` is not pinned to one version",
            "matches more than one version",
            1,
        ),
        ("six", "`six` has no version", "no version", 1),
        (
            "foo==1.*",
            "`foo==1.*` is not pinned to one version",
            "matches more than one version",
            1,
        ),
        (
            "bar @ https://example.org/bar-1.0.whl",
            "`bar` is a direct URL, which cannot be locked from an index",
            "a URL",
            1,
        ),
        (
            "-e git+https://github.com/x/y#egg=y",
            "an editable install cannot be locked",
            "editable",
            1,
        ),
        (
            "baz===1.0 --hash=sha256:abcd",
            "invalid `--hash` value",
            "a sha256 digest has 64 hex characters, this one has 4",
            25,
        ),
        (
            "qux===1.0 --hash=md5:abcd",
            "`--hash=md5:…` cannot be checked: pinguard locks by sha256",
            "not sha256",
            18,
        ),
        (
            "nope===1.0 --frobnicate",
            "`--frobnicate` cannot follow a requirement",
            "here",
            12,
        ),
        (
            "--bogus",
            "unknown option `--bogus` in a requirements file",
            "not a requirements-file option",
            1,
        ),
        (
            "--hash=sha256:00",
            "unknown option `--hash` in a requirements file",
            "not a requirements-file option",
            1,
        ),
        ("-r", "`-r` needs a value", "no value after this", 1),
        (
            "multi==1.0,>=0.5",
            "`multi` has several version specifiers; a lock needs exactly one `==` or `===`",
            "several specifiers",
            1,
        ),
        (
            "weird[===1.0",
            "invalid requirement `weird[===1.0`",
            "Expected an alphanumeric character starting the extra name, found `=`",
            7,
        ),
        (
            "-r missing.txt",
            "cannot read `missing.txt`: No such file or directory (os error 2)",
            "included here",
            4,
        ),
    ];
    for (line, message, label, column) in cases {
        let found = diagnostics(line);
        assert_eq!(found.len(), 1, "{line}: {found:?}");
        let d = &found[0];
        assert_eq!(
            (d.message.as_str(), d.label.as_str(), d.column(), d.line),
            (*message, *label, *column, 1),
            "{line}"
        );
        assert!(
            d.help.is_some() || line.starts_with("weird") || line == &"-r",
            "{line} has no help"
        );
    }
}

#[test]
fn all_bad_lines_are_reported_in_file_order_with_a_caret() {
    let content = "# header\nok===1.0\nfirst>=1\n-r inc.txt\nlast\n";
    let include = "inner>=2\n";
    let err = parse_files(&[("uc.txt", content), ("inc.txt", include)]).unwrap_err();
    let ParseError::Invalid(d) = err else {
        panic!()
    };
    let order: Vec<(String, usize)> = d.0.iter().map(|d| (d.file.clone(), d.line)).collect();
    assert_eq!(
        order,
        [
            ("uc.txt".to_owned(), 3),
            ("uc.txt".to_owned(), 5),
            ("inc.txt".to_owned(), 1)
        ]
    );
    assert_eq!(
        d.0[0].to_string(),
        "\
error: `first>=1` is not pinned to one version
 --> uc.txt:3:1
  |
3 | first>=1
  | ^^^^^^^^ matches more than one version
  |
  = help: pin one version with `===` (as upper-constraints files do), or read a constraints file that pins `first` with `-c`"
    );
}

#[test]
fn secrets_from_the_environment_never_reach_a_diagnostic() {
    let env = |name: &str| (name == "TOKEN").then(|| "hunter2".to_owned());
    let files = Files::new(&[("uc.txt", "--index-url https://u:${TOKEN}@h/simple --nope\n")]);
    let err = parse(&SourceRef::from_arg("uc.txt").unwrap(), &files, &env).unwrap_err();
    let shown = err.to_string();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("--index-url https://u:****@h/simple --nope"),
        "{shown}"
    );
    // The column is that of the line as shown, secret masked.
    assert!(shown.contains(" --> uc.txt:1:37"), "{shown}");
}

#[test]
fn env_vars_expand_like_pip() {
    let env = |name: &str| (name == "VER").then(|| "1.2.3".to_owned());
    let files = Files::new(&[("uc.txt", "pkg===${VER}\nother===${lower}x\n")]);
    let err = parse(&SourceRef::from_arg("uc.txt").unwrap(), &files, &env).unwrap_err();
    // `${lower}` is not expanded (pip expands only upper-case names), so line 2 is invalid.
    let ParseError::Invalid(d) = err else {
        panic!()
    };
    assert_eq!(d.0.len(), 1);
    assert_eq!(d.0[0].line, 2);
    let files = Files::new(&[("uc.txt", "pkg===${VER}\n")]);
    let parsed = parse(&SourceRef::from_arg("uc.txt").unwrap(), &files, &env).unwrap();
    assert_eq!(parsed.pins[0].to_string(), "pkg===1.2.3");
}

#[test]
fn includes_resolve_relative_to_the_including_file() {
    let parsed = parse_files(&[
        (
            "dir/requirements.txt",
            "-c ../uc.txt\noslo.config>=9\n-r sub/more.txt\n",
        ),
        ("uc.txt", "oslo.config===10.7.0\nsix===1.17.0\n"),
        ("dir/sub/more.txt", "--requirement=../../uc.txt\n"),
    ])
    .unwrap();
    let pins: Vec<String> = parsed.pins.iter().map(ToString::to_string).collect();
    assert_eq!(pins, ["oslo-config===10.7.0", "six===1.17.0"]);
}

#[test]
fn a_requirement_a_pin_does_not_satisfy_is_a_conflict() {
    let err = parse_files(&[
        ("r.txt", "-c uc.txt\noslo.config>=11\n"),
        ("uc.txt", "oslo.config===10.7.0\n"),
    ])
    .unwrap_err();
    let ParseError::Invalid(d) = err else {
        panic!()
    };
    assert_eq!(
        d.0[0].message,
        "`oslo-config>=11` conflicts with the pin `oslo-config===10.7.0` at uc.txt:1"
    );
}

#[test]
fn include_loops_are_refused() {
    let err = parse_files(&[("a.txt", "-r b.txt\n"), ("b.txt", "-c a.txt\n")]).unwrap_err();
    let ParseError::Invalid(d) = err else {
        panic!()
    };
    assert_eq!(d.0.len(), 1);
    assert_eq!(d.0[0].message, "include loop: a.txt -> b.txt -> a.txt");
    assert_eq!((d.0[0].file.as_str(), d.0[0].line), ("b.txt", 1));
}

#[test]
fn a_file_included_twice_is_read_once() {
    let parsed = parse_files(&[
        ("a.txt", "-r c.txt\n-r b.txt\n"),
        ("b.txt", "-r c.txt\n"),
        ("c.txt", "x===1\n"),
    ])
    .unwrap();
    assert_eq!(parsed.pins.len(), 1);
}

#[test]
fn duplicate_pins() {
    // The same pin twice is one pin; the same project under two markers is two.
    let parsed = parse_one(
        "a===1.0\na===1.0\nb===1.0;python_version<'3.10'\nb===2.0;python_version>='3.10'\n",
    )
    .unwrap();
    let pins: Vec<String> = parsed.pins.iter().map(ToString::to_string).collect();
    assert_eq!(
        pins,
        [
            "a===1.0",
            "b===1.0 ; python_full_version < '3.10'",
            "b===2.0 ; python_full_version >= '3.10'"
        ]
    );
    let found = diagnostics("a===1.0\nA===2.0\n");
    assert_eq!(
        found[0].message,
        "`a` is pinned again to another version (`a===1.0` at uc.txt:1)"
    );
    assert_eq!(found[0].line, 2);
    let found = diagnostics(&format!(
        "a===1.0 --hash=sha256:{HASH_A}\na===1.0 --hash=sha256:{HASH_B}\n"
    ));
    assert_eq!(
        found[0].message,
        "`a` is pinned again with other hashes (`a===1.0` at uc.txt:1)"
    );
}

#[test]
fn index_options_are_collected() {
    let parsed = parse_files(&[(
        "dir/uc.txt",
        "-i https://u:p@first.example/simple\n--extra-index-url=https://second.example/simple\n\
         -f wheels\n--find-links https://links.example/\n--no-index\n--pre --prefer-binary\n\
         --trusted-host h --only-binary :all:\n",
    )])
    .unwrap();
    let index = parsed.index;
    assert_eq!(
        index.index_url.unwrap().to_string(),
        "https://u:****@first.example/simple"
    );
    assert_eq!(
        index.extra_index_urls[0].to_string(),
        "https://second.example/simple"
    );
    assert_eq!(
        index.find_links,
        [
            FindLinks::Dir(PathBuf::from("dir/wheels")),
            FindLinks::Url(SafeUrl::parse("https://links.example/").unwrap())
        ]
    );
    assert!(index.no_index);
}

#[test]
fn includes_of_a_url_source_are_urls() {
    let root = SourceRef::from_arg("https://example.org/constraints/upper.txt").unwrap();
    let files = Files(HashMap::from([
        (root.clone(), "-c extra.txt\n".to_owned()),
        (
            SourceRef::Url(SafeUrl::parse("https://example.org/constraints/extra.txt").unwrap()),
            "six===1.17.0\n".to_owned(),
        ),
    ]));
    let parsed = parse(&root, &files, &no_env).unwrap();
    assert_eq!(
        parsed.pins[0].location.file.as_ref(),
        "https://example.org/constraints/extra.txt"
    );
}

#[test]
fn the_root_file_that_cannot_be_read_is_named() {
    let err = parse(
        &SourceRef::from_arg("nope.txt").unwrap(),
        &Files::new(&[]),
        &no_env,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read `nope.txt`: No such file or directory (os error 2)"
    );
}
