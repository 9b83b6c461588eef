//! A small YAML writer for compose files: block mappings and sequences, every string
//! double-quoted (a JSON string is a valid YAML double-quoted scalar), so nothing is
//! misread as a number, boolean or anchor. A YAML library would bring a parser we do not need.

use serde_json::Value;

/// `value` as a YAML document.
pub(crate) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    block(&mut out, value, 0);
    out
}

fn block(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                out.push_str(&pad);
                out.push_str(&key_text(key));
                out.push(':');
                nested(out, v, indent);
            }
        }
        Value::Array(items) => {
            for v in items {
                match v {
                    // `- key: value` with the mapping's other keys under the first one.
                    Value::Object(m) if !m.is_empty() => {
                        let mut inner = String::new();
                        block(&mut inner, v, indent + 2);
                        out.push_str(&pad);
                        out.push_str("- ");
                        out.push_str(&inner[indent + 2..]);
                    }
                    _ => {
                        out.push_str(&pad);
                        out.push('-');
                        nested(out, v, indent);
                    }
                }
            }
        }
        scalar => {
            out.push_str(&pad);
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

/// What follows `key:` or `-`: a scalar on the same line, or a block on the next lines.
fn nested(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if m.is_empty() => out.push_str(" {}\n"),
        Value::Array(a) if a.is_empty() => out.push_str(" []\n"),
        Value::Object(_) | Value::Array(_) => {
            out.push('\n');
            block(out, v, indent + 2);
        }
        Value::String(text) if literal_block(text) => {
            // A file's text (a ConfigMap's TOML) reads as itself: `|` keeps it byte for byte.
            out.push_str(" |\n");
            for line in text.lines() {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

/// Whether `text` survives a `|` block unchanged: several lines ending in exactly one newline,
/// no line starting with a space (the first would set the indentation), nothing YAML would
/// fold, break or reject (carriage returns, tabs and other control characters, trailing spaces,
/// the Unicode line and paragraph separators, the non-characters U+FFFE and U+FFFF).
fn literal_block(text: &str) -> bool {
    let Some(body) = text.strip_suffix('\n') else {
        return false;
    };
    body.contains('\n')
        && !body.ends_with('\n')
        && body
            .lines()
            .all(|l| !l.starts_with(' ') && !l.ends_with(' ') && !l.chars().any(unsafe_in_block))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s),
        Value::Array(_) | Value::Object(_) => unreachable!("containers are written as blocks"),
    }
}

/// `s` as a double-quoted scalar: JSON's escapes, which YAML shares, plus those JSON leaves
/// alone but YAML would read as line breaks or refuse (DEL and the C1 controls with NEL, the
/// Unicode separators, the byte-order mark and non-characters).
fn quoted(s: &str) -> String {
    let json = Value::String(s.to_owned()).to_string();
    if !json.chars().any(unsafe_in_block) {
        return json;
    }
    json.chars()
        .map(|c| {
            if unsafe_in_block(c) {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn unsafe_in_block(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Keys of our own making are plain words; anything else is quoted.
fn key_text(key: &str) -> String {
    if !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
        && !key.starts_with(['-', '.'])
    {
        key.to_owned()
    } else {
        quoted(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_and_quoted_scalars() {
        let doc = json!({
            "services": {"n1": {"image": "x:1", "init": true, "ports": ["8090:8090"], "env": {"A": "yes"}}},
            "volumes": {"n1-data": {}},
            "weird key": [],
            "list": [{"name": "a", "value": "1"}, {"name": "b"}, "c", []],
            "app.kubernetes.io/name": "file.toml",
            "data": {"file.toml": "# head\na = \"b\"\n\n[t]\nc = 1\n", "one": "x\n", "indented": " x\ny\n", "separator": "a\u{2028}b\nc\n"},
        });
        expect_test::expect![[r#"
            app.kubernetes.io/name: "file.toml"
            data:
              file.toml: |
                # head
                a = "b"

                [t]
                c = 1
              indented: " x\ny\n"
              one: "x\n"
              separator: "a\u2028b\nc\n"
            list:
              - name: "a"
                value: "1"
              - name: "b"
              - "c"
              - []
            services:
              n1:
                env:
                  A: "yes"
                image: "x:1"
                init: true
                ports:
                  - "8090:8090"
            volumes:
              n1-data: {}
            "weird key": []
        "#]]
        .assert_eq(&to_yaml(&doc));
    }
}
