//! The investigation report as one self-contained HTML file: inline CSS, charts as inline SVG, no script,
//! and a Content-Security-Policy that forbids loading anything, so the page opens offline and with
//! JavaScript off. Every string that comes from a record goes through [`escape`]: records are
//! attacker-influenced, and a `userAgent` of `<script>` must show as text.

use std::fmt::Write as _;
use std::io::Write;

use super::sanitize;
use crate::questions::report::{Bar, Report, EVIDENCE_PER_RULE, TIMELINE_LIMIT};
use crate::render::stats::human_interval;

/// Nothing may be loaded or run: no scripts, fonts, images, frames, connections; only the page's own
/// inline style. `base-uri` and `form-action` close the remaining ways a page can point elsewhere.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; font-src 'none'; connect-src 'none'; script-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'";

/// The histogram's drawing area, in SVG user units (the SVG scales to the page's width).
const CHART_W: f64 = 960.0;
const CHART_H: f64 = 180.0;
/// Room for the axis labels below and beside the bars.
const CHART_PAD_LEFT: f64 = 48.0;
const CHART_PAD_BOTTOM: f64 = 22.0;

/// Source addresses and roles listed per actor before "n more".
const LIST_IN_CELL: usize = 5;

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#1d232a;background:#fff}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 4px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.scope td:first-child{color:#57606a;white-space:nowrap}
.glance{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;font-size:15px}
.wrap{overflow-x:auto}
td.mono{word-break:break-word;max-width:360px}
.mono,pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;padding:8px;border-radius:4px;margin:4px 0}
.err{color:#b42318}.more{color:#57606a;font-style:italic}
.sev-high{color:#b42318;font-weight:600}.sev-medium{color:#9a6700;font-weight:600}.sev-low{color:#57606a;font-weight:600}
tr.session td{border-top:2px solid #0969da}
.tag{display:inline-block;background:#ddf4ff;color:#0550ae;border-radius:10px;padding:0 6px;margin:1px;font-size:11px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:0 24px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
details summary{cursor:pointer;color:#0969da}
"#;

/// Text safe inside HTML elements and attribute values: invisible and control characters made visible
/// (as in the terminal), then `& < > " '` as entities.
pub(crate) fn escape(s: &str) -> String {
    let s = sanitize(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn opt(s: &Option<String>) -> String {
    escape(s.as_deref().unwrap_or(""))
}

fn list_cell(v: &[String]) -> String {
    let mut out: Vec<String> = v.iter().take(LIST_IN_CELL).map(|s| escape(s)).collect();
    if v.len() > LIST_IN_CELL {
        out.push(format!(
            "<span class=\"more\">{} more</span>",
            v.len() - LIST_IN_CELL
        ));
    }
    out.join("<br>")
}

/// The activity histogram: stacked bars (CloudTrail without error, with error, Studio logs), a title per
/// bar (its interval and counts, shown on hover without script), the largest count and the interval's
/// first, middle and last start on the axes.
fn histogram(bars: &[Bar], interval_ms: i64) -> String {
    let mut s = String::new();
    let max = bars
        .iter()
        .map(|b| b.ok + b.errors + b.logs)
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = CHART_W - CHART_PAD_LEFT;
    let n = bars.len().max(1) as f64;
    let bw = plot_w / n;
    let gap = if bw > 4.0 { 1.0 } else { 0.0 };
    let _ = write!(
        s,
        "<svg id=\"histogram\" role=\"img\" aria-label=\"events per {}\" viewBox=\"0 0 {CHART_W} {}\" width=\"100%\" preserveAspectRatio=\"none\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(&human_interval(interval_ms)),
        CHART_H + CHART_PAD_BOTTOM
    );
    let _ = write!(
        s,
        "<line x1=\"{CHART_PAD_LEFT}\" y1=\"{CHART_H}\" x2=\"{CHART_W}\" y2=\"{CHART_H}\" stroke=\"#8c959f\"/><text x=\"{}\" y=\"12\" text-anchor=\"end\">{max}</text><text x=\"{}\" y=\"{CHART_H}\" text-anchor=\"end\">0</text>",
        CHART_PAD_LEFT - 4.0,
        CHART_PAD_LEFT - 4.0
    );
    for (i, b) in bars.iter().enumerate() {
        let x = CHART_PAD_LEFT + i as f64 * bw;
        let mut y = CHART_H;
        let title = format!(
            "{} (+{}): {} events, {} errors, {} log lines",
            crate::time::format_ms(b.start_ms),
            human_interval(interval_ms),
            b.ok + b.errors,
            b.errors,
            b.logs
        );
        let _ = write!(s, "<g class=\"bar\"><title>{}</title>", escape(&title));
        for (count, color, class) in [
            (b.ok, "#0969da", "ok"),
            (b.errors, "#cf222e", "errors"),
            (b.logs, "#8c959f", "logs"),
        ] {
            if count == 0 {
                continue;
            }
            let h = (count as f64 / max as f64 * (CHART_H - 14.0)).max(1.0);
            y -= h;
            let _ = write!(
                s,
                "<rect class=\"{class}\" x=\"{x:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{h:.2}\" fill=\"{color}\"/>",
                (bw - gap).max(0.5)
            );
        }
        s.push_str("</g>");
    }
    if let (Some(first), Some(last)) = (bars.first(), bars.last()) {
        let mid = &bars[bars.len() / 2];
        for (b, x, anchor) in [
            (first, CHART_PAD_LEFT, "start"),
            (mid, CHART_PAD_LEFT + plot_w / 2.0, "middle"),
            (last, CHART_W, "end"),
        ] {
            let _ = write!(
                s,
                "<text x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                CHART_H + 16.0,
                escape(&crate::time::format_ms(b.start_ms))
            );
        }
    }
    s.push_str("</svg>");
    s.push_str("<div class=\"legend\"><span style=\"background:#0969da\"></span>CloudTrail<span style=\"background:#cf222e\"></span>CloudTrail errors<span style=\"background:#8c959f\"></span>Studio log lines</div>");
    s
}

/// A reader's name for a counted field (the field itself is the heading's title).
fn label(field: &str) -> &str {
    match field {
        "eventName" => "Actions (eventName)",
        "eventSource" => "Services (eventSource)",
        "roleArn" => "Roles acted through",
        "userProfile" => "User profiles",
        "spaceName" => "Spaces",
        "domainId" => "Domains",
        "requestParameters.resourceSpec.instanceType" => "Studio app instance types",
        "requestParameters.resourceConfig.instanceType" => "Training job instance types",
        "requestParameters.processingResources.clusterConfig.instanceType" => {
            "Processing job instance types"
        }
        "requestParameters.resourceSpec.sageMakerImageArn" => "Studio app images",
        "requestParameters.algorithmSpecification.trainingImage" => "Training images",
        other => other,
    }
}

fn sev_class(level: &str) -> &'static str {
    match level {
        "high" | "critical" => "sev-high",
        "medium" => "sev-medium",
        _ => "sev-low",
    }
}

/// The whole page.
pub(crate) fn page(r: &Report) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let actors = r.who.len() + r.who_more;
    let errors: u64 = r.bars.iter().map(|b| b.errors).sum();
    let title = match &r.actor {
        Some(a) => format!("sagetrail report: {a}"),
        None => format!("sagetrail report: {}", r.query),
    };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\"><meta name=\"referrer\" content=\"no-referrer\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(s, "<h1>{}</h1>", escape(&title));

    // The scope: what this document is evidence of.
    s.push_str("<table class=\"scope\">");
    let window = format!(
        "{} to {}",
        r.since.as_deref().unwrap_or("the first event"),
        r.until.as_deref().unwrap_or("the last event")
    );
    let actor = r.actor.as_ref().map(|a| {
        format!(
            "{} (matched as {})",
            escape(a),
            escape(&r.actor_fields.join(", "))
        )
    });
    for (k, v) in [
        ("query", format!("<code>{}</code>", escape(&r.query))),
        ("actor", actor.unwrap_or_else(|| "any".into())),
        ("time window", escape(&window)),
        ("index", format!("<code>{}</code>", escape(&r.index))),
        (
            "events covered",
            format!(
                "<span id=\"events-count\" data-count=\"{}\">{}</span>, from {} to {}",
                r.events,
                r.events,
                opt(&r.first_time),
                opt(&r.last_time)
            ),
        ),
        (
            "made",
            format!(
                "{} by sagetrail {}",
                escape(&r.generated),
                escape(r.version)
            ),
        ),
    ] {
        let _ = write!(s, "<tr><td>{k}</td><td>{v}</td></tr>");
    }
    s.push_str("</table>");

    // At a glance: the sentence a reader takes away.
    let findings: usize = r
        .audit
        .as_ref()
        .map(|a| a.iter().map(|x| x.total).sum())
        .unwrap_or(0);
    let _ = write!(
        s,
        "<p class=\"glance\"><b>{}</b> events by <b><span id=\"actors-count\" data-count=\"{actors}\">{actors}</span></b> actors, from {} to {}; <b class=\"{}\">{errors}</b> failed calls",
        r.events,
        opt(&r.first_time),
        opt(&r.last_time),
        if errors > 0 { "err" } else { "" }
    );
    match &r.audit {
        Some(a) => {
            let _ = write!(
                s,
                "; <b id=\"findings-count\" data-count=\"{findings}\" class=\"{}\">{findings}</b> guardrail findings in {} rules.</p>",
                if findings > 0 { "err" } else { "" },
                a.len()
            );
        }
        None => s.push_str(". The guardrails were not checked (add <code>--audit</code>).</p>"),
    }

    // When.
    let _ = write!(
        s,
        "<h2 id=\"when\">When: events per {}</h2>",
        escape(&human_interval(r.interval_ms))
    );
    if r.bars.is_empty() {
        s.push_str("<p class=\"more\">No events in this scope.</p>");
    } else {
        s.push_str(&histogram(&r.bars, r.interval_ms));
    }

    // Who.
    s.push_str("<h2 id=\"who\">Who</h2><div class=\"wrap\"><table id=\"who-table\"><tr><th>actor</th><th>attributed by</th><th class=\"n\">events</th><th class=\"n\">errors</th><th>first</th><th>last</th><th>source addresses</th><th>roles</th><th>principals</th></tr>");
    for w in &r.who {
        let _ = write!(
            s,
            "<tr class=\"actor\"><td class=\"mono\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n{}\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            escape(&w.actor),
            list_cell(&w.actor_bases),
            w.count,
            if w.errors > 0 { " err" } else { "" },
            w.errors,
            escape(&w.first_time),
            escape(&w.last_time),
            list_cell(&w.source_ip_addresses),
            list_cell(&w.role_arns),
            list_cell(&w.principal_arns)
        );
    }
    s.push_str("</table></div>");
    if r.who_more > 0 {
        let _ = write!(s, "<p class=\"more\">{} more actors</p>", r.who_more);
    }

    // Guardrails.
    if let Some(rules) = &r.audit {
        s.push_str("<h2 id=\"guardrails\">Guardrails broken</h2>");
        if rules.is_empty() {
            s.push_str("<p>No finding.</p>");
        }
        for rf in rules {
            let h = &rf.head;
            let _ = write!(
                s,
                "<h3 class=\"rule\"><span class=\"{}\">[{}]</span> {} <span class=\"more\">{}</span></h3><p>{} &middot; <b>{}</b> findings{}</p>",
                sev_class(&h.level),
                escape(&h.level),
                escape(&h.title),
                escape(&h.id),
                escape(&h.origin),
                rf.total,
                if rf.findings.len() < rf.total {
                    format!(" (the first {} listed)", rf.findings.len())
                } else {
                    String::new()
                }
            );
            s.push_str(
                "<table><tr><th>time</th><th>actor</th><th>detail</th><th>eventID</th></tr>",
            );
            for f in &rf.findings {
                let _ = write!(
                    s,
                    "<tr class=\"finding\"><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                    escape(&f.time()),
                    escape(f.actor().unwrap_or("")),
                    escape(f.detail()),
                    escape(f.event_id())
                );
            }
            s.push_str("</table>");
            for (id, raw) in &rf.evidence {
                let _ = write!(
                    s,
                    "<details class=\"evidence\"><summary>record {}</summary><pre>{}</pre></details>",
                    escape(id),
                    escape(raw.get())
                );
            }
            if rf.total > rf.evidence.len() {
                let _ = write!(
                    s,
                    "<p class=\"more\">records of the first {EVIDENCE_PER_RULE} findings shown; all {} by <code>sagetrail audit --rule {} --format json</code></p>",
                    rf.total,
                    escape(&h.id)
                );
            }
        }
    }
    if !r.not_run.is_empty() {
        s.push_str("<h3>Rules not run</h3><ul>");
        for (rule, why) in &r.not_run {
            let _ = write!(s, "<li><code>{}</code>: {}</li>", escape(rule), escape(why));
        }
        s.push_str("</ul>");
    }

    // What.
    s.push_str("<h2 id=\"what\">What, and what was touched</h2><div class=\"grid\">");
    for c in &r.counts {
        if c.rows.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "<div><h3 title=\"{}\">{}</h3><table><tr><th>value</th><th class=\"n\">events</th></tr>",
            escape(&c.field),
            escape(label(&c.field))
        );
        for (v, n) in &c.rows {
            let _ = write!(
                s,
                "<tr><td class=\"mono\">{}</td><td class=\"n\">{n}</td></tr>",
                escape(v)
            );
        }
        s.push_str("</table>");
        if c.more > 0 {
            let _ = write!(s, "<p class=\"more\">{} more values</p>", c.more);
        }
        s.push_str("</div>");
    }
    s.push_str("</div>");

    // Timeline.
    let _ = write!(
        s,
        "<h2 id=\"timeline\">Timeline</h2><p class=\"more\">oldest first; a blue line marks a new session (access key or log stream){}</p>",
        if r.timeline_more > 0 {
            format!(
                "; the first {TIMELINE_LIMIT} events, {} more not shown",
                r.timeline_more
            )
        } else {
            String::new()
        }
    );
    s.push_str("<div class=\"wrap\"><table id=\"timeline-table\"><tr><th>time</th><th>kind</th><th>event</th><th>actor</th><th>attributed by</th><th>source address</th><th>error</th><th>session</th></tr>");
    for t in &r.timeline {
        let _ = write!(
            s,
            "<tr class=\"event{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"err\">{}</td><td class=\"mono\">{}</td></tr>",
            if t.new_session { " session" } else { "" },
            escape(&t.time),
            escape(&t.kind),
            escape(&t.event),
            opt(&t.actor),
            opt(&t.actor_basis),
            opt(&t.source_ip_address),
            opt(&t.error_code),
            opt(&t.session)
        );
    }
    s.push_str("</table></div>");
    s.push_str("<p class=\"more\">Made by sagetrail from CloudTrail and SageMaker Studio logs. Every value above is as the records give it; the records shown as evidence are byte for byte as stored.</p></body></html>\n");
    s
}

/// Write the page to `out`.
pub(crate) fn write(r: &Report, mut out: impl Write) -> std::io::Result<()> {
    out.write_all(page(r).as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_makes_markup_text() {
        assert_eq!(
            escape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(
            escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            escape("</svg><svg onload=x>"),
            "&lt;/svg&gt;&lt;svg onload=x&gt;"
        );
        assert_eq!(escape("a & b"), "a &amp; b");
        // Invisible and direction-changing characters are shown, not obeyed.
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("x\u{0}y"), "x\\u{0}y");
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn histogram_bars_are_stacked_and_scaled() {
        let bars = [
            Bar {
                start_ms: 0,
                ok: 10,
                errors: 5,
                logs: 5,
            },
            Bar {
                start_ms: 3_600_000,
                ok: 0,
                errors: 0,
                logs: 0,
            },
        ];
        let svg = histogram(&bars, 3_600_000);
        assert_eq!(svg.matches("<g class=\"bar\">").count(), 2);
        assert_eq!(svg.matches("<rect ").count(), 3, "empty parts draw nothing");
        assert!(
            svg.contains(">20</text>"),
            "the largest count labels the axis"
        );
        assert!(svg.contains("1970-01-01T00:00:00Z (+1h): 15 events, 5 errors, 5 log lines"));
    }
}
