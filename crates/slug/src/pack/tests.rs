//! The slug: a deterministic gzip'd tar with the app under ./app.

use super::*;
use crate::report::Report;
use crate::{GzOptions, SizeTracker};
use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};

use crate::test_support::noise;

/// The slug's compressed size, nobody told where its entries went.
fn measure(sources: &[Source], opts: GzOptions) -> Result<SlugStats, SlugError> {
    measure_tracked(sources, opts, &mut ())
}

/// The slug written to `dest`, nobody told where its entries went.
fn pack(sources: &[Source], dest: &Path, opts: GzOptions) -> Result<SlugStats, SlugError> {
    pack_tracked(sources, dest, opts, &mut ())
}

/// The tar stream alone, nobody told where its entries went.
fn write_tar<W: Write>(sources: &[Source], out: W) -> Result<(W, SlugStats), SlugError> {
    write_tar_tracked(sources, out, &mut ())
}

fn app() -> tempfile::TempDir {
    let app = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(app.path().join("bin")).unwrap();
    std::fs::write(app.path().join("bin/start"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(
        app.path().join("bin/start"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(app.path().join("manage.py"), "x".repeat(300_000)).unwrap();
    symlink("bin/start", app.path().join("start-link")).unwrap();
    std::fs::create_dir_all(app.path().join("ünïcode dir")).unwrap();
    std::fs::write(app.path().join("ünïcode dir/a\nb.txt"), "newline name").unwrap();
    app
}

fn entries(tgz: &[u8]) -> Vec<(String, u32, String)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!(
                (h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()),
                (0, 0, FIXED_MTIME)
            );
            let link = e
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_default();
            (
                e.path().unwrap().to_string_lossy().into_owned(),
                h.mode().unwrap(),
                link,
            )
        })
        .collect()
}

#[test]
fn the_slug_has_the_app_under_dot_app_with_modes_and_symlinks() {
    let app = app();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("slug.tgz");
    let stats = pack(&[Source::app(app.path())], &dest, GzOptions::default()).unwrap();
    let bytes = std::fs::read(&dest).unwrap();
    assert_eq!(stats.gz.compressed, bytes.len() as u64);
    let e = entries(&bytes);
    let names: Vec<&str> = e.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "./app/",
            "./app/bin/",
            "./app/bin/start",
            "./app/manage.py",
            "./app/start-link",
            "./app/ünïcode dir/",
            "./app/ünïcode dir/a\nb.txt"
        ]
    );
    assert_eq!(e[2].1, 0o755);
    assert_eq!(e[4].2, "bin/start", "symlinks are kept as links");
    assert_eq!((stats.files, stats.links), (3, 1));
    let mut contents = String::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut start = archive.entries().unwrap().nth(2).unwrap().unwrap();
    start.read_to_string(&mut contents).unwrap();
    assert_eq!(contents, "#!/bin/sh\necho hi\n");
}

#[test]
fn packing_is_deterministic_and_measure_equals_the_packed_size() {
    let app = app();
    let out = tempfile::tempdir().unwrap();
    let (a, b) = (out.path().join("a.tgz"), out.path().join("b.tgz"));
    pack(&[Source::app(app.path())], &a, GzOptions::default()).unwrap();
    filetime_touch(app.path());
    pack(
        &[Source::app(app.path())],
        &b,
        GzOptions {
            threads: 1,
            ..GzOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "same tree, same bytes, whatever the mtimes or thread count"
    );
    let measured = measure(&[Source::app(app.path())], GzOptions::default()).unwrap();
    assert_eq!(measured.gz.compressed, std::fs::metadata(&a).unwrap().len());
}

fn filetime_touch(dir: &std::path::Path) {
    std::process::Command::new("touch")
        .args(["-d", "2001-02-03"])
        .arg(dir.join("manage.py"))
        .status()
        .unwrap();
}

#[test]
fn a_failed_pack_leaves_no_partial_slug() {
    let app = app();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("slug.tgz");
    // A destination whose directory does not exist fails at once; a directory where
    // the file should go fails at the final rename, after the whole slug was written.
    std::fs::create_dir(&dest).unwrap();
    let err = pack(&[Source::app(app.path())], &dest, GzOptions::default()).unwrap_err();
    assert!(err.to_string().contains("slug.tgz"), "{err}");
    let left: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        [std::ffi::OsString::from("slug.tgz")],
        "no .partial file left behind"
    );
}

#[test]
fn names_and_link_targets_longer_than_100_bytes_survive() {
    let app = tempfile::tempdir().unwrap();
    let deep = app.path().join("d".repeat(90)).join("e".repeat(90));
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("f".repeat(120)), "long").unwrap();
    symlink("t".repeat(150), app.path().join("l")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    pack(
        &[Source::app(app.path())],
        &dir.path().join("s.tgz"),
        GzOptions::default(),
    )
    .unwrap();
    let e = entries(&std::fs::read(dir.path().join("s.tgz")).unwrap());
    let want = format!(
        "./app/{}/{}/{}",
        "d".repeat(90),
        "e".repeat(90),
        "f".repeat(120)
    );
    assert!(e.iter().any(|(n, _, _)| *n == want), "{e:?}");
    assert!(e
        .iter()
        .any(|(n, _, l)| n == "./app/l" && *l == "t".repeat(150)));
}

#[test]
fn extra_sources_go_under_their_prefix() {
    let app = app();
    let layer = tempfile::tempdir().unwrap();
    std::fs::write(layer.path().join("python"), "bin").unwrap();
    let sources = [
        Source::app(app.path()),
        Source {
            dir: layer.path().to_path_buf(),
            prefix: "./layers/heroku_python/python".into(),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    pack(&sources, &dir.path().join("s.tgz"), GzOptions::default()).unwrap();
    let e = entries(&std::fs::read(dir.path().join("s.tgz")).unwrap());
    assert!(
        e.iter()
            .any(|(n, _, _)| n == "./layers/heroku_python/python/python"),
        "{e:?}"
    );
}

/// A tar stream that truncates `victim` as soon as the entry header for it is
/// written, i.e. after its size was taken and before its bytes are read: the
/// file shrinking mid-pack, deterministically.
struct TruncateOnHeader {
    victim: std::path::PathBuf,
    written: Vec<u8>,
    done: bool,
    /// What happens to the victim (default: truncated to nothing).
    change: fn(&std::path::Path),
}

impl std::io::Write for TruncateOnHeader {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.written.extend_from_slice(data);
        if !self.done
            && self
                .written
                .windows(b"big.log".len())
                .any(|w| w == b"big.log")
        {
            (self.change)(&self.victim);
            self.done = true;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_file_that_shrinks_after_its_size_was_taken_fails_the_pack_never_a_short_entry() {
    let app = tempfile::tempdir().unwrap();
    let victim = app.path().join("big.log");
    std::fs::write(&victim, vec![b'x'; 100_000]).unwrap();
    let out = TruncateOnHeader {
        victim: victim.clone(),
        written: Vec::new(),
        done: false,
        change: |p| std::fs::write(p, b"").unwrap(),
    };
    let e = write_tar(&[Source::app(app.path())], out)
        .err()
        .expect("the shrink is an error")
        .to_string();
    assert!(
        e.contains("big.log") && e.contains("shrank while it was read"),
        "{e}"
    );
}

/// A file that grows, or is rewritten in place, after its size was taken
/// (a log written during the pack): the slug would hold a torn copy, so the
/// pack fails naming it, as GNU tar warns "file changed as we read it".
#[test]
fn a_file_that_grows_or_is_rewritten_while_packed_fails_the_pack_naming_it() {
    let grow: fn(&std::path::Path) = |p| {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
        f.write_all(b"more log lines\n").unwrap();
    };
    let rewrite: fn(&std::path::Path) = |p| std::fs::write(p, vec![b'y'; 100_000]).unwrap();
    for change in [grow, rewrite] {
        let app = tempfile::tempdir().unwrap();
        let victim = app.path().join("big.log");
        std::fs::write(&victim, vec![b'x'; 100_000]).unwrap();
        let out = TruncateOnHeader {
            victim: victim.clone(),
            written: Vec::new(),
            done: false,
            change,
        };
        let e = write_tar(&[Source::app(app.path())], out)
            .err()
            .expect("the change is an error")
            .to_string();
        assert!(
            e.contains("big.log") && e.contains("changed while it was packed"),
            "{e}"
        );
    }
}

/// The slug's names at the edges of the tar format, read back by GNU tar
/// (what unpacks a slug on a dyno): a name of exactly 100 bytes fills its
/// header field and needs no long-name record (one byte more does); a name
/// and a link target of exactly 512 bytes, whose long-name records (value
/// and its NUL) spill one byte into a second block, keep every later entry
/// where the reader looks for it.
#[test]
fn names_at_the_header_and_block_edges_are_read_back_whole_by_gnu_tar() {
    let app = tempfile::tempdir().unwrap();
    // In the slug every name starts with "./app/" (6 bytes).
    let exact = "x".repeat(100 - 6);
    let over = "y".repeat(101 - 6);
    std::fs::write(app.path().join(&exact), "exact").unwrap();
    std::fs::write(app.path().join(&over), "over").unwrap();
    let (a, b) = ("a".repeat(250), "b".repeat(512 - 6 - 250 - 1));
    std::fs::create_dir_all(app.path().join(&a)).unwrap();
    std::fs::write(app.path().join(&a).join(&b), "block").unwrap();
    symlink("t".repeat(512), app.path().join("link")).unwrap();
    std::fs::write(app.path().join("zz-last"), "after them").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let slug = dir.path().join("s.tgz");
    pack(&[Source::app(app.path())], &slug, GzOptions::default()).unwrap();

    // The records as written: a long name only where the name does not fit.
    let bytes = std::fs::read(&slug).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    let long_names: Vec<String> = archive
        .entries()
        .unwrap()
        .raw(true)
        .filter_map(|e| {
            let mut e = e.unwrap();
            (e.header().entry_type() == tar::EntryType::GNULongName).then(|| {
                let mut v = Vec::new();
                e.read_to_end(&mut v).unwrap();
                String::from_utf8(v)
                    .unwrap()
                    .trim_end_matches('\0')
                    .to_string()
            })
        })
        .collect();
    assert!(
        !long_names.contains(&format!("./app/{exact}")),
        "100 bytes fit the header: {long_names:?}"
    );
    assert!(
        long_names.contains(&format!("./app/{over}")),
        "101 bytes need a long-name record: {long_names:?}"
    );

    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&slug)
        .arg("-C")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let root = out.path().join("app");
    assert_eq!(std::fs::read_to_string(root.join(&exact)).unwrap(), "exact");
    assert_eq!(std::fs::read_to_string(root.join(&over)).unwrap(), "over");
    assert_eq!(
        std::fs::read_to_string(root.join(&a).join(&b)).unwrap(),
        "block"
    );
    assert_eq!(
        std::fs::read_link(root.join("link")).unwrap(),
        std::path::PathBuf::from("t".repeat(512))
    );
    assert_eq!(
        std::fs::read_to_string(root.join("zz-last")).unwrap(),
        "after them",
        "entries after the 512-byte records are where the reader looks"
    );
}

/// Changes the tree when the entry named `at` has been written, as another
/// process could while the slug is packed (the directory's entries are
/// listed by then; the ones below it not yet opened).
struct ChangeAt<'a> {
    at: &'a str,
    change: &'a dyn Fn(),
}

impl Tracker for ChangeAt<'_> {
    fn entry(&mut self, name: &[u8], _: u64, _: u64, _: u64) {
        if name == self.at.as_bytes() {
            (self.change)();
        }
    }
}

fn names_in(tar: &[u8]) -> Vec<String> {
    tar::Archive::new(tar)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

/// A directory, a file and a link removed while the slug is packed (listed,
/// gone before they are read) are not in the slug and are not an error:
/// what is left is packed.
#[test]
fn a_directory_removed_while_packing_is_left_out_and_the_rest_packed() {
    let app = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(app.path().join("keep/gone/deeper")).unwrap();
    std::fs::write(app.path().join("keep/gone/deeper/f"), "x").unwrap();
    std::fs::write(app.path().join("keep/gone-file"), "x").unwrap();
    symlink("stays", app.path().join("keep/gone-link")).unwrap();
    std::fs::write(app.path().join("keep/stays"), "x").unwrap();
    let (tar, stats) = write_tar_tracked(
        &[Source::app(app.path())],
        Vec::new(),
        &mut ChangeAt {
            at: "./app/keep/",
            change: &|| {
                std::fs::remove_dir_all(app.path().join("keep/gone")).unwrap();
                std::fs::remove_file(app.path().join("keep/gone-file")).unwrap();
                std::fs::remove_file(app.path().join("keep/gone-link")).unwrap();
            },
        },
    )
    .expect("a directory removed meanwhile is not an error");
    assert_eq!(
        names_in(&tar),
        ["./app/", "./app/keep/", "./app/keep/stays"]
    );
    assert_eq!(
        (stats.files, stats.dirs, stats.links, stats.file_bytes),
        (1, 2, 0, 1)
    );
}

/// A change made to an app's directory (`keep`) while it is packed.
type Change<'a> = &'a dyn Fn(&std::path::Path);

/// An entry that turns into something else while the slug is packed cannot
/// be read as it was listed: a directory turned into a file, a link into a
/// file, a file into a symlink (never followed: it might point anywhere).
/// The pack fails naming it, never a slug that silently lacks what was
/// there, nor one holding what a link points at.
#[test]
fn an_entry_that_turns_into_something_else_while_packing_fails_the_pack_naming_it() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "outside the app").unwrap();
    let cases: [(&str, Change); 3] = [
        ("turns", &|keep| {
            std::fs::remove_dir_all(keep.join("turns")).unwrap();
            std::fs::write(keep.join("turns"), "a file now").unwrap();
        }),
        ("link", &|keep| {
            std::fs::remove_file(keep.join("link")).unwrap();
            std::fs::write(keep.join("link"), "a file now").unwrap();
        }),
        ("file", &|keep| {
            std::fs::remove_file(keep.join("file")).unwrap();
            symlink(outside.path().join("secret"), keep.join("file")).unwrap();
        }),
    ];
    for (name, change) in cases {
        let app = tempfile::tempdir().unwrap();
        let keep = app.path().join("keep");
        std::fs::create_dir_all(keep.join("turns")).unwrap();
        std::fs::write(keep.join("turns/f"), "x").unwrap();
        symlink("file", keep.join("link")).unwrap();
        std::fs::write(keep.join("file"), "x").unwrap();
        let e = write_tar_tracked(
            &[Source::app(app.path())],
            Vec::new(),
            &mut ChangeAt {
                at: "./app/keep/",
                change: &|| change(&keep),
            },
        )
        .expect_err(name)
        .to_string();
        assert!(e.contains(&format!("keep/{name}")), "{name}: {e}");
    }
}

/// Records every entry the pack tells its tracker about.
#[derive(Default)]
struct Told(Vec<String>);

impl Tracker for Told {
    fn entry(&mut self, name: &[u8], start: u64, end: u64, _: u64) {
        assert!(end > start, "an entry takes bytes");
        self.0.push(String::from_utf8_lossy(name).into_owned());
    }
}

/// A FIFO (or a socket, or a device) has no place in a slug: it is left
/// out, and the size report never hears of it.
#[test]
fn a_fifo_is_left_out_of_the_slug_and_its_report() {
    let app = tempfile::tempdir().unwrap();
    nix::unistd::mkfifo(&app.path().join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::fs::write(app.path().join("file"), "x").unwrap();
    let mut told = Told::default();
    let (tar, stats) =
        write_tar_tracked(&[Source::app(app.path())], Vec::new(), &mut told).unwrap();
    assert_eq!(names_in(&tar), ["./app/", "./app/file"]);
    assert_eq!(told.0, ["./app/", "./app/file"]);
    assert_eq!((stats.files, stats.file_bytes), (1, 1));
}

/// The report's "largest files" start at 512 KiB: one byte less is not listed.
#[test]
fn the_report_lists_files_from_512_kib() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("at.bin"), vec![1u8; 512 * 1024]).unwrap();
    std::fs::write(app.path().join("below.bin"), vec![2u8; 512 * 1024 - 1]).unwrap();
    let mut tracker = SizeTracker::default();
    let opts = GzOptions::default();
    let stats = measure_tracked(&[Source::app(app.path())], opts, &mut tracker).unwrap();
    let report = tracker.report(&stats, opts.block_size, 10);
    let files: Vec<&str> = report.files.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(files, ["at.bin"]);
}

/// What the size report says, on a small tree: directories are listed as
/// directories (never a file, never the app root), each with its own raw
/// bytes; a layer's files are listed by their place in the slug; and the
/// savings of a `.slugignore` suggestion are the compressed bytes of what it
/// matches, not of what lies between its matches.
#[test]
fn the_report_charges_each_path_its_own_bytes_and_lists_directories_as_directories() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("a.log"), "a few bytes").unwrap();
    std::fs::create_dir(app.path().join("m")).unwrap();
    let noise = noise(1024 * 1024, 9);
    std::fs::write(app.path().join("m/big.bin"), &noise).unwrap();
    std::fs::write(app.path().join("z.log"), "a few more").unwrap();
    // An empty directory still costs its own entry, charged to it.
    std::fs::create_dir(app.path().join("static")).unwrap();
    let layer = tempfile::tempdir().unwrap();
    std::fs::write(layer.path().join("lib.so"), &noise[..600 * 1024]).unwrap();
    let sources = [
        Source::app(app.path()),
        Source {
            dir: layer.path().to_path_buf(),
            prefix: "./layers/heroku_python/python".into(),
        },
    ];
    let mut tracker = SizeTracker::default();
    let opts = GzOptions::default();
    let stats = measure_tracked(&sources, opts, &mut tracker).unwrap();
    let report = tracker.report(&stats, opts.block_size, 10);

    let dirs: Vec<(&str, u64)> = report
        .dirs
        .iter()
        .map(|o| (o.path.as_str(), o.raw))
        .collect();
    assert_eq!(
        dirs,
        [
            ("m", 1024 * 1024),
            ("layers", 600 * 1024),
            ("layers/heroku_python", 600 * 1024),
            ("layers/heroku_python/python", 600 * 1024),
            ("static", 0),
        ]
    );
    let files: Vec<&str> = report.files.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(files, ["m/big.bin", "layers/heroku_python/python/lib.so"]);
    let logs = report
        .suggestions
        .iter()
        .find(|s| s.line == "*.log")
        .expect("the two logs are suggested");
    assert!(
        logs.compressed < 4096,
        "two tiny logs save {} bytes, not the megabyte between them",
        logs.compressed
    );
}

/// The compressed bytes the report charges to directory `name`.
fn dir_compressed(report: &Report, name: &str) -> u64 {
    report
        .dirs
        .iter()
        .find(|o| o.path == name)
        .expect(name)
        .compressed
}

fn report_of(app: &std::path::Path) -> (Report, SlugStats) {
    report_in_blocks(app, GzOptions::default().block_size)
}

fn report_in_blocks(app: &std::path::Path, block_size: usize) -> (Report, SlugStats) {
    let mut tracker = SizeTracker::default();
    let opts = GzOptions {
        block_size,
        ..GzOptions::default()
    };
    let stats = measure_tracked(&[Source::app(app)], opts, &mut tracker).unwrap();
    (tracker.report(&stats, opts.block_size, 10), stats)
}

/// Each compressed block's bytes are shared among the entries it holds, in
/// proportion: two directories of equal noise that straddle the 1 MiB
/// blocks are each charged half the slug, and together all of it.
#[test]
fn the_report_shares_each_compressed_block_among_the_entries_it_holds() {
    let app = tempfile::tempdir().unwrap();
    for (dir, seed) in [("a", 1), ("b", 2)] {
        std::fs::create_dir(app.path().join(dir)).unwrap();
        std::fs::write(app.path().join(dir).join("data"), noise(900 * 1024, seed)).unwrap();
    }
    let (report, stats) = report_of(app.path());
    // Shares in thousandths: whole numbers, no float casts.
    let share = |name: &str| dir_compressed(&report, name) * 1000 / stats.gz.compressed;
    let (a, b) = (share("a"), share("b"));
    assert!(
        (450..550).contains(&a) && (450..550).contains(&b),
        "a {a}‰, b {b}‰"
    );
    assert!((970..=1000).contains(&(a + b)), "together {}‰", a + b);
}

/// The same sharing with many small blocks, where an entry's bytes end
/// just past a block boundary far into the stream: its blocks are found by
/// division (block 600 here), and it is charged its share of each.
#[test]
fn the_report_finds_every_block_an_entry_spans_far_into_the_stream() {
    let app = tempfile::tempdir().unwrap();
    // Headers of ./app/, ./app/a/, ./app/a/data, ./app/b/, ./app/b/data
    // (512 bytes each), then the data: b's last byte is 512 bytes into
    // the 601st 4 KiB block.
    let (a, b) = (
        2 * 1024 * 1024,
        600 * 4096 + 512 - 5 * 512 - 2 * 1024 * 1024,
    );
    for (dir, size, seed) in [("a", a, 3), ("b", b, 4)] {
        std::fs::create_dir(app.path().join(dir)).unwrap();
        std::fs::write(app.path().join(dir).join("data"), noise(size, seed)).unwrap();
    }
    let (report, stats) = report_in_blocks(app.path(), 4096);
    let b_share = dir_compressed(&report, "b") * 1000 / stats.gz.compressed;
    let expected = u64::try_from(b * 1000 / (a + b)).unwrap();
    assert!(
        b_share.abs_diff(expected) <= 10,
        "b is charged {b_share}‰ of the slug, holds {expected}‰ of its bytes"
    );
}

/// The `.slugignore` suggestions: a suspect present with bytes to save, once
/// each, largest saving first. A line anchored with `/` (`/tests`) saves only
/// the top-level directory, one without (`node_modules`) every directory of
/// that name; an empty file suggests nothing, and neither does a dotfile
/// named like an extension.
#[test]
fn the_report_suggests_each_suspect_present_with_what_its_line_would_save() {
    let app = tempfile::tempdir().unwrap();
    let p = app.path();
    for dir in ["tests", "pkg/tests", "pkg/node_modules", "node_modules"] {
        std::fs::create_dir_all(p.join(dir)).unwrap();
    }
    std::fs::write(p.join("tests/t.py"), noise(100 * 1024, 1)).unwrap();
    std::fs::write(p.join("pkg/tests/u.py"), noise(50 * 1024, 2)).unwrap();
    std::fs::write(p.join("pkg/node_modules/m.js"), noise(80 * 1024, 3)).unwrap();
    std::fs::write(p.join("node_modules/n.js"), noise(70 * 1024, 4)).unwrap();
    std::fs::write(p.join("art.psd"), noise(30 * 1024, 5)).unwrap();
    std::fs::write(p.join("empty.sql"), "").unwrap();
    std::fs::write(p.join(".mov"), noise(10 * 1024, 6)).unwrap();
    let (report, _) = report_of(p);
    let dir = |name: &str| dir_compressed(&report, name);
    let lines: Vec<(&str, u64)> = report
        .suggestions
        .iter()
        .map(|s| (s.line.as_str(), s.compressed))
        .collect();
    let psd = lines
        .iter()
        .find(|(l, _)| *l == "*.psd")
        .map_or(0, |(_, c)| *c);
    assert_eq!(
        lines,
        [
            (
                "node_modules",
                dir("node_modules") + dir("pkg/node_modules")
            ),
            ("/tests", dir("tests")),
            ("*.psd", psd),
        ]
    );
    assert!(psd > 25 * 1024, "{psd}");
}
