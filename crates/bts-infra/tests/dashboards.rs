//! The Grafana dashboards in deploy/grafana: each one valid dashboard JSON (unique panel ids,
//! panels laid out without overlap, each with a description, the `${datasource}` datasource and
//! PromQL queries), every metric their queries use documented in docs/gateway-metrics.md,
//! docs/faucet.md or docs/probe-metrics.md, and the provisioning files pointing Grafana at them.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The pages that document metrics (a table row starting with "| `bts_"), from the workspace root.
const METRIC_DOCS: [&str; 3] = ["docs/gateway-metrics.md", "docs/faucet.md", "docs/probe-metrics.md"];
/// The dashboards, from the workspace root.
const DASHBOARDS_DIR: &str = "deploy/grafana/dashboards";
/// Where Grafana's file provider reads the dashboards (deploy/grafana/provisioning/dashboards).
const PROVIDER_PATH: &str = "/var/lib/grafana/dashboards/bts-infra";
/// The panel types the dashboards use.
const PANEL_TYPES: [&str; 5] = ["row", "timeseries", "stat", "table", "gauge"];
/// The series a histogram is queried through.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = workspace().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every metric documented in [`METRIC_DOCS`], with its type (`counter`, `gauge`, `histogram`).
pub fn documented_metrics() -> BTreeMap<String, String> {
    let mut metrics = BTreeMap::new();
    for doc in METRIC_DOCS {
        for line in read(doc).lines() {
            if !line.trim_start().starts_with("| `bts_") {
                continue;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells
                .get(1)
                .map(|cell| cell.trim_matches('`'))
                .expect("a table row has a first cell");
            let kind = cells
                .get(2)
                .copied()
                .unwrap_or_else(|| panic!("{doc}: no type column in {line:?}"));
            if let Some(earlier) = metrics.insert(name.to_owned(), kind.to_owned()) {
                assert_eq!(earlier, kind, "{doc}: {name} documented with two types");
            }
        }
    }
    metrics
}

/// One dashboard file, parsed.
pub struct Dashboard {
    /// The file's name in deploy/grafana/dashboards.
    pub file: String,
    /// Its JSON.
    pub json: Value,
}

/// Every deploy/grafana/dashboards/*.json, by file name.
pub fn dashboards() -> Vec<Dashboard> {
    let dir = workspace().join(DASHBOARDS_DIR);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    let mut dashboards: Vec<Dashboard> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let file = path
                .file_name()
                .expect("a listed file has a name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not valid JSON: {e}"));
            Dashboard { file, json }
        })
        .collect();
    dashboards.sort_by(|a, b| a.file.cmp(&b.file));
    assert!(!dashboards.is_empty(), "no dashboard in {}", dir.display());
    dashboards
}

/// A dashboard's panels, those nested in (collapsed) rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            if let Some(nested) = panel.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// A dashboard's template variables.
fn variables(dashboard: &Value) -> &[Value] {
    dashboard["templating"]["list"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
}

fn title(panel: &Value) -> &str {
    panel["title"].as_str().unwrap_or("(untitled)")
}

/// One PromQL query of a dashboard.
pub struct Query {
    /// Where it is: the file and the panel or template variable.
    pub place: String,
    /// The PromQL.
    pub expr: String,
}

/// Every query of every dashboard: the panels' targets and the query variables' `label_values`.
pub fn queries() -> Vec<Query> {
    let mut queries = Vec::new();
    for Dashboard { file, json } in dashboards() {
        for panel in panels(&json) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    queries.push(Query {
                        place: format!("{file}: panel {:?}", title(panel)),
                        expr: expr.to_owned(),
                    });
                }
            }
        }
        for variable in variables(&json) {
            if variable["type"] != "query" {
                continue;
            }
            let query = &variable["query"];
            let expr = query.as_str().or_else(|| query["query"].as_str());
            if let Some(expr) = expr {
                queries.push(Query {
                    place: format!("{file}: variable {}", variable["name"]),
                    expr: expr.to_owned(),
                });
            }
        }
    }
    queries
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The words of a PromQL expression that start with `bts` (metric names, and recording rules'
/// `bts:` names), outside strings, comments and Grafana variables (`$name`, `${name}`).
pub fn metric_identifiers(expr: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut chars = expr.chars().peekable();
    let mut after_dollar = false;
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                // A string (label value, regex): skip to its closing quote.
                while let Some(inner) = chars.next() {
                    if inner == '\\' && c != '`' {
                        chars.next();
                    } else if inner == c {
                        break;
                    }
                }
            }
            '#' => {
                for inner in chars.by_ref() {
                    if inner == '\n' {
                        break;
                    }
                }
            }
            c if is_word(c) => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if !is_word(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                if !after_dollar && (word.starts_with("bts_") || word.starts_with("bts:")) {
                    found.push(word);
                }
            }
            _ => {}
        }
        after_dollar = c == '$' || (after_dollar && c == '{');
    }
    found
}

/// The documented metric a series name belongs to: a histogram's `_bucket`, `_sum` and `_count`
/// series belong to the histogram; any other name stands for itself.
fn metric_of(series: &str, documented: &BTreeMap<String, String>) -> String {
    for suffix in HISTOGRAM_SUFFIXES {
        if let Some(base) = series.strip_suffix(suffix)
            && documented.get(base).is_some_and(|kind| kind == "histogram")
        {
            return base.to_owned();
        }
    }
    series.to_owned()
}

/// Every metric the dashboards query (histograms by their documented name, without the
/// `_bucket`, `_sum` or `_count` suffix).
pub fn dashboard_metrics() -> BTreeSet<String> {
    let documented = documented_metrics();
    queries()
        .iter()
        .flat_map(|query| metric_identifiers(&query.expr))
        .map(|series| metric_of(&series, &documented))
        .collect()
}

/// Grafana's own variables, which need no template variable.
fn is_builtin(variable: &str) -> bool {
    variable.starts_with("__")
}

/// The Grafana variables an expression uses: `$name`, `${name}`, `${name:format}`.
fn used_variables(expr: &str) -> Vec<String> {
    let mut used = Vec::new();
    for (i, _) in expr.match_indices('$') {
        let rest = &expr[i + 1..];
        let rest = rest.strip_prefix('{').unwrap_or(rest);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            used.push(name);
        }
    }
    used
}

#[derive(Clone, Copy)]
struct Rect {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

impl Rect {
    fn overlaps(self, other: Rect) -> bool {
        self.x < other.x + other.w
            && other.x < self.x + self.w
            && self.y < other.y + other.h
            && other.y < self.y + self.h
    }
}

/// Problems with one list of sibling panels' positions (the top level, or one row's panels).
fn layout_problems(file: &str, siblings: &[Value], problems: &mut Vec<String>) {
    let mut placed: Vec<(Rect, &str)> = Vec::new();
    for panel in siblings {
        let grid = &panel["gridPos"];
        let field = |name: &str| grid[name].as_i64();
        let (Some(x), Some(y), Some(w), Some(h)) = (field("x"), field("y"), field("w"), field("h")) else {
            problems.push(format!("{file}: panel {:?} has no gridPos", title(panel)));
            continue;
        };
        let rect = Rect { x, y, w, h };
        if x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > 24 {
            problems.push(format!(
                "{file}: panel {:?} lies outside the 24-column grid: {grid}",
                title(panel)
            ));
        }
        for (other, other_title) in &placed {
            if rect.overlaps(*other) {
                problems.push(format!("{file}: panels {:?} and {other_title:?} overlap", title(panel)));
            }
        }
        placed.push((rect, title(panel)));
        if let Some(nested) = panel["panels"].as_array() {
            layout_problems(file, nested, problems);
        }
    }
}

/// Problems with one dashboard's structure, each a line of the failure report.
fn structure_problems(Dashboard { file, json }: &Dashboard) -> Vec<String> {
    let mut problems = Vec::new();
    if json["schemaVersion"] != 39 {
        problems.push(format!("{file}: schemaVersion is not 39"));
    }
    for key in ["uid", "title"] {
        if json[key].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{file}: no {key}"));
        }
    }
    let defined: BTreeSet<&str> = variables(json)
        .iter()
        .filter_map(|variable| variable["name"].as_str())
        .collect();
    let datasource_variable = variables(json).iter().any(|variable| {
        variable["name"] == "datasource" && variable["type"] == "datasource" && variable["query"] == "prometheus"
    });
    if !datasource_variable {
        problems.push(format!(
            "{file}: no `datasource` template variable of type datasource for Prometheus"
        ));
    }
    for variable in variables(json) {
        if variable["type"] == "query" && variable["datasource"]["uid"] != "${datasource}" {
            problems.push(format!(
                "{file}: variable {} does not query ${{datasource}}",
                variable["name"]
            ));
        }
    }

    let mut ids = BTreeSet::new();
    for panel in panels(json) {
        let name = title(panel);
        match panel["id"].as_u64() {
            Some(id) if !ids.insert(id) => {
                problems.push(format!("{file}: panel {name:?} reuses id {id}"));
            }
            Some(_) => {}
            None => problems.push(format!("{file}: panel {name:?} has no numeric id")),
        }
        let kind = panel["type"].as_str().unwrap_or_default();
        if !PANEL_TYPES.contains(&kind) {
            problems.push(format!(
                "{file}: panel {name:?} has type {kind:?}, not one of {PANEL_TYPES:?}"
            ));
        }
        if panel["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
            problems.push(format!("{file}: panel {name:?} has no description"));
        }
        if kind == "row" {
            continue;
        }
        if panel["datasource"]["uid"] != "${datasource}" {
            problems.push(format!(
                "{file}: panel {name:?} does not use the ${{datasource}} variable"
            ));
        }
        let targets = panel["targets"].as_array().map_or(&[][..], Vec::as_slice);
        if targets.is_empty() {
            problems.push(format!("{file}: panel {name:?} has no targets"));
        }
        let mut ref_ids = BTreeSet::new();
        for target in targets {
            let Some(expr) = target["expr"].as_str().filter(|e| !e.trim().is_empty()) else {
                problems.push(format!("{file}: panel {name:?} has a target without expr"));
                continue;
            };
            if !ref_ids.insert(target["refId"].as_str().unwrap_or_default()) {
                problems.push(format!("{file}: panel {name:?} repeats a refId"));
            }
            if let Some(uid) = target["datasource"].get("uid")
                && uid != "${datasource}"
            {
                problems.push(format!("{file}: panel {name:?} has a target on datasource {uid}"));
            }
            for variable in used_variables(expr) {
                if !is_builtin(&variable) && !defined.contains(variable.as_str()) {
                    problems.push(format!(
                        "{file}: panel {name:?} uses ${variable}, which is not a template variable"
                    ));
                }
            }
        }
    }
    layout_problems(
        file,
        json["panels"].as_array().map_or(&[][..], Vec::as_slice),
        &mut problems,
    );
    problems
}

#[test]
fn dashboards_are_well_formed() {
    let dashboards = dashboards();
    let mut problems: Vec<String> = dashboards.iter().flat_map(structure_problems).collect();
    let mut uids = BTreeSet::new();
    for Dashboard { file, json } in &dashboards {
        if !uids.insert(json["uid"].to_string()) {
            problems.push(format!("{file}: uid {} is another dashboard's", json["uid"]));
        }
    }
    assert!(problems.is_empty(), "dashboard problems:\n{}", problems.join("\n"));
}

#[test]
fn the_documented_metrics_are_read() {
    let documented = documented_metrics();
    for (name, kind) in [
        ("bts_gateway_requests_total", "counter"),
        ("bts_gateway_request_duration_seconds", "histogram"),
        ("bts_faucet_registrar_balance_satoshis", "gauge"),
        ("bts_faucet_registration_duration_seconds", "histogram"),
        ("bts_probe_checks_total", "counter"),
        ("bts_probe_duration_seconds", "histogram"),
    ] {
        assert_eq!(
            documented.get(name).map(String::as_str),
            Some(kind),
            "{name} in the docs"
        );
    }
    for (name, kind) in &documented {
        assert!(
            ["counter", "gauge", "histogram"].contains(&kind.as_str()),
            "{name} has type {kind:?}"
        );
    }
}

#[test]
fn metric_identifiers_skip_strings_and_variables() {
    let expr = "sum by (le) (rate(bts_a_seconds_bucket{x=\"bts_not_a_metric\", y=~'bts_no\\'pe'}\
                [$__rate_interval])) / on() group_left bts_b_total + ${bts_variable} \
                # bts_in_a_comment\n- bts:recording_rule:ratio5m";
    assert_eq!(
        metric_identifiers(expr),
        ["bts_a_seconds_bucket", "bts_b_total", "bts:recording_rule:ratio5m"]
    );
    assert_eq!(
        used_variables("x{a=~\"$network\", b=~\"${region:regex}\"}[$__range]"),
        ["network", "region", "__range"]
    );
}

#[test]
fn dashboard_metrics_are_documented() {
    let documented = documented_metrics();
    let mut problems = Vec::new();
    for Query { place, expr } in queries() {
        for series in metric_identifiers(&expr) {
            if series.starts_with("bts:") {
                problems.push(format!(
                    "{place}: {series} is a recording rule; the dashboards query raw metrics"
                ));
                continue;
            }
            if documented.get(&series).is_some_and(|kind| kind == "histogram") {
                problems.push(format!(
                    "{place}: {series} is a histogram, queried through its _bucket, _sum or _count"
                ));
                continue;
            }
            let metric = metric_of(&series, &documented);
            if !documented.contains_key(&metric) {
                problems.push(format!(
                    "{place}: {series} is not documented in {METRIC_DOCS:?}\n    in {expr}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "undocumented metrics in the dashboards:\n{}",
        problems.join("\n")
    );

    // Each dashboard queries some metric, and each page's metrics show on some dashboard.
    let used = dashboard_metrics();
    for Dashboard { file, json } in dashboards() {
        let any = panels(&json).iter().any(|panel| {
            panel["targets"].as_array().into_iter().flatten().any(|target| {
                target["expr"]
                    .as_str()
                    .is_some_and(|expr| !metric_identifiers(expr).is_empty())
            })
        });
        assert!(any, "{file} queries no bts_ metric");
    }
    for prefix in ["bts_gateway_", "bts_faucet_", "bts_probe_"] {
        assert!(
            used.iter().any(|metric| metric.starts_with(prefix)),
            "no dashboard shows a {prefix} metric"
        );
    }
}

#[test]
fn provisioning_points_at_the_dashboards() {
    let datasource = read("deploy/grafana/provisioning/datasources/prometheus.yml");
    for line in ["type: prometheus", "uid: prometheus", "url: http://prometheus:9090"] {
        assert!(datasource.contains(line), "datasources/prometheus.yml lacks {line:?}");
    }
    let provider = read("deploy/grafana/provisioning/dashboards/bts-infra.yml");
    for line in [
        "type: file".to_owned(),
        "folder: bts-infra".to_owned(),
        format!("path: {PROVIDER_PATH}"),
    ] {
        assert!(provider.contains(&line), "dashboards/bts-infra.yml lacks {line:?}");
    }
    // The README's copy commands and volume mounts put the dashboards where the provider looks.
    let readme = read("deploy/grafana/README.md");
    assert!(
        readme.contains(PROVIDER_PATH),
        "deploy/grafana/README.md does not mention {PROVIDER_PATH}"
    );
    assert!(
        readme.contains("/etc/grafana/provisioning"),
        "deploy/grafana/README.md does not say where the provisioning files go"
    );
    // The dashboards' datasource variable defaults to the provisioned datasource.
    for Dashboard { file, json } in dashboards() {
        let default = variables(&json)
            .iter()
            .find(|variable| variable["name"] == "datasource")
            .map(|variable| &variable["current"]["value"]);
        assert_eq!(
            default.and_then(Value::as_str),
            Some("prometheus"),
            "{file}: the datasource variable's default is not the provisioned uid"
        );
    }
}

/// `bts-infra up` as a child process, killed when dropped.
struct Up(std::process::Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The metric families a live `/metrics` declares (`# TYPE name kind`).
fn live_families(text: &str) -> BTreeMap<String, String> {
    (text.lines())
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| name.starts_with("bts_"))
        .map(|(name, kind)| (name.to_owned(), kind.to_owned()))
        .collect()
}

#[tokio::test]
async fn the_live_stack_exports_only_documented_metrics_and_the_prober_all_of_its_own() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["up", "--port", "0", "--block-interval", "1s", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("bts-infra up starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the report");
    let _up = Up(child);
    let report: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let page = report["status_page"]
        .as_str()
        .expect("the status page's address")
        .to_owned();
    let ctx = bts_probe::check::Context {
        tls: bts_probe::check::dial::Tls::new(None).expect("system roots"),
        timeout: std::time::Duration::from_secs(5),
        cert_warn: std::time::Duration::ZERO,
    };
    // Once the prober has finished a round, every component has been called through.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while bts_probe::check::http::get_json(&ctx, &format!("{page}status.json"))
        .await
        .map_or(true, |s| s["state"] != "up")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the prober never saw the stack up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // One registration through the gateway, as a wallet makes it, so the faucet's registration
    // metrics exist too.
    let dir = tempfile::tempdir().expect("dir");
    let password = dir.path().join("pw");
    std::fs::write(&password, "a long passphrase for the live metrics test").expect("password file");
    let registered = std::process::Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args([
            "account",
            "register",
            "--name",
            "live-metrics-1",
            "--prefix",
            "BTS",
            "--faucet",
        ])
        .arg(
            report["gateway"]["faucet"]
                .as_str()
                .expect("the faucet through the gateway"),
        )
        .arg("--password-file")
        .arg(&password)
        .output()
        .expect("bts-infra account register runs");
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    let gateway = report["gateway"]["metrics"]
        .as_str()
        .expect("gateway metrics")
        .to_owned();
    let faucet = format!("{}/metrics", report["faucet"]["url"].as_str().expect("faucet"));
    let documented = documented_metrics();
    let dashboards = dashboard_metrics();
    let mut live_on_dashboards = 0;
    for url in [gateway, faucet, format!("{page}metrics")] {
        let text = bts_probe::check::http::get_text(&ctx, &url).await.expect("/metrics");
        let live = live_families(&text);
        assert!(live.len() >= 4, "{url} exports too little to be a real check: {live:?}");
        for (name, kind) in &live {
            assert_eq!(
                documented.get(name),
                Some(kind),
                "{url}: {name} ({kind}) is exported but not documented so"
            );
        }
        live_on_dashboards += live.keys().filter(|m| dashboards.contains(*m)).count();
    }
    for (name, kind) in bts_probe::metrics::Metrics::declared() {
        assert_eq!(
            documented.get(name).map(String::as_str),
            Some(kind),
            "the prober declares {name}"
        );
    }
    eprintln!(
        "{live_on_dashboards} of the dashboards' {} metrics seen live",
        dashboards.len()
    );
    assert!(live_on_dashboards >= 25, "the dashboards query what the stack exports");
}
