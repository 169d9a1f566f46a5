//! Building HCL text from values: string literals, interpolated bucket names, heredocs.

use minijinja::Error;

/// A quoted HCL string literal. `${` and `%{` are doubled so that nothing is interpolated.
pub fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bucket-name template (`…-{region}-{account-id}`) as an HCL string that resolves the
/// placeholders at apply time from the root module's locals.
pub fn bucket_name(template: &str) -> String {
    let quoted = string(template);
    quoted
        .replace("{region}", "${local.region}")
        .replace("{account-id}", "${local.account_id}")
}

/// A scalar as an HCL literal: strings quoted and escaped, booleans and numbers as they are.
pub fn literal(value: minijinja::Value) -> Result<String, Error> {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::String => Ok(string(value.as_str().unwrap_or_default())),
        ValueKind::Bool => Ok(value.is_true().to_string()),
        ValueKind::Number => Ok(value.to_string()),
        ValueKind::None => Ok("null".into()),
        other => Err(Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("no HCL literal for a {other}"),
        )),
    }
}

/// A one-line HCL list of string literals.
pub fn list(values: Vec<String>) -> String {
    let items: Vec<String> = values.iter().map(|v| string(v)).collect();
    format!("[{}]", items.join(", "))
}

/// An HCL object of strings, one aligned attribute per line as `terraform fmt` writes it,
/// nested `indent` spaces deep; `{}` when empty.
pub fn map(value: minijinja::Value, indent: usize) -> Result<String, Error> {
    let mut values = std::collections::BTreeMap::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        values.insert(key.to_string(), item.to_string());
    }
    Ok(map_of(&values, indent))
}

fn map_of(values: &std::collections::BTreeMap<String, String>, indent: usize) -> String {
    if values.is_empty() {
        return "{}".to_string();
    }
    let keys: Vec<String> = values.keys().map(|k| string(k)).collect();
    let width = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
    let pad = " ".repeat(indent);
    let mut out = String::from(
        "{
",
    );
    for (key, value) in keys.iter().zip(values.values()) {
        let fill = " ".repeat(width - key.chars().count());
        out.push_str(&format!("{pad}  {key}{fill} = {}\n", string(value)));
    }
    out.push_str(&format!("{pad}}}"));
    out
}

/// An indented heredoc (`<<-EOT`) holding `text`, which must end with a newline. Heredocs
/// interpolate too, so `${` and `%{` are escaped as in strings.
pub fn heredoc(text: &str, indent: usize) -> Result<String, Error> {
    if !text.ends_with('\n') {
        return Err(Error::new(
            minijinja::ErrorKind::InvalidOperation,
            "heredoc text must end with a newline",
        ));
    }
    let pad = " ".repeat(indent);
    let mut out = String::from("<<-EOT\n");
    for line in text.lines() {
        let escaped = line.replace("${", "$${").replace("%{", "%%{");
        if escaped.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("{pad}  {escaped}\n"));
        }
    }
    out.push_str(&format!("{pad}EOT"));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_quotes_and_interpolation() {
        assert_eq!(string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(string("${x} %{if} $x %x"), r#""$${x} %%{if} $x %x""#);
        assert_eq!(string("line\n"), r#""line\n""#);
    }

    #[test]
    fn strings_parse_back_to_the_same_value() {
        for value in [
            "plain",
            "${var.x}",
            "%{ if true }",
            "quote \" and \\",
            "tab\tnew\n",
        ] {
            let body: hcl::Body = hcl::from_str(&format!("v = {}\n", string(value))).unwrap();
            let attr = body.attributes().next().unwrap();
            match attr.expr() {
                hcl::Expression::String(s) => assert_eq!(s, value),
                hcl::Expression::TemplateExpr(t) => {
                    let template = hcl::Template::from_expr(t).unwrap();
                    let mut ctx = hcl::eval::Context::new();
                    ctx.declare_var("x", 1);
                    let s = hcl::eval::Evaluate::evaluate(&template, &ctx).unwrap();
                    assert_eq!(s, value);
                }
                other => panic!("unexpected expression {other:?}"),
            }
        }
    }

    #[test]
    fn bucket_placeholders_become_locals() {
        assert_eq!(
            bucket_name("logs-{region}-{account-id}"),
            r#""logs-${local.region}-${local.account_id}""#
        );
        assert_eq!(bucket_name("fixed-name"), r#""fixed-name""#);
    }

    #[test]
    fn literals_by_kind() {
        use minijinja::Value;
        assert_eq!(literal(Value::from(true)).unwrap(), "true");
        assert_eq!(literal(Value::from(false)).unwrap(), "false");
        assert_eq!(literal(Value::from(128)).unwrap(), "128");
        assert_eq!(literal(Value::from("a${b}")).unwrap(), r#""a$${b}""#);
        assert_eq!(literal(Value::from(())).unwrap(), "null");
        assert!(literal(Value::from(vec![1])).is_err());
    }

    #[test]
    fn lists_and_maps() {
        assert_eq!(list(vec!["a".into(), "${b}".into()]), r#"["a", "$${b}"]"#);
        assert_eq!(list(vec![]), "[]");
        let m = [
            ("Owner".to_string(), "me".to_string()),
            ("cost-center".to_string(), "42".to_string()),
        ];
        assert_eq!(
            map(
                minijinja::Value::from(minijinja::value::Serde(
                    m.into_iter().collect::<std::collections::BTreeMap<_, _>>()
                )),
                2
            )
            .unwrap(),
            "{\n    \"Owner\"       = \"me\"\n    \"cost-center\" = \"42\"\n  }"
        );
        assert_eq!(map_of(&Default::default(), 2), "{}");
    }

    #[test]
    fn heredoc_keeps_text_and_final_newline() {
        let doc = heredoc("{\"a\": \"$context.x\"}\n", 2).unwrap();
        assert_eq!(doc, "<<-EOT\n    {\"a\": \"$context.x\"}\n  EOT");
        assert!(heredoc("no newline", 0).is_err());
    }
}
