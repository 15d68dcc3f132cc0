//! The README's compliance questions are real output: every `console` block under "Compliance questions"
//! is run against the bundled fixtures and compared with what the binary prints (at most 8 lines, a line
//! longer than 160 characters cut to 159 and `…`), so the README cannot drift from the binary.
//! `SAGETRAIL_BLESS_README=1 cargo test --test readme` rewrites the blocks from the binary's output.

mod common;
use common::*;

/// Lines of output the README shows per answer.
const SHOWN_LINES: usize = 8;
/// Characters of a line the README shows before cutting it with `…`.
const SHOWN_CHARS: usize = 160;

fn readme_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")
}

/// Split a shell command line as the README writes them: words, single- and double-quoted strings.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, ' ') => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// What the README shows of `out`.
fn shown(out: &str) -> Vec<String> {
    out.lines()
        .take(SHOWN_LINES)
        .map(|l| {
            let l = l.trim_end();
            if l.chars().count() > SHOWN_CHARS {
                let mut cut: String = l.chars().take(SHOWN_CHARS - 1).collect();
                cut.push('…');
                cut
            } else {
                l.to_string()
            }
        })
        .collect()
}

#[test]
fn the_compliance_questions_in_the_readme_are_the_binarys_output() {
    let idx = tempfile::tempdir().unwrap();
    let paths: Vec<String> = ["trail", "forms", "chain/early", "chain/late"]
        .iter()
        .map(|p| fixtures().join(p).to_str().unwrap().to_string())
        .collect();
    let mut args = vec!["ingest", "cloudtrail"];
    args.extend(paths.iter().map(String::as_str));
    ok(idx.path(), &args);

    let text = std::fs::read_to_string(readme_path()).unwrap();
    let start = text.find("## Compliance questions").expect("the section");
    // The section ends at the next heading of its level.
    let end = start
        + 1
        + text[start + 1..]
            .find("\n## ")
            .expect("a heading after the section");
    let mut section = String::new();
    let mut mismatches = Vec::new();
    let mut blocks = 0;
    let mut lines = text[start..end].lines().peekable();
    while let Some(line) = lines.next() {
        section.push_str(line);
        section.push('\n');
        if line != "```console" {
            continue;
        }
        let cmd = lines.next().expect("a command line");
        section.push_str(cmd);
        section.push('\n');
        let words = shell_words(cmd.strip_prefix("$ sagetrail ").expect("$ sagetrail …"));
        let mut expected = Vec::new();
        for l in lines.by_ref() {
            if l == "```" {
                break;
            }
            expected.push(l.trim_end().to_string());
        }
        let a: Vec<&str> = words.iter().map(String::as_str).collect();
        let (code, out, err) = run(idx.path(), &a);
        assert!(code == 0 || code == 1, "{cmd}: exit {code}: {err}");
        let got = shown(&out);
        if got != expected {
            mismatches.push(format!(
                "{cmd}\n  README: {expected:#?}\n  binary: {got:#?}"
            ));
        }
        for g in &got {
            section.push_str(g);
            section.push('\n');
        }
        section.push_str("```\n");
        blocks += 1;
    }
    assert!(blocks >= 20, "found only {blocks} console blocks");
    if std::env::var("SAGETRAIL_BLESS_README").is_ok() {
        // `section` ends each line with a newline; the text after it starts at the newline before the heading.
        let new = format!("{}{}{}", &text[..start], section, &text[end + 1..]);
        std::fs::write(readme_path(), new).unwrap();
        return;
    }
    assert!(
        mismatches.is_empty(),
        "README drifted from the binary (SAGETRAIL_BLESS_README=1 rewrites it):\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn shell_words_split_like_a_shell() {
    assert_eq!(
        shell_words("who X --where 'a:b AND c' --format json"),
        vec!["who", "X", "--where", "a:b AND c", "--format", "json"]
    );
    assert_eq!(shell_words(r#"search "" x"#), vec!["search", "", "x"]);
    assert_eq!(
        shell_words(r#"stats --by actor 'roleArn:"arn:aws:iam::1:role/x"'"#),
        vec![
            "stats",
            "--by",
            "actor",
            r#"roleArn:"arn:aws:iam::1:role/x""#
        ]
    );
}
