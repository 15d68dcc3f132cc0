//! `report`: the HTML investigation report as a reader gets it: written by the binary, checked as text
//! (self-contained, escaped, bounded, counts equal to `search --count` and `who`), then opened in headless
//! Chromium (Debian's `chromium`), served from 127.0.0.1 so every request the page makes is seen, with
//! a screenshot read back. `scripts/test` installs Chromium and sets SAGETRAIL_REQUIRE_CHROMIUM=1, so
//! there the browser tests fail rather than skip when it is missing.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;

/// Strings an attacker can put in a record (a userAgent, an ARN, a profile name), each trying to run
/// or load something or to break out of the histogram's SVG.
const SCRIPT: &str = "<script>document.title='pwned-script'</script>";
const IMG: &str = "<img src=x onerror=\"document.title='pwned-img'\">";
const SVG: &str = "</svg><svg onload=\"document.title='pwned-svg'\"><rect width=\"9999\" height=\"9999\" fill=\"#00ff00\"/></svg>";

/// A trail with the fixtures' events and one hostile record (a presigned URL from outside the network,
/// so it is a finding and its record is shown as evidence).
fn hostile_trail() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("trail"), d.path());
    let rec = serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAHOSTILE", "accountId": "111122223333",
            "arn": format!("arn:aws:iam::111122223333:user/{SCRIPT}"), "userName": SCRIPT},
        "eventTime": "2024-05-14T12:00:00Z",
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": "CreatePresignedDomainUrl",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.200",
        "userAgent": IMG,
        "requestParameters": {"domainId": "d-7kq2xexample", "userProfileName": SVG},
        "responseElements": null,
        "requestID": "req-hostile",
        "eventID": "bad00000-0000-4000-8000-000000000001",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    });
    let dir = d
        .path()
        .join("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/14");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("111122223333_CloudTrail_us-east-1_20240514T1200Z_H0st1le1.json.gz"),
        gzip(serde_json::json!({"Records": [rec]}).to_string().as_bytes()),
    )
    .unwrap();
    d
}

fn indexed(trail: &Path) -> tempfile::TempDir {
    let idx = tempfile::tempdir().unwrap();
    let (code, _, err) = ingest_json(idx.path(), &["cloudtrail", trail.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    idx
}

fn report(idx: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["report", "--out", out.to_str().unwrap()];
    args.extend(extra);
    let (code, _, err) = run(idx, &args);
    assert_eq!(code, 0, "{err}");
    std::fs::read_to_string(out).unwrap()
}

/// The number in `<span id="ID" data-count="N">`.
fn data_count(html: &str, id: &str) -> u64 {
    let at = html
        .find(&format!("id=\"{id}\" data-count=\""))
        .unwrap_or_else(|| panic!("no {id}"));
    let rest = &html[at + id.len() + 18..];
    rest[..rest.find('"').unwrap()].parse().unwrap()
}

#[test]
fn the_report_is_self_contained_escaped_and_counts_what_search_and_who_count() {
    let trail = hostile_trail();
    let idx = indexed(trail.path());
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("report.html");
    let html = report(
        idx.path(),
        &path,
        &["--audit", "--allow-cidr", "10.0.0.0/8"],
    );
    // Self-contained: a policy that forbids loading anything, and nothing that would load or run.
    assert!(
        html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';")
    );
    // Every raw `<` is one of the page's own tags (a record's `<` is escaped), so the tags tell what the
    // page can load or run: nothing.
    let allowed = [
        "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "b",
        "span", "div", "table", "tr", "th", "td", "code", "pre", "details", "summary", "br", "ul",
        "li", "svg", "g", "rect", "line", "text",
    ];
    for tag in html.split('<').skip(1).map(|t| &t[..t.find('>').unwrap()]) {
        let name = tag
            .trim_start_matches('/')
            .split([' ', '>'])
            .next()
            .unwrap();
        assert!(allowed.contains(&name), "tag <{tag}>");
        for attr in [" src=", " href=", " on", "url(", "xlink:", "@import"] {
            assert!(!tag.contains(attr), "tag <{tag}> has {attr:?}");
        }
    }
    assert_eq!(html.matches("<svg").count(), 1, "only the histogram is SVG");
    // The hostile strings are there, as text.
    assert!(html.contains("&lt;script&gt;document.title=&#39;pwned-script&#39;&lt;/script&gt;"));
    // (in the record as JSON gives it: the quotes backslash-escaped)
    assert!(html
        .contains(r"&lt;img src=x onerror=\&quot;document.title=&#39;pwned-img&#39;\&quot;&gt;"));
    assert!(html.contains("&lt;/svg&gt;&lt;svg onload="));
    // Counts equal to the terminal's.
    let events = count(idx.path(), "*");
    assert_eq!(data_count(&html, "events-count"), events);
    let who = json_lines(&ok(idx.path(), &["who", "*", "--format", "json"])).len() as u64;
    assert_eq!(data_count(&html, "actors-count"), who);
    assert_eq!(html.matches("<tr class=\"actor\">").count() as u64, who);
    let findings = json_lines(
        &run(
            idx.path(),
            &["audit", "--allow-cidr", "10.0.0.0/8", "--format", "json"],
        )
        .1,
    )
    .len() as u64;
    assert_eq!(data_count(&html, "findings-count"), findings);
    // Evidence: the hostile record's bytes, escaped, collapsed by default.
    assert!(html.contains("<details class=\"evidence\"><summary>record bad00000-0000-4000-8000-000000000001</summary>"));
    assert!(!html.contains("<details open"));
    // The scope says what it is evidence of.
    assert!(html.contains(&format!("<code>{}</code>", idx.path().display())));
    assert!(html.contains("by sagetrail "));
    // Sessions are marked in the timeline.
    assert!(html.contains("<tr class=\"event session\">"));
    // Written whole, private, nothing left beside it.
    let names: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["report.html"]);
}

#[test]
fn the_report_narrows_to_an_actor_a_query_and_a_window() {
    let idx = indexed(&fixtures().join("trail"));
    let out = tempfile::tempdir().unwrap();
    let html = report(
        idx.path(),
        &out.path().join("a.html"),
        &["--actor", "alice"],
    );
    let (_, node_count, _) = run(idx.path(), &["activity", "alice", "--format", "json"]);
    let alice: u64 = json_lines(&node_count)
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(data_count(&html, "events-count"), alice);
    assert!(html.contains("alice (matched as "));
    assert!(html.contains("The guardrails were not checked"));
    let html = report(
        idx.path(),
        &out.path().join("q.html"),
        &[
            "eventName:CreateApp",
            "--since",
            "2024-05-14T00:00:00Z",
            "--until",
            "2024-05-15T00:00:00Z",
        ],
    );
    let want: u64 = ok(
        idx.path(),
        &[
            "search",
            "eventName:CreateApp",
            "--count",
            "--since",
            "2024-05-14T00:00:00Z",
            "--until",
            "2024-05-15T00:00:00Z",
        ],
    )
    .trim()
    .parse()
    .unwrap();
    assert_eq!(data_count(&html, "events-count"), want);
    assert!(html.contains("<code>eventName:CreateApp</code>"));
    assert!(html.contains("2024-05-14T00:00:00Z to 2024-05-15T00:00:00Z"));
    // A bad query is a usage error, and no file is written.
    let bad = out.path().join("bad.html");
    let (code, _, err) = run(
        idx.path(),
        &["report", "eventName:(", "--out", bad.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    assert!(!bad.exists());
    // --sigma needs --audit.
    let (code, _, _) = run(
        idx.path(),
        &["report", "--sigma", "x.yml", "--out", bad.to_str().unwrap()],
    );
    assert_eq!(code, 2);
}

#[test]
fn the_report_stays_bounded_whatever_the_scope() {
    // 40 actors, 700 events: the tables show 25 actors and 500 timeline rows, and say how many more.
    let d = tempfile::tempdir().unwrap();
    let dir = d
        .path()
        .join("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/14");
    std::fs::create_dir_all(&dir).unwrap();
    let recs: Vec<serde_json::Value> = (0..700)
        .map(|i| {
            serde_json::json!({
                "eventVersion": "1.09",
                "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/u{}", i % 40), "accountId": "111122223333"},
                "eventTime": format!("2024-05-14T{:02}:{:02}:00Z", i / 60 % 24, i % 60),
                "eventSource": "sagemaker.amazonaws.com",
                "eventName": format!("Describe{}", i % 30),
                "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.1",
                "eventID": format!("b0000000-0000-4000-8000-{i:012}"),
                "recipientAccountId": "111122223333"
            })
        })
        .collect();
    std::fs::write(
        dir.join("111122223333_CloudTrail_us-east-1_20240514T0000Z_B0und001.json.gz"),
        gzip(serde_json::json!({"Records": recs}).to_string().as_bytes()),
    )
    .unwrap();
    let idx = indexed(d.path());
    let out = tempfile::tempdir().unwrap();
    let html = report(idx.path(), &out.path().join("r.html"), &[]);
    assert_eq!(data_count(&html, "events-count"), 700);
    assert_eq!(data_count(&html, "actors-count"), 40);
    assert_eq!(html.matches("<tr class=\"actor\">").count(), 25);
    assert!(html.contains("15 more actors"));
    assert_eq!(html.matches("<tr class=\"event").count(), 500);
    assert!(html.contains("200 more not shown"));
    assert!(html.contains("5 more values"), "30 eventNames, 25 shown");
    assert!(html.len() < 1 << 20, "{} bytes", html.len());
}

/// Debian's Chromium, or None (then the browser tests skip, unless SAGETRAIL_REQUIRE_CHROMIUM is set).
fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("SAGETRAIL_REQUIRE_CHROMIUM").is_none(),
            "SAGETRAIL_REQUIRE_CHROMIUM is set but Chromium is not installed"
        );
        eprintln!("note: chromium is not installed; browser test skipped");
    }
    found
}

/// Serve `page` at `/report.html` on 127.0.0.1 and record every request line.
fn serve(page: Vec<u8>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut line = String::new();
            let mut r = BufReader::new(c.try_clone().unwrap());
            if r.read_line(&mut line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut h = String::new();
            while r.read_line(&mut h).is_ok_and(|n| n > 2) {
                h.clear();
            }
            // A connection that sends nothing (Chromium's preconnect) is not a request.
            if line.trim().is_empty() {
                continue;
            }
            log.lock().unwrap().push(line.trim().to_string());
            let ok = line.starts_with("GET /report.html ");
            let body: &[u8] = if ok { &page } else { b"" };
            let _ = write!(
                c,
                "HTTP/1.1 {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                if ok { "200 OK" } else { "404 Not Found" },
                body.len()
            );
            let _ = c.write_all(body);
        }
    });
    (port, seen)
}

/// Chromium as the machine's probe runs it: headless, no sandbox (root), no GPU, no background traffic,
/// a fresh profile.
fn browser(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn in_chromium_the_page_loads_nothing_runs_nothing_and_draws_the_histogram() {
    let Some(bin) = chromium() else { return };
    let trail = hostile_trail();
    let idx = indexed(trail.path());
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("report.html");
    let html = report(
        idx.path(),
        &path,
        &["--audit", "--allow-cidr", "10.0.0.0/8"],
    );
    let (port, seen) = serve(html.into_bytes());
    let url = format!("http://127.0.0.1:{port}/report.html");

    // With JavaScript on: the DOM after load has no element the records tried to inject, the title is
    // the report's, and the only request was the page itself.
    let profile = tempfile::tempdir().unwrap();
    let dom = browser(&bin, profile.path())
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("<title>sagetrail report: *</title>"),
        "{}",
        &dom[..dom.len().min(500)]
    );
    assert!(!dom.contains("pwned-script</title>") && !dom.contains("<title>pwned"));
    assert!(
        !dom.contains("<script") && !dom.contains("<img"),
        "an injected element exists"
    );
    assert_eq!(
        dom.matches("<svg").count(),
        1,
        "the SVG breakout stayed text"
    );
    assert!(dom.contains("&lt;/svg&gt;&lt;svg onload="));
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        ["GET /report.html HTTP/1.1".to_string()]
    );

    // A screenshot: not blank, the histogram's bars drawn, no injected green. (The page has no script
    // and its policy allows none, so it reads the same with JavaScript off; headless Chromium's
    // `scriptEnabled=false` also stops its own screenshot, so it is not used here.)
    let shot = out.path().join("shot.png");
    let profile = tempfile::tempdir().unwrap();
    let st = browser(&bin, profile.path())
        .args(["--window-size=1280,1600"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let mut colors: Vec<[u8; 3]> = pixels.iter().map(|p| [p[0], p[1], p[2]]).collect();
    let near = |c: &[u8; 3], want: [u8; 3]| c.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 8);
    let blue = colors
        .iter()
        .filter(|c| near(c, [0x09, 0x69, 0xda]))
        .count();
    let red = colors
        .iter()
        .filter(|c| near(c, [0xcf, 0x22, 0x2e]))
        .count();
    let green = colors
        .iter()
        .filter(|c| near(c, [0x00, 0xff, 0x00]))
        .count();
    assert!(blue > 500, "the histogram's bars: {blue} blue pixels");
    assert!(red > 100, "the error bars and highlights: {red} red pixels");
    assert_eq!(green, 0, "the injected SVG drew nothing");
    colors.sort();
    colors.dedup();
    assert!(colors.len() > 20, "not blank: {} colours", colors.len());
}
